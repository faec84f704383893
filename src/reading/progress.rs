//! The KoSync write path and the current position.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Double, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::derive::Rules;
use super::sql::{record_progress, AUTH_AND_LATEST_POSITION};
use crate::db::cached::cached;
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
    /// From the body's optional `metadata`: used to find the book when no hash matches.
    pub title: Option<String>,
    pub authors: Option<String>,
    /// The request body as received, metadata included.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub document: String,
    pub progress: String,
    pub percentage: f64,
    pub device: String,
    pub device_id: Option<String>,
    pub timestamp: i64,
}

/// Where an accepted report went.
#[derive(Debug, Clone, Copy, PartialEq, QueryableByName)]
pub struct Recorded {
    #[diesel(sql_type = SqlUuid)]
    pub api_key_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub book_id: Option<Uuid>,
}

/// Records one report atomically (one statement) for the kosync user `username` whose key
/// was verified against `password_hash`: current row, history row and, when the document
/// belongs to a known book, the reader's aggregate. `None`: the credential no longer holds
/// that hash (changed or deleted), and nothing was written.
pub fn record(
    conn: &mut PgConnection,
    rules: &Rules,
    username: &str,
    password_hash: &str,
    report: &Report,
    timestamp: i64,
) -> Result<Option<Recorded>, Error> {
    use diesel::OptionalExtension;
    Ok(cached(
        sql_query(record_progress())
            .bind::<Text, _>(&report.document)
            .bind::<Text, _>(username)
            .bind::<Text, _>(&report.device)
            .bind::<Nullable<Text>, _>(report.device_id.as_deref())
            .bind::<Text, _>(&report.progress)
            .bind::<Double, _>(report.percentage)
            .bind::<BigInt, _>(timestamp)
            .bind::<Jsonb, _>(&report.raw)
            .bind::<Double, _>(rules.finished_threshold)
            .bind::<Text, _>(password_hash)
            .bind::<Nullable<Text>, _>(report.title.as_deref())
            .bind::<Nullable<Text>, _>(report.authors.as_deref())
            .bind::<diesel::sql_types::Integer, _>(rules.window_days()),
    )
    .get_result(conn)
    .optional()?)
}

#[derive(QueryableByName)]
struct CredentialAndPosition {
    #[diesel(sql_type = SqlUuid)]
    api_key_id: Uuid,
    #[diesel(sql_type = Text)]
    password_hash: String,
    #[diesel(sql_type = Nullable<Text>)]
    document: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    progress: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    percentage: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    device: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    device_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    timestamp: Option<i64>,
}

/// The kosync credential of `username` (api key id, stored hash) and the newest position of
/// `document` across that reader's devices. The caller verifies the key before using the
/// position.
pub fn credential_and_latest(
    conn: &mut PgConnection,
    username: &str,
    document: &str,
) -> Result<Option<(Uuid, String, Option<Position>)>, Error> {
    use diesel::OptionalExtension;
    let row: Option<CredentialAndPosition> = cached(
        sql_query(AUTH_AND_LATEST_POSITION)
            .bind::<Text, _>(username)
            .bind::<Text, _>(document),
    )
    .get_result(conn)
    .optional()?;
    Ok(row.map(|r| {
        let position = match (r.document, r.progress, r.percentage, r.device, r.timestamp) {
            (Some(document), Some(progress), Some(percentage), Some(device), Some(timestamp)) => {
                Some(Position {
                    document,
                    progress,
                    percentage,
                    device,
                    device_id: r.device_id,
                    timestamp,
                })
            }
            _ => None,
        };
        (r.api_key_id, r.password_hash, position)
    }))
}
