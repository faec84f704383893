//! Devices and sync health: every device that sent a reader's progress (when first and last,
//! how much lately, how its documents matched books, bursts of reports in one second), and
//! the documents that matched no book, with "link to a book" and "forget". A reader sees
//! their own at `/devices`; an admin anyone's at `/readers/{id}/devices`.
//!
//! Linking is the library's manual document link (`library::links::link_by_hand`): it holds
//! for everyone who reads that file, as the API's link does. A reader may link only a
//! document they reported that matched nothing; the history and aggregates follow at once.

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::Connection;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::cards::{self, percent};
use crate::auth::device_passwords::{self, DevicePassword};
use crate::auth::keys;
use crate::db::models::Book;
use crate::error::Error;
use crate::library::{books, browse, links};
use crate::reading::devices::{self, Device, Unmatched, BURST};
use crate::reading::store;
use crate::web::error::WebError;
use crate::web::form::Form;
use crate::web::layout::{self, csrf_field, Nav};
use crate::web::session::Visitor;
use crate::{db, AppState};

/// Books a search offers to link to.
const CHOICES: i64 = 20;
/// The longest search taken (longer matches nothing anyway).
const MAX_QUERY: usize = 200;

/// Whose devices a page is about, and where its forms post.
struct Whose {
    key_id: Uuid,
    /// `/devices`, or `/readers/{id}/devices` for an admin looking at a reader.
    base: String,
    /// The reader's label when it is not the visitor.
    other: Option<String>,
}

async fn whose(state: &AppState, v: &Visitor, reader: Option<&str>) -> Result<Whose, WebError> {
    let s = v.signed()?;
    let Some(raw) = reader else {
        return Ok(Whose {
            key_id: s.key_id,
            base: "/devices".into(),
            other: None,
        });
    };
    v.admin()?;
    let id: Uuid = raw
        .parse()
        .map_err(|_| Error::NotFound("no such reader".into()))?;
    if id == s.key_id {
        return Ok(Whose {
            key_id: id,
            base: "/devices".into(),
            other: None,
        });
    }
    let key = db::run(&state.pool, move |conn| keys::find(conn, id)).await?;
    Ok(Whose {
        key_id: id,
        base: format!("/readers/{id}/devices"),
        other: Some(key.label),
    })
}

/// `/devices`, or `/readers/{id}/devices`: whose the path says.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
) -> Result<HttpResponse, WebError> {
    let w = whose(&state, &v, req.match_info().get("id")).await?;
    let v = &v;
    let key_id = w.key_id;
    let (list, docs, passwords) = db::run(&state.pool, move |conn| {
        Ok((
            devices::of_reader(conn, key_id)?,
            devices::unmatched(conn, key_id)?,
            device_passwords::list(conn, key_id)?,
        ))
    })
    .await?;
    let notice = match v.here.split_once("done=").map(|(_, d)| d) {
        Some("linked") => Some("The document is linked: its reading counts for the book now."),
        Some("forgotten") => Some("The document's reading is forgotten."),
        _ => None,
    };
    let now = Utc::now();
    let title = match &w.other {
        Some(label) => format!("{label}'s devices"),
        None => "Devices and sync".to_owned(),
    };
    Ok(layout::ok(layout::page(
        v,
        &title,
        if w.other.is_some() {
            Nav::Readers
        } else {
            Nav::Connect
        },
        html! {
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            h1 { (title) }
            @if w.other.is_none() {
                p { "To sync a new device, see " a href="/connect" { "Connect a device" } "." }
            }
            section aria-labelledby="devices-h" {
                h2 #devices-h { "Devices" }
                @if list.is_empty() {
                    p.muted { "No device has synced reading progress yet." }
                } @else {
                    @for d in &list { (device(d, password_of(&passwords, d), now)) }
                }
            }
            section aria-labelledby="unmatched-h" {
                h2 #unmatched-h { "Documents that matched no book" }
                @if docs.is_empty() {
                    p.muted { "Every document synced belongs to a book of the library." }
                } @else {
                    p.muted {
                        "KOReader names a document by a digest of its file (or of its file name). "
                        "These match no book here: link one to its book and its reading counts "
                        "for it, or forget it."
                    }
                    div.table-wrap { table.list {
                        caption.sr-only { "Documents that matched no book" }
                        thead {
                            tr {
                                th scope="col" { "Document" }
                                th scope="col" { "Device" }
                                th scope="col" { "Position" }
                                th scope="col" { "Last report" }
                                th scope="col" { "Actions" }
                            }
                        }
                        tbody { @for d in &docs { (unmatched_row(v, &w, d, now)) } }
                    } }
                }
            }
        },
    )))
}

