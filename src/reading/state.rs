//! Reading state in the database: the rules in force, rebuilding aggregates from history,
//! the sweep that pauses what was left alone, and one reader's state for one book.
//!
//! The per-reader, per-book aggregate is kept by SQL that follows the rules of
//! [`super::derive`] (the SQL functions libris_derived_status and libris_effective_status hold
//! the same rules; tests keep the three paths equal):
//! - on each report, merged in inside the report batch's statement (`sql/record_batch.sql`);
//! - on links, unlinks and settings changes, recomputed from history (`sql/rebuild.sql`);
//! - as time passes, reading → paused, set-based (`sql/sweep.sql`).
//!
//! `status`, the effective status, is a generated column (migration 10): no statement writes
//! it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName};
use serde_json::Value;
use uuid::Uuid;

use super::derive::Rules;
use super::stats::{compute_with_pages, days_to_finish, shares, BookFacts, PageTurns, Row, Stats};
use crate::db::models::{Book, BookStatus, ReadingStatus};
use crate::db::schema::app_settings;
use crate::error::Error;
use crate::settings::{FINISHED_THRESHOLD, PAUSED_AFTER_DAYS};

/// reading.finished_threshold and reading.paused_after_days as stored, else the defaults.
pub fn rules(conn: &mut PgConnection) -> Result<Rules, Error> {
    let stored: Vec<(String, Value)> = app_settings::table
        .filter(
            app_settings::key.eq_any(["reading.finished_threshold", "reading.paused_after_days"]),
        )
        .select((app_settings::key, app_settings::value))
        .load(conn)?;
    let get = |k: &str| stored.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    Ok(Rules {
        finished_threshold: get("reading.finished_threshold")
            .and_then(Value::as_f64)
            .unwrap_or(FINISHED_THRESHOLD),
        paused_after_days: get("reading.paused_after_days")
            .and_then(Value::as_i64)
            .unwrap_or(PAUSED_AFTER_DAYS),
    })
}

/// The rules as this process last read them. The KoSync write binds them rather than read
/// app_settings in every report (a fifth of the write's cost). A change made through this
/// process is set here at once; one made by another instance is seen within the lifetime,
/// and the rebuild after a change runs again once that lifetime has passed.
pub struct RulesCache {
    lifetime: Duration,
    held: Mutex<Option<(Rules, Instant)>>,
}

