//! Collections on the web: the reader's own and the library-wide ones (`/collections`), one
//! collection with its books in order (move up or down, remove), its name and description,
//! its share link; "add to a collection" from a book's page. The rules are
//! `library::collections`'; a refused name is shown next to its field (422).

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use maud::{html, Markup};
use uuid::Uuid;

use super::book::book_id;
use super::cards::{self, when};
use crate::error::Error;
use crate::library::browse;
use crate::library::collections::{self, Asker, Collection, Listed};
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Field, Nav};
use crate::web::session::Visitor;
use crate::{db, http, AppState};

fn asker(v: &Visitor) -> Result<Asker, WebError> {
    let s = v.signed()?;
    Ok(Asker {
        reader: s.key_id,
        admin: s.is_admin,
    })
}

/// The form as typed, to show again after an error.
#[derive(Default)]
struct Typed {
    name: String,
    description: String,
    /// A search for books to add, on a collection's page.
    q: String,
}

#[derive(serde::Deserialize)]
pub struct Search {
    q: Option<String>,
}

/// Books a search offers to add.
const FOUND: i64 = 20;

pub async fn list(state: web::Data<AppState>, v: Visitor) -> Result<HttpResponse, WebError> {
    list_page(
        &state,
        &v,
        &Typed::default(),
        &Errors::default(),
        StatusCode::OK,
    )
    .await
}

