//! Highlights and notes from KOReader's Exporter (`reading::annotations`): the panel of a
//! book's page (search, a chapter, copy, export as Markdown), the page across books
//! (`/highlights`), and linking an exported book that matched no book by hand.

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::book::book_id;
use super::cards::when;
use crate::db::models::Book;
use crate::error::Error;
use crate::library::{books, browse};
use crate::reading::annotations::{self, Annotation, Filter};
use crate::web::assets;
use crate::web::error::WebError;
use crate::web::form::Form;
use crate::web::layout::{self, csrf_field, Nav};
use crate::web::session::Visitor;
use crate::{db, AppState};

/// Books offered when linking by hand.
const CHOICES: i64 = 12;
const MAX_QUERY: usize = 200;

/// What a page of highlights was asked to show (`hq`, `chapter` in the query).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Asked {
    #[serde(default)]
    pub hq: String,
    #[serde(default)]
    pub chapter: String,
}

impl Asked {
    /// From a request's query, leniently: what cannot be read is not asked.
    pub fn of(req: &HttpRequest) -> Asked {
        let mut asked: Asked = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        asked.hq = asked.hq.chars().take(MAX_QUERY).collect();
        asked.chapter = asked.chapter.chars().take(MAX_QUERY).collect();
        asked
    }

    pub fn filter(&self) -> Filter {
        Filter {
            words: Some(self.hq.clone()).filter(|q| !q.trim().is_empty()),
            chapter: Some(self.chapter.clone()).filter(|c| !c.is_empty()),
        }
    }
}

fn style(h: &Annotation) -> &'static str {
    match h.drawer.as_deref() {
        Some("underscore") => "underscore",
        Some("strikeout") => "strikeout",
        Some("invert") => "invert",
        _ => "lighten",
    }
}

fn one(h: &Annotation, with_book: bool) -> Markup {
    let copied = match &h.note {
        Some(note) => format!("{}\n\n{}", h.text, note),
        None => h.text.clone(),
    };
    html! {
        li.highlight {
            blockquote class={ "hl " (style(h)) } { (h.text) }
            @if let Some(note) = &h.note { p.note { strong { "Note: " } (note) } }
            p.muted.meta {
                @if with_book {
                    @match h.book_id {
                        Some(id) => { a href={ "/books/" (id) "#highlights" } { (h.book_title) } " · " }
                        None => { (h.book_title) " · " }
                    }
                }
                @if let Some(c) = &h.chapter { (c) " · " }
                @if let Some(p) = &h.page { "page " (p) }
                @if let Some(t) = h.highlighted_at { " · " (when(t)) }
                " "
                button.small.copy type="button" data-copy=(copied) hidden { "Copy" }
            }
        }
    }
}

/// The panel on a book's page.
pub fn panel(
    book: Uuid,
    shown: &[Annotation],
    chapters: &[String],
    asked: &Asked,
    any: bool,
) -> Markup {
    html! {
        @if any {
            section.panel #highlights aria-labelledby="highlights-h" {
                h2 #highlights-h { "Your highlights" }
                form.toolbar method="get" action={ "/books/" (book) "#highlights" } role="search" {
                    div.field.search {
                        label for="f-hq" { "Search your highlights" }
                        input #f-hq type="search" name="hq" value=(asked.hq);
                    }
                    @if !chapters.is_empty() {
                        div.field {
                            label for="f-chapter" { "Chapter" }
                            select #f-chapter name="chapter" {
                                option value="" { "All chapters" }
                                @for c in chapters {
                                    option value=(c) selected[*c == asked.chapter] { (c) }
                                }
                            }
                        }
                    }
                    button type="submit" { "Show" }
                    a.button href={ "/books/" (book) "/highlights.md" } download { "Export as Markdown" }
                }
                @if shown.is_empty() {
                    p { "No highlight matches." }
                } @else {
                    ol.highlights { @for h in shown { (one(h, false)) } }
                }
                script src=(assets::url("connect.js")) defer {}
            }
        }
    }
}

/// What the book page shows of the reader's highlights of `book`: those asked for, the
/// chapters, and whether there are any at all.
pub fn of_book(
    conn: &mut diesel::PgConnection,
    reader: Uuid,
    book: Uuid,
    asked: &Asked,
) -> Result<(Vec<Annotation>, Vec<String>, bool), Error> {
    // Most books have none: one probe, and nothing else read.
    if !annotations::any_of_book(conn, reader, book)? {
        return Ok((vec![], vec![], false));
    }
    let chapters = annotations::chapters(conn, reader, book)?;
    let shown = annotations::list(conn, reader, Some(book), &asked.filter())?;
    Ok((shown, chapters, true))
}

/// `/books/{id}/highlights.md`: the reader's highlights of a book as Markdown, in KOReader's
/// own layout.
pub async fn markdown(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let id = book_id(&id)?;
    let (book, list) = db::run(&state.pool, move |conn| {
        let book = books::visible(conn, id, s.is_admin)?;
        Ok((
            book,
            annotations::list(conn, s.key_id, Some(id), &Filter::default())?,
        ))
    })
    .await?;
    let title = book.title.clone().unwrap_or_else(|| "Untitled".into());
    let text = annotations::markdown(&title, book.author.as_deref().unwrap_or(""), &list);
    let file: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type("text/markdown; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{} - highlights.md\"", file.trim()),
        ))
        .body(text))
}

