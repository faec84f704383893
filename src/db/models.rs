//! Rows as Rust types, where diesel's query builder reads or writes them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{book_files, book_metadata_candidates, books};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum, Serialize, Deserialize, ToSchema,
)]
#[ExistingTypePath = "crate::db::schema::sql_types::BookStatus"]
#[serde(rename_all = "lowercase")]
pub enum BookStatus {
    Inbox,
    Review,
    Organized,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    diesel_derive_enum::DbEnum,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[ExistingTypePath = "crate::db::schema::sql_types::ReadingStatus"]
#[serde(rename_all = "lowercase")]
/// A reader's state of one book: the database's `reading_status` type and the rules' value
/// alike (`reading::derive`).
pub enum ReadingStatus {
    Unread,
    Reading,
    Finished,
    Paused,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = books)]
pub struct Book {
    pub id: Uuid,
    pub status: BookStatus,
    pub title: Option<String>,
    pub author: Option<String>,
    pub isbn_10: Option<String>,
    pub isbn_13: Option<String>,
    pub publisher: Option<String>,
    pub published_year: Option<i32>,
    pub language: Option<String>,
    pub description: Option<String>,
    pub cover_url: Option<String>,
    #[serde(skip)]
    pub cover_path: Option<String>,
    pub page_count: Option<i32>,
    pub series: Option<String>,
    pub series_index: Option<f32>,
    pub genres: Vec<Option<String>>,
    pub tags: Vec<Option<String>>,
    pub hardcover_book_id: Option<i32>,
    pub hardcover_edition_id: Option<i32>,
    pub created_by: Option<Uuid>,
    pub possible_duplicate_of: Option<Uuid>,
    /// The book this one is probably another format of (same ISBN, or same title and
    /// authors, and a format that book lacks): merge it there with
    /// `POST /api/books/{format_of}/merge`.
    pub format_of: Option<Uuid>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = book_files)]
pub struct BookFile {
    pub id: Uuid,
    pub book_id: Uuid,
    pub format: String,
    pub original_name: String,
    #[serde(skip)]
    pub storage_path: Option<String>,
    #[serde(skip)]
    pub inbox_path: Option<String>,
    pub file_size: i64,
    pub checksum: Option<String>,
    pub content_hash: Option<String>,
    pub original_content_hash: Option<String>,
    pub filename_digest: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl BookFile {
    /// Where the file is now, relative to the data dir.
    pub fn location(&self) -> Option<&str> {
        self.storage_path.as_deref().or(self.inbox_path.as_deref())
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = book_metadata_candidates)]
pub struct Candidate {
    pub id: Uuid,
    pub source: String,
    pub normalized: serde_json::Value,
    #[schema(value_type = f64)]
    #[serde(serialize_with = "decimal_as_f64")]
    pub confidence: bigdecimal::BigDecimal,
    pub selected_fields: Vec<Option<String>>,
}

/// numeric columns as JSON numbers (they hold percentages and confidences, not money).
pub fn decimal_as_f64<S: serde::Serializer>(
    d: &bigdecimal::BigDecimal,
    s: S,
) -> Result<S::Ok, S::Error> {
    use bigdecimal::ToPrimitive;
    s.serialize_f64(d.to_f64().unwrap_or(0.0))
}
