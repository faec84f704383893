//! The admin REST API under /api: JSON, `Authorization: Bearer <key>`. Every route is
//! registered through utoipa, so /api/openapi.json describes exactly what is served.

mod books;
pub mod caller;
mod collections;
mod credentials;
mod device_passwords;
pub mod error;
mod goals;
mod hardcover;
mod health;
mod highlights;
pub mod json;
mod keys;
pub mod metrics;
mod reading;
mod settings;
mod uploads;

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, web, App, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, Response};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

pub use self::error::ApiError;
use crate::error::Error;
use crate::http::throttle;

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
        .service(books::merge)
        .service(books::split)
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
        .service(reading::stats)
        .service(device_passwords::list)
        .service(device_passwords::create)
        .service(device_passwords::revoke)
        .service(highlights::list)
        .service(highlights::unlinked)
        .service(highlights::link)
        .service(highlights::of_book)
        .service(goals::list)
        .service(goals::set)
        .service(goals::remove)
        .service(collections::list)
        .service(collections::create)
        .service(collections::show)
        .service(collections::change)
        .service(collections::remove)
        .service(collections::add_book)
        .service(collections::remove_book)
        .service(collections::reorder)
        .service(collections::share)
        .service(collections::unshare);
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
        // Outermost, as when it wrapped the whole server: a refusal is answered before the
        // caller is looked up, with the headers it always had.
        .wrap(actix_web::middleware::from_fn(throttled))
        .configure(routes)
        .default_service(web::to(no_route))
}

/// API keys travel as bearer tokens (counted against the address only; a key that signed in
/// from an address is trusted there); HTTP Basic logins count against their username too, in
/// the namespace OPDS logins share.
static THROTTLE: throttle::Scope = throttle::Scope {
    presented: throttle::authorization,
    users: "opds",
    refuse,
};

fn refuse(e: Error) -> HttpResponse {
    ApiError(e).error_response()
}

async fn throttled(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    throttle::guard(&THROTTLE, req, next).await
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
        document_unauthorized(&mut spec);
        spec
    })
}

/// Every operation that takes a key answers 401 without a valid one (see
/// [`caller::middleware`]): documented once here rather than in each annotation.
fn document_unauthorized(spec: &mut OpenApi) {
    for item in spec.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                operation
                    .responses
                    .responses
                    .entry("401".into())
                    .or_insert_with(|| {
                        Response::builder()
                            .description("no key, or one that is not valid")
                            .content(
                                "application/json",
                                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                            )
                            .build()
                            .into()
                    });
            }
        }
    }
}

#[utoipa::path(tag = "meta", responses((status = 200, description = "OpenAPI 3 document")))]
#[get("/openapi.json")]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(openapi())
}

/// 405 when the path exists with other methods (with `Allow` naming them, as RFC 9110
/// requires), else 404; both in the API's format.
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let allowed = allowed_methods(req.path());
    if allowed.is_empty() {
        return Err(Error::NoRoute.into());
    }
    let mut resp = ApiError(Error::MethodNotAllowed).error_response();
    resp.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_str(&allowed.join(", ")).expect("method names are valid"),
    );
    Ok(resp)
}

/// The methods served at `path`: those of every template it fits (`/api/credentials/hardcover`
/// fits two).
fn allowed_methods(path: &str) -> Vec<&'static str> {
    let mut allowed = Vec::new();
    for (template, item) in &openapi().paths.paths {
        if !path_matches(template, path) {
            continue;
        }
        let methods = [
            ("GET", &item.get),
            ("HEAD", &item.head),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
            ("OPTIONS", &item.options),
            ("TRACE", &item.trace),
        ];
        for (name, operation) in methods {
            if operation.is_some() && !allowed.contains(&name) {
                allowed.push(name);
            }
        }
    }
    allowed
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
    fn allowed_methods_join_every_template_a_path_fits() {
        assert_eq!(allowed_methods("/api/keys"), ["GET", "POST"]);
        assert_eq!(
            allowed_methods("/api/credentials/hardcover"),
            ["PUT", "DELETE"]
        );
        assert_eq!(allowed_methods("/api/books/x/files/y"), ["GET", "HEAD"]);
        assert!(allowed_methods("/api/nothing").is_empty());
    }

    #[test]
    fn the_spec_names_every_route_with_full_paths() {
        let paths: Vec<&String> = openapi().paths.paths.keys().collect();
        assert!(paths.iter().all(|p| p.starts_with("/api/")), "{paths:?}");
        assert!(paths.iter().any(|p| *p == "/api/keys/{id}"), "{paths:?}");
    }
}
