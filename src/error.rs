//! One error type for all of libris, and its rendering in each protocol's own format:
//! KoSync's `{"message", "code"}` and the admin API's `{"error", "message"}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unauthorized")]
    Unauthorized,
    /// A request field is missing or wrong; `field` names it.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0}")]
    Conflict(String),
    /// Authenticated, but this caller may not do that.
    #[error("{0}")]
    Forbidden(String),
    /// A file or body of a kind libris does not take.
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("{0}")]
    NotFound(String),
    #[error("user registration is disabled")]
    RegistrationDisabled,
    #[error("could not parse JSON in body: {0}")]
    BadJson(String),
    #[error("body should be a JSON object")]
    NotAnObject,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("no route for this path")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("accept header: {0:?}")]
    Accept(AcceptProblem),
    /// The database cannot be reached (no connection within the pool's timeout, or it went away).
    #[error("too many failed logins: try again later")]
    TooManyFailures,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// An outside service (Hardcover) could not be reached or failed: not libris's fault, and
    /// not the database's.
    #[error("{0}")]
    Upstream(String),
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptProblem {
    Missing,
    Format,
    Version,
}

impl Error {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    fn is_server_fault(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(_) | Error::Database(_) | Error::Internal(_)
        )
    }

    fn log(&self) {
        if self.is_server_fault() {
            log::error!("{self}");
        } else if let Error::Upstream(message) = self {
            log::warn!("{message}");
        }
    }
}

impl From<diesel::result::Error> for Error {
    /// PostgreSQL stores no NUL character in text or jsonb: a value holding one is the
    /// client's input, refused (the transaction it was in rolls back whole), not a fault.
    fn from(e: diesel::result::Error) -> Error {
        if let diesel::result::Error::DatabaseError(_, info) = &e {
            let message = info.message();
            if message.contains("0x00") || message.contains("unsupported Unicode escape sequence") {
                return Error::invalid(
                    "body",
                    "text with NUL characters (\\u0000) cannot be stored",
                );
            }
        }
        Error::Database(e)
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Error {
        Error::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for Error {
    fn from(_: actix_web::error::BlockingError) -> Error {
        Error::Internal("the blocking thread pool is gone".into())
    }
}

/// [`Error`] as the KoSync protocol reports it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct KosyncError(#[from] pub Error);

impl KosyncError {
    /// The HTTP status, the protocol's code and its fixed message.
    pub fn parts(&self) -> (StatusCode, u32, &'static str) {
        use Error::*;
        match &self.0 {
            Unauthorized => (StatusCode::UNAUTHORIZED, 2001, "Unauthorized"),
            Forbidden(_) => (StatusCode::UNAUTHORIZED, 2001, "Unauthorized"),
            UnsupportedMedia(_) => (StatusCode::FORBIDDEN, 2003, "Invalid request"),
            Conflict(_) => (
                StatusCode::PAYMENT_REQUIRED,
                2002,
                "Username is already registered.",
            ),
            Invalid {
                field: "document", ..
            } => (
                StatusCode::FORBIDDEN,
                2004,
                "Field 'document' not provided.",
            ),
            Invalid { .. } => (StatusCode::FORBIDDEN, 2003, "Invalid request"),
            RegistrationDisabled => (
                StatusCode::PAYMENT_REQUIRED,
                2005,
                "User registration is disabled.",
            ),
            NotFound(_) => (StatusCode::NOT_FOUND, 2006, "Account not found."),
            BadJson(_) => (
                StatusCode::BAD_REQUEST,
                103,
                "Could not parse JSON in body.",
            ),
            NotAnObject => (StatusCode::BAD_REQUEST, 104, "Body should be a JSON hash."),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                105,
                "Request body too large.",
            ),
            NoRoute => (StatusCode::NOT_FOUND, 106, "Not found."),
            TooManyFailures => (
                StatusCode::TOO_MANY_REQUESTS,
                2007,
                "Too many failed logins. Try again later.",
            ),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, 107, "Method not allowed."),
            Accept(AcceptProblem::Missing) => (
                StatusCode::PRECONDITION_FAILED,
                100,
                "Accept header not set.",
            ),
            Accept(AcceptProblem::Format) => (
                StatusCode::PRECONDITION_FAILED,
                101,
                "Invalid Accept header format.",
            ),
            Accept(AcceptProblem::Version) => (
                StatusCode::PRECONDITION_FAILED,
                102,
                "Unsupported version specified in the Accept header.",
            ),
            Unavailable(_) | Upstream(_) | Database(_) | Internal(_) => {
                (StatusCode::BAD_GATEWAY, 2000, "Unknown server error.")
            }
        }
    }
}

impl ResponseError for KosyncError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let (status, code, message) = self.parts();
        HttpResponse::build(status).json(json!({ "message": message, "code": code }))
    }
}

/// [`Error`] as the admin REST API reports it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub Error);

impl ApiError {
    pub fn parts(&self) -> (StatusCode, &'static str) {
        ApiError::parts_of(&self.0)
    }

    fn parts_of(error: &Error) -> (StatusCode, &'static str) {
        use Error::*;
        match error {
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Invalid { .. } | BadJson(_) | NotAnObject | Accept(_) => {
                (StatusCode::BAD_REQUEST, "invalid_request")
            }
            Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            UnsupportedMedia(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            NotFound(_) | NoRoute => (StatusCode::NOT_FOUND, "not_found"),
            RegistrationDisabled => (StatusCode::FORBIDDEN, "forbidden"),
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            TooManyFailures => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"),
            Upstream(_) => (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable"),
            Database(_) | Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let (status, error) = self.parts();
        // Server faults keep their details in the log, not in the body.
        let message = match &self.0 {
            Error::Database(_) | Error::Internal(_) => "internal server error".to_owned(),
            other => other.to_string(),
        };
        let mut body = json!({ "error": error, "message": message });
        if let Error::Invalid { field, .. } = &self.0 {
            body["field"] = json!(field);
        }
        let mut resp = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            resp.insert_header(("www-authenticate", "Bearer"));
        }
        resp.json(body)
    }
}

/// [`Error`] as the OPDS catalog reports it: plain text, except a 401, which carries what
/// reader apps need to log in (WWW-Authenticate, and the Authentication for OPDS document).
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
            OpdsError::Other(e) => ApiError::parts_of(e).0,
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
                .body(crate::opds::auth::authentication_document(base).to_string()),
            OpdsError::Other(e) => {
                e.log();
                let message = match e {
                    Error::Database(_) | Error::Internal(_) => "internal server error".to_owned(),
                    other => other.to_string(),
                };
                HttpResponse::build(self.status_code())
                    .content_type("text/plain; charset=utf-8")
                    .body(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kosync_codes_follow_the_official_server() {
        let code = |e: Error| KosyncError(e).parts();
        assert_eq!(code(Error::Unauthorized).1, 2001);
        assert_eq!(code(Error::invalid("document", "missing")).1, 2004);
        assert_eq!(code(Error::invalid("percentage", "missing")).1, 2003);
        assert_eq!(
            code(Error::Conflict("taken".into())).0,
            StatusCode::PAYMENT_REQUIRED
        );
        assert_eq!(
            code(Error::Unavailable("down".into())),
            (StatusCode::BAD_GATEWAY, 2000, "Unknown server error.")
        );
    }

    #[test]
    fn api_hides_internal_details() {
        let resp = ApiError(Error::Internal("secret detail".into())).error_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
