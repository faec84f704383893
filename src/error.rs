//! The error every layer returns: domain code and the database say what went wrong here, in
//! protocol-neutral terms. Each face renders it in its own format (`kosync/error.rs`,
//! `api/error.rs`, `opds/error.rs`), adding the few errors only its protocol has (KoSync's
//! Accept rules, its registration switch, its "username taken"). Server faults are logged once,
//! by [`Error::log`], when a face renders them; their details never reach a response body.

use actix_web::http::StatusCode;

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
    #[error("could not parse JSON in body: {0}")]
    BadJson(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("no route for this path")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many failed logins: try again later")]
    TooManyFailures,
    /// The database cannot be reached (no connection within the pool's timeout, or it went away).
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

impl Error {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub fn is_server_fault(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(_) | Error::Database(_) | Error::Internal(_)
        )
    }

    /// Logs what the operator must see: server faults as errors, an outside service's failure
    /// as a warning. Faces call it once, when they render the error.
    pub fn log(&self) {
        if self.is_server_fault() {
            log::error!("{self}");
        } else if let Error::Upstream(message) = self {
            log::warn!("{message}");
        }
    }

    /// The HTTP status of this error where the protocol follows HTTP's own meanings (the REST
    /// API, the OPDS catalog, the web app); KoSync has its own table.
    pub fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            Unauthorized => StatusCode::UNAUTHORIZED,
            Invalid { .. } | BadJson(_) => StatusCode::BAD_REQUEST,
            Conflict(_) => StatusCode::CONFLICT,
            Forbidden(_) => StatusCode::FORBIDDEN,
            UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            NotFound(_) | NoRoute => StatusCode::NOT_FOUND,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            TooManyFailures => StatusCode::TOO_MANY_REQUESTS,
            Unavailable(_) | Upstream(_) => StatusCode::SERVICE_UNAVAILABLE,
            Database(_) | Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What a response body may say: server faults keep their details in the log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Database(_) | Error::Internal(_) => "internal server error".to_owned(),
            other => other.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_faults_hide_their_details() {
        let e = Error::Internal("secret detail".into());
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.public_message(), "internal server error");
        assert_eq!(
            Error::NotFound("no such book".into()).public_message(),
            "no such book"
        );
    }
}