/// `/highlights`: every highlight of the reader's, searched; the exported books to link.
pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let reader = v.signed()?.key_id;
    let asked = Asked::of(&req);
    let filter = asked.filter();
    let (list, unlinked) = db::run(&state.pool, move |conn| {
        Ok((
            annotations::list(conn, reader, None, &filter)?,
            annotations::unlinked(conn, reader)?,
        ))
    })
    .await?;
    let notice = match v.here.split_once("done=").map(|(_, d)| d) {
        Some("linked") => Some("The highlights are linked to the book."),
        _ => None,
    };
    Ok(layout::ok(layout::page(
        &v,
        "Highlights",
        Nav::Reading,
        html! {
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            h1 { "Highlights" }
            p.muted {
                "From KOReader's export (Nextcloud notes, or JSON over WebDAV): see "
                a href="/connect#device-passwords" { "Connect your devices" } "."
            }
            form.toolbar method="get" action="/highlights" role="search" {
                div.field.search {
                    label for="f-hq" { "Search your highlights" }
                    input #f-hq type="search" name="hq" value=(asked.hq);
                }
                button type="submit" { "Search" }
            }
            @if !unlinked.is_empty() {
                section.panel aria-labelledby="unlinked-h" {
                    h2 #unlinked-h { "Exported books that matched no book" }
                    ul {
                        @for u in &unlinked {
                            li {
                                strong { (u.title) }
                                @if !u.authors.is_empty() { " by " (u.authors) }
                                " (" (u.highlights) ") "
                                a.button.small href={ "/highlights/link?" (serde_urlencoded::to_string([("title", &u.title), ("authors", &u.authors)]).unwrap_or_default()) } {
                                    "Link to a book"
                                }
                            }
                        }
                    }
                }
            }
            @if list.is_empty() {
                p { @if asked.hq.is_empty() { "No highlights yet." } @else { "No highlight matches." } }
            } @else {
                ol.highlights { @for h in &list { (one(h, true)) } }
            }
            script src=(assets::url("connect.js")) defer {}
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct LinkAsked {
    #[serde(default)]
    title: String,
    #[serde(default)]
    authors: String,
    q: Option<String>,
}

/// `/highlights/link`: the search for the book an exported book is.
pub async fn link_form(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let reader = v.signed()?.key_id;
    let asked: LinkAsked = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| Error::NotFound("no such exported book".into()))?;
    let query: String = asked
        .q
        .clone()
        .unwrap_or_else(|| asked.title.clone())
        .chars()
        .take(MAX_QUERY)
        .collect();
    let (title, authors) = (asked.title.clone(), asked.authors.clone());
    let q = query.clone();
    let books: Vec<Book> = db::run(&state.pool, move |conn| {
        if !annotations::unlinked(conn, reader)?
            .iter()
            .any(|u| u.title == title && u.authors == authors)
        {
            return Err(Error::NotFound("no such exported book".into()));
        }
        browse::search_books(conn, &q, CHOICES)
    })
    .await?;
    Ok(layout::ok(layout::page(
        &v,
        "Link highlights to a book",
        Nav::Reading,
        html! {
            p { a href="/highlights" { "← Highlights" } }
            h1 { "Link highlights to a book" }
            dl.meta {
                dt { "Exported as" } dd { strong { (asked.title) } @if !asked.authors.is_empty() { " by " (asked.authors) } }
            }
            form.toolbar method="get" action="/highlights/link" role="search" {
                input type="hidden" name="title" value=(asked.title);
                input type="hidden" name="authors" value=(asked.authors);
                div.field.search {
                    label for="f-q" { "Find the book" }
                    input #f-q type="search" name="q" value=(query);
                }
                button type="submit" { "Search" }
            }
            @if books.is_empty() {
                p { "No book matches." }
            } @else {
                ul.choices {
                    @for b in &books {
                        li {
                            form method="post" action="/highlights/link" {
                                (csrf_field(&v))
                                input type="hidden" name="title" value=(asked.title);
                                input type="hidden" name="authors" value=(asked.authors);
                                input type="hidden" name="book" value=(b.id);
                                strong { (super::cards::title(b)) }
                                @if let Some(a) = &b.author { " by " (a) }
                                " "
                                button.small type="submit" { "Link" }
                            }
                        }
                    }
                }
            }
        },
    )))
}

pub async fn link(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let reader = v.signed()?.key_id;
    let form = Form::read(&state, &v, &body)?;
    let (title, authors) = (form.get("title").to_owned(), form.get("authors").to_owned());
    let book: Uuid = form
        .get("book")
        .parse()
        .map_err(|_| Error::NotFound("no such book".into()))?;
    db::run(&state.pool, move |conn| {
        books::organized(conn, book)?;
        match annotations::link(conn, reader, &title, &authors, book)? {
            0 => Err(Error::NotFound("no such exported book".into())),
            _ => Ok(()),
        }
    })
    .await?;
    Ok(layout::see_other("/highlights?done=linked"))
}
