//! The WebDAV face: `/dav/`, a space per reader for KOReader's Cloud storage (statistics
//! sync, vocabulary, exports), with HTTP Basic (device passwords first: docs/koreader.md).
//! Handlers in `handlers`, the multistatus XML in `xml`, errors as plain text in `error`.

mod error;
mod handlers;
mod xml;

use actix_web::body::MessageBody;
use actix_web::dev::{HttpServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

use crate::error::Error;
use crate::http::throttle;

/// WebDAV clients log in with HTTP Basic, counted with the OPDS logins they share.
static THROTTLE: throttle::Scope = throttle::Scope {
    presented: throttle::authorization,
    users: "opds",
    refuse,
};

fn refuse(e: Error) -> HttpResponse {
    error::DavError::Other(e).error_response()
}

async fn throttled(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    throttle::guard(&THROTTLE, req, next).await
}

pub fn scope() -> impl HttpServiceFactory {
    web::scope("/dav")
        .wrap(actix_web::middleware::from_fn(throttled))
        .wrap(
            actix_web::middleware::DefaultHeaders::new().add(("x-content-type-options", "nosniff")),
        )
        .route("", web::route().to(handlers::dispatch))
        .route("/{tail:.*}", web::route().to(handlers::dispatch))
}
