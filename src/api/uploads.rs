//! Uploads: multipart, one or many files, each streamed to a temporary file while hashed
//! (never held in memory), then through the ingest pipeline.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ApiError;
use super::ErrorBody;
use crate::error::Error;
use crate::library::ingest::Outcome;
use crate::library::uploads::{self, MULTIPART_FRAMING};
use crate::AppState;

/// One file's fate.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileResult {
    pub file_name: String,
    /// created or duplicate (an upload never joins a book by itself: a file that looks
    /// like another format of one is created in review with `format_of`); absent when the
    /// file failed.
    #[serde(flatten)]
    pub outcome: Option<Outcome>,
    /// Why the file was refused.
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResult {
    pub files: Vec<FileResult>,
}

/// A refused upload, as documented: each file's fate when files were read (one was damaged
/// or of a kind libris does not take), otherwise the API's error (not multipart, a broken
/// multipart body, no file in it).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
enum UploadRefused {
    Files(UploadResult),
    Error(ErrorBody),
}

/// Uploads one or many files (multipart/form-data, any field name), at most
/// LIBRIS_MAX_UPLOAD_MB in all. Each file's outcome is listed; the status is 201 when a book
/// was created, 200 when all were duplicates, and otherwise that of the first failure (415
/// unsupported format, 413 too large, 400 damaged). Past the limit the upload stops: files
/// stored before are listed, with the refusal of the one that went over.
#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "one or more files"),
    responses(
        (status = 201, body = UploadResult),
        (status = 200, body = UploadResult, description = "every file was already in the library"),
        (status = 400, body = UploadRefused),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = UploadRefused),
    )
)]
#[post("/uploads")]
pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let is_multipart = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(Error::UnsupportedMedia("uploads are multipart/form-data".into()).into());
    }
    // The request as a whole is limited, as a reverse proxy's client_max_body_size would be:
    // one declaring more is refused before a byte of it is read.
    let mut left = state.config.max_upload_bytes;
    let declared = crate::http::slow_body::declared_length(req.headers());
    if declared.is_some_and(|n| n > left.saturating_add(MULTIPART_FRAMING)) {
        return Err(Error::PayloadTooLarge.into());
    }
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut results = Vec::new();
    let mut first_failure: Option<StatusCode> = None;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| Error::invalid("body", format!("multipart: {e}")))?;
        let Some(name) = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .and_then(uploads::file_name)
        else {
            continue; // a plain form field, not a file
        };
        // Over the limit the request stops here: nothing more can be read sensibly. Files
        // stored before it are listed with this one's refusal.
        let staging = uploads::stage(state.config.data_dir.clone(), &mut field, left);
        let (outcome, stop) = match staging.await {
            Ok(staged) => {
                left -= staged.size;
                let inbox = state.inbox();
                (
                    uploads::ingest(&inbox, staged, name.clone(), caller.key_id).await,
                    false,
                )
            }
            Err(Error::PayloadTooLarge) if !results.is_empty() => {
                (Err(Error::PayloadTooLarge), true)
            }
            Err(e) => return Err(e.into()),
        };
        let (outcome, error) = match outcome {
            Ok(o) => (Some(o), None),
            Err(e @ (Error::Unavailable(_) | Error::Database(_) | Error::Internal(_))) => {
                return Err(e.into())
            }
            Err(e) => {
                let api = ApiError(e);
                let (status, code) = api.parts();
                first_failure.get_or_insert(status);
                let field = match &api.0 {
                    Error::Invalid { field, .. } => Some(field.to_string()),
                    _ => None,
                };
                (
                    None,
                    Some(ErrorBody {
                        error: code.into(),
                        message: api.0.to_string(),
                        field,
                    }),
                )
            }
        };
        results.push(FileResult {
            file_name: name,
            outcome,
            error,
        });
        if stop {
            break;
        }
    }
    if results.is_empty() {
        return Err(Error::invalid("file", "no file in the upload").into());
    }
    let created = results
        .iter()
        .any(|r| matches!(r.outcome, Some(Outcome::Created { .. })));
    let any_ok = results.iter().any(|r| r.outcome.is_some());
    let status = match (created, any_ok, first_failure) {
        (true, _, _) => StatusCode::CREATED,
        (false, true, _) => StatusCode::OK,
        (false, false, Some(s)) => s,
        (false, false, None) => StatusCode::BAD_REQUEST,
    };
    Ok(HttpResponse::build(status).json(UploadResult { files: results }))
}
