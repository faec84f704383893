//! The admin REST API under /api. For now: the readiness check.

mod health;

use actix_web::{web, HttpResponse};

use crate::error::{ApiError, Error};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/health")
            .route(web::get().to(health::health))
            .default_service(web::to(method_not_allowed)),
    );
}

pub async fn no_route() -> Result<HttpResponse, ApiError> {
    Err(Error::NoRoute.into())
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(Error::MethodNotAllowed.into())
}
