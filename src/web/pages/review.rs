//! Reviewing a book (admins): the file's and each candidate's value of every field beside an
//! editable final value, the covers side by side, and Approve, Look up on Hardcover again,
//! Delete, or Add as another format. Approving goes through `library::review::approve` (the
//! same edit validation and approval as the API's, in one transaction); without JavaScript
//! every choice is a radio button, `static/review.js` makes a click copy a value and adds
//! the keys (j/k or arrows, a).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use bigdecimal::ToPrimitive;
use chrono::Datelike;
use maud::{html, Markup};
use uuid::Uuid;

use super::book::book_id;
use super::inbox::{other_link, thumbnail, title_of, warnings};
use super::review_form::{self, FIELDS, FILE, TYPED};
use crate::db::models::{BookStatus, Candidate};
use crate::error::Error;
use crate::library::queue::{self, Review};
use crate::library::{formats, review};
use crate::web::assets;
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Nav};
use crate::web::session::Visitor;
use crate::{db, hardcover, AppState};

/// A book id from the path; anything else is the 404 page.
fn this_year() -> i32 {
    chrono::Utc::now().year()
}

#[derive(serde::Deserialize)]
pub struct ReviewQuery {
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "approved" => "Approved: that book is in the library. Here is the next one.",
        "deleted" => "Deleted. Here is the next book.",
        "merged" => "Added as another format. Here is the next book.",
        "found" => "Hardcover proposed the values in its column.",
        "no-match" => "Hardcover found no match for this book.",
        "no-token" => {
            "Hardcover could not be asked: no reader has a Hardcover token it accepts. Add one \
             on the Devices page."
        }
        "unreachable" => "Hardcover could not be reached just now. Try again later.",
        _ => return None,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    query: web::Query<ReviewQuery>,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    let found = db::run(&state.pool, move |conn| queue::review(conn, id)).await?;
    let page = render(
        &v,
        &found,
        None,
        &Errors::default(),
        notice(query.done.as_deref()),
    );
    Ok(layout::ok(page))
}

fn confidence(c: &Candidate) -> String {
    let pct = (c.confidence.to_f64().unwrap_or(0.0) * 100.0).round();
    format!("{pct}%")
}

fn column_name(all: &[Candidate], c: &Candidate) -> Markup {
    html! {
        @match c.source.as_str() {
            "hardcover" => { "Hardcover " span.badge { (confidence(c)) " sure" } },
            "calibre" => "calibre",
            "file" if review_form::pick_value(all, c) == FILE => "This file",
            "file" => {
                "Another file"
                @if let Some(f) = c.normalized.get("format").and_then(|f| f.as_str()) {
                    " (" (f.to_uppercase()) ")"
                }
            },
            other => (other),
        }
    }
}

/// The review page; `form` keeps what was posted when it comes back with errors.
fn render(
    v: &Visitor,
    r: &Review,
    form: Option<&Form>,
    errors: &Errors,
    notice: Option<&str>,
) -> Markup {
    let book = &r.queued.book;
    let id = book.id;
    let title = title_of(&book.title);
    let in_review = book.status == BookStatus::Review;
    let content = html! {
        nav.pager aria-label="The review queue" {
            @if let Some(prev) = r.prev { a rel="prev" href={"/review/" (prev)} { "← Previous" } }
            a href="/inbox" { "Inbox" }
            @if let Some(next) = r.next { a rel="next" href={"/review/" (next)} { "Next →" } }
        }
        h1 { "Review: " (title) }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        (layout::form_error(errors, "form"))
        @if !in_review {
            p.notice role="status" { "This book is no longer in review. "
                a href={"/books/" (id)} { "See it in the library" } "." }
        } @else {
            (warnings(&r.queued))
            p.muted { "Files: "
                @for (i, f) in r.files.iter().enumerate() {
                    @if i > 0 { ", " }
                    (f.original_name) " (" (f.format.to_uppercase()) ")"
                }
            }
            @if let Some(into) = &r.queued.format_of {
                section.panel aria-labelledby="format-heading" {
                    h2 #format-heading { "Another format of " (other_link(into)) }
                    p { "This file looks like another format of a book already here. Adding it \
                         there keeps one book with both files (and its readers' progress)." }
                    form method="post" action={"/review/" (id) "/merge"} {
                        (csrf_field(v))
                        button.primary type="submit" { "Add as another format of " (title_of(&into.title)) }
                    }
                }
            }
            (approve_form(v, r, form, errors))
            section.actions aria-label="Other actions" {
                form method="post" action={"/review/" (id) "/lookup"} {
                    (csrf_field(v))
                    button type="submit" { "Look up on Hardcover again" }
                }
                form method="post" action={"/review/" (id) "/delete"} data-confirm="Delete this book, its files and its cover for good?" {
                    (csrf_field(v))
                    button.danger type="submit" { "Delete…" }
                }
            }
            p.muted.keys { "Keys: j or → next book, k or ← previous, a approve." }
        }
        script src=(assets::url("review.js")) defer {}
    };
    layout::page(v, &format!("Review: {title}"), Nav::Inbox, content)
}

