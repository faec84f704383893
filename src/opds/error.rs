//! [`Error`] as the OPDS catalog reports it: plain text, except a 401, which carries what
//! reader apps need to log in (WWW-Authenticate, and the Authentication for OPDS document).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum OpdsError {
    #[error("unauthorized")]
    Unauthorized { base: String },
    #[error(transparent)]
    Other(#[from] Error),
}

impl ResponseError for OpdsError {
    fn status_code(&self) -> StatusCode {
        match self {
            OpdsError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            OpdsError::Other(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            OpdsError::Unauthorized { base } => HttpResponse::Unauthorized()
                .insert_header(("www-authenticate", r#"Basic realm="libris", charset="UTF-8""#))
                .insert_header((
                    "link",
                    format!(r#"<{base}/opds/auth>; rel="http://opds-spec.org/auth/document"; type="application/opds-authentication+json""#),
                ))
                .content_type("application/opds-authentication+json")
                .body(super::auth::authentication_document(base).to_string()),
            OpdsError::Other(e) => {
                e.log();
                HttpResponse::build(e.status())
                    .content_type("text/plain; charset=utf-8")
                    .body(e.public_message())
            }
        }
    }
}
