//! The devices a reader syncs from, as their KoSync reports name them, and the documents of
//! theirs that matched no book.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use serde_json::Value;
use uuid::Uuid;

use super::progress::{book_metadata, metadata_text};
use crate::error::Error;

/// Seconds with this many reports or more from one device are a burst (sql/devices.sql).
pub const BURST: i64 = 3;

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Device {
    /// The name KOReader sends (the device's model).
    #[diesel(sql_type = Text)]
    pub device: String,
    /// KOReader's random id of its installation; old clients send none.
    #[diesel(sql_type = Nullable<Text>)]
    pub device_id: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub last_report: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub first_report: DateTime<Utc>,
    /// Reports of the last 30 days (of every device of this name).
    #[diesel(sql_type = BigInt)]
    pub reports_30_days: i64,
    /// Seconds of the last 30 days in which it sent [`BURST`] reports or more.
    #[diesel(sql_type = BigInt)]
    pub bursts_30_days: i64,
    /// Books (or unmatched documents) it has reported a position for.
    #[diesel(sql_type = BigInt)]
    pub books: i64,
    /// Its documents by how they matched a book.
    #[diesel(sql_type = BigInt)]
    pub by_content: i64,
    #[diesel(sql_type = BigInt)]
    pub by_filename: i64,
    #[diesel(sql_type = BigInt)]
    pub by_metadata: i64,
    #[diesel(sql_type = BigInt)]
    pub by_hand: i64,
    #[diesel(sql_type = BigInt)]
    pub unmatched: i64,
}

/// A reader's devices, the one that reported last first.
pub fn of_reader(conn: &mut PgConnection, key_id: Uuid) -> Result<Vec<Device>, Error> {
    Ok(diesel::sql_query(include_str!("sql/devices.sql"))
        .bind::<SqlUuid, _>(key_id)
        .load(conn)?)
}

#[derive(QueryableByName)]
struct UnmatchedRow {
    #[diesel(sql_type = Text)]
    document: String,
    #[diesel(sql_type = Text)]
    device: String,
    #[diesel(sql_type = Nullable<Text>)]
    device_id: Option<String>,
    #[diesel(sql_type = Text)]
    progress: String,
    #[diesel(sql_type = Double)]
    percentage: f64,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    raw_payload: Option<Value>,
}

/// A document a reader's device reported that belongs to no book.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched {
    pub document: String,
    pub device: String,
    pub device_id: Option<String>,
    pub progress: String,
    pub percentage: f64,
    pub last_report: DateTime<Utc>,
    /// What the report's optional `metadata` said, as KoSync reads it.
    pub title: Option<String>,
    pub authors: Option<String>,
    pub file_name: Option<String>,
}

/// A reader's unmatched documents (one row per document and device), newest first.
pub fn unmatched(conn: &mut PgConnection, key_id: Uuid) -> Result<Vec<Unmatched>, Error> {
    let rows: Vec<UnmatchedRow> = diesel::sql_query(include_str!("sql/unmatched.sql"))
        .bind::<SqlUuid, _>(key_id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let metadata = r.raw_payload.as_ref().and_then(|raw| raw.get("metadata"));
            let (title, authors) = book_metadata(metadata);
            let file_name = ["file", "filename", "file_name"]
                .into_iter()
                .find_map(|key| metadata_text(metadata, key));
            Unmatched {
                document: r.document,
                device: r.device,
                device_id: r.device_id,
                progress: r.progress,
                percentage: r.percentage,
                last_report: r.updated_at,
                title,
                authors,
                file_name,
            }
        })
        .collect())
}

/// Whether the reader has reported `document` and it matched no book.
pub fn is_unmatched(conn: &mut PgConnection, key_id: Uuid, document: &str) -> Result<bool, Error> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    // A report's row without a book, or a document of the statistics that resolves to none.
    let found: Found = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM reading_progress
                WHERE api_key_id = $1 AND document = $2 AND book_id IS NULL)
             OR (EXISTS (SELECT 1 FROM reading_stat_books WHERE api_key_id = $1 AND document = $2)
                 AND (SELECT l.book_id FROM libris_document_book($2) l) IS NULL) AS found",
    )
    .bind::<SqlUuid, _>(key_id)
    .bind::<diesel::sql_types::Text, _>(document)
    .get_result(conn)?;
    Ok(found.found)
}

/// Whether a reader other than `key_id` has reported `document` (or uploaded statistics of it).
pub fn reported_by_others(
    conn: &mut PgConnection,
    key_id: Uuid,
    document: &str,
) -> Result<bool, Error> {
    use crate::db::schema::{reading_progress as rp, reading_stat_books as sb};
    let reports = diesel::select(diesel::dsl::exists(
        rp::table.filter(rp::document.eq(document).and(rp::api_key_id.ne(key_id))),
    ))
    .get_result(conn)?;
    let statistics = diesel::select(diesel::dsl::exists(
        sb::table.filter(sb::document.eq(document).and(sb::api_key_id.ne(key_id))),
    ))
    .get_result(conn)?;
    Ok(reports || statistics)
}