fn approve_form(v: &Visitor, r: &Review, form: Option<&Form>, errors: &Errors) -> Markup {
    let book = &r.queued.book;
    let id = book.id;
    let all = &r.candidates;
    let covers: Vec<&Candidate> = all
        .iter()
        .filter(|c| {
            c.normalized
                .get("cover_url")
                .and_then(|u| u.as_str())
                .is_some_and(|u| !u.is_empty())
        })
        .collect();
    let cover_pick = form.map_or("keep", |f| f.get("cover"));
    html! {
        form #approve method="post" action={"/review/" (id) "/approve"} novalidate {
            (csrf_field(v))
            div.scroll {
                table.list.review {
                    caption.sr-only { "Each field: the file's value, each proposal's, and the final value" }
                    thead {
                        tr {
                            th scope="col" { "Field" }
                            @for c in all { th scope="col" { (column_name(all, c)) } }
                            th scope="col" { "Final value" }
                        }
                    }
                    tbody {
                        @for &(field, label) in FIELDS {
                            (field_row(r, form, errors, field, label))
                        }
                    }
                }
            }
            fieldset.covers-choice {
                legend { "Cover" }
                @if let Some(e) = errors.of("cover") { p.error #cover-error role="alert" { (e) } }
                div.choices {
                    label {
                        input type="radio" name="cover" value="keep" checked[!covers.iter().any(|c| c.id.to_string() == cover_pick)];
                        (thumbnail(id, book.cover_path.is_some()))
                        span { @if book.cover_path.is_some() { "This file's cover" } @else { "No cover (keep as is)" } }
                    }
                    @for c in &covers {
                        label {
                            input type="radio" name="cover" value=(c.id) checked[c.id.to_string() == cover_pick];
                            img.cover src={"/review/" (id) "/covers/" (c.id)} alt="" loading="lazy" width="200" height="300";
                            span { (column_name(all, c)) "'s cover" }
                        }
                    }
                }
            }
            div.actions {
                button.primary type="submit" { "Approve" }
            }
        }
    }
}

fn field_row(
    r: &Review,
    form: Option<&Form>,
    errors: &Errors,
    field: &'static str,
    label: &str,
) -> Markup {
    let book = &r.queued.book;
    let all = &r.candidates;
    let input_id = format!("f-{field}");
    let pick_name = format!("pick_{field}");
    let picked = form.map_or(TYPED, |f| f.get(&pick_name));
    let picked = if picked.is_empty() { TYPED } else { picked };
    let current = review_form::current(book, field);
    let value = form.map_or(current.as_str(), |f| f.get(field));
    let error = errors.of(field);
    html! {
        tr.invalid[error.is_some()] {
            th scope="row" { label for=(input_id) { (label) } }
            @for c in all {
                td.pick {
                    @if let Some(shown) = review_form::proposed(c, field) {
                        @let pick = review_form::pick_value(all, c);
                        label {
                            input type="radio" name=(pick_name) value=(pick) data-value=(shown)
                                checked[picked == pick];
                            " "
                            span.value { (clip(&shown)) }
                        }
                    } @else {
                        span.muted { "—" }
                    }
                }
            }
            td.final {
                @if field == "description" {
                    textarea id=(input_id) name=(field) rows="4"
                        aria-invalid=[error.is_some().then_some("true")]
                        aria-describedby=[error.map(|_| format!("{input_id}-error"))] { (value) }
                } @else {
                    input id=(input_id) name=(field) type="text" value=(value)
                        aria-invalid=[error.is_some().then_some("true")]
                        aria-describedby=[error.map(|_| format!("{input_id}-error"))];
                }
                label.typed {
                    input type="radio" name=(pick_name) value=(TYPED) checked[picked == TYPED];
                    " as typed"
                }
                @if let Some(e) = error { p.error id={(input_id) "-error"} role="alert" { (e) } }
            }
        }
    }
}

