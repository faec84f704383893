//! A book's page: its cover, metadata, files, neighbours in its series, the reader's reading
//! (every device's position) with the manual status form, and the KOReader documents linked
//! to it. Readers see organized books only (others are 404, as in the API).

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};
use uuid::Uuid;

use super::cards::{self, percent, when};
use super::highlights;
use crate::db::models::{Book, BookFile, BookStatus, ReadingStatus};
use crate::error::Error;
use crate::library::{books, browse, catalog, languages, links};
use crate::reading::annotations::Annotation;
use crate::reading::derive::{self, Manual};
use crate::reading::state::{aggregate_of, history, positions, AggregateRow, DevicePosition};
use crate::reading::timeline::{self, Sitting};
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Nav};
use crate::web::session::Visitor;
use crate::{db, AppState};

/// What the page shows of one book.
struct Shown {
    book: Book,
    files: Vec<BookFile>,
    neighbours: (Option<Book>, Option<Book>),
    reading: Option<AggregateRow>,
    devices: Vec<DevicePosition>,
    documents: Vec<(String, String)>,
    /// The reader's newest reports of it, as sittings (newest first), and how many reports
    /// they have of it in all.
    timeline: Vec<Sitting>,
    reports: i64,
    /// The collections the reader may add it to.
    collections: Vec<crate::library::collections::Collection>,
    /// The reader's highlights of it (those asked for), its chapters, and whether any.
    highlights: (Vec<Annotation>, Vec<String>, bool),
}

/// Reports the timeline is built from (the newest); older ones are counted, not shown.
const TIMELINE_REPORTS: i64 = 500;

/// The manual status form as sent (or as stored, for the first showing).
#[derive(Default)]
struct StatusInput {
    status: String,
    started_at: String,
    finished_at: String,
    paused_at: String,
}

pub const STATUSES: [(ReadingStatus, &str, &str); 4] = [
    (ReadingStatus::Unread, "unread", "Unread"),
    (ReadingStatus::Reading, "reading", "Reading"),
    (ReadingStatus::Finished, "finished", "Finished"),
    (ReadingStatus::Paused, "paused", "Paused"),
];

fn status_name(s: ReadingStatus) -> &'static str {
    STATUSES
        .iter()
        .find(|(st, _, _)| *st == s)
        .map_or("unread", |(_, _, label)| label)
}

fn status_value(s: ReadingStatus) -> &'static str {
    STATUSES
        .iter()
        .find(|(st, _, _)| *st == s)
        .map_or("unread", |(_, value, _)| value)
}

