//! The inbox folder (LIBRIS_INBOX_DIR): files dropped there are ingested once their size
//! has stayed the same for a while (a copy in progress keeps growing). Done files leave the
//! folder; a refused file moves to `failed/` beside a `.error` note saying why.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::import::{collect, import_file, Unit, NOT_A_BOOK};
use super::ingest::Options;
use super::storage;
use crate::db::{self, DbPool};
use crate::error::Error;

/// How long a file's size must stay the same before it is taken.
pub const STABLE_FOR: Duration = Duration::from_secs(2);
const FAILED: &str = "failed";

#[derive(Default)]
pub struct Watcher {
    /// Size last seen, and since when it has been that size.
    seen: HashMap<PathBuf, (u64, Instant)>,
}

/// What one pass did, for logs and tests.
#[derive(Debug, Default, PartialEq)]
pub struct Pass {
    pub imported: usize,
    pub failed: usize,
}

/// Every file in the inbox outside `failed/`, with its size. Blocking: file system calls.
fn scan(dir: &Path) -> Vec<(PathBuf, u64)> {
    let failed = dir.join(FAILED);
    let found = collect(&[dir.to_owned()]).unwrap_or_default();
    // Each file on its own, and what is not a book too: it is refused and set aside with a
    // note saying why, rather than left in the folder unexplained.
    let books = found.units.into_iter().flat_map(|unit| match unit {
        Unit::File(path) => vec![path],
        Unit::Calibre(book) => book.files,
    });
    let others = found
        .skipped
        .into_iter()
        .filter(|(path, why)| why == NOT_A_BOOK && path.is_file())
        .map(|(path, _)| path);
    books
        .chain(others)
        .filter(|f| !f.starts_with(&failed))
        .filter_map(|f| std::fs::metadata(&f).ok().map(|m| (f, m.len())))
        .collect()
}

/// A server fault (database, disk) says nothing about the file: it is tried again later.
fn server_fault(e: &Error) -> bool {
    matches!(
        e,
        Error::Unavailable(_) | Error::Database(_) | Error::Internal(_)
    )
}

impl Watcher {
    /// Files whose size has been stable for `stable_for`.
    fn ready(
        &mut self,
        files: Vec<(PathBuf, u64)>,
        now: Instant,
        stable_for: Duration,
    ) -> Vec<PathBuf> {
        let mut ready = Vec::new();
        let mut present = HashMap::new();
        for (file, size) in files {
            let since = match self.seen.get(&file) {
                Some((s, since)) if *s == size => *since,
                _ => now,
            };
            if now.duration_since(since) >= stable_for && self.seen.contains_key(&file) {
                ready.push(file.clone());
            }
            present.insert(file, (size, since));
        }
        self.seen = present;
        ready
    }

    /// One look at the folder (on the blocking pool): the files ready to ingest.
    pub async fn look(&mut self, dir: &Path, now: Instant, stable_for: Duration) -> Vec<PathBuf> {
        let scanned = {
            let dir = dir.to_owned();
            actix_web::web::block(move || scan(&dir))
                .await
                .unwrap_or_default()
        };
        self.ready(scanned, now, stable_for)
    }

    /// A look at the folder, then the import of what is ready.
    pub async fn pass(
        &mut self,
        cx: &Context,
        dir: &Path,
        now: Instant,
        stable_for: Duration,
    ) -> Pass {
        let ready = self.look(dir, now, stable_for).await;
        self.import(cx, dir, ready).await
    }

    /// Ingests `ready` files of the folder. The file system work runs on the blocking pool,
    /// beside the database work.
    pub async fn import(&mut self, cx: &Context, dir: &Path, ready: Vec<PathBuf>) -> Pass {
        let mut pass = Pass::default();
        for file in ready {
            let data_dir = cx.data_dir.clone();
            let limit = cx.max_upload_bytes;
            let (path, inbox) = (file.clone(), dir.to_owned());
            let result = db::run(&cx.pool, move |conn| {
                let result = import_file(conn, &data_dir, &path, limit, &Options::default());
                match &result {
                    Ok(_) => {
                        if let Err(e) = std::fs::remove_file(&path) {
                            log::error!("inbox: cannot remove {}: {e}", path.display());
                        }
                    }
                    Err(e) if !server_fault(e) => {
                        if let Err(io) = set_aside(&inbox, &path, &e.to_string()) {
                            log::error!("inbox: cannot move {} to failed/: {io}", path.display());
                        }
                    }
                    Err(_) => {}
                }
                result
            })
            .await;
            self.seen.remove(&file);
            match result {
                Ok(outcome) => {
                    log::info!("inbox: {} → book {}", file.display(), outcome.book_id());
                    pass.imported += 1;
                    (cx.imported)();
                }
                Err(e) if server_fault(&e) => {
                    log::warn!("inbox: {} not imported yet: {e}", file.display());
                }
                Err(e) => {
                    log::warn!("inbox: {} refused: {e}", file.display());
                    pass.failed += 1;
                }
            }
        }
        pass
    }
}

fn set_aside(dir: &Path, file: &Path, why: &str) -> std::io::Result<()> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let target = storage::unique_path(&dir.join(FAILED), &name);
    storage::move_file(file, &target)?;
    let note = target.with_file_name(format!(
        "{}.error",
        target.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(note, format!("{why}\n"))
}

/// What the watcher needs: the pool, where books go, the largest file taken, and what to
/// call when a book was imported (the app wakes Hardcover's metadata lookups and the page
/// covers).
#[derive(Clone)]
pub struct Context {
    pub pool: DbPool,
    pub data_dir: PathBuf,
    pub max_upload_bytes: u64,
    pub imported: std::sync::Arc<dyn Fn() + Send + Sync>,
}

/// Watches the inbox folder for the life of the server.
pub async fn watch(cx: Context, dir: PathBuf, locks: crate::db::advisory::Locks) {
    if let Err(e) = std::fs::create_dir_all(&dir) {
        log::error!("inbox: cannot create {}: {e}", dir.display());
        return;
    }
    log::info!("inbox: watching {}", dir.display());
    let mut watcher = Watcher::default();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Looking is local: the instances' shared lock (a database round trip) is taken only
        // when there is something to import.
        let ready = watcher.look(&dir, Instant::now(), STABLE_FOR).await;
        if ready.is_empty() {
            continue;
        }
        let pass = async { Ok(watcher.import(&cx, &dir, ready).await) };
        locks.turn(crate::db::advisory::Job::Inbox, pass).await;
    }
}
