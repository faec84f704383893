//! The KoSync write path and the current position.

use diesel::pg::PgConnection;
use std::sync::Arc;

use diesel::sql_types::{Array, BigInt, Double, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::derive::Rules;
use super::sql::{AUTH_AND_LATEST_POSITION, RECORD_BATCH};
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

/// Title and authors from an optional `metadata` object, used to find the book when no
/// hash matches. Anything malformed there is ignored: metadata is a hint, not a field the
/// protocol requires.
pub fn book_metadata(metadata: Option<&Value>) -> (Option<String>, Option<String>) {
    let text = |key: &str| metadata_text(metadata, key);
    let title = text("title");
    let authors = text("authors").or_else(|| text("author"));
    (title, authors)
}

/// One text of a report's `metadata` object: a string, or a list of strings joined with " & ";
/// None when missing, empty, longer than 2,048 bytes or of another type.
pub fn metadata_text(metadata: Option<&Value>, key: &str) -> Option<String> {
    let Some(Value::Object(m)) = metadata else {
        return None;
    };
    let s = match m.get(key)? {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" & "),
        _ => return None,
    };
    let s = s.trim();
    (!s.is_empty() && s.len() <= 2048).then(|| s.to_owned())
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

/// One report whose key was verified: for the kosync user `username`, against the stored
/// hash `password_hash`, received at `timestamp` (Unix seconds).
#[derive(Debug, Clone)]
pub struct Verified {
    pub username: String,
    pub password_hash: String,
    pub report: Arc<Report>,
    pub timestamp: i64,
}

/// Records one report atomically (one statement): current row, history row and, when the
/// document belongs to a known book, the reader's aggregate. `None`: the credential no longer
/// holds that hash (changed or deleted), and nothing was written.
pub fn record(
    conn: &mut PgConnection,
    rules: &Rules,
    username: &str,
    password_hash: &str,
    report: &Report,
    timestamp: i64,
) -> Result<Option<Recorded>, Error> {
    let one = Verified {
        username: username.to_owned(),
        password_hash: password_hash.to_owned(),
        report: Arc::new(report.clone()),
        timestamp,
    };
    Ok(record_all(conn, rules, std::slice::from_ref(&one))?.remove(0))
}

/// Records `reports` in one statement (`sql/record_batch.sql`), in arrival order: each
/// report's outcome, in the same order, `None` for one whose credential no longer holds the
/// verified hash. All or nothing: an error writes none of them.
pub fn record_all(
    conn: &mut PgConnection,
    rules: &Rules,
    reports: &[Verified],
) -> Result<Vec<Option<Recorded>>, Error> {
    let rows: Vec<WrittenRow> = BatchParams::of(rules, reports).bind().load(conn)?;
    let mut outcomes = vec![None; reports.len()];
    for row in rows {
        let slot = usize::try_from(row.i - 1)
            .ok()
            .and_then(|i| outcomes.get_mut(i))
            .ok_or_else(|| {
                Error::Internal(format!("record_batch.sql returned report {}", row.i))
            })?;
        *slot = Some(Recorded {
            api_key_id: row.api_key_id,
            book_id: row.book_id,
        });
    }
    Ok(outcomes)
}

#[derive(QueryableByName)]
struct WrittenRow {
    #[diesel(sql_type = BigInt)]
    i: i64,
    #[diesel(sql_type = SqlUuid)]
    api_key_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    book_id: Option<Uuid>,
}

/// The parameters of `sql/record_batch.sql`, named and ordered as its header lists them (a
/// unit test holds the two equal): one array per report field, then the rules.
/// [`BatchParams::bind`] is the one place they are bound.
pub struct BatchParams<'a> {
    pub documents: Vec<&'a str>,
    pub usernames: Vec<&'a str>,
    pub password_hashes: Vec<&'a str>,
    pub devices: Vec<&'a str>,
    pub device_ids: Vec<Option<&'a str>>,
    pub progresses: Vec<&'a str>,
    pub percentages: Vec<f64>,
    pub timestamps: Vec<i64>,
    pub raw_payloads: Vec<&'a Value>,
    pub titles: Vec<Option<&'a str>>,
    pub authors: Vec<Option<&'a str>>,
    pub finished_threshold: f64,
    pub paused_after_days: i32,
}

impl<'a> BatchParams<'a> {
    pub const NAMES: [&'static str; 13] = [
        "documents",
        "usernames",
        "password_hashes",
        "devices",
        "device_ids",
        "progresses",
        "percentages",
        "timestamps",
        "raw_payloads",
        "titles",
        "authors",
        "finished_threshold",
        "paused_after_days",
    ];

    pub fn of(rules: &Rules, reports: &'a [Verified]) -> BatchParams<'a> {
        let field = |f: fn(&'a Verified) -> &'a str| reports.iter().map(f).collect();
        let optional = |f: fn(&'a Verified) -> Option<&'a str>| reports.iter().map(f).collect();
        BatchParams {
            documents: field(|v| &v.report.document),
            usernames: field(|v| &v.username),
            password_hashes: field(|v| &v.password_hash),
            devices: field(|v| &v.report.device),
            device_ids: optional(|v| v.report.device_id.as_deref()),
            progresses: field(|v| &v.report.progress),
            percentages: reports.iter().map(|v| v.report.percentage).collect(),
            timestamps: reports.iter().map(|v| v.timestamp).collect(),
            raw_payloads: reports.iter().map(|v| &v.report.raw).collect(),
            titles: optional(|v| v.report.title.as_deref()),
            authors: optional(|v| v.report.authors.as_deref()),
            finished_threshold: rules.finished_threshold,
            paused_after_days: rules.window_days(),
        }
    }

    /// The statement with its parameters bound, prepared once per connection.
    fn bind(self) -> impl diesel::query_dsl::LoadQuery<'a, PgConnection, WrittenRow> + 'a {
        cached(
            sql_query(RECORD_BATCH)
                .bind::<Array<Text>, _>(self.documents)
                .bind::<Array<Text>, _>(self.usernames)
                .bind::<Array<Text>, _>(self.password_hashes)
                .bind::<Array<Text>, _>(self.devices)
                .bind::<Array<Nullable<Text>>, _>(self.device_ids)
                .bind::<Array<Text>, _>(self.progresses)
                .bind::<Array<Double>, _>(self.percentages)
                .bind::<Array<BigInt>, _>(self.timestamps)
                .bind::<Array<Jsonb>, _>(self.raw_payloads)
                .bind::<Array<Nullable<Text>>, _>(self.titles)
                .bind::<Array<Nullable<Text>>, _>(self.authors)
                .bind::<Double, _>(self.finished_threshold)
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
