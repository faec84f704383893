//! `libris import` and the inbox folder: files from disk through the ingest pipeline.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use diesel::PgConnection;

use super::ingest::{self, Options, Outcome};
use super::storage;
use crate::error::Error;

/// Every regular file under `paths` (files themselves, folders recursively), in a stable
/// order; hidden files and folders are skipped, as are symbolic links (a link could point
/// anywhere, and the target is imported when it is itself under a given path).
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        let meta =
            std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut out).map_err(|e| format!("{}: {e}", path.display()))?;
        } else if meta.is_file() {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Copies one file into the data dir (hashing it on the way) and ingests it. The source
/// is left untouched.
pub fn import_file(
    conn: &mut PgConnection,
    data_dir: &Path,
    path: &Path,
    limit: u64,
    options: &Options,
) -> Result<Outcome, Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let staged = storage::stage_copy(data_dir, path, limit)
        .map_err(|e| Error::invalid("file", format!("cannot read it: {e}")))?
        .map_err(|_| Error::PayloadTooLarge)?;
    ingest::ingest(conn, data_dir, staged, &name, options)
}

#[derive(Debug, Default)]
pub struct Summary {
    pub added: usize,
    pub duplicates: usize,
    pub failed: Vec<(PathBuf, String)>,
}

/// Imports `files` on `jobs` threads, each with its own connection from `connect`;
/// `progress` is called after each file.
pub fn import_all(
    files: &[PathBuf],
    jobs: usize,
    connect: &(dyn Fn() -> Result<PgConnection, String> + Sync),
    data_dir: &Path,
    limit: u64,
    options: &Options,
    progress: &(dyn Fn(&Path) + Sync),
) -> Result<Summary, String> {
    let next = AtomicUsize::new(0);
    let summary = Mutex::new(Summary::default());
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                s.spawn(|| -> Result<(), String> {
                    let mut conn = connect()?;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else {
                            return Ok(());
                        };
                        let result = import_file(&mut conn, data_dir, path, limit, options);
                        {
                            let mut sum = summary.lock().unwrap_or_else(|p| p.into_inner());
                            match result {
                                Ok(Outcome::Created { .. }) => sum.added += 1,
                                Ok(Outcome::Duplicate { .. }) => sum.duplicates += 1,
                                Err(e) => sum.failed.push((path.clone(), e.to_string())),
                            }
                        }
                        progress(path);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| "an import thread panicked".to_owned())??;
        }
        Ok::<(), String>(())
    })?;
    let mut summary = summary.into_inner().unwrap_or_else(|p| p.into_inner());
    summary.failed.sort();
    Ok(summary)
}
