//! Request bodies, paths and queries: their errors in the API's own format.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::error::Error;

/// JSON bodies of the admin API are small; uploads go through multipart, not here.
pub const JSON_LIMIT: usize = 256 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        // curl users forget -H 'content-type: application/json'; the body tells us enough.
        .content_type_required(false)
        .error_handler(|err, _req: &HttpRequest| {
            let e = match err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => Error::PayloadTooLarge,
                JsonPayloadError::Deserialize(e) => body_error(&e),
                other => Error::BadJson(other.to_string()),
            };
            ApiError(e).into()
        })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _| {
        ApiError(Error::NotFound(format!("no such resource ({err})"))).into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _| {
        ApiError(Error::invalid("query", err.to_string())).into()
    })
}

/// serde's message names the field ("unknown field `x`", "missing field `label`"), which
/// is what the caller needs to fix the request.
fn body_error(e: &serde_json::Error) -> Error {
    if e.is_data() {
        Error::invalid("body", e.to_string())
    } else {
        Error::BadJson(e.to_string())
    }
}

/// An optional JSON body: empty (or whitespace), or `null` (as the document allows), is `None`.
pub fn optional_json<T: DeserializeOwned>(body: &[u8]) -> Result<Option<T>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if body.len() > JSON_LIMIT {
        return Err(Error::PayloadTooLarge);
    }
    serde_json::from_slice::<Option<T>>(body).map_err(|e| body_error(&e))
}

/// `page` (1-based, default 1) and `limit` (1..=`max`, default `default`), checked.
pub fn paging(
    page: Option<i64>,
    limit: Option<i64>,
    default: i64,
    max: i64,
) -> Result<(i64, i64), Error> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(Error::invalid("limit", format!("must be from 1 to {max}")));
    }
    let page = page.unwrap_or(1);
    if !(1..=1_000_000).contains(&page) {
        return Err(Error::invalid("page", "must be 1 or more"));
    }
    Ok((page, limit))
}
