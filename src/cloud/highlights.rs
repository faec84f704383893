//! A JSON export of KOReader's Exporter arriving in a reader's WebDAV space (its "upload to
//! cloud storage" option): read into highlights (`reading::annotations`) before the file takes
//! its place. A `.json` file that is not such an export is kept as a plain file, unread.

use std::path::Path as FsPath;

use libris_formats::koreader_highlights::{is_json_export, parse_json};
use uuid::Uuid;

use crate::db::{self, DbPool};
use crate::error::Error;
use crate::reading::annotations::{self, Source, Stored};

/// Larger JSON files are stored without being read (an export of a whole library's
/// highlights is a few MB; a parsed JSON value takes several times its size).
const MAX_READ: u64 = 8 * 1024 * 1024;

/// Whether a file of this name may be an export.
pub fn may_be_export(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".json"))
}

/// Reads the uploaded file and stores its highlights, when it is an export. An export that
/// names itself one (`"version": "json/…"`) but is broken is refused, like a broken
/// statistics database.
pub async fn ingest(pool: &DbPool, reader: Uuid, file: &FsPath) -> Result<Option<Stored>, Error> {
    let file = file.to_path_buf();
    let books = actix_web::web::block(move || -> Result<_, Error> {
        let size = std::fs::metadata(&file)
            .map(|m| m.len())
            .unwrap_or(u64::MAX);
        if size > MAX_READ {
            return Ok(None);
        }
        let bytes =
            std::fs::read(&file).map_err(|e| Error::Internal(format!("WebDAV storage: {e}")))?;
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return Ok(None);
        };
        if !is_json_export(&value) {
            return Ok(None);
        }
        parse_json(&value).map(Some).map_err(|e| {
            Error::invalid(
                "export",
                format!("the highlights export cannot be read: {e}"),
            )
        })
    })
    .await??;
    let Some(books) = books else { return Ok(None) };
    let stored = db::run(pool, move |conn| {
        conn.build_transaction()
            .run(|conn| annotations::store(conn, reader, Source::Json, &books))
    })
    .await?;
    Ok(Some(stored))
}
