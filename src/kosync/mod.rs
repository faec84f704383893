//! The KOReader progress-sync protocol (KoSync), served at `/` and under `/kosync`.
//! docs/kosync.md lists where libris deliberately differs from the official server.

mod auth;
mod handlers;
pub mod request;
pub mod users;

use actix_web::{web, HttpResponse};

use crate::error::{Error, KosyncError};

/// Registers the protocol's routes on `cfg` (the root and the `/kosync` scope alike).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource =
        |path: &str| web::resource(path.to_owned()).default_service(web::to(method_not_allowed));
    cfg.service(resource("/healthcheck").route(web::get().to(handlers::healthcheck)))
        .service(resource("/users/create").route(web::post().to(handlers::create_user)))
        .service(resource("/users/auth").route(web::get().to(handlers::auth)))
        .service(resource("/users/me").route(web::delete().to(handlers::delete_me)))
        .service(resource("/users/password").route(web::put().to(handlers::set_password)))
        .service(resource("/syncs/progress").route(web::put().to(handlers::put_progress)))
        .service(
            resource("/syncs/progress/{document}").route(web::get().to(handlers::get_progress)),
        );
}

pub async fn no_route() -> Result<HttpResponse, KosyncError> {
    Err(Error::NoRoute.into())
}

async fn method_not_allowed() -> Result<HttpResponse, KosyncError> {
    Err(Error::MethodNotAllowed.into())
}
