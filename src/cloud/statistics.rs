//! A `statistics.sqlite3` arriving in a reader's WebDAV space: read (as a hostile file, by
//! `libris_formats::koreader_statistics`) and stored as page events (`reading::page_events`)
//! before the file takes its place, so a file libris cannot read is refused whole and a file
//! it serves has always been ingested. The file itself is kept byte for byte: a second device
//! downloads exactly what the first uploaded, and merges it with its own.

use std::path::Path as FsPath;

use libris_formats::koreader_statistics::{self, Limits, StatisticsError};
use uuid::Uuid;

use crate::db::{self, DbPool};
use crate::error::Error;
use crate::reading::page_events::{self, Ingested};

/// The file name KOReader's Statistics plugin syncs.
pub const FILE_NAME: &str = "statistics.sqlite3";

/// Whether a file of this name is read as statistics.
pub fn is_statistics(name: Option<&str>) -> bool {
    name == Some(FILE_NAME)
}

fn refused(e: StatisticsError) -> Error {
    let reason = match &e {
        StatisticsError::TooLarge(_) => format!("statistics.sqlite3 is {e}"),
        _ => format!("statistics.sqlite3 cannot be read: {e}"),
    };
    Error::invalid("statistics.sqlite3", reason)
}

/// Reads the uploaded file (off the async threads) and stores its events for `reader`.
pub async fn ingest(pool: &DbPool, reader: Uuid, file: &FsPath) -> Result<Ingested, Error> {
    let file = file.to_path_buf();
    let stats = actix_web::web::block(move || koreader_statistics::read(&file, Limits::default()))
        .await?
        .map_err(refused)?;
    let started = std::time::Instant::now();
    let ingested = db::run(pool, move |conn| page_events::ingest(conn, reader, &stats)).await?;
    log::info!(
        "statistics.sqlite3 of {reader}: {} books, {} events, {} new, {} linked by metadata ({} ms)",
        ingested.books,
        ingested.events,
        ingested.added,
        ingested.linked,
        started.elapsed().as_millis()
    );
    Ok(ingested)
}
