//! [`Error`] as the Notes API reports it: JSON `{"message"}` with Nextcloud's statuses, and a
//! 401 that asks for Basic.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    #[error("unauthorized")]
    Unauthorized,
    #[error(transparent)]
    Other(#[from] Error),
}

impl ResponseError for NotesError {
    fn status_code(&self) -> StatusCode {
        match self {
            NotesError::Unauthorized => StatusCode::UNAUTHORIZED,
            NotesError::Other(Error::Invalid { .. } | Error::BadJson(_)) => StatusCode::BAD_REQUEST,
            NotesError::Other(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            NotesError::Unauthorized => HttpResponse::Unauthorized()
                .insert_header((
                    "www-authenticate",
                    r#"Basic realm="libris Notes", charset="UTF-8""#,
                ))
                .json(json!({ "message": "Unauthorized" })),
            NotesError::Other(e) => {
                e.log();
                let message = match e {
                    Error::Invalid { field, reason } => format!("{field}: {reason}"),
                    other => other.public_message(),
                };
                HttpResponse::build(self.status_code()).json(json!({ "message": message }))
            }
        }
    }
}
