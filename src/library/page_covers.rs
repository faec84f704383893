//! Covers for books that have a PDF or DjVu file and no cover: the file's first page,
//! rendered by a background job (started in `background.rs`), never on a request. Those
//! formats carry no cover image; their first page is what a reader sees as one.
//!
//! A pass looks for organized and review books without a cover that have such a file,
//! renders one file at a time (`libris_formats::page_cover`: an outside program, confined,
//! with the same limits as any cover once rendered), and gives the book its cover with
//! [`set_cover`]. New books and old ones alike: nothing in ingest waits for it.
//!
//! A rendering that fails because of the file (the program refused it, ran out of time or
//! memory, or drew something that is no cover; or the file cannot be read) is counted on the
//! file, `book_files.page_cover_failures`; after [`MAX_FAILURES`] passes the file is left
//! alone, so a hostile file costs its time limit a few times rather than once a pass for ever.
//! Failures that say nothing about the file (the program is not installed, the work directory
//! cannot be made, the database is away) count nothing. A missing program is logged once, and
//! looked for again each pass: installing it is enough.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use libris_formats::covers::Cover;
use libris_formats::page_cover::{self, Limits, PageError, Tool};
use tokio::sync::Notify;
use uuid::Uuid;

use super::{paths, review, storage};
use crate::db::models::BookStatus;
use crate::db::schema::{book_files, books};
use crate::db::{self, DbPool};
use crate::error::Error;

/// Failed passes after which a file is no longer tried.
pub const MAX_FAILURES: i16 = 3;
/// Files read from the database at a time.
const BATCH: i64 = 16;
/// How often a pass runs when nothing wakes the job. `libris import` runs in a process of
/// its own, which cannot wake it.
const EVERY: Duration = Duration::from_secs(60);

/// What the job needs; the app keeps one, so that uploads can wake it.
#[derive(Clone)]
pub struct Context {
    pub pool: DbPool,
    pub data_dir: PathBuf,
    pub limits: Limits,
    /// Where the programs are looked for; `None`: PATH.
    pub programs_path: Option<OsString>,
    wake: Arc<Notify>,
    /// The programs whose absence was logged (again once they have been found).
    missing: Arc<Mutex<HashSet<Tool>>>,
}

