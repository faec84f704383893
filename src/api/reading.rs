//! A reader's reading state over REST: the manual override, and books by status.

use actix_web::{delete, get, patch, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::caller::Caller;
use super::error::ApiError;
use super::ErrorBody;
use crate::db::models::{Book, ReadingStatus};
use crate::error::Error;
use crate::library::books;
use crate::reading::derive::{self, Manual};
use crate::reading::state::{aggregate_of, AggregateRow, DevicePosition, HistoryEntry};
use crate::{db, reading, AppState};

/// One reader's state for one book: the effective status and dates (a manual override
/// wins, then what the history shows, then a sync service), and what each source says.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingState {
    pub status: ReadingStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub last_read_at: Option<DateTime<Utc>>,
    /// From the history alone.
    pub derived_status: ReadingStatus,
    pub manual_status: Option<ReadingStatus>,
    pub external_status: Option<ReadingStatus>,
}

impl ReadingState {
    pub fn unread() -> ReadingState {
        ReadingState {
            status: ReadingStatus::Unread,
            started_at: None,
            finished_at: None,
            paused_at: None,
            last_read_at: None,
            derived_status: ReadingStatus::Unread,
            manual_status: None,
            external_status: None,
        }
    }

    pub fn of(row: &AggregateRow) -> ReadingState {
        let effective = row.effective();
        ReadingState {
            status: effective.status,
            started_at: effective.started_at,
            finished_at: effective.finished_at,
            paused_at: effective.paused_at,
            last_read_at: row.last_read_at,
            derived_status: row.derived_status,
            manual_status: row.manual_status,
            external_status: row.external_status,
        }
    }
}

/// The caller's reading state for a book (unread when there is none).
pub fn state_of(conn: &mut PgConnection, reader: Uuid, book: Uuid) -> Result<ReadingState, Error> {
    Ok(aggregate_of(conn, reader, book)?
        .as_ref()
        .map(ReadingState::of)
        .unwrap_or_else(ReadingState::unread))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualRequest {
    pub status: ReadingStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
}

/// Sets the caller's status for a book by hand. Dates kept per status: unread none;
/// reading started; finished started and finished; paused started and paused.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = ManualRequest,
    responses((status = 200, body = ReadingState), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[patch("/books/{id}/reading-status")]
pub async fn set_manual(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<ManualRequest>,
) -> Result<HttpResponse, ApiError> {
    let book = id.into_inner();
    let body = body.into_inner();
    let manual = derive::validate_manual(
        &Manual {
            status: body.status,
            started_at: body.started_at,
            finished_at: body.finished_at,
            paused_at: body.paused_at,
        },
        Utc::now(),
    )
    .map_err(|e| Error::invalid(e.field, e.message))?;
    let reader = caller.key_id;
    let result = db::run(&state.pool, move |conn| {
        books::set_manual_status(conn, reader, book, &manual)?;
        state_of(conn, reader, book)
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// Clears the caller's manual status: the history (or a sync service) decides again.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ReadingState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/books/{id}/reading-status")]
pub async fn clear_manual(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let book = id.into_inner();
    let reader = caller.key_id;
    let result = db::run(&state.pool, move |conn| {
        books::clear_manual_status(conn, reader, book)?;
        state_of(conn, reader, book)
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadingQuery {
    /// unread, reading, finished or paused; all when absent.
    pub status: Option<ReadingStatus>,
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingEntry {
    pub book: Book,
    pub reading: ReadingState,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingCounts {
    pub unread: i64,
    pub reading: i64,
    pub finished: i64,
    pub paused: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingPage {
    pub items: Vec<ReadingEntry>,
    pub counts: ReadingCounts,
    pub page: i64,
    pub limit: i64,
}

/// The caller's books by effective status, newest read first, with counts per status.
/// Books the caller has no state for are not listed (they are unread).
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(ReadingQuery),
    responses((status = 200, body = ReadingPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
#[get("/reading")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ReadingQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let (page, limit) = super::json::paging(q.page, q.limit, 50, 200)?;
    let reader = caller.key_id;
    let result = db::run(&state.pool, move |conn| {
        let reading::state::ByStatus { counts, rows } =
            reading::state::by_status(conn, reader, q.status, page, limit)?;
        let count = |s: ReadingStatus| counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
        Ok(ReadingPage {
            items: rows
                .into_iter()
                .map(|(book, row)| ReadingEntry {
                    reading: ReadingState::of(&row),
                    book,
                })
                .collect(),
            counts: ReadingCounts {
                unread: count(ReadingStatus::Unread),
                reading: count(ReadingStatus::Reading),
                finished: count(ReadingStatus::Finished),
                paused: count(ReadingStatus::Paused),
            },
            page,
            limit,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<HistoryEntry>,
    pub page: i64,
    pub limit: i64,
    pub total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookProgress {
    /// The current position on each device, newest first.
    pub devices: Vec<DevicePosition>,
    /// Every report, newest first.
    pub history: HistoryPage,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// 1–500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The caller's current position on each device and their history for a book.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = BookProgress), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/books/{id}/progress")]
pub async fn progress(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let book = id.into_inner();
    let (page, limit) = super::json::paging(query.page, query.limit, 100, 500)?;
    let reader = caller.key_id;
    let result = db::run(&state.pool, move |conn| {
        books::organized(conn, book)?;
        let devices = reading::state::positions(conn, reader, book)?;
        let (total, items) = reading::state::history(conn, reader, book, page, limit)?;
        Ok(BookProgress {
            devices,
            history: HistoryPage {
                items,
                page,
                limit,
                total,
            },
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// The caller forgets their progress and history for a book. A status set by hand stays.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/books/{id}/progress")]
pub async fn forget(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let book = id.into_inner();
    let reader = caller.key_id;
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            books::organized(conn, book)?;
            reading::store::forget_progress(conn, reader, book)?;
            let rules = crate::reading::state::rules(conn)?;
            crate::reading::state::rebuild(conn, &rules, Some(reader), Some(book))?;
            Ok(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First day (YYYY-MM-DD, UTC); default: 29 days before `to`.
    pub from: Option<chrono::NaiveDate>,
    /// Last day, inclusive; default: today.
    pub to: Option<chrono::NaiveDate>,
}

/// The caller's reading statistics: books finished per month, sessions (reports no more
/// than 20 minutes apart), time and progress per day, and daily streaks.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(StatsQuery),
    responses((status = 200, body = crate::reading::stats::Stats), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
#[get("/stats")]
pub async fn stats(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let today = Utc::now().date_naive();
    let to = query.to.unwrap_or(today);
    let from = query.from.unwrap_or(to - chrono::Duration::days(29));
    if from > to {
        return Err(Error::invalid("from", "must not be after to").into());
    }
    if (to - from).num_days() > 3660 {
        return Err(Error::invalid("from", "the range may span at most ten years").into());
    }
    let reader = caller.key_id;
    let stats = state.stats.clone();
    let result = db::run(&state.pool, move |conn| {
        stats.statistics(conn, reader, from, to, today)
    })
    .await?;
    Ok(HttpResponse::Ok().json(&*result))
}