/// The device password a device last reported with, if any: the last KoSync report made with
/// the password named this device (by its id, else its name; only KoSync names devices).
fn password_of<'a>(passwords: &'a [DevicePassword], d: &Device) -> Option<&'a str> {
    passwords
        .iter()
        .find(|p| match (&d.device_id, &p.last_device_id) {
            (Some(a), Some(b)) => a == b,
            _ => p.last_device.is_some() && p.last_device.as_deref() == Some(d.device.as_str()),
        })
        .map(|p| p.label.as_str())
}

fn device(d: &Device, password: Option<&str>, now: DateTime<Utc>) -> Markup {
    let matched: Vec<String> = [
        (d.by_content, "by content"),
        (d.by_filename, "by file name"),
        (d.by_metadata, "by metadata"),
        (d.by_hand, "by hand"),
        (d.unmatched, "matched no book"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, how)| format!("{n} {how}"))
    .collect();
    html! {
        article.panel.device {
            h3 {
                (d.device)
                @if let Some(id) = &d.device_id { " " small.muted { "id " code { (id) } } }
            }
            dl.meta {
                dt { "Last report" } dd { (cards::moment(d.last_report, now)) }
                dt { "First report" } dd { (cards::when(d.first_report)) }
                dt { "Reports, last 30 days" } dd { (d.reports_30_days) }
                dt { "Books" } dd { (d.books) }
                dt { "Documents" } dd { (matched.join(", ")) }
                dt { "Signs in with" }
                dd {
                    @match password {
                        Some(label) => { "the device password " strong { (label) } }
                        None => "the KoSync login",
                    }
                }
            }
            @if d.bursts_30_days > 0 {
                p.warning role="note" {
                    strong { "Reports in bursts. " }
                    "In the last 30 days this device sent " (BURST) " reports or more within one "
                    "second " (d.bursts_30_days) " " (if d.bursts_30_days == 1 { "time" } else { "times" })
                    ". KOReader does that when it replays reports it could not send: each is "
                    "stamped when it arrived, not when you read, so the times of those reports "
                    "(and the sessions and minutes built from them) are not when the reading happened."
                }
            }
        }
    }
}

