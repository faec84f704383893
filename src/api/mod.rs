//! The admin REST API under /api: JSON, `Authorization: Bearer <key>`. Every route is
//! registered through utoipa, so /api/openapi.json describes exactly what is served.

mod books;
pub mod caller;
mod credentials;
mod hardcover;
mod health;
pub mod json;
mod keys;
mod reading;
mod settings;
mod uploads;

use std::sync::OnceLock;

use actix_web::{get, web, App, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

use crate::error::{ApiError, Error};

/// Every error of the REST API has this shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: invalid_request, unauthorized, forbidden, not_found, conflict, …
    pub error: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The request field at fault, for invalid_request.
    pub field: Option<String>,
}

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::health)
        .service(openapi_json)
        .service(keys::setup)
        .service(keys::create)
        .service(keys::list)
        .service(keys::remove)
        .service(credentials::list)
        // Before the generic /credentials/{service}, which it is a case of.
        .service(hardcover::set_token)
        .service(hardcover::status)
        .service(hardcover::sync_now)
        .service(hardcover::log)
        .service(credentials::set_own)
        .service(credentials::delete_own)
        .service(credentials::set_other)
        .service(credentials::delete_other)
        .service(settings::get)
        .service(settings::update)
        .service(uploads::upload)
        .service(books::list)
        .service(books::show)
        .service(books::edit)
        .service(books::approve)
        .service(books::hardcover_lookup)
        .service(books::remove)
        .service(books::file)
        .service(books::cover)
        .service(books::thumbnail)
        .service(books::link_document)
        .service(books::unlink_document)
        .service(reading::set_manual)
        .service(reading::clear_manual)
        .service(reading::list)
        .service(reading::progress)
        .service(reading::forget)
        .service(reading::stats);
}

/// The /api scope with its extractor configuration and JSON fallbacks.
pub fn scope() -> utoipa_actix_web::scope::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope("/api")
        .app_data(json::json_config())
        .app_data(json::path_config())
        .app_data(json::query_config())
        .wrap(actix_web::middleware::from_fn(caller::middleware))
        // Every answer here is about someone's keys, books or reading: never kept by a cache
        // (downloads and covers say otherwise themselves), never sniffed into another type.
        .wrap(
            actix_web::middleware::DefaultHeaders::new()
                .add(("x-content-type-options", "nosniff"))
                .add(("cache-control", "no-store")),
        )
        .configure(routes)
        .default_service(web::to(no_route))
}

/// The OpenAPI description, collected once from the same registrations the server uses.
pub fn openapi() -> &'static OpenApi {
    static SPEC: OnceLock<OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| {
        let (_, mut spec) = App::new()
            .into_utoipa_app()
            .service(scope())
            .split_for_parts();
        spec.info.title = "libris admin API".into();
        spec.info.version = env!("CARGO_PKG_VERSION").into();
        spec.info.description = Some(
            "JSON over HTTP. Authenticate with `Authorization: Bearer <key>`; \
             `POST /api/auth/setup` makes the first admin key."
                .into(),
        );
        let components = spec.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        spec
    })
}

#[utoipa::path(tag = "meta", responses((status = 200, description = "OpenAPI 3 document")))]
#[get("/openapi.json")]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(openapi())
}

/// 405 when the path exists with other methods, else 404; both in the API's format.
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let known = openapi()
        .paths
        .paths
        .keys()
        .any(|template| path_matches(template, req.path()));
    Err(if known {
        Error::MethodNotAllowed
    } else {
        Error::NoRoute
    }
    .into())
}

/// Whether `path` fits an OpenAPI template such as `/api/keys/{id}`.
fn path_matches(template: &str, path: &str) -> bool {
    let mut t = template.trim_end_matches('/').split('/');
    let mut p = path.trim_end_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) if ts.starts_with('{') || ts == ps => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_concrete_paths() {
        assert!(path_matches("/api/keys/{id}", "/api/keys/abc"));
        assert!(path_matches("/api/keys", "/api/keys/"));
        assert!(!path_matches("/api/keys/{id}", "/api/keys"));
        assert!(!path_matches("/api/keys/{id}", "/api/keys/a/b"));
    }

    #[test]
    fn the_spec_names_every_route_with_full_paths() {
        let paths: Vec<&String> = openapi().paths.paths.keys().collect();
        assert!(paths.iter().all(|p| p.starts_with("/api/")), "{paths:?}");
        assert!(paths.iter().any(|p| *p == "/api/keys/{id}"), "{paths:?}");
    }
}
