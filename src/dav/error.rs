//! [`Error`] as the WebDAV space reports it: plain text, a status WebDAV clients act on
//! (409 for a missing folder, 412 for a failed precondition), and a 401 that asks for Basic.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum DavError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("a precondition failed")]
    PreconditionFailed,
    #[error("not allowed on this resource")]
    MethodNotAllowed,
    #[error("the space is full")]
    InsufficientStorage,
    #[error(transparent)]
    Other(#[from] Error),
}

/// The methods served.
pub const ALLOW: &str = "OPTIONS, PROPFIND, GET, HEAD, PUT, DELETE, MKCOL";

impl ResponseError for DavError {
    fn status_code(&self) -> StatusCode {
        match self {
            DavError::Unauthorized => StatusCode::UNAUTHORIZED,
            DavError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            DavError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            DavError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            // A path that cannot name anything in the space is a bad request; a file libris
            // cannot read (statistics, an export) is refused as unprocessable.
            DavError::Other(Error::Invalid { field: "path", .. }) => StatusCode::BAD_REQUEST,
            DavError::Other(Error::Invalid { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            DavError::Other(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let text = |status: StatusCode, body: String| {
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(body)
        };
        match self {
            DavError::Unauthorized => {
                let mut r = text(StatusCode::UNAUTHORIZED, "Unauthorized\n".into());
                r.headers_mut().insert(
                    actix_web::http::header::WWW_AUTHENTICATE,
                    actix_web::http::header::HeaderValue::from_static(
                        r#"Basic realm="libris WebDAV", charset="UTF-8""#,
                    ),
                );
                r
            }
            DavError::PreconditionFailed => text(
                StatusCode::PRECONDITION_FAILED,
                "The file changed since you read it (If-Match), or exists (If-None-Match).\n"
                    .into(),
            ),
            DavError::MethodNotAllowed => {
                let mut r = text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Not allowed on this resource.\n".into(),
                );
                r.headers_mut().insert(
                    actix_web::http::header::ALLOW,
                    actix_web::http::header::HeaderValue::from_static(ALLOW),
                );
                r
            }
            DavError::InsufficientStorage => text(
                StatusCode::INSUFFICIENT_STORAGE,
                "Your space is full (LIBRIS_DAV_QUOTA_MB, or 10,000 files and folders): delete something first.\n".into(),
            ),
            DavError::Other(Error::Invalid { reason, .. }) => {
                text(self.status_code(), format!("{reason}\n"))
            }
            DavError::Other(Error::MethodNotAllowed) => DavError::MethodNotAllowed.error_response(),
            DavError::Other(e) => {
                e.log();
                text(e.status(), format!("{}\n", e.public_message()))
            }
        }
    }
}