impl Context {
    pub fn new(pool: DbPool, data_dir: PathBuf) -> Context {
        Context {
            pool,
            data_dir,
            limits: Limits::default(),
            programs_path: None,
            wake: Arc::new(Notify::new()),
            missing: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// A book arrived: run a pass now rather than at the next tick.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn search_path(&self) -> OsString {
        self.programs_path
            .clone()
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default()
    }

    /// The programs installed now, each with its path.
    fn tools(&self) -> Vec<(Tool, PathBuf)> {
        let path = self.search_path();
        Tool::ALL
            .into_iter()
            .filter_map(|tool| match page_cover::locate_in(tool.program(), &path) {
                Some(program) => {
                    self.missing_set().remove(&tool);
                    Some((tool, program))
                }
                None => {
                    self.note_missing(tool);
                    None
                }
            })
            .collect()
    }

    fn note_missing(&self, tool: Tool) {
        if self.missing_set().insert(tool) {
            log::warn!(
                "page covers: {} (looked in {}): {} files get no cover until it is installed",
                PageError::ToolMissing(tool),
                self.search_path().to_string_lossy(),
                tool.format().as_str()
            );
        }
    }

    fn missing_set(&self) -> std::sync::MutexGuard<'_, HashSet<Tool>> {
        self.missing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What one pass did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pass {
    /// Books given a cover.
    pub covered: usize,
    /// Files whose rendering failed (and was counted).
    pub failed: usize,
}

/// A file to render.
#[derive(Queryable)]
struct Todo {
    file_id: Uuid,
    book_id: Uuid,
    format: String,
    storage_path: Option<String>,
    inbox_path: Option<String>,
}

impl Todo {
    fn location(&self) -> &str {
        self.storage_path
            .as_deref()
            .or(self.inbox_path.as_deref())
            .unwrap_or_default()
    }
}

/// Files of `formats` whose book has no cover, fewest failures and newest books first,
/// leaving out `tried` (this pass's).
fn todo(conn: &mut PgConnection, formats: &[String], tried: &[Uuid]) -> Result<Vec<Todo>, Error> {
    Ok(book_files::table
        .inner_join(books::table)
        .filter(books::cover_path.is_null())
        .filter(books::status.eq_any([BookStatus::Organized, BookStatus::Review]))
        .filter(book_files::format.eq_any(formats))
        .filter(book_files::page_cover_failures.lt(MAX_FAILURES))
        .filter(book_files::id.ne_all(tried))
        .order((
            book_files::page_cover_failures,
            books::created_at.desc(),
            book_files::created_at,
        ))
        .limit(BATCH)
        .select((
            book_files::id,
            book_files::book_id,
            book_files::format,
            book_files::storage_path,
            book_files::inbox_path,
        ))
        .load(conn)?)
}

fn record_failure(conn: &mut PgConnection, file_id: Uuid) -> Result<(), Error> {
    diesel::update(book_files::table.find(file_id))
        .set(book_files::page_cover_failures.eq(book_files::page_cover_failures + 1))
        .execute(conn)?;
    Ok(())
}

/// Gives a book without a cover this one; false (and nothing written) when the book is gone
/// or has a cover by now (an approval took one, another pass was first).
///
/// The files are written under temporary names first, and take their places while the row
/// is locked, before it names them: no reader sees a cover path whose file is not there yet.
/// The update moves the library version and `updated_at` (their triggers), so the catalog's
/// pages and cover links change with it.
pub fn set_cover(
    conn: &mut PgConnection,
    data_dir: &Path,
    book_id: Uuid,
    cover: &Cover,
) -> Result<bool, Error> {
    let (staged_image, staged_thumb) = review::stage_cover(data_dir, book_id, cover)?;
    let (image, thumb) = paths::cover_files(data_dir, book_id, cover.extension);
    let mut placed = false;
    let result = conn.transaction(|conn| {
        let current: Option<Option<String>> = books::table
            .find(book_id)
            .select(books::cover_path)
            .for_update()
            .first(conn)
            .optional()?;
        if current != Some(None) {
            return Ok(false);
        }
        diesel::update(books::table.find(book_id))
            .set(books::cover_path.eq(storage::relative(data_dir, &image)))
            .execute(conn)?;
        std::fs::rename(&staged_image, &image)
            .and_then(|_| {
                placed = true;
                std::fs::rename(&staged_thumb, &thumb)
            })
            .map_err(|e| Error::Internal(format!("placing a page cover: {e}")))?;
        Ok(true)
    });
    if !matches!(result, Ok(true)) {
        let _ = std::fs::remove_file(&staged_image);
        let _ = std::fs::remove_file(&staged_thumb);
        // The book had no cover while its row was locked: these names were ours.
        if placed {
            let _ = std::fs::remove_file(&image);
            let _ = std::fs::remove_file(&thumb);
        }
    }
    result
}

/// One pass: renders every file there is to render now, one at a time (rendering takes a
/// core; the server's requests keep the others).
pub async fn pass(cx: &Context) -> Result<Pass, Error> {
    let mut pass = Pass::default();
    let tools = cx.tools();
    if tools.is_empty() {
        return Ok(pass);
    }
    let formats: Vec<String> = tools
        .iter()
        .map(|(tool, _)| tool.format().as_str().to_owned())
        .collect();
    let mut tried: Vec<Uuid> = Vec::new();
    loop {
        let (f, t) = (formats.clone(), tried.clone());
        let batch = db::run(&cx.pool, move |conn| todo(conn, &f, &t)).await?;
        let full = batch.len() as i64 == BATCH;
        let mut books_seen = HashSet::new();
        for item in batch {
            tried.push(item.file_id);
            // One file of a book a pass: when it works the book has its cover.
            if !books_seen.insert(item.book_id) {
                continue;
            }
            let Some((tool, program)) = tools
                .iter()
                .find(|(tool, _)| tool.format().as_str() == item.format)
                .cloned()
            else {
                continue;
            };
            let rendered = match storage::resolve(&cx.data_dir, item.location()) {
                Some(file) => {
                    let work_dir = cx.data_dir.join(storage::TMP);
                    let limits = cx.limits.clone();
                    actix_web::web::block(move || {
                        page_cover::render(&program, tool, &file, &work_dir, &limits)
                    })
                    .await?
                }
                None => Err(PageError::Input(std::io::Error::other(
                    "its path is not one under the data dir",
                ))),
            };
            match rendered {
                Ok(cover) => {
                    let (data_dir, book_id) = (cx.data_dir.clone(), item.book_id);
                    if db::run(&cx.pool, move |conn| {
                        set_cover(conn, &data_dir, book_id, &cover)
                    })
                    .await?
                    {
                        log::info!("page covers: book {book_id} has its first page as cover");
                        pass.covered += 1;
                    }
                }
                // A file that cannot be read now will not be next minute either (missing after
                // a crash, which the start-up check reports): counted, so that it is not tried
                // and logged every pass. An approval moving it meanwhile costs one try.
                Err(e) if e.blames_the_file() || matches!(e, PageError::Input(_)) => {
                    log::warn!(
                        "page covers: book {} ({}): {e}",
                        item.book_id,
                        item.location()
                    );
                    let file_id = item.file_id;
                    db::run(&cx.pool, move |conn| record_failure(conn, file_id)).await?;
                    pass.failed += 1;
                }
                Err(PageError::ToolMissing(tool)) => {
                    cx.note_missing(tool);
                    return Ok(pass);
                }
                // Trouble on this side (the work directory): the next pass tries again.
                Err(e) => return Err(Error::Internal(e.to_string())),
            }
        }
        if !full {
            return Ok(pass);
        }
    }
}

/// Renders covers for the life of the server: when woken (a book arrived) and every minute.
pub async fn work(cx: Context, locks: crate::db::advisory::Locks) {
    use crate::db::advisory::Job;
    loop {
        match locks.turn(Job::PageCovers, pass(&cx)).await {
            None
            | Some(Ok(Pass {
                covered: 0,
                failed: 0,
            })) => {}
            Some(Ok(p)) => log::info!(
                "page covers: {} book(s) given a cover, {} file(s) failed",
                p.covered,
                p.failed
            ),
            Some(Err(e)) => log::warn!("page covers: pass stopped: {e}"),
        }
        tokio::select! {
            _ = cx.wake.notified() => {}
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
