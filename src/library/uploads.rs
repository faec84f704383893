//! Files uploaded over HTTP (the API's `POST /api/uploads` and the web inbox): each streamed
//! to a staged file while hashed (never held in memory), then through the ingest pipeline as
//! a book of its own, left in review.

use std::fmt::Display;
use std::path::PathBuf;

use actix_web::web::{self, Bytes};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::inbox::Context;
use super::ingest::{self, NewBook, Options, Outcome, Target};
use super::storage::{Staged, StagingWriter, TooLarge};
use crate::db;
use crate::error::Error;

/// Chunks in flight between the HTTP stream and the thread writing the file: the memory
/// an upload can hold is this many chunks, whatever the file's size.
const CHANNEL_CHUNKS: usize = 8;

/// What multipart boundaries and part headers may add to the files of an upload.
pub const MULTIPART_FRAMING: u64 = 1024 * 1024;

/// Streams one upload's bytes to a staged file on a blocking thread, refusing it past
/// `limit` bytes (`PayloadTooLarge`). A broken stream is `Invalid { field: "body" }`.
pub async fn stage<S, E>(data_dir: PathBuf, mut stream: S, limit: u64) -> Result<Staged, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    let writer = web::block(move || -> Result<Result<Staged, TooLarge>, Error> {
        let io = |e: std::io::Error| Error::Internal(format!("staging an upload: {e}"));
        let mut writer = StagingWriter::create(&data_dir, limit).map_err(io)?;
        while let Some(chunk) = rx.blocking_recv() {
            if let Err(too_large) = writer.write(&chunk).map_err(io)? {
                return Ok(Err(too_large));
            }
        }
        writer.finish().map(Ok).map_err(io)
    });
    let reader = async move {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Error::invalid("body", format!("multipart: {e}")))?;
            if tx.send(chunk).await.is_err() {
                break; // the writer stopped: over the limit, or failed
            }
        }
        Ok::<(), Error>(())
    };
    let (read, written) = tokio::join!(reader, writer);
    let staged = written.map_err(Error::from)??;
    read?;
    staged.map_err(|TooLarge| Error::PayloadTooLarge)
}

/// A staged upload as a new book in review (or the book it duplicates), uploaded by
/// `uploader`. The slow reading runs on a blocking thread holding no connection; a new book
/// wakes Hardcover's lookups and the page covers (`cx.imported`).
pub async fn ingest(
    cx: &Context,
    staged: Staged,
    name: String,
    uploader: Uuid,
) -> Result<Outcome, Error> {
    let options = Options {
        uploader: Some(uploader),
        approve: false,
    };
    let (n, o) = (name.clone(), options.clone());
    let (duplicate, staged) = db::run(&cx.pool, move |conn| {
        Ok((ingest::find_duplicate(conn, &staged, &n, &o)?, staged))
    })
    .await?;
    if let Some(duplicate) = duplicate {
        return Ok(duplicate);
    }
    let data_dir = cx.data_dir.clone();
    let prepared = web::block(move || {
        let file = ingest::read(staged, &name)?;
        let book = NewBook::from_files(std::slice::from_ref(&file));
        ingest::prepare(&data_dir, vec![file], Target::New(Box::new(book)), false)
    })
    .await
    .map_err(Error::from)??;
    let outcome = db::run(&cx.pool, move |conn| {
        ingest::commit(conn, prepared, &options)
    })
    .await?;
    if matches!(outcome, Outcome::Created { .. }) {
        (cx.imported)();
    }
    Ok(outcome)
}

/// The name a client gave an uploaded file, as stored: browsers send a bare name, some
/// clients a whole path; at most 255 characters; `None` when nothing is left.
pub fn file_name(given: &str) -> Option<String> {
    let name = given.rsplit(['/', '\\']).next().unwrap_or(given).trim();
    (!name.is_empty()).then(|| name.chars().take(255).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_name_loses_its_path() {
        assert_eq!(super::file_name("C:\\x\\a.epub").as_deref(), Some("a.epub"));
        assert_eq!(super::file_name("/tmp/b.pdf ").as_deref(), Some("b.pdf"));
        assert_eq!(super::file_name("dir/"), None);
        assert_eq!(
            super::file_name(&"é".repeat(300)).unwrap().chars().count(),
            255
        );
    }
}
