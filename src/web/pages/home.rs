//! The home page: where the reader left off (their books being read, with how far), the books
//! added last, and for admins the inbox and the last Hardcover sync problems.

use actix_web::{web, HttpResponse};
use maud::html;

use super::cards::{self, percent};
use crate::db::models::{Book, ReadingStatus};
use crate::hardcover::status::{self as hardcover_status, Run};
use crate::library::browse;
use crate::reading::goals::{self, GoalProgress};
use crate::reading::state::{by_status, last_reads};
use crate::web::error::WebError;
use crate::web::layout::{self, Nav};
use crate::web::session::Visitor;
use crate::{db, AppState};

/// Books shown in each row.
const ROW: i64 = 12;

struct Home {
    reading: Vec<(Book, Option<u8>)>,
    goals: Vec<GoalProgress>,
    added: Vec<Book>,
    /// Admins only: books in review, and the latest failed sync runs.
    admin: Option<(i64, Vec<Run>)>,
}

pub async fn show(state: web::Data<AppState>, v: Visitor) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let stats = state.stats.clone();
    let home = db::run(&state.pool, move |conn| {
        let rows = by_status(conn, s.key_id, Some(ReadingStatus::Reading), 1, ROW)?.rows;
        let ids: Vec<_> = rows.iter().map(|(b, _)| b.id).collect();
        let mut read = last_reads(conn, s.key_id, &ids)?;
        let reading = rows
            .into_iter()
            .map(|(book, _)| {
                let p = read.remove(&book.id).map(|r| percent(r.percentage));
                (book, p)
            })
            .collect();
        let added = browse::recently_added(conn, ROW)?;
        let admin = if s.is_admin {
            Some((
                browse::in_review(conn)?,
                hardcover_status::problems(conn, 3)?,
            ))
        } else {
            None
        };
        Ok(Home {
            goals: goals::with_progress(conn, &stats, s.key_id, chrono::Utc::now().date_naive())?,
            reading,
            added,
            admin,
        })
    })
    .await?;
    let label = v
        .session
        .as_ref()
        .map(|s| s.label.clone())
        .unwrap_or_default();
    Ok(layout::ok(layout::page(
        &v,
        "Home",
        Nav::Home,
        html! {
            h1 { "Welcome, " (label) }
            @if let Some((inbox, problems)) = &home.admin {
                section.panel aria-labelledby="inbox-h" {
                    h2 #inbox-h { "Inbox" }
                    @if *inbox == 0 {
                        p.muted { "No book waits for review." }
                    } @else {
                        p { a href="/inbox" { (inbox) " " (if *inbox == 1 { "book waits" } else { "books wait" }) " for review" } }
                    }
                    @if !problems.is_empty() {
                        h3 { "Hardcover sync problems" }
                        ul {
                            @for run in problems {
                                li {
                                    (cards::when(run.started_at)) ": "
                                    @if let Some(e) = &run.error { span.error { (e) } }
                                    @else { (run.failed) " " (if run.failed == 1 { "book" } else { "books" }) " not synced" }
                                }
                            }
                        }
                    }
                }
            }
            @if !home.goals.is_empty() {
                section.panel aria-labelledby="goals-h" {
                    h2 #goals-h { "Your goals" }
                    @for p in &home.goals { (super::goals::line(p)) }
                    p { a href="/stats" { "Statistics and goals" } }
                }
            }
            section aria-labelledby="reading-h" {
                h2 #reading-h { "Continue reading" }
                @if home.reading.is_empty() {
                    p.muted { "Nothing in progress. Books you read on a synced device show up here." }
                } @else {
                    (cards::row(home.reading.iter().map(|(b, p)| (b, *p))))
                }
            }
            section aria-labelledby="added-h" {
                h2 #added-h { "Recently added" }
                @if home.added.is_empty() {
                    p.muted { "The library is empty." }
                } @else {
                    (cards::row(home.added.iter().map(|b| (b, None))))
                    p { a href="/library?sort=added" { "All books, newest first" } }
                }
            }
        },
    )))
}
