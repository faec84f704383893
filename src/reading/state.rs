//! Reading state in the database: the rules in force, rebuilding aggregates from history,
//! the sweep that pauses what was left alone, and one reader's state for one book.
//!
//! The per-reader, per-book aggregate is kept by SQL that follows the rules of
//! [`super::derive`] (the SQL functions libris_derived_status and libris_effective_status hold
//! the same rules; tests keep the three paths equal):
//! - on each report, folded in inside the report's own statement (`sql/record_progress.sql`);
//! - on links, unlinks and settings changes, recomputed from history (`sql/rebuild.sql`);
//! - as time passes, reading → paused, set-based (`sql/sweep.sql`).
//!
//! `status`, the effective status, is a generated column (migration 10): no statement writes
//! it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName};
use serde_json::Value;
use uuid::Uuid;

use super::derive::Rules;
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
