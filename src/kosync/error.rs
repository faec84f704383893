//! Errors as the KoSync protocol reports them: `{"message", "code"}` with the official
//! server's statuses, codes and fixed messages. The errors only this protocol has (its Accept
//! rules, the registration switch, a taken username, a body that is not a JSON object) live
//! here; everything else arrives as a core [`Error`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum KosyncError {
    #[error(transparent)]
    Core(#[from] Error),
    #[error("user registration is disabled")]
    RegistrationDisabled,
    #[error("username is already registered")]
    UsernameTaken,
    #[error("body should be a JSON object")]
    NotAnObject,
    #[error("accept header: {0:?}")]
    Accept(AcceptProblem),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptProblem {
    Missing,
    Format,
    Version,
}

impl KosyncError {
    /// The HTTP status, the protocol's code and its fixed message.
    pub fn parts(&self) -> (StatusCode, u32, &'static str) {
        use Error::*;
        let core = match self {
            KosyncError::RegistrationDisabled => {
                return (
                    StatusCode::PAYMENT_REQUIRED,
                    2005,
                    "User registration is disabled.",
                )
            }
            KosyncError::UsernameTaken => {
                return (
                    StatusCode::PAYMENT_REQUIRED,
                    2002,
                    "Username is already registered.",
                )
            }
            KosyncError::NotAnObject => {
                return (StatusCode::BAD_REQUEST, 104, "Body should be a JSON hash.")
            }
            KosyncError::Accept(problem) => {
                let message = match problem {
                    AcceptProblem::Missing => (100, "Accept header not set."),
                    AcceptProblem::Format => (101, "Invalid Accept header format."),
                    AcceptProblem::Version => {
                        (102, "Unsupported version specified in the Accept header.")
                    }
                };
                return (StatusCode::PRECONDITION_FAILED, message.0, message.1);
            }
            KosyncError::Core(e) => e,
        };
        match core {
            Unauthorized | Forbidden(_) => (StatusCode::UNAUTHORIZED, 2001, "Unauthorized"),
            Invalid {
                field: "document", ..
            } => (
                StatusCode::FORBIDDEN,
                2004,
                "Field 'document' not provided.",
            ),
            Invalid { .. } | UnsupportedMedia(_) | Conflict(_) => {
                (StatusCode::FORBIDDEN, 2003, "Invalid request")
            }
            NotFound(_) => (StatusCode::NOT_FOUND, 2006, "Account not found."),
            BadJson(_) => (
                StatusCode::BAD_REQUEST,
                103,
                "Could not parse JSON in body.",
            ),
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
        if let KosyncError::Core(e) = self {
            e.log();
        }
        let (status, code, message) = self.parts();
        HttpResponse::build(status).json(json!({ "message": message, "code": code }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kosync_codes_follow_the_official_server() {
        let code = |e: KosyncError| e.parts();
        assert_eq!(code(Error::Unauthorized.into()).1, 2001);
        assert_eq!(code(Error::invalid("document", "missing").into()).1, 2004);
        assert_eq!(code(Error::invalid("percentage", "missing").into()).1, 2003);
        assert_eq!(
            code(KosyncError::UsernameTaken),
            (
                StatusCode::PAYMENT_REQUIRED,
                2002,
                "Username is already registered."
            )
        );
        assert_eq!(
            code(Error::Unavailable("down".into()).into()),
            (StatusCode::BAD_GATEWAY, 2000, "Unknown server error.")
        );
    }

    #[test]
    fn a_conflict_other_than_a_taken_username_is_not_reported_as_one() {
        assert_eq!(code_of(Error::Conflict("busy".into())), 2003);
    }

    fn code_of(e: Error) -> u32 {
        KosyncError::from(e).parts().1
    }
}
