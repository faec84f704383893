//! A reader's highlights and notes over REST (from KOReader's Exporter: the Notes API and
//! JSON exports over WebDAV; `reading::annotations`): across books or of one, searched;
//! the exported books that matched no book, and linking them by hand.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::caller::Caller;
use super::error::ApiError;
use super::ErrorBody;
use crate::error::Error;
use crate::library::books;
use crate::reading::annotations::{self, Annotation, Filter, Unlinked};
use crate::{db, AppState};

#[derive(Debug, Deserialize, IntoParams)]
pub struct HighlightsQuery {
    /// Words in the text, the note or the book's title.
    q: Option<String>,
    /// Only this chapter.
    chapter: Option<String>,
}

impl HighlightsQuery {
    fn filter(self) -> Filter {
        Filter {
            words: self.q,
            chapter: self.chapter,
        }
    }
}

/// The caller's highlights across books (at most 2,000), by book, then time.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(HighlightsQuery),
    responses((status = 200, body = Vec<Annotation>), (status = 401, body = ErrorBody))
)]
#[get("/highlights")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<HighlightsQuery>,
) -> Result<HttpResponse, ApiError> {
    let reader = caller.key_id;
    let filter = query.into_inner().filter();
    let rows = db::run(&state.pool, move |conn| {
        annotations::list(conn, reader, None, &filter)
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// The caller's highlights of a book, by time.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), HighlightsQuery),
    responses((status = 200, body = Vec<Annotation>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/books/{id}/highlights")]
pub async fn of_book(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    query: web::Query<HighlightsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (reader, book) = (caller.key_id, id.into_inner());
    let filter = query.into_inner().filter();
    let rows = db::run(&state.pool, move |conn| {
        books::organized(conn, book)?;
        annotations::list(conn, reader, Some(book), &filter)
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// The exported books of the caller's that matched no book in the library.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Unlinked>), (status = 401, body = ErrorBody))
)]
#[get("/highlights/unlinked")]
pub async fn unlinked(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let reader = caller.key_id;
    let rows = db::run(&state.pool, move |conn| annotations::unlinked(conn, reader)).await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkHighlights {
    /// The exported book's title and authors, as listed by `/highlights/unlinked`.
    pub title: String,
    pub authors: String,
    pub book_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Linked {
    pub linked: usize,
}

/// Links the caller's highlights of an exported book to a book of the library.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    request_body = LinkHighlights,
    responses((status = 200, body = Linked), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[post("/highlights/link")]
pub async fn link(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<LinkHighlights>,
) -> Result<HttpResponse, ApiError> {
    let reader = caller.key_id;
    let LinkHighlights {
        title,
        authors,
        book_id,
    } = body.into_inner();
    let linked = db::run(&state.pool, move |conn| {
        books::organized(conn, book_id)?;
        match annotations::link(conn, reader, &title, &authors, book_id)? {
            0 => Err(Error::NotFound(
                "no highlights of that exported book".into(),
            )),
            n => Ok(n),
        }
    })
    .await?;
    Ok(HttpResponse::Ok().json(Linked { linked }))
}