fn day(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// A book id from the path: anything not an id is a missing book.
pub fn book_id(raw: &str) -> Result<Uuid, WebError> {
    raw.parse::<Uuid>()
        .map_err(|_| Error::NotFound("no such book".into()).into())
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    v.signed()?;
    let id = book_id(&id)?;
    let asked = highlights::Asked::of(&req);
    page(
        &state,
        &v,
        id,
        None,
        &Errors::default(),
        StatusCode::OK,
        asked,
    )
    .await
}

async fn page(
    state: &AppState,
    v: &Visitor,
    id: Uuid,
    input: Option<StatusInput>,
    errors: &Errors,
    status: StatusCode,
    asked: highlights::Asked,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let hl_asked = asked.clone();
    let shown = db::run(&state.pool, move |conn| {
        let book = books::visible(conn, id, s.is_admin)?;
        let (reports, newest) = history(conn, s.key_id, id, 1, TIMELINE_REPORTS)?;
        // Oldest first: reports of one second keep their arrival order.
        let timeline = timeline::sittings(
            newest
                .into_iter()
                .rev()
                .filter_map(|h| {
                    Some(timeline::Report {
                        at: DateTime::from_timestamp(h.timestamp, 0)?,
                        device: h.device,
                        percentage: bigdecimal::ToPrimitive::to_f64(&h.percentage)?,
                        progress: h.progress,
                    })
                })
                .collect(),
        );
        let who = crate::library::collections::Asker {
            reader: s.key_id,
            admin: s.is_admin,
        };
        let collections = crate::library::collections::editable_by(conn, who)?;
        Ok(Shown {
            highlights: highlights::of_book(conn, s.key_id, id, &hl_asked)?,
            collections,
            timeline,
            reports,
            files: books::files_of(conn, id)?,
            neighbours: browse::series_neighbours(conn, &book)?,
            reading: aggregate_of(conn, s.key_id, id)?,
            devices: positions(conn, s.key_id, id)?,
            documents: links::of_book(conn, id)?,
            book,
        })
    })
    .await?;
    let input = input.unwrap_or_else(|| {
        let effective = shown.reading.as_ref().map(AggregateRow::effective);
        StatusInput {
            status: status_value(effective.map_or(ReadingStatus::Unread, |e| e.status)).into(),
            started_at: day(effective.and_then(|e| e.started_at)),
            finished_at: day(effective.and_then(|e| e.finished_at)),
            paused_at: day(effective.and_then(|e| e.paused_at)),
        }
    });
    let notice = match v.here.split_once("done=").map(|(_, d)| d) {
        Some("status") => Some("Your reading status is saved."),
        Some("cleared") => Some("Your reading status follows your reading again."),
        Some("edited") => Some("The book is saved."),
        Some("cover") => Some("The cover is replaced."),
        Some("collected") => Some("The book is added to the collection."),
        _ => None,
    };
    let title = cards::title(&shown.book).to_owned();
    Ok(layout::respond(
        status,
        layout::page(
            v,
            &title,
            Nav::Library,
            html! {
                @if let Some(n) = notice { p.notice role="status" { (n) } }
                div.book-head {
                    div {
                        @if shown.book.cover_path.is_some() {
                            a href=(cards::cover_url(&shown.book)) {
                                img.cover src=(cards::thumbnail_url(&shown.book))
                                    alt={ "Cover of " (title) }
                                    width=(cards::THUMB.0) height=(cards::THUMB.1);
                            }
                        } @else {
                            (cards::thumbnail(&shown.book))
                        }
                    }
                    div {
                        (about(&shown, v.is_admin()))
                    }
                }
                (files(&shown))
                (neighbours(&shown))
                (reading_panel(v, &shown, &input, errors))
                (timeline_panel(&shown))
                (highlights::panel(shown.book.id, &shown.highlights.0, &shown.highlights.1, &asked, shown.highlights.2))
                @if shown.book.status == BookStatus::Organized {
                    (super::collections::add_form(v, shown.book.id, &shown.collections))
                }
                @if !shown.documents.is_empty() {
                    section.panel aria-labelledby="docs-h" {
                        h2 #docs-h { "KOReader documents" }
                        p.muted { "Reading synced under these documents counts for this book." }
                        table.list {
                            thead { tr { th scope="col" { "Document" } th scope="col" { "Linked by" } } }
                            tbody {
                                @for (document, source) in &shown.documents {
                                    tr { td { code { (document) } } td { (source) } }
                                }
                            }
                        }
                    }
                }
            },
        ),
    ))
}

fn about(shown: &Shown, admin: bool) -> Markup {
    let b = &shown.book;
    let authors = b
        .author
        .as_deref()
        .map(catalog::authors_of)
        .unwrap_or_default();
    let genres: Vec<&str> = b.genres.iter().flatten().map(String::as_str).collect();
    let tags: Vec<&str> = b.tags.iter().flatten().map(String::as_str).collect();
    html! {
        h1 { (cards::title(b)) }
        @if b.status != BookStatus::Organized {
            p { span.badge { "In " @if b.status == BookStatus::Review { "review" } @else { "the inbox" } } }
        }
        @if !authors.is_empty() {
            p.author {
                "by "
                @for (i, a) in authors.iter().enumerate() {
                    @if i > 0 { " & " }
                    a href=(path("authors", a)) { (a) }
                }
            }
        }
        @if let Some(series) = &b.series {
            p {
                @if let Some(i) = b.series_index { "Book " (i) " of " }
                a href=(path("series", series)) { (series) }
            }
        }
        dl.meta {
            @if let Some(p) = &b.publisher { dt { "Publisher" } dd { (p) } }
            @if let Some(y) = b.published_year { dt { "Published" } dd { (y) } }
            @if let Some(l) = &b.language { dt { "Language" } dd { (languages::name(l)) } }
            @if let Some(n) = b.page_count { dt { "Pages" } dd { (n) } }
            @if let Some(i) = &b.isbn_13 { dt { "ISBN-13" } dd { (i) } }
            @if let Some(i) = &b.isbn_10 { dt { "ISBN-10" } dd { (i) } }
            @if !genres.is_empty() {
                dt { "Genres" }
                dd {
                    @for (i, g) in genres.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href={ "/library?" (query("genre", g)) } { (g) }
                    }
                }
            }
            @if !tags.is_empty() { dt { "Tags" } dd { (tags.join(", ")) } }
            dt { "Added" } dd { (when(b.created_at)) }
        }
        @if let Some(d) = &b.description {
            p.description { (d.trim()) }
        }
        @if admin {
            div.actions {
                a.button href={ "/books/" (b.id) "/edit" } { "Edit" }
                a.button.danger href={ "/books/" (b.id) "/delete" } { "Delete" }
            }
        }
    }
}

