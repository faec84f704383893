//! KOReader's own reading statistics: the books and page-read events of a
//! `statistics.sqlite3` a reader uploaded over WebDAV (read by
//! `libris_formats::koreader_statistics`), stored per reader, idempotently, in one
//! transaction; and read back for the statistics, which use real page turns where they exist
//! (`reading::stats`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Array, BigInt, Integer, Text, Uuid as SqlUuid};
use libris_formats::koreader_statistics::Statistics;
use uuid::Uuid;

use crate::error::Error;

/// Events written per statement.
const CHUNK: usize = 20_000;

/// What an upload added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Ingested {
    pub books: usize,
    /// Events in the file (of books with a partial MD5).
    pub events: usize,
    /// Events new to libris, or longer than it knew them.
    pub added: usize,
    /// Documents that linked to a book by their title and authors.
    pub linked: usize,
}

#[derive(QueryableByName)]
struct Changed {
    #[diesel(sql_type = Integer)]
    #[allow(dead_code)]
    changed: i32,
}

#[derive(QueryableByName)]
struct Document {
    #[diesel(sql_type = Text)]
    document: String,
}

/// Stores a statistics file's books and events for `reader`, all or nothing. An upload that
/// repeats what was stored adds nothing.
pub fn ingest(
    conn: &mut PgConnection,
    reader: Uuid,
    stats: &Statistics,
) -> Result<Ingested, Error> {
    conn.transaction(|conn| {
        let books = &stats.books;
        let linked: Vec<Document> = sql_query(include_str!("sql/stat_books.sql"))
            .bind::<SqlUuid, _>(reader)
            .bind::<Array<Text>, _>(books.iter().map(|b| b.md5.as_str()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(books.iter().map(|b| b.title.as_str()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(books.iter().map(|b| b.authors.as_str()).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(
                books
                    .iter()
                    .map(|b| b.pages.unwrap_or(0))
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<BigInt>, _>(
                books
                    .iter()
                    .map(|b| b.last_open.unwrap_or(0))
                    .collect::<Vec<_>>(),
            )
            .load(conn)?;

        // One row per KOReader key, the longest duration (as its own merge keeps).
        let mut unique: HashMap<(usize, i32, i64), (i32, i32)> =
            HashMap::with_capacity(stats.events.len());
        for e in &stats.events {
            let slot = unique
                .entry((e.book, e.page, e.start_time))
                .or_insert((e.duration, e.total_pages));
            if e.duration > slot.0 {
                *slot = (e.duration, e.total_pages);
            }
        }
        let mut events: Vec<_> = unique.into_iter().collect();
        events.sort_unstable_by_key(|((book, page, start), _)| (*start, *book, *page));
        let mut added = 0;
        for chunk in events.chunks(CHUNK) {
            let changed: Vec<Changed> = sql_query(include_str!("sql/page_events.sql"))
                .bind::<SqlUuid, _>(reader)
                .bind::<Array<Text>, _>(
                    chunk
                        .iter()
                        .map(|((b, _, _), _)| books[*b].md5.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind::<Array<BigInt>, _>(chunk.iter().map(|((_, _, s), _)| *s).collect::<Vec<_>>())
                .bind::<Array<Integer>, _>(
                    chunk.iter().map(|((_, p, _), _)| *p).collect::<Vec<_>>(),
                )
                .bind::<Array<Integer>, _>(chunk.iter().map(|(_, (d, _))| *d).collect::<Vec<_>>())
                .bind::<Array<Integer>, _>(chunk.iter().map(|(_, (_, t))| *t).collect::<Vec<_>>())
                .load(conn)?;
            added += changed.len();
        }
        if added > 0 {
            // The statistics' version (reading::stats_cache) moves with new events.
            use crate::db::schema::reading_stat_books as sb;
            diesel::update(sb::table.filter(sb::api_key_id.eq(reader)))
                .set(sb::updated_at.eq(diesel::dsl::now))
                .execute(conn)?;
        }
        let linked: Vec<String> = linked.into_iter().map(|d| d.document).collect();
        super::relink(conn, &linked)?;
        Ok(Ingested {
            books: books.len(),
            events: events.len(),
            added,
            linked: linked.len(),
        })
    })
}

/// One page on screen, for the statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct PageEvent {
    pub document: String,
    pub book: Option<String>,
    pub start: DateTime<Utc>,
    pub seconds: i32,
    pub page: i32,
    pub total_pages: i32,
}

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = Text)]
    document: String,
    #[diesel(sql_type = BigInt)]
    start: i64,
    #[diesel(sql_type = Integer)]
    duration: i32,
    #[diesel(sql_type = Integer)]
    page: i32,
    #[diesel(sql_type = Integer)]
    total_pages: i32,
}

#[derive(QueryableByName)]
struct BookOf {
    #[diesel(sql_type = Text)]
    document: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    book_id: Option<Uuid>,
}

/// A reader's page events from `from` to `to` (whole UTC days), by time, with the book each
/// document resolves to now; and every day any event of theirs started on.
pub fn for_statistics(
    conn: &mut PgConnection,
    reader: Uuid,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<
    (
        Vec<PageEvent>,
        std::collections::BTreeSet<chrono::NaiveDate>,
    ),
    Error,
> {
    #[derive(QueryableByName)]
    struct Day {
        #[diesel(sql_type = diesel::sql_types::Date)]
        day: chrono::NaiveDate,
    }
    let days = sql_query(
        "SELECT DISTINCT (start_time AT TIME ZONE 'UTC')::date AS day
         FROM reading_page_events WHERE api_key_id = $1",
    )
    .bind::<SqlUuid, _>(reader)
    .load::<Day>(conn)?
    .into_iter()
    .map(|d| d.day)
    .collect::<std::collections::BTreeSet<_>>();
    if days.is_empty() {
        return Ok((vec![], days));
    }
    let start = from
        .pred_opt()
        .unwrap_or(from)
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let end = to
        .succ_opt()
        .and_then(|d| d.succ_opt())
        .unwrap_or(to)
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let rows: Vec<EventRow> = sql_query(
        "SELECT document, extract(epoch FROM start_time)::int8 AS start, duration, page, total_pages
         FROM reading_page_events
         WHERE api_key_id = $1 AND start_time >= $2 AND start_time < $3 ORDER BY start_time",
    )
    .bind::<SqlUuid, _>(reader)
    .bind::<diesel::sql_types::Timestamptz, _>(start)
    .bind::<diesel::sql_types::Timestamptz, _>(end)
    .load(conn)?;
    let mut documents: Vec<&str> = rows.iter().map(|r| r.document.as_str()).collect();
    documents.sort_unstable();
    documents.dedup();
    let books: HashMap<String, Option<Uuid>> = sql_query(
        "SELECT d AS document, (libris_document_book(d)).book_id FROM unnest($1::text[]) d",
    )
    .bind::<Array<Text>, _>(documents)
    .load::<BookOf>(conn)?
    .into_iter()
    .map(|b| (b.document, b.book_id))
    .collect();
    let events = rows
        .into_iter()
        .filter_map(|r| {
            Some(PageEvent {
                book: books
                    .get(&r.document)
                    .copied()
                    .flatten()
                    .map(|b| b.to_string()),
                start: DateTime::from_timestamp(r.start, 0)?,
                seconds: r.duration,
                page: r.page,
                total_pages: r.total_pages,
                document: r.document,
            })
        })
        .collect();
    Ok((events, days))
}
