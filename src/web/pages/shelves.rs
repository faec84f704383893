//! Reading: the reader's shelves. Continue reading (the books being read, the last read
//! first) above the shelf asked for: Reading, Paused, Finished or Unread, each a page of
//! covers with how far the reader is, when they last read and on which device. The statuses
//! are the effective ones of `reading::derive` (a status set by hand wins).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::cards::{self, percent};
use crate::db::models::{Book, ReadingStatus};
use crate::error::Error;
use crate::library::browse::Narrow;
use crate::reading::shelves::unread;
use crate::reading::state::{by_status, last_reads, LastRead};
use crate::web::error::WebError;
use crate::web::layout::{self, Nav};
use crate::web::listing;
use crate::web::session::Visitor;
use crate::{db, AppState};

/// Books on a page of a shelf.
const PAGE: i64 = 48;
/// Books in the Continue reading row.
const CONTINUE: i64 = 12;

/// The shelves, in the order of their tabs: the `shelf` value, its name, its status.
const SHELVES: [(&str, &str, ReadingStatus); 4] = [
    ("reading", "Reading", ReadingStatus::Reading),
    ("paused", "Paused", ReadingStatus::Paused),
    ("finished", "Finished", ReadingStatus::Finished),
    ("unread", "Unread", ReadingStatus::Unread),
];

#[derive(Deserialize)]
pub struct Asked {
    shelf: Option<String>,
    page: Option<i64>,
}

/// A book on a shelf: how far (0–100), and the reader's last report of it.
struct Shelved {
    book: Book,
    progress: Option<u8>,
    last: Option<LastRead>,
}

struct Shelves {
    continuing: Vec<Shelved>,
    shelf: Vec<Shelved>,
    /// How many books each shelf holds, in the order of [`SHELVES`].
    counts: [i64; 4],
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    asked: web::Query<Asked>,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let name = asked.shelf.as_deref().unwrap_or("reading");
    let (shelf, label, status) = *SHELVES
        .iter()
        .find(|(value, ..)| *value == name)
        .ok_or_else(|| Error::NotFound(format!("no shelf {name}")))?;
    let page = asked.page.unwrap_or(1);
    // A page past any shelf's end is a 404 (checked again below against the shelf's size;
    // here, before an OFFSET could overflow).
    if !(1..=1_000_000).contains(&page) {
        return Err(Error::NotFound("no such page".into()).into());
    }
    let reader = s.key_id;
    // The library's size, kept per library version: unread is it less the books started.
    let version = listing::version(&state).await?;
    let library = listing::page(&state, version, Narrow::default(), None, 1)
        .await?
        .total;
    let shelves = db::run(&state.pool, move |conn| {
        let continuing = by_status(conn, reader, Some(ReadingStatus::Reading), 1, CONTINUE)?;
        let mut counts = [0; 4];
        for (i, (_, _, status)) in SHELVES.iter().enumerate() {
            counts[i] = continuing
                .counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
        }
        counts[3] = (library - counts[..3].iter().sum::<i64>()).max(0);
        let listed: Vec<Book> = if status == ReadingStatus::Unread {
            unread(conn, reader, page, PAGE)?
        } else {
            by_status(conn, reader, Some(status), page, PAGE)?
                .rows
                .into_iter()
                .map(|(b, _)| b)
                .collect()
        };
        let continuing: Vec<Book> = continuing.rows.into_iter().map(|(b, _)| b).collect();
        let ids: Vec<Uuid> = continuing.iter().chain(&listed).map(|b| b.id).collect();
        let last = last_reads(conn, reader, &ids)?;
        let shelve = |rows: Vec<Book>| -> Vec<Shelved> {
            rows.into_iter()
                .map(|book| {
                    let last = last.get(&book.id).cloned();
                    Shelved {
                        progress: last.as_ref().map(|l| percent(l.percentage)),
                        book,
                        last,
                    }
                })
                .collect()
        };
        Ok(Shelves {
            continuing: shelve(continuing),
            shelf: shelve(listed),
            counts,
        })
    })
    .await?;
    let index = SHELVES.iter().position(|(v, ..)| *v == shelf).unwrap_or(0);
    let total = shelves.counts[index];
    let last_page = ((total + PAGE - 1) / PAGE).max(1);
    if page > last_page {
        return Err(Error::NotFound("no such page".into()).into());
    }
    let now = Utc::now();
    let title = if page > 1 {
        format!("Reading · {label} · page {page}")
    } else {
        format!("Reading · {label}")
    };
    Ok(layout::ok(layout::page(
        &v,
        &title,
        Nav::Reading,
        html! {
            h1 { "Reading" }
            p { a href="/highlights" { "Your highlights and notes" } }
            section aria-labelledby="continue-h" {
                h2 #continue-h { "Continue reading" }
                @if shelves.continuing.is_empty() {
                    p.muted { "Nothing in progress. Books you read on a synced device show up here." }
                } @else {
                    div.covers.row { @for b in &shelves.continuing { (card(b, now)) } }
                }
            }
            nav.tabs aria-label="Shelves" {
                ul {
                    @for (i, (value, name, _)) in SHELVES.iter().enumerate() {
                        li {
                            a href={ "/reading?shelf=" (value) }
                                aria-current=[(i == index).then_some("page")] {
                                (name) " " span.count { (shelves.counts[i]) }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="shelf-h" {
                h2 #shelf-h { (label) }
                @if shelves.shelf.is_empty() {
                    p.muted { (empty(status)) }
                } @else {
                    div.covers { @for b in &shelves.shelf { (card(b, now)) } }
                }
                (pager(shelf, page, last_page))
            }
        },
    )))
}

fn empty(status: ReadingStatus) -> &'static str {
    match status {
        ReadingStatus::Reading => "No book in progress.",
        ReadingStatus::Paused => {
            "No paused book: a book you have not read for a while shows up here."
        }
        ReadingStatus::Finished => "No finished book yet.",
        ReadingStatus::Unread => "You have started every book in the library.",
    }
}

/// A cover with how far, when and where the reader last read.
fn card(b: &Shelved, now: DateTime<Utc>) -> Markup {
    let book = &b.book;
    html! {
        div.card {
            a href={ "/books/" (book.id) } {
                (cards::thumbnail(book))
                span.title { (cards::title(book)) }
            }
            @if let Some(author) = &book.author { span.author { (author) } }
            @if let Some(p) = b.progress {
                progress max="100" value=(p) aria-label={ (p) "% read" } { (p) "%" }
            }
            @if let Some(last) = &b.last {
                span.when {
                    (cards::moment(last.at, now)) " on " (last.device)
                }
            }
        }
    }
}

fn pager(shelf: &str, page: i64, last: i64) -> Markup {
    let href = |n: i64| format!("/reading?shelf={shelf}&page={n}");
    html! {
        @if last > 1 {
            nav.pager aria-label="Pages" {
                @if page > 1 { a rel="prev" href=(href(page - 1)) { "Previous" } }
                span aria-current="page" { "Page " (page) " of " (last) }
                @if page < last { a rel="next" href=(href(page + 1)) { "Next" } }
            }
        }
    }
}
