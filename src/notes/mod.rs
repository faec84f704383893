//! The Notes face: the subset of Nextcloud's Notes API (v1) that KOReader's Exporter calls
//! (plugins/exporter.koplugin/target/nextcloud.lua), at
//! `/index.php/apps/notes/api/v1/`, so a reader types libris's address as the "Nextcloud URL"
//! and exports highlights from stock KOReader (docs/koreader.md). HTTP Basic through
//! `auth::basic` (a device password, an API key, or the reader's OPDS login); JSON in and out.

mod error;
mod handlers;

use actix_web::body::MessageBody;
use actix_web::dev::{HttpServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

use crate::error::Error;
use crate::http::throttle;

/// The Exporter logs in with HTTP Basic, counted with the OPDS logins it shares.
static THROTTLE: throttle::Scope = throttle::Scope {
    presented: throttle::authorization,
    users: "opds",
    refuse,
};

fn refuse(e: Error) -> HttpResponse {
    error::NotesError::Other(e).error_response()
}

async fn throttled(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    throttle::guard(&THROTTLE, req, next).await
}

pub fn scope() -> impl HttpServiceFactory {
    web::scope("/index.php/apps/notes/api/v1")
        .wrap(actix_web::middleware::from_fn(throttled))
        .wrap(
            actix_web::middleware::DefaultHeaders::new()
                .add(("cache-control", "no-store"))
                .add(("x-content-type-options", "nosniff")),
        )
        .route("/notes", web::get().to(handlers::list))
        .route("/notes", web::post().to(handlers::create))
        .route("/notes/{id}", web::get().to(handlers::show))
        .route("/notes/{id}", web::put().to(handlers::update))
        .route("/notes/{id}", web::delete().to(handlers::delete))
        .default_service(web::to(handlers::no_route))
}