impl RulesCache {
    pub fn new(lifetime: Duration) -> RulesCache {
        RulesCache {
            lifetime,
            held: Mutex::new(None),
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The cached rules while fresh, else reads them through `conn`.
    pub fn get(&self, conn: &mut PgConnection) -> Result<Rules, Error> {
        if let Some((held, at)) = *self.held.lock().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < self.lifetime {
                return Ok(held);
            }
        }
        let fresh = rules(conn)?;
        self.set(fresh);
        Ok(fresh)
    }

    pub fn set(&self, rules: Rules) {
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some((rules, Instant::now()));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Rebuilt {
    /// (reader, book) pairs with history in scope.
    #[diesel(sql_type = BigInt)]
    pub scanned: i64,
    /// Aggregates written or removed.
    #[diesel(sql_type = BigInt)]
    pub changed: i64,
}

/// Recomputes aggregates from history, for one reader, one book, or everything (None).
pub fn rebuild(
    conn: &mut PgConnection,
    rules: &Rules,
    reader: Option<Uuid>,
    book: Option<Uuid>,
) -> Result<Rebuilt, Error> {
    Ok(sql_query(include_str!("sql/rebuild.sql"))
        .bind::<Double, _>(rules.finished_threshold)
        .bind::<Integer, _>(rules.window_days())
        .bind::<Nullable<SqlUuid>, _>(reader)
        .bind::<Nullable<SqlUuid>, _>(book)
        .get_result(conn)?)
}

/// Pauses every reading aggregate whose last report is older than the window.
pub fn sweep(conn: &mut PgConnection, rules: &Rules) -> Result<usize, Error> {
    Ok(sql_query(include_str!("sql/sweep.sql"))
        .bind::<Integer, _>(rules.window_days())
        .execute(conn)?)
}

/// The stored aggregate of one reader for one book.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::reading_aggregate)]
pub struct AggregateRow {
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_read_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub derived_status: crate::db::models::ReadingStatus,
    pub status: crate::db::models::ReadingStatus,
    pub manual_status: Option<crate::db::models::ReadingStatus>,
    pub manual_started_at: Option<DateTime<Utc>>,
    pub manual_finished_at: Option<DateTime<Utc>>,
    pub manual_paused_at: Option<DateTime<Utc>>,
    pub external_status: Option<crate::db::models::ReadingStatus>,
}

impl AggregateRow {
    /// The effective status and dates: the manual override wins, then what the history
    /// shows, then a sync service (`derive::effective`).
    pub fn effective(&self) -> super::derive::Effective {
        let derived = super::derive::Derived {
            started_at: self.started_at,
            finished_at: self.finished_at,
            last_read_at: self.last_read_at,
            paused_at: self.paused_at,
            status: self.derived_status,
            ..super::derive::Derived::default()
        };
        let manual = self.manual_status.map(|status| super::derive::Manual {
            status,
            started_at: self.manual_started_at,
            finished_at: self.manual_finished_at,
            paused_at: self.manual_paused_at,
        });
        super::derive::effective(&derived, manual.as_ref(), self.external_status)
    }
}

pub fn aggregate_of(
    conn: &mut PgConnection,
    reader: Uuid,
    book: Uuid,
) -> Result<Option<AggregateRow>, Error> {
    use crate::db::schema::reading_aggregate as ra;
    Ok(ra::table
        .filter(ra::api_key_id.eq(reader).and(ra::book_id.eq(book)))
        .select(AggregateRow::as_select())
        .first(conn)
        .optional()?)
}

/// The reader's newest KoSync report for a book.
#[derive(Debug, Clone, PartialEq)]
pub struct LastRead {
    pub progress: String,
    /// The device it came from, as KOReader names it.
    pub device: String,
    pub percentage: f64,
    pub at: DateTime<Utc>,
}

impl LastRead {
    /// The page last read, 1-based, of a comic of `count` pages: KOReader reports a paged
    /// document's position as its page number; anything else goes by the percentage.
    pub fn page(&self, count: i64) -> Option<i64> {
        if count < 1 {
            return None;
        }
        let page = match self.progress.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) if self.percentage.is_finite() => {
                (self.percentage * count as f64).round() as i64
            }
            Err(_) => return None,
        };
        Some(page.clamp(1, count))
    }
}

/// The reader's newest report for each of `books` that has one (one query).
pub fn last_reads(
    conn: &mut PgConnection,
    reader: Uuid,
    books: &[Uuid],
) -> Result<HashMap<Uuid, LastRead>, Error> {
    use crate::db::schema::reading_progress as rp;
    type Row = (
        Option<Uuid>,
        String,
        String,
        bigdecimal::BigDecimal,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = rp::table
        .filter(rp::api_key_id.eq(reader))
        .filter(rp::book_id.eq_any(books))
        .order((rp::book_id, rp::updated_at.desc(), rp::id))
        .distinct_on(rp::book_id)
        .select((
            rp::book_id,
            rp::progress,
            rp::device,
            rp::percentage,
            rp::updated_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(book, progress, device, percentage, at)| {
            use bigdecimal::ToPrimitive;
            Some((
                book?,
                LastRead {
                    progress,
                    device,
                    percentage: percentage.to_f64().unwrap_or(f64::NAN),
                    at,
                },
            ))
        })
        .collect())
}

/// A page of a reader's books with their state, and how many of their books hold each
/// effective status.
pub struct ByStatus {
    pub counts: Vec<(ReadingStatus, i64)>,
    pub rows: Vec<(Book, AggregateRow)>,
}

/// A reader's books by effective status (None: every status), newest read first, and how
/// many of their books hold each status. Organized books only; a book without a state is
/// not listed (it is unread).
pub fn by_status(
    conn: &mut PgConnection,
    reader: Uuid,
    status: Option<ReadingStatus>,
    page: i64,
    limit: i64,
) -> Result<ByStatus, Error> {
    use crate::db::schema::{books, reading_aggregate as ra};
    let mine = || {
        ra::table
            .inner_join(books::table)
            .filter(ra::api_key_id.eq(reader))
            .filter(books::status.eq(BookStatus::Organized))
    };
    let counted: Vec<(ReadingStatus, i64)> = mine()
        .group_by(ra::status)
        .select((ra::status, diesel::dsl::count_star()))
        .load(conn)?;
    let mut listed = mine().into_boxed();
    if let Some(s) = status {
        listed = listed.filter(ra::status.eq(s));
    }
    let rows: Vec<(Book, AggregateRow)> = listed
        .order((ra::last_read_at.desc().nulls_last(), books::id))
        .select((Book::as_select(), AggregateRow::as_select()))
        .limit(limit)
        .offset((page - 1) * limit)
        .load(conn)?;
    Ok(ByStatus {
        counts: counted,
        rows,
    })
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema, Queryable)]
pub struct DevicePosition {
    pub device: String,
    pub device_id: Option<String>,
    pub document: String,
    pub progress: String,
    #[schema(value_type = f64)]
    #[serde(serialize_with = "crate::db::models::decimal_as_f64")]
    pub percentage: bigdecimal::BigDecimal,
    /// Unix seconds, as KoSync reports it.
    pub timestamp: i64,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema, Queryable)]
