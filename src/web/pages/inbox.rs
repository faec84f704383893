//! The inbox (admins): the upload form (a file picker; `static/upload.js` adds drag and drop
//! with per-file progress) and the queue of books in review, each linking to its review.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use uuid::Uuid;

use super::told::Told;
use crate::db::models::BookStatus;
use crate::library::queue::{self, Other, Queued};
use crate::web::assets;
use crate::web::error::WebError;
use crate::web::layout::{self, csrf_field, Nav};
use crate::web::session::Visitor;
use crate::{db, AppState};

const PER_PAGE: i64 = 50;

#[derive(serde::Deserialize)]
pub struct InboxQuery {
    page: Option<String>,
    done: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    // A hostile page number is page 1, never an error.
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let notice = match query.done.as_deref() {
        Some("approved") => Some("Approved: the book is in the library. The queue is empty."),
        Some("deleted") => Some("Deleted. The queue is empty."),
        Some("merged") => Some("Added as another format. The queue is empty."),
        _ => None,
    };
    let markup = render(&state, &v, page, notice, None, None).await?;
    Ok(layout::ok(markup))
}

/// The inbox page, with what became of an upload when there was one.
pub async fn render(
    state: &AppState,
    v: &Visitor,
    page: i64,
    notice: Option<&str>,
    told: Option<&[Told]>,
    error: Option<&str>,
) -> Result<Markup, WebError> {
    let (total, items) =
        db::run(&state.pool, move |conn| queue::page(conn, page, PER_PAGE)).await?;
    let pages = (total + PER_PAGE - 1) / PER_PAGE;
    let limit_mb = state.config.max_upload_bytes / (1024 * 1024);
    Ok(layout::page(
        v,
        "Inbox",
        Nav::Inbox,
        html! {
            h1 { "Inbox" }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            section.panel aria-labelledby="upload-heading" {
                h2 #upload-heading { "Add books" }
                form #upload.dropzone method="post" action="/inbox/upload" enctype="multipart/form-data" {
                    (csrf_field(v))
                    @if let Some(e) = error { p.error role="alert" #files-error { (e) } }
                    div.field {
                        label for="files" { "Book files" }
                        small.hint #files-hint { "EPUB, PDF, MOBI, AZW3, FB2, CBZ, CBR, DjVu and more; up to "
                            (limit_mb) " MB in all. You can also drop files here." }
                        input #files type="file" name="file" multiple required aria-describedby="files-hint";
                    }
                    div.actions { button.primary type="submit" { "Upload" } }
                    ul #upload-progress.outcomes aria-live="polite" {}
                }
                @if let Some(told) = told {
                    h3 { "What became of each file" }
                    (super::told::list(told))
                }
            }
            section aria-labelledby="queue-heading" {
                h2 #queue-heading { "In review " span.badge { (total) } }
                @if items.is_empty() {
                    p.muted { "Nothing waits for review. Uploaded books appear here." }
                } @else {
                    (queue_grid(&items))
                    @if pages > 1 { (pager(page, pages)) }
                }
            }
            script src=(assets::url("upload.js")) defer {}
        },
    ))
}

/// Where a link to another book goes: its review while it is in review.
pub fn book_href(id: Uuid, status: BookStatus) -> String {
    match status {
        BookStatus::Review => format!("/review/{id}"),
        _ => format!("/books/{id}"),
    }
}

pub fn title_of(title: &Option<String>) -> &str {
    title.as_deref().unwrap_or("Untitled")
}

pub fn other_link(other: &Other) -> Markup {
    html! { a href=(book_href(other.id, other.status)) { (title_of(&other.title)) } }
}

/// A book's cover thumbnail, or a blank of the same size.
pub fn thumbnail(id: Uuid, has_cover: bool) -> Markup {
    html! {
        @if has_cover {
            img.cover src={"/books/" (id) "/thumbnail"} alt="" loading="lazy" width="200" height="300";
        } @else {
            span.cover.placeholder aria-hidden="true" {}
        }
    }
}

/// The warnings a queued book carries.
pub fn warnings(q: &Queued) -> Markup {
    html! {
        @if let Some(other) = &q.format_of {
            p.badge { "Another format of " (other_link(other)) }
        }
        @if let Some(other) = &q.duplicate_of {
            p.badge.warning { "Possibly a duplicate of " (other_link(other)) }
        }
    }
}

fn queue_grid(items: &[Queued]) -> Markup {
    html! {
        ul.covers.queue {
            @for q in items {
                li {
                    a.card href={"/review/" (q.book.id)} {
                        (thumbnail(q.book.id, q.book.cover_path.is_some()))
                        span.title { (title_of(&q.book.title)) }
                        span.author { (q.book.author.as_deref().unwrap_or("Unknown author")) }
                    }
                    p.muted { @for f in &q.formats { span.badge { (f.to_uppercase()) } " " } }
                    (warnings(q))
                }
            }
        }
    }
}

fn pager(page: i64, pages: i64) -> Markup {
    html! {
        nav.pager aria-label="Pages of the queue" {
            @if page > 1 { a rel="prev" href={"/inbox?page=" (page - 1)} { "Previous" } }
            span { "Page " (page) " of " (pages) }
            @if page < pages { a rel="next" href={"/inbox?page=" (page + 1)} { "Next" } }
        }
    }
}

/// A form error page of the inbox (no file chosen, say), with its status.
pub async fn refused(
    state: &AppState,
    v: &Visitor,
    status: StatusCode,
    error: &str,
) -> Result<HttpResponse, WebError> {
    let markup = render(state, v, 1, None, None, Some(error)).await?;
    Ok(layout::respond(status, markup))
}
