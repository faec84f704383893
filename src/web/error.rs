//! Errors as pages: a friendly 404 and 403, 429 with Retry-After, a generic page for server
//! faults (logged once, details never shown), and redirects (to sign-in or set-up).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use maud::html;

use super::layout;
use crate::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// 303 to a page: sign in first, set up first.
    #[error("see {0}")]
    Redirect(String),
    /// Too many failed sign-ins: wait this many seconds.
    #[error("too many failed sign-ins")]
    Throttled(u64),
    #[error(transparent)]
    Fault(#[from] Error),
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::Redirect(_) => StatusCode::SEE_OTHER,
            WebError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Fault(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::Redirect(to) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, to.as_str()))
                .finish(),
            WebError::Throttled(seconds) => {
                let body = layout::bare(
                    "Too many attempts",
                    html! {
                        h1 { "Too many attempts" }
                        p { "Too many sign-ins failed from here or for this username. Try again in "
                            (minutes(*seconds)) "." }
                        p { a href="/signin" { "Back to sign-in" } }
                    },
                );
                HttpResponse::TooManyRequests()
                    .insert_header((header::RETRY_AFTER, seconds.to_string()))
                    .content_type("text/html; charset=utf-8")
                    .body(body.into_string())
            }
            WebError::Fault(e) => {
                e.log();
                let status = e.status();
                let (title, text) = match e {
                    Error::NotFound(_) | Error::NoRoute => (
                        "Not found",
                        "There is nothing here: the book or page may have been removed, or the \
                         address is mistyped."
                            .to_owned(),
                    ),
                    Error::Forbidden(why) => ("Not allowed", why.clone()),
                    Error::Unauthorized => ("Sign in", "Sign in to see this page.".to_owned()),
                    e if e.is_server_fault() => (
                        "Something went wrong",
                        "libris could not answer just now. Try again in a moment; if it keeps \
                         happening, the server's log says why."
                            .to_owned(),
                    ),
                    other => ("That did not work", other.public_message()),
                };
                let body = layout::bare(
                    title,
                    html! {
                        h1 { (title) }
                        p { (text) }
                        p { a href="/" { "Go to the home page" } }
                    },
                );
                HttpResponse::build(status)
                    .content_type("text/html; charset=utf-8")
                    .body(body.into_string())
            }
        }
    }
}

fn minutes(seconds: u64) -> String {
    match seconds {
        0..=60 => format!("{seconds} seconds"),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

/// A path under one of the web app's segments that no page takes.
pub async fn no_route() -> Result<HttpResponse, WebError> {
    Err(Error::NoRoute.into())
}

/// The friendly 404, for the app's own fallback when a browser asks for a path nobody serves.
pub fn not_found_page(_req: &HttpRequest) -> HttpResponse {
    WebError::Fault(Error::NoRoute).error_response()
}
