//! The web app: server-rendered HTML (maud) for the people of a household, from the same
//! binary and on the same domain functions as the other faces. Every core flow works without
//! JavaScript (forms post and redirect); `static/app.js` only improves uploads, copy buttons
//! and keyboard shortcuts. Sessions, CSRF and the security headers are in `session` and
//! `guard`; docs/web.md describes the choices.
//!
//! It is served at the root beside KoSync: a guard hands it only the paths it owns
//! ([`OWNED`]), so KOReader's `/users/…` and `/syncs/…` never reach it.

mod assets;
mod charts;
mod csrf;
mod error;
mod form;
mod guard;
mod layout;
mod listing;
mod pages;
mod session;

use actix_web::dev::HttpServiceFactory;
use actix_web::{guard as actix_guard, web};

pub use self::error::not_found_page;
pub use self::listing::LibraryCache;
pub use self::session::WebState;

/// The first path segments the web app serves.
pub const OWNED: &[&str] = &[
    "",
    "setup",
    "signin",
    "signout",
    "library",
    "books",
    "authors",
    "series",
    "inbox",
    "review",
    "readers",
    "connect",
    "account",
    "settings",
    "static",
    "reading",
    "devices",
    "stats",
    "year",
    "collections",
    "highlights",
    "s",
];

/// Whether `path` is one of the web app's.
pub fn owns(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    OWNED.contains(&first)
}

pub fn scope() -> impl HttpServiceFactory {
    web::scope("")
        .guard(actix_guard::fn_guard(|ctx| owns(ctx.head().uri.path())))
        .wrap(actix_web::middleware::from_fn(guard::middleware))
        // A query string or path the pages' types cannot take (`?next=a&next=b`, a page that
        // is not a number) is the 400 or 404 page, not actix's plain text.
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            error::WebError::from(crate::error::Error::invalid("query", err.to_string())).into()
        }))
        .app_data(web::PathConfig::default().error_handler(|_, _| {
            error::WebError::from(crate::error::Error::NotFound("no such page".into())).into()
        }))
        .configure(pages::routes)
        .route("/static/{name}", web::get().to(assets::serve))
        .default_service(web::to(error::no_route))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_web_app_leaves_kosync_and_the_other_faces_alone() {
        for path in ["/", "/library", "/books/1", "/static/app.css", "/signin"] {
            assert!(super::owns(path), "{path}");
        }
        for path in [
            "/users/auth",
            "/syncs/progress",
            "/healthcheck",
            "/api/books",
            "/opds",
            "/v2",
        ] {
            assert!(!super::owns(path), "{path}");
        }
    }
}
