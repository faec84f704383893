//! The OPDS catalog: OPDS 1.2 Atom under /opds, OPDS 2.0 JSON under /opds/v2, one tree.
//! Rows become a format-neutral feed model (render), which two writers turn into documents.

pub mod atom;
pub mod auth;
use crate::http::base;
pub mod conditional;
pub mod covers;
pub mod error;
pub mod feed;
mod found;
pub mod handlers;
pub mod json;
pub mod pages;
pub mod pse;
mod query;
pub mod render;

use actix_web::body::MessageBody;
use actix_web::dev::{HttpServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{guard, web, HttpResponse, ResponseError, Route, Scope};

use crate::error::Error;
use crate::http::throttle;

use crate::library::catalog::{Facet, Shelf};
use handlers as h;
use render::Flavor;

/// GET and HEAD: KOReader sends HEAD before each GET.
fn read() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Every document that exists in both flavors, in one of them: lists, search, entries,
/// each facet's values and books, and the shelves.
fn flavored(mut scope: Scope, flavor: Flavor) -> Scope {
    scope = scope
        .route(
            "/books",
            read().to(move |req, state, q: web::Query<query::BooksQuery>| {
                h::all_books(req, state, flavor, q.into_inner())
            }),
        )
        .route(
            "/new",
            read().to(move |req, state, q: web::Query<query::PageQuery>| {
                h::recent(req, state, flavor, q.into_inner())
            }),
        )
        .route(
            "/search",
            read().to(move |req, state, q: web::Query<query::SearchQuery>| {
                h::search(req, state, flavor, q.into_inner())
            }),
        )
        .route(
            "/books/{id}",
            read().to(move |req, state, id: web::Path<String>| {
                h::entry(req, state, flavor, id.into_inner())
            }),
        );
    for facet in Facet::ALL {
        let values = move |req, state, q: web::Query<query::FacetQuery>| {
            h::facet_values(req, state, q.into_inner(), facet, flavor)
        };
        let books = move |req, state, q: web::Query<query::ValueQuery>| {
            h::facet_books(req, state, q.into_inner(), facet, flavor)
        };
        scope = scope
            .route(&format!("/{}", facet.segment()), read().to(values))
            .route(&format!("/{}/books", facet.segment()), read().to(books));
    }
    scope = scope
        .route(
            "/collections",
            read().to(move |req, state| h::collections(req, state, flavor)),
        )
        .route(
            "/collections/{id}",
            read().to(
                move |req, state, q: web::Query<query::PageQuery>, id: web::Path<String>| {
                    h::collection(req, state, q.into_inner(), id.into_inner(), flavor)
                },
            ),
        );
    for shelf in Shelf::ALL {
        let books = move |req, state, q: web::Query<query::PageQuery>| {
            h::shelf(req, state, q.into_inner(), shelf, flavor)
        };
        scope = scope.route(&format!("/shelves/{}", shelf.segment()), read().to(books));
    }
    scope
}

/// OPDS apps log in with HTTP Basic.
static THROTTLE: throttle::Scope = throttle::Scope {
    presented: throttle::authorization,
    users: "opds",
    refuse,
};

fn refuse(e: Error) -> HttpResponse {
    error::OpdsError::Other(e).error_response()
}

async fn throttled(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    throttle::guard(&THROTTLE, req, next).await
}

/// `/` for reading apps: a client given the server's address alone as its catalog (an Accept
/// that prefers Atom or OPDS JSON, or names no HTML) is sent to `/opds`. Browsers (and
/// KoSync's own routes, which never ask for `/`) pass on to whatever else serves `/`.
pub fn root_redirect() -> impl HttpServiceFactory {
    web::resource("/")
        .guard(guard::fn_guard(|ctx| {
            let present = ctx
                .head()
                .headers()
                .contains_key(actix_web::http::header::ACCEPT);
            conditional::wants_catalog(present.then(|| ctx.header()))
        }))
        .route(read().to(h::to_catalog))
}

/// `/s/{token}/opds`: a collection shared by a link, as a feed (beside the web app's page of
/// it at `/s/{token}`; registered before the web app, which owns `/s`).
pub fn shared_feed() -> impl HttpServiceFactory {
    web::resource("/s/{token}/opds").route(read().to(h::shared))
}

pub fn scope() -> impl HttpServiceFactory {
    let json_root = || read().to(|req, state| h::root(req, state, Flavor::Json));
    let atom = web::scope("/opds")
        .route("", read().to(h::root_negotiated))
        .route("/", read().to(h::root_negotiated))
        .route("/auth", read().to(h::authentication))
        .route("/opensearch.xml", read().to(h::opensearch))
        .route("/books/{id}/files/{file}/{name}", read().to(h::download))
        .route("/covers/{id}/{version}/{kind}/{file}", read().to(h::cover))
        .route("/pse/{file}/{page}", read().to(pse::page));
    let json = web::scope("/v2")
        .route("", json_root())
        .route("/", json_root());
    flavored(atom, Flavor::Atom)
        .service(flavored(json, Flavor::Json))
        .wrap(from_fn(throttled))
}