fn said(d: &Unmatched) -> Option<String> {
    let parts: Vec<&str> = [&d.title, &d.authors, &d.file_name]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn unmatched_row(v: &Visitor, w: &Whose, d: &Unmatched, now: DateTime<Utc>) -> Markup {
    let p = percent(d.percentage);
    let link = format!(
        "{}/link?document={}",
        w.base,
        percent_encoding::utf8_percent_encode(&d.document, percent_encoding::NON_ALPHANUMERIC)
    );
    html! {
        tr {
            td {
                code { (d.document) }
                @if let Some(s) = said(d) { br; span.muted { "KOReader said: " (s) } }
            }
            td { (d.device) }
            td { progress max="100" value=(p) aria-label={ (p) "% read" } { (p) "%" } " " (p) "%" }
            td { (cards::moment(d.last_report, now)) }
            td.actions {
                a.button.small href=(link) { "Link to a book" }
                form method="post" action={ (w.base) "/forget" }
                    data-confirm="Forget the reading synced under this document?" {
                    (csrf_field(v))
                    input type="hidden" name="document" value=(d.document);
                    button.small type="submit" { "Forget" }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct LinkAsked {
    document: Option<String>,
    q: Option<String>,
}

/// The document's row among the reader's unmatched ones; NotFound otherwise.
fn find_unmatched(
    conn: &mut diesel::PgConnection,
    key_id: Uuid,
    document: &str,
) -> Result<Unmatched, Error> {
    devices::unmatched(conn, key_id)?
        .into_iter()
        .find(|d| d.document == document)
        .ok_or_else(|| Error::NotFound("no such unmatched document".into()))
}

/// The search for the book an unmatched document is.
pub async fn link_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    asked: web::Query<LinkAsked>,
) -> Result<HttpResponse, WebError> {
    let w = whose(&state, &v, req.match_info().get("id")).await?;
    let (v, asked) = (&v, asked.into_inner());
    let document = asked.document.unwrap_or_default();
    let key_id = w.key_id;
    let doc = document.clone();
    let typed = asked
        .q
        .map(|q| q.chars().take(MAX_QUERY).collect::<String>());
    let (found, query, books) = db::run(&state.pool, move |conn| {
        let found = find_unmatched(conn, key_id, &doc)?;
        // Until the reader searches, what KOReader said of the book is the search.
        let query = typed.unwrap_or_else(|| found.title.clone().unwrap_or_default());
        let books: Vec<Book> = browse::search_books(conn, &query, CHOICES)?;
        Ok((found, query, books))
    })
    .await?;
    let back = w.base.clone();
    Ok(layout::ok(layout::page(
        v,
        "Link a document to a book",
        if w.other.is_some() {
            Nav::Readers
        } else {
            Nav::Connect
        },
        html! {
            p { a href=(back) { "← Devices and sync" } }
            h1 { "Link a document to a book" }
            dl.meta {
                dt { "Document" } dd { code { (found.document) } }
                dt { "Device" } dd { (found.device) }
                @if let Some(s) = said(&found) { dt { "KOReader said" } dd { (s) } }
            }
            p.muted {
                "The link holds for the file, whoever reads it: their reading of this document "
                "counts for the book you pick."
            }
            form.toolbar method="get" action={ (w.base) "/link" } role="search" {
                input type="hidden" name="document" value=(document);
                div.field.search {
                    label for="f-q" { "Find the book" }
                    input #f-q type="search" name="q" value=(query) placeholder="Title, author, series…";
                }
                button type="submit" { "Search" }
            }
            @if query.trim().is_empty() {
                p.muted { "Search the library for the book this document is." }
            } @else if books.is_empty() {
                p { "No book matches." }
            } @else {
                ul.picks {
                    @for b in &books {
                        li {
                            (cards::thumbnail(b))
                            span {
                                strong { (cards::title(b)) }
                                @if let Some(a) = &b.author { br; span.muted { (a) } }
                            }
                            form method="post" action={ (w.base) "/link" } {
                                (csrf_field(v))
                                input type="hidden" name="document" value=(document);
                                input type="hidden" name="book" value=(b.id);
                                button.primary.small type="submit" {
                                    "Link to this book"
                                    span.sr-only { ": " (cards::title(b)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )))
}

pub async fn link(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let w = whose(&state, &v, req.match_info().get("id")).await?;
    let form = Form::read(&state, &v, &body)?;
    let document = form.get("document").to_owned();
    let book: Uuid = form
        .get("book")
        .parse()
        .map_err(|_| Error::NotFound("no such book".into()))?;
    let key_id = w.key_id;
    let admin = v.is_admin();
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            find_unmatched(conn, key_id, &document)?;
            books::organized(conn, book)?;
            // A manual link holds for everyone who reads the file: a reader makes one only for
            // a document no book is linked to and nobody else reported; the rest is an admin's
            // (here, or the API's link, which is admin-only).
            if !admin
                && (links::is_linked(conn, &document)?
                    || devices::reported_by_others(conn, key_id, &document)?)
            {
                return Err(Error::Forbidden(
                    "Other readers' reading or another book's link rests on this document: \
                     an admin links it."
                        .into(),
                ));
            }
            links::link_by_hand(conn, book, &document)
        })
    })
    .await?;
    Ok(layout::see_other(&format!("{}?done=linked", w.base)))
}

pub async fn forget(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let w = whose(&state, &v, req.match_info().get("id")).await?;
    let form = Form::read(&state, &v, &body)?;
    let document = form.get("document").to_owned();
    let key_id = w.key_id;
    let forgotten = db::run(&state.pool, move |conn| {
        store::forget_unmatched(conn, key_id, &document)
    })
    .await?;
    if !forgotten {
        return Err(Error::NotFound("no such unmatched document".into()).into());
    }
    Ok(layout::see_other(&format!("{}?done=forgotten", w.base)))
}
