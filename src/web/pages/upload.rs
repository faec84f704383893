//! `POST /inbox/upload`: files posted by the inbox form (several at once) or by
//! `static/upload.js` (one a request, answered in JSON when it asks for it). Each goes through
//! the same staging and ingest as `POST /api/uploads` (`library::uploads`).
//!
//! The CSRF token is checked before a byte of any file is read: from the `x-csrf-token`
//! header, or else from the body's first field, which must be `_csrf`.

use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::told::{self, Told};
use crate::error::Error;
use crate::library::ingest::Outcome;
use crate::library::queue;
use crate::library::uploads::{self, MULTIPART_FRAMING};
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::layout;
use crate::web::session::Visitor;
use crate::{db, AppState};

/// A CSRF token is 32 hex characters; a longer first field is not one.
const TOKEN_MAX: usize = 256;

fn forbidden() -> WebError {
    Error::Forbidden(
        "This upload has expired or did not come from the inbox page. Go back, reload the page \
         and try again."
            .into(),
    )
    .into()
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// The text of a small form field, or `None` when it is longer than `max` bytes.
async fn small_field(field: &mut actix_multipart::Field, max: usize) -> Option<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        bytes.extend_from_slice(&chunk.ok()?);
        if bytes.len() > max {
            return None;
        }
    }
    String::from_utf8(bytes).ok()
}

pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let uploader = v.admin()?.key_id;
    let key = state.key("web csrf");
    let by_header = req
        .headers()
        .get(csrf::HEADER)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| v.csrf_ok(&key, t));
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(if by_header {
            Error::invalid("file", "send the files as multipart/form-data").into()
        } else {
            forbidden()
        });
    }
    let mut multipart = Multipart::new(req.headers(), payload);
    if !by_header {
        let Some(Ok(mut first)) = multipart.next().await else {
            return Err(forbidden());
        };
        if first.name() != Some(csrf::FIELD) {
            return Err(forbidden());
        }
        match small_field(&mut first, TOKEN_MAX).await {
            Some(token) if v.csrf_ok(&key, token.trim()) => {}
            _ => return Err(forbidden()),
        }
    }
    let limit = state.config.max_upload_bytes;
    let limit_mb = limit / (1024 * 1024);
    let declared = crate::http::slow_body::declared_length(req.headers());
    if declared.is_some_and(|n| n > limit.saturating_add(MULTIPART_FRAMING)) {
        let message = format!("That upload is larger than the {limit_mb} MB an upload may hold.");
        return answer_error(&state, &v, &req, StatusCode::PAYLOAD_TOO_LARGE, &message).await;
    }
    let inbox = state.inbox();
    let mut left = limit;
    let mut done: Vec<(String, Result<Outcome, Error>)> = Vec::new();
    while let Some(field) = multipart.next().await {
        let mut field = match field {
            Ok(f) => f,
            Err(e) => {
                let message = format!("The upload broke off: {e}.");
                if done.is_empty() {
                    return answer_error(&state, &v, &req, StatusCode::BAD_REQUEST, &message).await;
                }
                break;
            }
        };
        let Some(name) = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .and_then(uploads::file_name)
        else {
            continue; // a plain form field, not a file
        };
        let staging = uploads::stage(state.config.data_dir.clone(), &mut field, left);
        let outcome = match staging.await {
            Ok(staged) => {
                left -= staged.size;
                uploads::ingest(&inbox, staged, name.clone(), uploader).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &outcome {
            if e.is_server_fault() {
                return Err(outcome.unwrap_err().into());
            }
        }
        // Past the limit, or a broken body: nothing after it can be read sensibly.
        let stop = matches!(
            outcome,
            Err(Error::PayloadTooLarge | Error::Invalid { field: "body", .. })
        );
        done.push((name, outcome));
        if stop {
            break;
        }
    }
    if done.is_empty() {
        return answer_error(
            &state,
            &v,
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose at least one file to upload.",
        )
        .await;
    }
    let ids: Vec<uuid::Uuid> = done
        .iter()
        .filter_map(|(_, o)| o.as_ref().ok().map(Outcome::book_id))
        .collect();
    let summaries = db::run(&state.pool, move |conn| queue::summaries(conn, &ids)).await?;
    let told: Vec<Told> = done
        .into_iter()
        .map(|(name, outcome)| match outcome {
            Ok(o) => {
                let summary = summaries.iter().find(|q| q.book.id == o.book_id());
                told::outcome(name, &o, summary)
            }
            Err(e) => told::refused(name, &e, limit_mb),
        })
        .collect();
    if wants_json(&req) {
        return Ok(HttpResponse::Ok().json(serde_json::json!({ "files": told })));
    }
    let markup = super::inbox::render(&state, &v, 1, None, Some(&told), None).await?;
    Ok(layout::ok(markup))
}

async fn answer_error(
    state: &AppState,
    v: &Visitor,
    req: &HttpRequest,
    status: StatusCode,
    message: &str,
) -> Result<HttpResponse, WebError> {
    if wants_json(req) {
        return Ok(HttpResponse::build(status).json(serde_json::json!({ "error": message })));
    }
    super::inbox::refused(state, v, status, message).await
}
