//! The start-up check of the data dir against the database. A process killed between placing
//! a file and committing its rows (or between moving a file and committing the move) leaves
//! the two disagreeing; `serve` runs this before it accepts requests, so that every file row
//! has its file and no file lies around without a row.
//!
//! - `tmp/`: uploads being received by a process that is gone are removed.
//! - a file row whose file is missing gets it back when an unclaimed file with the same size
//!   and SHA-256 lies in `inbox/` or `library/` (an approval interrupted after its move);
//! - unclaimed files: partial copies (`*.part`) and covers no book names are removed, as are
//!   files of `inbox/<id>/` when book `<id>` does not exist (an upload never acknowledged)
//!   and copies of a file that is kept elsewhere; anything else unclaimed is moved to
//!   `lost+found/`, never deleted: it may be a reader's only copy.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::{hash, paths, storage};
use crate::db::schema::{book_files, books};
use crate::error::Error;

pub const LOST_AND_FOUND: &str = "lost+found";

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Files of `tmp/` left by a process that is gone.
    pub partial_uploads: usize,
    /// File rows whose missing file was found and put back.
    pub restored: usize,
    /// Unclaimed files removed: partial copies, orphan covers, unacknowledged uploads,
    /// duplicates of kept files.
    pub removed: usize,
    /// Unclaimed files of unknown origin, moved to `lost+found/`.
    pub quarantined: usize,
    /// File rows whose file is missing and was not found.
    pub missing: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        *self == Report::default()
    }
}

struct FileRow {
    path: String,
    checksum: Option<String>,
    size: i64,
}

/// Brings the data dir in line with the database (see the module comment).
pub fn run(conn: &mut PgConnection, data_dir: &Path) -> Result<Report, Error> {
    let io_err = |what: &str, e: io::Error| Error::Internal(format!("checking {what}: {e}"));
    let mut report = Report {
        partial_uploads: clear_tmp(&data_dir.join(storage::TMP)).map_err(|e| io_err("tmp", e))?,
        ..Report::default()
    };
    let rows: Vec<FileRow> = book_files::table
        .select((
            book_files::inbox_path,
            book_files::storage_path,
            book_files::checksum,
            book_files::file_size,
        ))
        .load::<(Option<String>, Option<String>, Option<String>, i64)>(conn)?
        .into_iter()
        .filter_map(|(inbox, stored, checksum, size)| {
            Some(FileRow {
                path: inbox.or(stored)?,
                checksum,
                size,
            })
        })
        .collect();
    let book_ids: HashSet<Uuid> = books::table
        .select(books::id)
        .load(conn)?
        .into_iter()
        .collect();
    let covers: Vec<String> = books::table
        .select(books::cover_path)
        .filter(books::cover_path.is_not_null())
        .load::<Option<String>>(conn)?
        .into_iter()
        .flatten()
        .collect();

    let claimed: HashSet<&str> = rows.iter().map(|r| r.path.as_str()).collect();
    let mut unclaimed: Vec<PathBuf> = Vec::new();
    for dir in [storage::INBOX, storage::LIBRARY] {
        walk(&data_dir.join(dir), &mut |p| {
            if !claimed.contains(storage::relative(data_dir, p).as_str()) {
                unclaimed.push(p.to_owned());
            }
        })
        .map_err(|e| io_err(dir, e))?;
    }
    let mut hashes: HashMap<PathBuf, Option<String>> = HashMap::new();
    let mut sha = |p: &Path| -> Option<String> {
        hashes
            .entry(p.to_owned())
            .or_insert_with(|| hash::sha256_file(p).ok())
            .clone()
    };

    // Rows without their file: an unclaimed file with the same bytes is theirs.
    let mut taken: HashSet<PathBuf> = HashSet::new();
    for row in &rows {
        let Some(path) = storage::resolve(data_dir, &row.path) else {
            report.missing.push(row.path.clone());
            continue;
        };
        if path.is_file() {
            continue;
        }
        let found = row.checksum.as_deref().and_then(|checksum| {
            unclaimed
                .iter()
                .filter(|u| !taken.contains(*u) && !is_partial(u))
                .filter(|u| fs::metadata(u).is_ok_and(|m| m.len() as i64 == row.size))
                .find(|u| sha(u).as_deref() == Some(checksum))
                .cloned()
        });
        match found.map(|from| storage::move_file(&from, &path).map(|_| from)) {
            Some(Ok(from)) => {
                log::warn!("{}: missing, put back from {}", row.path, from.display());
                storage::remove_and_prune(&from, data_dir);
                taken.insert(from);
                report.restored += 1;
            }
            Some(Err(e)) => {
                log::error!("{}: missing, and putting it back failed: {e}", row.path);
                report.missing.push(row.path.clone());
            }
            None => {
                log::error!("{}: missing from the data dir", row.path);
                report.missing.push(row.path.clone());
            }
        }
    }

    let kept: HashSet<&str> = rows.iter().filter_map(|r| r.checksum.as_deref()).collect();
    for file in unclaimed.iter().filter(|u| !taken.contains(*u)) {
        let unacknowledged =
            upload_dir_of(data_dir, file).is_some_and(|id| !book_ids.contains(&id));
        if is_partial(file)
            || unacknowledged
            || sha(file).is_some_and(|s| kept.contains(s.as_str()))
        {
            log::warn!("removing {}: no book row claims it", file.display());
            storage::remove_and_prune(file, data_dir);
            report.removed += 1;
        } else {
            quarantine(data_dir, file).map_err(|e| io_err("lost+found", e))?;
            report.quarantined += 1;
        }
    }

    let cover_files: HashSet<String> = covers
        .iter()
        .flat_map(|c| [c.clone(), paths::thumbnail_of(c).unwrap_or_default()])
        .collect();
    let covers_dir = data_dir.join(storage::COVERS);
    let mut orphan_covers = Vec::new();
    walk(&covers_dir, &mut |p| {
        if !cover_files.contains(&storage::relative(data_dir, p)) {
            orphan_covers.push(p.to_owned());
        }
    })
    .map_err(|e| io_err("covers", e))?;
    for cover in orphan_covers {
        let _ = fs::remove_file(&cover);
        report.removed += 1;
    }
    Ok(report)
}