pub struct HistoryEntry {
    pub document: String,
    pub device: String,
    pub progress: String,
    #[schema(value_type = f64)]
    #[serde(serialize_with = "crate::db::models::decimal_as_f64")]
    pub percentage: bigdecimal::BigDecimal,
    pub timestamp: i64,
}

/// A reader's current position in a book on each device, newest first.
pub fn positions(
    conn: &mut PgConnection,
    reader: Uuid,
    book: Uuid,
) -> Result<Vec<DevicePosition>, Error> {
    use crate::db::schema::reading_progress as rp;
    Ok(rp::table
        .filter(rp::api_key_id.eq(reader).and(rp::book_id.eq(book)))
        .order((rp::timestamp.desc(), rp::device))
        .select((
            rp::device,
            rp::device_id,
            rp::document,
            rp::progress,
            rp::percentage,
            rp::timestamp,
        ))
        .load(conn)?)
}

/// A page of a reader's reports for a book, newest first, and how many there are in all.
pub fn history(
    conn: &mut PgConnection,
    reader: Uuid,
    book: Uuid,
    page: i64,
    limit: i64,
) -> Result<(i64, Vec<HistoryEntry>), Error> {
    use crate::db::schema::reading_progress_history as rh;
    let mine = || rh::table.filter(rh::api_key_id.eq(reader).and(rh::book_id.eq(book)));
    let total: i64 = mine().count().get_result(conn)?;
    let items = mine()
        .order((rh::timestamp.desc(), rh::created_at.desc(), rh::id))
        .select((
            rh::document,
            rh::device,
            rh::progress,
            rh::percentage,
            rh::timestamp,
        ))
        .limit(limit)
        .offset((page - 1) * limit)
        .load(conn)?;
    Ok((total, items))
}

#[derive(QueryableByName)]
struct StatsRow {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    book_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    document: String,
    #[diesel(sql_type = BigInt)]
    timestamp: i64,
    #[diesel(sql_type = Double)]
    percentage: f64,
    /// created_at in microseconds: the order of reports of one second.
    #[diesel(sql_type = BigInt)]
    written: i64,
}

