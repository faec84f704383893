//! The OPDS catalog: OPDS 1.2 Atom under /opds, OPDS 2.0 JSON under /opds/v2, one tree.
//! Rows become a format-neutral feed model (render), which two writers turn into documents.

pub mod atom;
pub mod auth;
pub mod base;
pub mod catalog;
pub mod covers;
pub mod feed;
pub mod handlers;
pub mod json;
pub mod pages;
pub mod render;

use actix_web::{guard, web, Route, Scope};

use catalog::{Facet, Shelf};
use handlers as h;
use render::Flavor;

/// GET and HEAD: KOReader sends HEAD before each GET.
fn read() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// `/{facet}` and `/{facet}/books` of every facet, and `/shelves/{shelf}`, in one flavor.
fn facets(mut scope: Scope, flavor: Flavor) -> Scope {
    for facet in Facet::ALL {
        let values = move |req, state, q: web::Query<h::FacetQuery>| {
            h::facet_values(req, state, q.into_inner(), facet, flavor)
        };
        let books = move |req, state, q: web::Query<h::ValueQuery>| {
            h::facet_books(req, state, q.into_inner(), facet, flavor)
        };
        scope = scope
            .route(&format!("/{}", facet.segment()), read().to(values))
            .route(&format!("/{}/books", facet.segment()), read().to(books));
    }
    for shelf in Shelf::ALL {
        let books = move |req, state, q: web::Query<h::PageQuery>| {
            h::shelf(req, state, q.into_inner(), shelf, flavor)
        };
        scope = scope.route(&format!("/shelves/{}", shelf.segment()), read().to(books));
    }
    scope
}

pub fn scope() -> Scope {
    let atom = web::scope("/opds")
        .route("", read().to(h::root_negotiated))
        .route("/", read().to(h::root_negotiated))
        .route("/auth", read().to(h::authentication))
        .route("/opensearch.xml", read().to(h::opensearch))
        .route("/books", read().to(h::books))
        .route("/new", read().to(h::recent))
        .route("/search", read().to(h::search_atom))
        .route("/books/{id}", read().to(h::entry_atom))
        .route("/books/{id}/files/{file}/{name}", read().to(h::download))
        .route("/covers/{id}/{version}/{kind}/{file}", read().to(h::cover));
    let json = web::scope("/v2")
        .route("", read().to(h::root_json))
        .route("/", read().to(h::root_json))
        .route("/books", read().to(h::books_json))
        .route("/new", read().to(h::recent_json))
        .route("/search", read().to(h::search_json))
        .route("/books/{id}", read().to(h::entry_json));
    facets(atom, Flavor::Atom).service(facets(json, Flavor::Json))
}