/// A copy or write that never finished: `*.part` (moves across file systems, covers written
/// through a temporary name) or a cover staged for an approval (`*.new-<tag>`).
fn is_partial(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.ends_with(".part") || name.contains(".new-")
}

/// The book id of `inbox/<id>/…`.
fn upload_dir_of(data_dir: &Path, file: &Path) -> Option<Uuid> {
    let rel = file.strip_prefix(data_dir.join(storage::INBOX)).ok()?;
    rel.components().next()?.as_os_str().to_str()?.parse().ok()
}

fn quarantine(data_dir: &Path, file: &Path) -> io::Result<()> {
    let rel = file.strip_prefix(data_dir).unwrap_or(file);
    let target = data_dir.join(LOST_AND_FOUND).join(rel);
    let target = match target.parent() {
        Some(dir) => {
            let name = target.file_name().unwrap_or_default().to_string_lossy();
            storage::unique_path(dir, &name)
        }
        None => target,
    };
    log::warn!(
        "{}: no book row claims it; moved to {}",
        file.display(),
        target.display()
    );
    storage::move_file(file, &target)?;
    storage::remove_and_prune(file, data_dir);
    Ok(())
}

/// Removes files of `tmp/` whose writer is gone. Staged files are named `<pid>-…`: a process
/// still running keeps its own (a `libris import` beside the server).
fn clear_tmp(dir: &Path) -> io::Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_file() && !writer_alive(&name) {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn writer_alive(name: &str) -> bool {
    let Some(pid) = name
        .split_once('-')
        .and_then(|(p, _)| p.parse::<u32>().ok())
    else {
        return false;
    };
    // Our own pid was a killed process's before us: nothing of ours is in flight yet.
    pid != std::process::id() && Path::new("/proc").join(pid.to_string()).exists()
}

/// Every regular file under `dir` (symbolic links are neither followed nor reported).
fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), visit)?;
        } else if kind.is_file() {
            visit(&entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names() {
        assert!(is_partial(Path::new("/d/library/a/b/x.part")));
        assert!(is_partial(Path::new("/d/covers/x.jpg.new-abc")));
        assert!(!is_partial(Path::new("/d/library/a/b/x.epub")));
    }

    #[test]
    fn staged_files_of_running_writers_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ours = format!("{}-a.part", std::process::id());
        let alive = "1-b.part"; // init runs as long as the machine does
        let gone = format!("{}-c.part", u32::MAX - 1);
        for name in [ours.as_str(), alive, gone.as_str(), "old.part"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        assert_eq!(clear_tmp(dir.path()).unwrap(), 3);
        assert!(dir.path().join(alive).exists());
        assert_eq!(clear_tmp(&dir.path().join("none")).unwrap(), 0);
    }

    #[test]
    fn upload_dirs_name_their_book() {
        let id = Uuid::new_v4();
        let d = Path::new("/d");
        assert_eq!(
            upload_dir_of(d, &d.join(format!("inbox/{id}/x.epub"))),
            Some(id)
        );
        assert_eq!(upload_dir_of(d, Path::new("/d/inbox/junk/x.epub")), None);
        assert_eq!(upload_dir_of(d, &d.join(format!("library/{id}/x"))), None);
    }
}
