//! The KoSync write path and the current position.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Double, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::derive::Rules;
use super::sql::{AUTH_AND_LATEST_POSITION, RECORD_PROGRESS};
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
    let params = ReportParams {
        document: &report.document,
        username,
        device: &report.device,
        device_id: report.device_id.as_deref(),
        progress: &report.progress,
        percentage: report.percentage,
        timestamp,
        raw_payload: &report.raw,
        finished_threshold: rules.finished_threshold,
        password_hash,
        title: report.title.as_deref(),
        authors: report.authors.as_deref(),
        paused_after_days: rules.window_days(),
    };
    Ok(params.bind().get_result(conn).optional()?)
}

/// The parameters of `sql/record_progress.sql`, named and ordered as its header lists them
/// (a unit test holds the two equal); [`ReportParams::bind`] is the one place they are bound.
pub struct ReportParams<'a> {
    pub document: &'a str,
    pub username: &'a str,
    pub device: &'a str,
    pub device_id: Option<&'a str>,
    pub progress: &'a str,
    pub percentage: f64,
    pub timestamp: i64,
    pub raw_payload: &'a Value,
    pub finished_threshold: f64,
    pub password_hash: &'a str,
    pub title: Option<&'a str>,
    pub authors: Option<&'a str>,
    pub paused_after_days: i32,
}

impl<'a> ReportParams<'a> {
    pub const NAMES: [&'static str; 13] = [
        "document",
        "username",
        "device",
        "device_id",
        "progress",
        "percentage",
        "timestamp",
        "raw_payload",
        "finished_threshold",
        "password_hash",
        "title",
        "authors",
        "paused_after_days",
    ];

    /// The statement with its parameters bound, prepared once per connection.
    pub fn bind(&self) -> impl diesel::query_dsl::LoadQuery<'a, PgConnection, Recorded> + 'a {
        cached(
            sql_query(RECORD_PROGRESS)
                .bind::<Text, _>(self.document)
                .bind::<Text, _>(self.username)
                .bind::<Text, _>(self.device)
                .bind::<Nullable<Text>, _>(self.device_id)
                .bind::<Text, _>(self.progress)
                .bind::<Double, _>(self.percentage)
                .bind::<BigInt, _>(self.timestamp)
                .bind::<Jsonb, _>(self.raw_payload)
                .bind::<Double, _>(self.finished_threshold)
                .bind::<Text, _>(self.password_hash)
                .bind::<Nullable<Text>, _>(self.title)
                .bind::<Nullable<Text>, _>(self.authors)
                .bind::<diesel::sql_types::Integer, _>(self.paused_after_days),
        )
    }
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
