//! The per-reader, per-book reading aggregate. The reading-state work replaces the insides
//! of [`on_report`]; the KoSync write path only ever calls it.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Double, Uuid as SqlUuid};
use diesel::{sql_query, RunQueryDsl};
use uuid::Uuid;

use super::sql::AGGREGATE_ON_REPORT;
use crate::error::Error;

/// A percentage at or above this counts as finished.
pub const FINISHED_THRESHOLD: f64 = 0.95;

/// Folds one progress report into the reader's aggregate for the book. Runs inside the
/// report's transaction.
pub fn on_report(
    conn: &mut PgConnection,
    api_key_id: Uuid,
    book_id: Uuid,
    percentage: f64,
    timestamp: i64,
) -> Result<(), Error> {
    sql_query(AGGREGATE_ON_REPORT)
        .bind::<SqlUuid, _>(api_key_id)
        .bind::<SqlUuid, _>(book_id)
        .bind::<Double, _>(percentage)
        .bind::<BigInt, _>(timestamp)
        .bind::<Double, _>(FINISHED_THRESHOLD)
        .execute(conn)?;
    Ok(())
}
