//! `/metrics`: the Prometheus text format, for an admin key on the main address, or for
//! anyone who reaches LIBRIS_METRICS_BIND (a private address a Prometheus scrapes).

use actix_web::{web, HttpResponse};

use super::caller::{self, Admin};
use crate::error::Error;
use crate::telemetry;
use crate::AppState;

/// The `/metrics` scope on the main address: an admin key, counted by the API's throttle.
pub fn scope() -> impl actix_web::dev::HttpServiceFactory {
    web::scope("/metrics")
        .wrap(actix_web::middleware::from_fn(caller::middleware))
        .wrap(actix_web::middleware::from_fn(super::throttled))
        .route("", web::get().to(for_admin))
}

async fn for_admin(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, super::ApiError> {
    Ok(exposition(&state)?)
}

/// The metrics without a key: served only on LIBRIS_METRICS_BIND's own listener.
pub async fn open(state: web::Data<AppState>) -> Result<HttpResponse, super::ApiError> {
    Ok(exposition(&state)?)
}

fn exposition(state: &AppState) -> Result<HttpResponse, Error> {
    let pool = state.pool.state();
    let text = telemetry::render(pool.connections, pool.idle_connections)
        .ok_or_else(|| Error::Unavailable("metrics are off in this process".into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(text))
}
