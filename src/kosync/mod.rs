//! The KOReader progress-sync protocol (KoSync), served at `/` and under `/kosync`.
//! docs/kosync.md lists where libris deliberately differs from the official server.

mod auth;
pub mod error;
mod handlers;
pub mod request;

use actix_web::body::MessageBody;
use actix_web::dev::{HttpServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse, ResponseError};

use crate::http::throttle;

pub use self::error::KosyncError;
use crate::error::Error;

/// The protocol under `prefix` ("" for the server's root, where KOReader expects it, or
/// "/kosync"): its routes, its JSON 404 for any other path, and its login throttle.
pub fn scope(prefix: &str) -> impl HttpServiceFactory {
    web::scope(prefix)
        .wrap(from_fn(throttled))
        .configure(routes)
        .default_service(web::to(no_route))
}

/// Whether `path` is one of KoSync's at the root (the app hands other paths a browser asks
/// for to the web app's 404 page).
pub fn serves(path: &str) -> bool {
    path == "/healthcheck" || path.starts_with("/users/") || path.starts_with("/syncs/")
}

/// KoSync names its user in `x-auth-user` and sends the key in `x-auth-key`.
static THROTTLE: throttle::Scope = throttle::Scope {
    presented: x_auth,
    users: "kosync",
    refuse,
};

fn x_auth(req: &ServiceRequest) -> Option<throttle::Presented> {
    let user = req.headers().get("x-auth-user")?;
    Some(throttle::Presented {
        user: user.to_str().ok().map(|u| u.trim().to_owned()),
        secret: req
            .headers()
            .get("x-auth-key")
            .map_or_else(Vec::new, |k| k.as_bytes().to_vec()),
    })
}

fn refuse(e: Error) -> HttpResponse {
    KosyncError::from(e).error_response()
}

async fn throttled(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    throttle::guard(&THROTTLE, req, next).await
}

fn routes(cfg: &mut web::ServiceConfig) {
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
