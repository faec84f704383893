//! Uploads: multipart, one or many files, each streamed to a temporary file while hashed
//! (never held in memory), then through the ingest pipeline.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ApiError;
use super::ErrorBody;
use crate::error::Error;
use crate::library::ingest::{self, NewBook, Options, Outcome, Target};
use crate::library::storage::{Staged, StagingWriter, TooLarge};
use crate::{db, AppState};

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

/// Chunks in flight between the HTTP stream and the thread writing the file: the memory
/// an upload can hold is this many chunks, whatever the file's size.
const CHANNEL_CHUNKS: usize = 8;

/// What multipart boundaries and part headers may add to the files of an upload.
const MULTIPART_FRAMING: u64 = 1024 * 1024;

/// Streams one multipart field to a staged file on a blocking thread, refusing it past
/// `limit` bytes.
async fn stage_field(
    state: &AppState,
    field: &mut actix_multipart::Field,
    limit: u64,
) -> Result<Staged, Error> {
    let data_dir = state.config.data_dir.clone();
    let (tx, mut rx) = mpsc::channel::<web::Bytes>(CHANNEL_CHUNKS);
    let writer = web::block(move || -> Result<Result<Staged, TooLarge>, Error> {
        let io = |e: std::io::Error| Error::Internal(format!("staging an upload: {e}"));
        let mut writer = StagingWriter::create(&data_dir, limit).map_err(io)?;
        while let Some(chunk) = rx.blocking_recv() {
            if let Err(too_large) = writer.write(&chunk).map_err(io)? {
                return Ok(Err(too_large));
            }
        }
        writer.finish().map(Ok).map_err(io)
    });
    let reader = async move {
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| Error::invalid("body", format!("multipart: {e}")))?;
            if tx.send(chunk).await.is_err() {
                break; // the writer stopped: over the limit, or failed
            }
        }
        Ok::<(), Error>(())
    };
    let (read, written) = tokio::join!(reader, writer);
    let staged = written.map_err(Error::from)??;
    read?;
    staged.map_err(|TooLarge| Error::PayloadTooLarge)
}

async fn ingest_one(
    state: &AppState,
    caller: &Caller,
    staged: Staged,
    name: String,
) -> Result<Outcome, Error> {
    let options = Options {
        uploader: Some(caller.key_id),
        approve: false,
    };
    let (n, o) = (name.clone(), options.clone());
    let (duplicate, staged) = db::run(&state.pool, move |conn| {
        Ok((ingest::find_duplicate(conn, &staged, &n, &o)?, staged))
    })
    .await?;
    if let Some(duplicate) = duplicate {
        return Ok(duplicate);
    }
    let data_dir = state.config.data_dir.clone();
    let prepared = web::block(move || {
        let file = ingest::read(staged, &name)?;
        let book = NewBook::from_files(std::slice::from_ref(&file));
        ingest::prepare(&data_dir, vec![file], Target::New(Box::new(book)), false)
    })
    .await
    .map_err(Error::from)??;
    let outcome = db::run(&state.pool, move |conn| {
        ingest::commit(conn, prepared, &options)
    })
    .await?;
    if matches!(outcome, Outcome::Created { .. }) {
        state.hardcover.client.wake_lookups();
        state.page_covers.wake();
    }
    Ok(outcome)
}

fn file_name(field: &actix_multipart::Field) -> Option<String> {
    let name = field.content_disposition()?.get_filename()?;
    // Browsers send a bare name; some clients a whole path.
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    (!name.is_empty()).then(|| name.chars().take(255).collect())
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
        let Some(name) = file_name(&field) else {
            continue; // a plain form field, not a file
        };
        // Over the limit the request stops here: nothing more can be read sensibly. Files
        // stored before it are listed with this one's refusal.
        let (outcome, stop) = match stage_field(&state, &mut field, left).await {
            Ok(staged) => {
                left -= staged.size;
                (
                    ingest_one(&state, &caller, staged, name.clone()).await,
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
