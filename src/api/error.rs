//! [`Error`] as the REST API reports it: `{"error": code, "message", "field"?}` with the status
//! HTTP gives it, and `WWW-Authenticate: Bearer` on a 401.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::Error;

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub Error);

impl ApiError {
    /// The HTTP status and the body's `error` code.
    pub fn parts(&self) -> (StatusCode, &'static str) {
        use Error::*;
        let code = match &self.0 {
            Unauthorized => "unauthorized",
            Invalid { .. } | BadJson(_) => "invalid_request",
            Conflict(_) => "conflict",
            Forbidden(_) => "forbidden",
            UnsupportedMedia(_) => "unsupported_media_type",
            NotFound(_) | NoRoute => "not_found",
            PayloadTooLarge => "payload_too_large",
            MethodNotAllowed => "method_not_allowed",
            TooManyFailures => "too_many_requests",
            Unavailable(_) => "database_unavailable",
            Upstream(_) => "upstream_unavailable",
            Database(_) | Internal(_) => "internal",
        };
        (self.0.status(), code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let (status, error) = self.parts();
        let mut body = json!({ "error": error, "message": self.0.public_message() });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_hides_internal_details() {
        let resp = ApiError(Error::Internal("secret detail".into())).error_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn unauthorized_asks_for_a_bearer_key() {
        let resp = ApiError(Error::Unauthorized).error_response();
        assert_eq!(resp.headers().get("www-authenticate").unwrap(), "Bearer");
    }
}