async fn list_page(
    state: &AppState,
    v: &Visitor,
    typed: &Typed,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let who = asker(v)?;
    let all = db::run(&state.pool, move |conn| collections::list(conn, who)).await?;
    let (own, library): (Vec<&Listed>, Vec<&Listed>) =
        all.iter().partition(|l| !l.collection.library_wide());
    let section = |title: &str, id: &str, items: &[&Listed], empty: &str| {
        html! {
            section aria-labelledby=(id) {
                h2 id=(id) { (title) }
                @if items.is_empty() {
                    p.muted { (empty) }
                } @else {
                    ul.collections {
                        @for l in items {
                            li {
                                a href={ "/collections/" (l.collection.id) } { (l.collection.name) }
                                " " span.muted { (l.books) " " (if l.books == 1 { "book" } else { "books" }) }
                                @if l.shared.is_some() { " " span.badge { "shared" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::respond(
        status,
        layout::page(
            v,
            "Collections",
            Nav::Library,
            html! {
                h1 { "Collections" }
                (section("Yours", "own-h", &own, "You have no collection yet."))
                (section("The library's", "library-h", &library, "No library-wide collection."))
                section.panel aria-labelledby="new-h" {
                    h2 #new-h { "A new collection" }
                    form method="post" action="/collections" novalidate {
                        (csrf_field(v))
                        (layout::form_error(errors, "form"))
                        (Field::new("name", "Name").value(&typed.name).required().render(errors))
                        (Field::new("description", "Description (optional)").value(&typed.description).render(errors))
                        @if v.is_admin() {
                            div.field {
                                label {
                                    input type="checkbox" name="library_wide" value="true";
                                    " Library-wide (every reader sees it; only admins change it)"
                                }
                            }
                        }
                        div.actions { button.primary type="submit" { "Make the collection" } }
                    }
                }
            },
        ),
    ))
}

pub async fn create(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let who = asker(&v)?;
    let form = Form::read(&state, &v, &body)?;
    let typed = Typed {
        name: form.get("name").to_owned(),
        description: form.get("description").to_owned(),
        q: String::new(),
    };
    let wide = form.has("library_wide");
    let (name, description) = (typed.name.clone(), typed.description.clone());
    let made = db::run(&state.pool, move |conn| {
        collections::create(conn, who, &name, &description, wide)
    })
    .await;
    match made {
        Ok(c) => Ok(layout::see_other(&format!("/collections/{}", c.id))),
        Err(e) => {
            let errors = Errors::from_error(e, "form")?;
            list_page(
                &state,
                &v,
                &typed,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// A form posted to a collection's address: who, which collection, the form (token checked).
fn posted(
    state: &AppState,
    v: &Visitor,
    id: &str,
    body: &Bytes,
) -> Result<(Asker, Uuid, Form), WebError> {
    let who = asker(v)?;
    let id = collection_id(id)?;
    Ok((who, id, Form::read(state, v, body)?))
}

fn collection_id(raw: &str) -> Result<Uuid, WebError> {
    raw.parse()
        .map_err(|_| Error::NotFound("no such collection".into()).into())
}

/// What a share just made shows once: its link.
struct Made {
    link: String,
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    search: web::Query<Search>,
) -> Result<HttpResponse, WebError> {
    let id = collection_id(&id)?;
    let typed = Typed {
        q: search
            .q
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
        ..Typed::default()
    };
    page(
        &state,
        &v,
        id,
        None,
        &typed,
        &Errors::default(),
        StatusCode::OK,
    )
    .await
}

async fn page(
    state: &AppState,
    v: &Visitor,
    id: Uuid,
    made: Option<Made>,
    typed: &Typed,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let who = asker(v)?;
    let q = typed.q.clone();
    let (c, books, shared, found) = db::run(&state.pool, move |conn| {
        let c = collections::get(conn, who, id)?;
        let shared = collections::share_of(conn, id)?;
        let found = if c.editable_by(who) {
            browse::search_books(conn, &q, FOUND)?
        } else {
            vec![]
        };
        Ok((c.clone(), collections::books_of(conn, id)?, shared, found))
    })
    .await?;
    let edit = c.editable_by(who);
    let base = format!("/collections/{id}");
    let notice = match v.here.split_once("done=").map(|(_, d)| d) {
        Some("saved") => Some("The collection is saved."),
        Some("unshared") => Some("The share link is revoked: it opens nothing now."),
        _ => None,
    };
    let name = if typed.name.is_empty() {
        c.name.clone()
    } else {
        typed.name.clone()
    };
    let description = if typed.name.is_empty() {
        c.description.clone()
    } else {
        typed.description.clone()
    };
    Ok(layout::respond(
        status,
        layout::page(
            v,
            &c.name,
            Nav::Library,
            html! {
                @if let Some(n) = notice { p.notice role="status" { (n) } }
                p { a href="/collections" { "← Collections" } }
                h1 { (c.name) }
                @if c.library_wide() { p { span.badge { "library-wide" } } }
                @if !c.description.is_empty() { p.description { (c.description) } }
                @if books.is_empty() {
                    p.muted { "No book yet. Add one from its page: “Add to a collection”." }
                } @else {
                    ol.collection-books {
                        @for (i, b) in books.iter().enumerate() {
                            li {
                                (cards::thumbnail(b))
                                span {
                                    a href={ "/books/" (b.id) } { strong { (cards::title(b)) } }
                                    @if let Some(a) = &b.author { br; span.muted { (a) } }
                                }
                                @if edit {
                                    span.actions {
                                        @if i > 0 { (button(v, &format!("{base}/books/{}/up", b.id), "Up", cards::title(b))) }
                                        @if i + 1 < books.len() { (button(v, &format!("{base}/books/{}/down", b.id), "Down", cards::title(b))) }
                                        (button(v, &format!("{base}/books/{}/remove", b.id), "Remove", cards::title(b)))
                                    }
                                }
                            }
                        }
                    }
                }
                @if edit {
                    section.panel aria-labelledby="add-h" {
                        h2 #add-h { "Add books" }
                        form.toolbar method="get" action=(base) role="search" {
                            div.field.search {
                                label for="f-q" { "Search the library" }
                                input #f-q type="search" name="q" value=(typed.q) placeholder="Title, author, series…";
                            }
                            button type="submit" { "Search" }
                        }
                        @if !typed.q.trim().is_empty() && found.is_empty() { p { "No book matches." } }
                        @if !found.is_empty() {
                            ul.picks {
                                @for b in &found {
                                    li {
                                        (cards::thumbnail(b))
                                        span {
                                            strong { (cards::title(b)) }
                                            @if let Some(a) = &b.author { br; span.muted { (a) } }
                                        }
                                        @if books.iter().any(|x| x.id == b.id) {
                                            span.muted { "In the collection" }
                                        } @else {
                                            form method="post" action="/collections/add" {
                                                (csrf_field(v))
                                                input type="hidden" name="collection" value=(id);
                                                input type="hidden" name="book" value=(b.id);
                                                input type="hidden" name="q" value=(typed.q);
                                                button.small type="submit" { "Add" span.sr-only { ": " (cards::title(b)) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    section.panel aria-labelledby="share-h" {
                        h2 #share-h { "Share by a link" }
                        @if let Some(m) = &made {
                            p.notice role="status" { "Anyone with this link sees the collection's books and may download them, nothing else. It is shown only now: copy it." }
                            p.copy-row { code #share-link { (m.link) } }
                        }
                        @match &shared {
                            Some(s) => {
                                p {
                                    "Shared since " (when(s.created_at))
                                    @if let Some(e) = s.expires_at { ", until " (when(e)) } @else { ", with no end" }
                                    "."
                                }
                                form method="post" action={ (base) "/unshare" } data-confirm="Revoke the link? It stops working at once." {
                                    (csrf_field(v))
                                    button.danger type="submit" { "Revoke the link" }
                                }
                            }
                            None => {
                                form method="post" action={ (base) "/share" } novalidate {
                                    (csrf_field(v))
                                    (Field::new("expires_on", "Ends on (optional)").kind("date").hint("The link stops working at the start of that day (UTC).").render(errors))
                                    div.actions { button.primary type="submit" { "Make a share link" } }
                                }
                            }
                        }
                        @if let (Some(s), None) = (&shared, &made) {
                            form method="post" action={ (base) "/share" } {
                                (csrf_field(v))
                                // The new link ends when the old one would have.
                                @if let Some(e) = s.expires_at {
                                    input type="hidden" name="expires_on" value=(e.date_naive());
                                }
                                button.small type="submit" { "Make a new link (the old one stops)" }
                            }
                        }
                    }
                    section.panel aria-labelledby="edit-h" {
                        h2 #edit-h { "Name and description" }
                        form method="post" action={ (base) "/edit" } novalidate {
                            (csrf_field(v))
                            (Field::new("name", "Name").value(&name).required().render(errors))
                            (Field::new("description", "Description").value(&description).render(errors))
                            div.actions { button.primary type="submit" { "Save" } }
                        }
                        form method="post" action={ (base) "/delete" } data-confirm="Delete this collection? Its books stay in the library." {
                            (csrf_field(v))
                            button.danger type="submit" { "Delete the collection" }
                        }
                    }
                }
            },
        ),
    ))
}

fn button(v: &Visitor, action: &str, label: &str, title: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(v))
            button.small type="submit" { (label) span.sr-only { ": " (title) } }
        }
    }
}

pub async fn edit(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let (who, id, form) = posted(&state, &v, &id, &body)?;
    let typed = Typed {
        name: form.get("name").to_owned(),
        description: form.get("description").to_owned(),
        q: String::new(),
    };
    let (name, description) = (typed.name.clone(), typed.description.clone());
    let done = db::run(&state.pool, move |conn| {
        collections::rename(conn, who, id, &name, &description)
    })
    .await;
    match done {
        Ok(_) => Ok(layout::see_other(&format!("/collections/{id}?done=saved"))),
        Err(e @ (Error::NotFound(_) | Error::Forbidden(_))) => Err(e.into()),
        Err(e) => {
            let errors = Errors::from_error(e, "name")?;
            page(
                &state,
                &v,
                id,
                None,
                &typed,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn delete(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let (who, id, _) = posted(&state, &v, &id, &body)?;
    db::run(&state.pool, move |conn| collections::delete(conn, who, id)).await?;
    Ok(layout::see_other("/collections"))
}

/// Up, down or remove one book: `/collections/{id}/books/{book}/{what}`.
pub async fn book_action(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String, String)>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let who = asker(&v)?;
    let (id, book, what) = path.into_inner();
    let (id, book) = (collection_id(&id)?, book_id(&book)?);
    Form::read(&state, &v, &body)?;
    db::run(&state.pool, move |conn| match what.as_str() {
        "up" => collections::shift(conn, who, id, book, -1),
        "down" => collections::shift(conn, who, id, book, 1),
        "remove" => collections::remove(conn, who, id, book),
        _ => Err(Error::NotFound("no such action".into())),
    })
    .await?;
    Ok(layout::see_other(&format!("/collections/{id}")))
}

/// "Add to a collection" from a book's page: fields `collection` and `book`.
pub async fn add(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let who = asker(&v)?;
    let form = Form::read(&state, &v, &body)?;
    let id = collection_id(form.get("collection"))?;
    let book = book_id(form.get("book"))?;
    db::run(&state.pool, move |conn| {
        collections::add(conn, who, id, book)
    })
    .await?;
    // From a search on the collection's page, back to it and the same search.
    if form.has("q") {
        let q = percent_encoding::utf8_percent_encode(
            form.get("q"),
            percent_encoding::NON_ALPHANUMERIC,
        );
        return Ok(layout::see_other(&format!("/collections/{id}?q={q}")));
    }
    Ok(layout::see_other(&format!("/books/{book}?done=collected")))
}

/// The collections a reader may add `book` to, for the book's page.
pub fn add_form(v: &Visitor, book: Uuid, editable: &[Collection]) -> Markup {
    html! {
        section.panel aria-labelledby="collect-h" {
            h2 #collect-h { "Add to a collection" }
            @if editable.is_empty() {
                p.muted { "You have no collection yet: " a href="/collections" { "make one" } "." }
            } @else {
                form.inline method="post" action="/collections/add" {
                    (csrf_field(v))
                    input type="hidden" name="book" value=(book);
                    div.field {
                        label for="f-collection" { "Collection" }
                        select #f-collection name="collection" {
                            @for c in editable { option value=(c.id) { (c.name) } }
                        }
                    }
                    button type="submit" { "Add" }
                }
            }
        }
    }
}

pub async fn share(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let (who, id, form) = posted(&state, &v, &id, &body)?;
    // An end day, or none: anything else, or a day gone, is refused beside the field.
    let ends = form.get("expires_on").trim().to_owned();
    let expires_at = match ends.as_str() {
        "" => Ok(None),
        day => NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .filter(|t| *t > Utc::now())
            .map(Some)
            .ok_or("must be a day after today (YYYY-MM-DD), or empty"),
    };
    let expires_at = match expires_at {
        Ok(e) => e,
        Err(message) => {
            let mut errors = Errors::default();
            errors.add("expires_on", message);
            let (typed, status) = (Typed::default(), StatusCode::UNPROCESSABLE_ENTITY);
            return page(&state, &v, id, None, &typed, &errors, status).await;
        }
    };
    let token = db::run(&state.pool, move |conn| {
        collections::share(conn, who, id, expires_at)
    })
    .await?;
    let link = format!("{}/s/{token}", http::base::base_url(&req, &state.config));
    page(
        &state,
        &v,
        id,
        Some(Made { link }),
        &Typed::default(),
        &Errors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn unshare(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let (who, id, _) = posted(&state, &v, &id, &body)?;
    db::run(&state.pool, move |conn| collections::unshare(conn, who, id)).await?;
    Ok(layout::see_other(&format!(
        "/collections/{id}?done=unshared"
    )))
}
