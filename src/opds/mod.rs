//! The OPDS catalog: OPDS 1.2 Atom under /opds, OPDS 2.0 JSON under /opds/v2, one tree.
//! Rows become a format-neutral feed model (render), which two writers turn into documents.

pub mod atom;
pub mod auth;
pub mod base;
pub mod catalog;
pub mod feed;
pub mod handlers;
pub mod json;
pub mod pages;
pub mod render;

use actix_web::{guard, web, Route, Scope};

use handlers as h;

/// GET and HEAD: KOReader sends HEAD before each GET.
fn read() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

pub fn scope() -> Scope {
    web::scope("/opds")
        .route("", read().to(h::root_negotiated))
        .route("/", read().to(h::root_negotiated))
        .route("/auth", read().to(h::authentication))
        .route("/opensearch.xml", read().to(h::opensearch))
        .route("/books", read().to(h::books))
        .route("/new", read().to(h::recent))
        .route("/search", read().to(h::search_atom))
        .route("/books/{id}", read().to(h::entry_atom))
        .route("/books/{id}/files/{file}/{name}", read().to(h::download))
        .service(
            web::scope("/v2")
                .route("", read().to(h::root_json))
                .route("/", read().to(h::root_json))
                .route("/books", read().to(h::books_json))
                .route("/new", read().to(h::recent_json))
                .route("/search", read().to(h::search_json))
                .route("/books/{id}", read().to(h::entry_json)),
        )
}