/// A long value (a description) shortened for its cell; the radio carries it whole.
fn clip(s: &str) -> String {
    const MAX: usize = 300;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// Where to go once a book left the queue: the next one, else the inbox.
fn onwards(next: Option<Uuid>, done: &str) -> HttpResponse {
    match next {
        Some(n) => layout::see_other(&format!("/review/{n}?done={done}")),
        None => layout::see_other(&format!("/inbox?done={done}")),
    }
}

pub async fn approve(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    let form = Form::read(&state, &v, &body)?;
    let found = db::run(&state.pool, move |conn| queue::review(conn, id)).await?;
    let year = this_year();
    let (fields, mut errors) =
        review_form::fields(&form, &found.queued.book, &found.candidates, year);
    let cover = match form.get("cover") {
        "" | "keep" => None,
        raw => match raw.parse::<Uuid>() {
            Ok(c) if errors.is_empty() => {
                let allow = state.config.allow_private_cover_urls;
                match hardcover::cover::take(&state.pool, allow, id, c).await {
                    Ok(taken) => Some(taken),
                    Err(e) if e.is_server_fault() => return Err(e.into()),
                    Err(e) => {
                        errors.add("cover", cover_error(&e));
                        None
                    }
                }
            }
            Ok(_) => None,
            Err(_) => {
                errors.add("cover", "that choice is not one of this book's covers");
                None
            }
        },
    };
    if !errors.is_empty() {
        return again(&v, &found, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let data_dir = state.config.data_dir.clone();
    let result = db::run(&state.pool, move |conn| {
        review::approve(conn, &data_dir, id, &fields, cover.as_ref(), year)?;
        queue::after(conn, id)
    })
    .await;
    match result {
        Ok(next) => Ok(onwards(next, "approved")),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            let status = match e {
                Error::Conflict(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let errors = match e {
                // A candidate's reference gone stale names "fields": a form-wide error.
                Error::Invalid {
                    field: "fields",
                    reason,
                } => {
                    let mut errors = Errors::default();
                    errors.add("form", reason);
                    errors
                }
                e => Errors::from_error(e, "form")?,
            };
            again(&v, &found, &form, &errors, status)
        }
        Err(e) => Err(e.into()),
    }
}

fn cover_error(e: &Error) -> String {
    match e {
        Error::Invalid { reason, .. } => {
            reason.strip_prefix("cover: ").unwrap_or(reason).to_owned()
        }
        other => other.public_message(),
    }
}

fn again(
    v: &Visitor,
    found: &Review,
    form: &Form,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let mut all = Errors::default();
    if errors.of("form").is_none() {
        all.add(
            "form",
            "The book was not approved: correct the fields marked below.",
        );
    }
    let page = render(v, found, Some(form), &merged(all, errors), None);
    Ok(layout::respond(status, page))
}

fn merged(mut into: Errors, from: &Errors) -> Errors {
    for &(field, _) in FIELDS {
        if let Some(e) = from.of(field) {
            into.add(field, e.to_owned());
        }
    }
    for key in ["cover", "form"] {
        if let Some(e) = from.of(key) {
            into.add(key, e.to_owned());
        }
    }
    into
}

pub async fn lookup(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    Form::read(&state, &v, &body)?;
    let done = match hardcover::metadata::lookup_book(&state.hardcover, id).await {
        Ok(Some(_)) => "found",
        Ok(None) => "no-match",
        Err(Error::Conflict(_)) => "no-token",
        Err(Error::Upstream(_) | Error::Unavailable(_)) => "unreachable",
        Err(e) => return Err(e.into()),
    };
    Ok(layout::see_other(&format!("/review/{id}?done={done}")))
}

pub async fn delete(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    let form = Form::read(&state, &v, &body)?;
    if form.get("confirm") != "yes" {
        let book = db::run(&state.pool, move |conn| {
            crate::library::books::visible(conn, id, true)
        })
        .await?;
        let title = title_of(&book.title).to_owned();
        return Ok(layout::ok(layout::page(
            &v,
            "Delete this book?",
            Nav::Inbox,
            html! {
                h1 { "Delete " (title) "?" }
                p { "Its files and cover are removed for good. Reading progress stays, unlinked." }
                form.actions method="post" action={"/review/" (id) "/delete"} {
                    (csrf_field(&v))
                    input type="hidden" name="confirm" value="yes";
                    button.danger type="submit" { "Delete for good" }
                    a href={"/review/" (id)} { "Cancel" }
                }
            },
        )));
    }
    let data_dir = state.config.data_dir.clone();
    let next = db::run(&state.pool, move |conn| {
        let next = queue::after(conn, id)?;
        review::delete(conn, &data_dir, id)?;
        Ok(next)
    })
    .await?;
    Ok(onwards(next, "deleted"))
}

pub async fn merge(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    Form::read(&state, &v, &body)?;
    let data_dir = state.config.data_dir.clone();
    let next = db::run(&state.pool, move |conn| {
        let into = queue::format_of(conn, id)?;
        let next = queue::after(conn, id)?;
        formats::merge(conn, &data_dir, into, &[id])?;
        Ok(next)
    })
    .await?;
    Ok(onwards(next, "merged"))
}

/// A candidate's proposed cover, fetched through libris (the page may load images from
/// libris only), as a thumbnail.
pub async fn candidate_cover(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let (id, candidate) = path.into_inner();
    let (id, candidate) = (book_id(&id)?, book_id(&candidate)?);
    let allow = state.config.allow_private_cover_urls;
    let taken = match hardcover::cover::take(&state.pool, allow, id, candidate).await {
        Ok(t) => t,
        Err(e) if e.is_server_fault() => return Err(e.into()),
        Err(_) => return Err(Error::NotFound("no such cover".into()).into()),
    };
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        .insert_header(("cache-control", "private, max-age=3600"))
        .body(taken.cover.thumbnail))
}
