//! The whole HTTP application; `serve` and the tests both build it here. Each face brings its
//! own scope (with its own login throttle and error format); KoSync is served at the root,
//! where KOReader expects it, and under `/kosync`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::Logger;
use actix_web::{guard, web, App, HttpRequest};

use crate::http::slow_body;
use crate::{api, kosync, opds, AppState};

pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // Shared by every worker: counters kept per worker would multiply the limit.
    let throttle = web::Data::from(state.throttle.clone());
    let grace = web::Data::new(slow_body::Grace(state.config.body_grace));
    App::new()
        .app_data(web::Data::new(state))
        .app_data(throttle)
        .app_data(grace)
        .wrap(actix_web::middleware::from_fn(slow_body::middleware))
        .wrap(actix_web::middleware::from_fn(crate::telemetry::middleware))
        // One line per request. Paths and statuses only: never headers, where keys travel.
        .wrap(
            Logger::new("%{method}xi %U %s %Dms")
                .custom_request_replace("method", |req| req.method().to_string()),
        )
        .service(api::scope())
        .service(api::metrics::scope())
        .service(opds::scope())
        .service(opds::root_redirect())
        .service(opds::shared_feed())
        .service(kosync::scope("/kosync"))
        .service(crate::dav::scope())
        .service(crate::notes::scope())
        // The web app's own paths only (its guard), before KoSync's scope takes everything.
        .service(crate::web::scope())
        // A path nobody serves, asked for by a browser: the web app's 404 page. KoSync's JSON
        // 404 for everyone else.
        .service(
            web::scope("")
                .guard(guard::fn_guard(|ctx| {
                    wants_html(ctx.head().headers()) && !kosync::serves(ctx.head().uri.path())
                }))
                .default_service(web::to(|req: HttpRequest| async move {
                    crate::web::not_found_page(&req)
                })),
        )
        .service(kosync::scope(""))
        // A path under /api or /opds that no route of theirs takes.
        .default_service(web::to(kosync::no_route))
}

/// A browser navigating (its Accept names HTML first), as opposed to an app or script.
fn wants_html(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get(actix_web::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.trim_start().starts_with("text/html"))
}
