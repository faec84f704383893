//! Reading state in the database: the rules in force, rebuilding aggregates from history,
//! the sweep that pauses what was left alone, and one reader's state for one book.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName};
use serde_json::Value;
use uuid::Uuid;

use super::aggregate::{FINISHED_THRESHOLD, PAUSED_AFTER_DAYS, REBUILD, SWEEP};
use super::derive::Rules;
use crate::db::schema::app_settings;
use crate::error::Error;

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
            .unwrap_or(PAUSED_AFTER_DAYS as i64),
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
    Ok(sql_query(REBUILD)
        .bind::<Double, _>(rules.finished_threshold)
        .bind::<Integer, _>(rules.window_days())
        .bind::<Nullable<SqlUuid>, _>(reader)
        .bind::<Nullable<SqlUuid>, _>(book)
        .get_result(conn)?)
}

/// Pauses every reading aggregate whose last report is older than the window.
pub fn sweep(conn: &mut PgConnection, rules: &Rules) -> Result<usize, Error> {
    Ok(sql_query(SWEEP)
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
    let rows: Vec<(Option<Uuid>, String, bigdecimal::BigDecimal, DateTime<Utc>)> = rp::table
        .filter(rp::api_key_id.eq(reader))
        .filter(rp::book_id.eq_any(books))
        .order((rp::book_id, rp::updated_at.desc(), rp::id))
        .distinct_on(rp::book_id)
        .select((rp::book_id, rp::progress, rp::percentage, rp::updated_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(book, progress, percentage, at)| {
            use bigdecimal::ToPrimitive;
            Some((
                book?,
                LastRead {
                    progress,
                    percentage: percentage.to_f64().unwrap_or(f64::NAN),
                    at,
                },
            ))
        })
        .collect())
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
