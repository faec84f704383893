//! The KoSync write path and the current position.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Double, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::aggregate;
use super::sql::{record_progress, LATEST_POSITION};
use crate::error::Error;

/// A validated progress report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub document: String,
    pub progress: String,
    /// In [0, 1], rounded to the 4 decimals the database keeps.
    pub percentage: f64,
    pub device: String,
    pub device_id: Option<String>,
    /// The request body as received, metadata included.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Position {
    #[diesel(sql_type = Text)]
    pub document: String,
    #[diesel(sql_type = Text)]
    pub progress: String,
    #[diesel(sql_type = Double)]
    pub percentage: f64,
    #[diesel(sql_type = Text)]
    pub device: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub device_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub timestamp: i64,
}

#[derive(QueryableByName)]
struct Linked {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    book_id: Option<Uuid>,
}

/// Records one report atomically (one statement): current row, history row and, when the
/// document belongs to a known book, the reader's aggregate. Returns the linked book.
pub fn record(
    conn: &mut PgConnection,
    api_key_id: Uuid,
    report: &Report,
    timestamp: i64,
) -> Result<Option<Uuid>, Error> {
    let linked: Linked = sql_query(record_progress())
        .bind::<Text, _>(&report.document)
        .bind::<SqlUuid, _>(api_key_id)
        .bind::<Text, _>(&report.device)
        .bind::<Nullable<Text>, _>(report.device_id.as_deref())
        .bind::<Text, _>(&report.progress)
        .bind::<Double, _>(report.percentage)
        .bind::<BigInt, _>(timestamp)
        .bind::<Jsonb, _>(&report.raw)
        .bind::<Double, _>(aggregate::FINISHED_THRESHOLD)
        .get_result(conn)?;
    Ok(linked.book_id)
}

pub fn latest(
    conn: &mut PgConnection,
    api_key_id: Uuid,
    document: &str,
) -> Result<Option<Position>, Error> {
    use diesel::OptionalExtension;
    Ok(sql_query(LATEST_POSITION)
        .bind::<SqlUuid, _>(api_key_id)
        .bind::<Text, _>(document)
        .get_result(conn)
        .optional()?)
}
