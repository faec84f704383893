//! A collection shared by a link (`/s/{token}`): a read-only page of its books (covers,
//! titles, authors, downloads) for anyone holding the link, signed in or not. The token opens
//! that collection's books and nothing else (`library::collections::shared_book`); a revoked
//! or ended share is a 404 at every address at once. No one's reading is shown.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;

use super::book::book_id;
use super::cards;
use crate::error::Error;
use crate::library::{books, catalog, collections, download, paths};
use crate::web::error::WebError;
use crate::web::layout;
use crate::{db, AppState};

/// Private and never stored: the address is the secret.
fn private(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

pub async fn show(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = token.into_inner();
    let t = token.clone();
    let (c, listed) = db::run(&state.pool, move |conn| {
        let c = collections::shared(conn, &t)?;
        let ids: Vec<_> = collections::books_of(conn, c.id)?
            .iter()
            .map(|b| b.id)
            .collect();
        // Every book's files in one query, in the collection's order.
        Ok((c, catalog::books_with_files(conn, &ids)?))
    })
    .await?;
    let base = format!("/s/{token}");
    Ok(private(layout::ok(layout::bare(
        &c.name,
        html! {
            h1 { (c.name) }
            @if !c.description.is_empty() { p.description { (c.description) } }
            p.muted { "A collection shared from a libris library: " (listed.len()) " " (if listed.len() == 1 { "book" } else { "books" }) "." }
            ol.collection-books.shared {
                @for (b, files) in &listed {
                    li {
                        @if b.cover_path.is_some() {
                            img.cover src={ (base) "/books/" (b.id) "/thumbnail" } alt="" loading="lazy"
                                width=(cards::THUMB.0) height=(cards::THUMB.1);
                        } @else {
                            span.cover.placeholder aria-hidden="true" { (cards::title(b)) }
                        }
                        span {
                            strong { (cards::title(b)) }
                            @if let Some(a) = &b.author { br; span.muted { (a) } }
                            br;
                            @for f in files {
                                a href={ (base) "/books/" (b.id) "/files/" (f.id) } download {
                                    "Download " (f.format.to_uppercase())
                                    span.sr-only { ": " (cards::title(b)) }
                                }
                                " "
                            }
                        }
                    }
                }
            }
        },
    ))))
}

pub async fn thumbnail(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (token, id) = path.into_inner();
    let id = book_id(&id)?;
    let book = db::run(&state.pool, move |conn| {
        collections::shared_book(conn, &token, id)
    })
    .await?;
    let cover = book
        .cover_path
        .and_then(|c| paths::thumbnail_of(&c))
        .ok_or_else(|| Error::NotFound("this book has no cover".into()))?;
    Ok(private(download::serve_image(
        &req,
        &state.config.data_dir,
        &cover,
    )?))
}

pub async fn file(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, WebError> {
    let (token, id, file_id) = path.into_inner();
    let (id, file_id) = (book_id(&id)?, book_id(&file_id)?);
    let file = db::run(&state.pool, move |conn| {
        collections::shared_book(conn, &token, id)?;
        books::file_of(conn, id, file_id)?
            .ok_or_else(|| Error::NotFound(format!("no file {file_id} in book {id}")))
    })
    .await?;
    Ok(private(download::serve(
        &req,
        &state.config.data_dir,
        &file,
    )?))
}