/// `/{kind}/{name}` with the name escaped as one path segment.
pub fn path(kind: &str, name: &str) -> String {
    format!(
        "/{kind}/{}",
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
    )
}

fn query(name: &str, value: &str) -> String {
    serde_urlencoded::to_string([(name, value)]).unwrap_or_default()
}

fn files(shown: &Shown) -> Markup {
    html! {
        section.panel aria-labelledby="files-h" {
            h2 #files-h { "Files" }
            @if shown.files.is_empty() {
                p.muted { "This book has no file." }
            } @else {
                table.list {
                    thead { tr {
                        th scope="col" { "Format" } th scope="col" { "Size" }
                        th scope="col" { "File" } th scope="col" { span.sr-only { "Download" } }
                    } }
                    tbody {
                        @for f in &shown.files {
                            tr {
                                td { (f.format.to_uppercase()) }
                                td { (cards::size(f.file_size)) }
                                td { (f.original_name) }
                                td { a href={ "/books/" (shown.book.id) "/files/" (f.id) } download {
                                    "Download" span.sr-only { " " (f.format.to_uppercase()) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn neighbours(shown: &Shown) -> Markup {
    let (before, after) = &shown.neighbours;
    html! {
        @if before.is_some() || after.is_some() {
            nav.pager aria-label="In this series" {
                @if let Some(b) = before {
                    a rel="prev" href={ "/books/" (b.id) } { "← " (cards::title(b)) }
                }
                @if let Some(a) = after {
                    a rel="next" href={ "/books/" (a.id) } { (cards::title(a)) " →" }
                }
            }
        }
    }
}

fn reading_panel(v: &Visitor, shown: &Shown, input: &StatusInput, errors: &Errors) -> Markup {
    let effective = shown.reading.as_ref().map(AggregateRow::effective);
    let manual = shown.reading.as_ref().and_then(|r| r.manual_status);
    let id = shown.book.id;
    let date = |name: &'static str, label: &str, value: &str| {
        layout::Field::new(name, label)
            .kind("date")
            .value(value)
            .render(errors)
    };
    html! {
        section.panel aria-labelledby="reading-h" {
            h2 #reading-h { "Your reading" }
            p {
                "Status: " strong { (status_name(effective.map_or(ReadingStatus::Unread, |e| e.status))) }
                @if manual.is_some() { " " span.badge { "set by you" } }
            }
            @if let Some(e) = effective {
                dl.meta {
                    @if let Some(t) = e.started_at { dt { "Started" } dd { (when(t)) } }
                    @if let Some(t) = e.finished_at { dt { "Finished" } dd { (when(t)) } }
                    @if let Some(t) = shown.reading.as_ref().and_then(|r| r.last_read_at) { dt { "Last read" } dd { (when(t)) } }
                }
            }
            @if !shown.devices.is_empty() {
                table.list {
                    caption { "Where you are on each device" }
                    thead { tr { th scope="col" { "Device" } th scope="col" { "Position" } th scope="col" { "When" } } }
                    tbody {
                        @for d in &shown.devices {
                            @let p = percent(bigdecimal::ToPrimitive::to_f64(&d.percentage).unwrap_or(0.0));
                            tr {
                                th scope="row" { (d.device) }
                                td { progress max="100" value=(p) aria-label={ (p) "% read" } { (p) "%" } " " (p) "%" }
                                td { (DateTime::from_timestamp(d.timestamp, 0).map(when).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
            // A status is a reader's of a book in the library: not of one in review.
            @if shown.book.status == BookStatus::Organized {
                form method="post" action={ "/books/" (id) "/status" } novalidate {
                    (csrf_field(v))
                    (layout::form_error(errors, "form"))
                    div.field.invalid[errors.of("status").is_some()] {
                        label for="f-status" { "Set your status" }
                        select #f-status name="status" {
                            @for (_, value, label) in STATUSES {
                                option value=(value) selected[input.status == value] { (label) }
                            }
                        }
                        @if let Some(e) = errors.of("status") { p.error role="alert" { (e) } }
                    }
                    (date("started_at", "Started on", &input.started_at))
                    (date("finished_at", "Finished on", &input.finished_at))
                    (date("paused_at", "Paused on", &input.paused_at))
                    div.actions { button.primary type="submit" { "Save status" } }
                }
                @if manual.is_some() {
                    form method="post" action={ "/books/" (id) "/status/clear" } {
                        (csrf_field(v))
                        button.small type="submit" { "Let my reading decide again" }
                    }
                }
            }
        }
    }
}

/// The reader's sittings with the book, newest first, each opening onto its reports.
fn timeline_panel(shown: &Shown) -> Markup {
    let shown_reports: usize = shown.timeline.iter().map(|s| s.reports.len()).sum();
    html! {
        @if !shown.timeline.is_empty() {
            section.panel aria-labelledby="timeline-h" {
                h2 #timeline-h { "Your reading, sitting by sitting" }
                p.muted {
                    "Reports at most " (crate::reading::stats::SESSION_GAP_MINUTES)
                    " minutes apart are one sitting."
                    @if (shown_reports as i64) < shown.reports {
                        " The newest " (shown_reports) " of your " (shown.reports) " reports are shown."
                    }
                }
                ol.timeline {
                    @for s in &shown.timeline {
                        li {
                            details {
                                summary {
                                    time datetime=(s.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) { (when(s.start)) }
                                    @if s.end > s.start { " – " (s.end.format("%H:%M")) }
                                    " · " (s.devices.join(", "))
                                    " · " (percent(s.from)) "% → " (percent(s.to)) "%"
                                    " (" (s.reports.len()) " " (if s.reports.len() == 1 { "report" } else { "reports" }) ")"
                                }
                                table.list {
                                    caption.sr-only { "Reports of this sitting" }
                                    thead { tr { th scope="col" { "When" } th scope="col" { "Device" } th scope="col" { "Percentage" } th scope="col" { "Position" } } }
                                    tbody {
                                        @for r in &s.reports {
                                            tr {
                                                td { (r.at.format("%H:%M:%S")) }
                                                td { (r.device) }
                                                td { (percent(r.percentage)) "%" }
                                                td { code.position { (r.progress) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A date field: empty is none; anything else must be a day (the start of it, UTC).
fn parse_day(value: &str, field: &'static str, errors: &mut Errors) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
        Err(_) => {
            errors.add(field, "Not a date: write it as YYYY-MM-DD.");
            None
        }
    }
}

/// The manual status form: validated as `PATCH /api/books/{id}/reading-status` is
/// (`derive::validate_manual`), each error next to its field.
pub async fn set_status(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let id = book_id(&id)?;
    let form = Form::read(&state, &v, &body)?;
    let input = StatusInput {
        status: form.get("status").to_owned(),
        started_at: form.get("started_at").to_owned(),
        finished_at: form.get("finished_at").to_owned(),
        paused_at: form.get("paused_at").to_owned(),
    };
    let mut errors = Errors::default();
    let status = STATUSES
        .iter()
        .find(|(_, value, _)| *value == input.status)
        .map(|(s, _, _)| *s);
    if status.is_none() {
        errors.add("status", "Choose one of the statuses.");
    }
    let started_at = parse_day(&input.started_at, "started_at", &mut errors);
    let finished_at = parse_day(&input.finished_at, "finished_at", &mut errors);
    let paused_at = parse_day(&input.paused_at, "paused_at", &mut errors);
    let manual = match status {
        Some(status) if errors.is_empty() => derive::validate_manual(
            &Manual {
                status,
                started_at,
                finished_at,
                paused_at,
            },
            Utc::now(),
        )
        .map_err(|e| errors.add(e.field, format!("The date {}.", field_message(e.message))))
        .ok(),
        _ => None,
    };
    let Some(manual) = manual else {
        return page(
            &state,
            &v,
            id,
            Some(input),
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
            highlights::Asked::default(),
        )
        .await;
    };
    let reader = s.key_id;
    db::run(&state.pool, move |conn| {
        books::set_manual_status(conn, reader, id, &manual)
    })
    .await?;
    Ok(layout::see_other(&format!("/books/{id}?done=status")))
}

/// The rule's words for a form: "must not be before started_at" names the start field.
fn field_message(message: &str) -> String {
    message.replace("started_at", "start date")
}

pub async fn clear_status(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let id = book_id(&id)?;
    Form::read(&state, &v, &body)?;
    let reader = s.key_id;
    db::run(&state.pool, move |conn| {
        books::clear_manual_status(conn, reader, id)
    })
    .await?;
    Ok(layout::see_other(&format!("/books/{id}?done=cleared")))
}