#[derive(QueryableByName)]
struct FinishedRow {
    #[diesel(sql_type = Text)]
    book: String,
    #[diesel(sql_type = Timestamptz)]
    finished_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    started_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct FactsRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<diesel::sql_types::Array<Text>>)]
    authors: Option<Vec<String>>,
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    genres: Vec<String>,
    #[diesel(sql_type = Nullable<Text>)]
    language: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    page_count: Option<i32>,
}

/// A reader's statistics over `from..=to` (see [`super::stats::compute`]), from all their
/// reports and the books they finished.
///
/// sql/stats_reports.sql, sql/stats_finished.sql and sql/stats_books.sql: $1 the reader.
pub fn statistics(
    conn: &mut PgConnection,
    reader: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<Stats, Error> {
    let mut rows: Vec<StatsRow> = sql_query(include_str!("sql/stats_reports.sql"))
        .bind::<SqlUuid, _>(reader)
        .load(conn)?;
    rows.sort_unstable_by_key(|r| (r.timestamp, r.written));
    let finished: Vec<FinishedRow> = sql_query(include_str!("sql/stats_finished.sql"))
        .bind::<SqlUuid, _>(reader)
        .load(conn)?;
    let mut ids: Vec<Uuid> = rows.iter().filter_map(|r| r.book_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let facts: Vec<FactsRow> = sql_query(include_str!("sql/stats_books.sql"))
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(&ids)
        .load(conn)?;
    let pages: HashMap<Uuid, i32> = facts
        .iter()
        .filter_map(|f| Some((f.id, f.page_count?)))
        .collect();
    let facts: HashMap<String, BookFacts> = facts
        .into_iter()
        .map(|f| {
            let facts = BookFacts {
                authors: f.authors.unwrap_or_default(),
                genres: f.genres,
                language: f.language,
            };
            (f.id.to_string(), facts)
        })
        .collect();
    let rows: Vec<Row> = rows
        .into_iter()
        .filter_map(|r| {
            Some(Row {
                timestamp: DateTime::from_timestamp(r.timestamp, 0)?,
                page_count: r.book_id.and_then(|b| pages.get(&b).copied()),
                book: r.book_id.map(|b| b.to_string()),
                document: r.document,
                percentage: r.percentage,
            })
        })
        .collect();
    let spans: Vec<(Option<DateTime<Utc>>, DateTime<Utc>)> = finished
        .iter()
        .map(|f| (f.started_at, f.finished_at))
        .collect();
    let finished: Vec<(String, DateTime<Utc>)> = finished
        .into_iter()
        .map(|f| (f.book, f.finished_at))
        .collect();
    let (events, days) = super::page_events::for_statistics(conn, reader, from, to)?;
    let turns = PageTurns { events, days };
    let mut stats = compute_with_pages(&rows, &turns, &finished, from, to, today);
    stats.days_to_finish = days_to_finish(&spans, from, to);
    (stats.top_authors, stats.top_genres, stats.top_languages) = shares(&stats.sessions, &facts);
    Ok(stats)
}

/// When the reader's first report was (any book, any device), if they have one.
pub fn first_report(conn: &mut PgConnection, reader: Uuid) -> Result<Option<DateTime<Utc>>, Error> {
    use crate::db::schema::reading_progress_history as rh;
    let first: Option<i64> = rh::table
        .filter(rh::api_key_id.eq(reader))
        .select(diesel::dsl::min(rh::timestamp))
        .first(conn)?;
    Ok(first.and_then(|t| DateTime::from_timestamp(t, 0)))
}

/// The migration that added the derived reading-state columns.
const READING_STATE_MIGRATION: &str = "20261202000004";

/// What reading fills after migrations: the reading-state columns arrive empty, so when their
/// migration was just applied they are derived from the history, once.
pub fn after_migrations(conn: &mut PgConnection, applied: &[String]) -> Result<(), String> {
    if applied
        .iter()
        .any(|v| v.starts_with(READING_STATE_MIGRATION))
    {
        rules(conn)
            .and_then(|rules| rebuild(conn, &rules, None, None))
            .map_err(|e| format!("rebuilding reading aggregates: {e}"))?;
    }
    Ok(())
}
