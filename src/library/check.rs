//! The start-up check of the data dir against the database. A process killed between placing
//! a file and committing its rows (or between moving a file and committing the move) leaves
//! the two disagreeing; `serve` runs this before it accepts requests, so that every file row
//! has its file and no file lies around without a row.
//!
//! The check runs only while no other libris process uses the data dir: `serve` and `import`
//! hold a shared lock on `<data>/.lock` for their lifetime, the check an exclusive one. A
//! file placed by a running process, its rows not yet committed, is never taken for a leftover.
//!
//! - `tmp/`: uploads being received and pages being rendered (`page_covers`) by a process
//!   that is gone are removed.
//! - a file row whose file is missing gets it back when an unclaimed file with the same size
//!   and SHA-256 lies in `inbox/` or `library/` (an approval interrupted after its move);
//! - unclaimed files: partial copies (`*.part`) and covers no book names are removed, as are
//!   files of `inbox/<id>/` when book `<id>` does not exist (an upload never acknowledged)
//!   and copies of a file that is kept elsewhere; anything else unclaimed is moved to
//!   `unclaimed/`, never deleted: it may be a reader's only copy.
//! - an entry that cannot be read, removed or moved is logged and counted; it never stops
//!   the check (nor the server's start).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use libris_formats::hash;
use serde::Serialize;
use uuid::Uuid;

use super::{paths, storage};
use crate::db::schema::{book_files, books};
use crate::error::Error;

pub const UNCLAIMED: &str = "unclaimed";
const LOCK: &str = ".lock";

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Files of `tmp/` left by a process that is gone (and directories a page was rendered in).
    pub partial_uploads: usize,
    /// File rows whose missing file was found and put back.
    pub restored: usize,
    /// Unclaimed files removed: partial copies, orphan covers, unacknowledged uploads,
    /// duplicates of kept files.
    pub removed: usize,
    /// Unclaimed files of unknown origin, moved to `unclaimed/`.
    pub quarantined: usize,
    /// Entries that could not be read, removed or moved (each logged).
    pub errors: usize,
    /// File rows whose file is missing and was not found.
    pub missing: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        *self == Report::default()
    }
}

/// storage_path, inbox_path, checksum, file_size of a book_files row.
type RowPaths = (Option<String>, Option<String>, Option<String>, i64);

struct FileRow {
    /// Where the file is (as `BookFile::location`: the library's path, else the inbox's).
    path: String,
    checksum: Option<String>,
    size: i64,
}

/// Holds `<data>/.lock` while alive: shared by the processes that place files (`serve`,
/// `import`), exclusive for the check.
pub struct DataDirLock(#[allow(dead_code)] fs::File);

fn lock_file(data_dir: &Path) -> io::Result<fs::File> {
    fs::create_dir_all(data_dir)?;
    fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(LOCK))
}

/// The data dir for a process that places files, for as long as it runs.
pub fn lock_shared(data_dir: &Path) -> io::Result<DataDirLock> {
    let file = lock_file(data_dir)?;
    file.lock_shared()?;
    Ok(DataDirLock(file))
}

/// The data dir for the check alone; `None` while another libris process uses it.
pub fn try_lock_exclusive(data_dir: &Path) -> io::Result<Option<DataDirLock>> {
    let file = lock_file(data_dir)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(DataDirLock(file))),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Brings the data dir in line with the database (see the module comment). The caller holds
/// the exclusive lock ([`try_lock_exclusive`]).
pub fn run(conn: &mut PgConnection, data_dir: &Path, _lock: &DataDirLock) -> Result<Report, Error> {
    let mut report = Report::default();
    clear_tmp(&data_dir.join(storage::TMP), &mut report);
    let rows: Vec<RowPaths> = book_files::table
        .select((
            book_files::storage_path,
            book_files::inbox_path,
            book_files::checksum,
            book_files::file_size,
        ))
        .load(conn)?;
    let claimed: HashSet<String> = rows
        .iter()
        .flat_map(|(stored, inbox, _, _)| [stored.clone(), inbox.clone()])
        .flatten()
        .collect();
    let rows: Vec<FileRow> = rows
        .into_iter()
        .filter_map(|(stored, inbox, checksum, size)| {
            Some(FileRow {
                path: stored.or(inbox)?,
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

    let mut unclaimed: Vec<PathBuf> = Vec::new();
    for dir in [storage::INBOX, storage::LIBRARY] {
        walk(&data_dir.join(dir), &mut report, &mut |p| {
            if !claimed.contains(&storage::relative(data_dir, p)) {
                unclaimed.push(p.to_owned());
            }
        });
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
    let mut present: HashSet<&str> = HashSet::new();
    for row in &rows {
        let Some(path) = storage::resolve(data_dir, &row.path) else {
            report.missing.push(row.path.clone());
            continue;
        };
        match fs::symlink_metadata(&path) {
            Ok(_) => {
                present.extend(row.checksum.as_deref());
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                log::error!("{}: {e}", row.path);
                report.errors += 1;
                continue;
            }
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
                present.extend(row.checksum.as_deref());
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

    // Only the bytes of a file that is in its place make another copy a spare one.
    for file in unclaimed.iter().filter(|u| !taken.contains(*u)) {
        let unacknowledged =
            upload_dir_of(data_dir, file).is_some_and(|id| !book_ids.contains(&id));
        let mut spare = || sha(file).is_some_and(|s| present.contains(s.as_str()));
        if is_partial(file) || unacknowledged || spare() {
            log::warn!("removing {}: no book row claims it", file.display());
            remove(file, data_dir, &mut report);
        } else {
            match quarantine(data_dir, file) {
                Ok(()) => report.quarantined += 1,
                Err(e) => {
                    log::error!("{}: moving it to {UNCLAIMED}/: {e}", file.display());
                    report.errors += 1;
                }
            }
        }
    }

    // Covers are libris's own renderings: one no book names (or a staged one) is rubbish.
    let cover_files: HashSet<String> = covers
        .iter()
        .flat_map(|c| [c.clone(), paths::thumbnail_of(c).unwrap_or_default()])
        .collect();
    let mut orphan_covers = Vec::new();
    walk(&data_dir.join(storage::COVERS), &mut report, &mut |p| {
        if !cover_files.contains(&storage::relative(data_dir, p)) {
            orphan_covers.push(p.to_owned());
        }
    });
    for cover in orphan_covers {
        remove(&cover, data_dir, &mut report);
    }
    Ok(report)
}

fn remove(file: &Path, data_dir: &Path, report: &mut Report) {
    match fs::remove_file(file) {
        Ok(()) => {
            storage::remove_and_prune(file, data_dir);
            report.removed += 1;
        }
        Err(e) => {
            log::error!("removing {}: {e}", file.display());
            report.errors += 1;
        }
    }
}

/// A copy that never finished: `*.part` (moves across file systems, writes through a
/// temporary name). Files of books are always named with their format's extension.
fn is_partial(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "part")
}

/// The book id of `inbox/<id>/…`.
fn upload_dir_of(data_dir: &Path, file: &Path) -> Option<Uuid> {
    let rel = file.strip_prefix(data_dir.join(storage::INBOX)).ok()?;
    rel.components().next()?.as_os_str().to_str()?.parse().ok()
}

fn quarantine(data_dir: &Path, file: &Path) -> io::Result<()> {
    let rel = file.strip_prefix(data_dir).unwrap_or(file);
    let target = data_dir.join(UNCLAIMED).join(rel);
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

/// Removes files of `tmp/` whose writer is gone, and the directories pages were rendered in
/// (`libris_formats::page_cover`). Both are named `<pid>-…`: with the lock held no other
/// libris process runs, but a pid's own check keeps them readable in logs.
fn clear_tmp(dir: &Path, report: &mut Report) {
    let Some(entries) = read_dir(dir, report) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !writer_alive(&name) && (kind.is_file() || kind.is_dir()) {
            let removed = if kind.is_dir() {
                fs::remove_dir_all(entry.path())
            } else {
                fs::remove_file(entry.path())
            };
            match removed {
                Ok(()) => report.partial_uploads += 1,
                Err(e) => {
                    log::error!("removing {}: {e}", entry.path().display());
                    report.errors += 1;
                }
            }
        }
    }
}

/// The entries of `dir`; none when it does not exist, or (logged, counted) cannot be read.
fn read_dir(dir: &Path, report: &mut Report) -> Option<fs::ReadDir> {
    match fs::read_dir(dir) {
        Ok(entries) => Some(entries),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            log::error!("{}: {e}", dir.display());
            report.errors += 1;
            None
        }
    }
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

/// Every regular file under `dir`: symbolic links are neither followed nor reported, and
/// dot files and NAS metadata folders (`.DS_Store`, `._x`, `@eaDir`) are not libris's.
fn walk(dir: &Path, report: &mut Report, visit: &mut dyn FnMut(&Path)) {
    let Some(entries) = read_dir(dir, report) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "@eaDir" {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&entry.path(), report, visit),
            Ok(t) if t.is_file() => visit(&entry.path()),
            Ok(_) => {}
            Err(e) => {
                log::error!("{}: {e}", entry.path().display());
                report.errors += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names() {
        assert!(is_partial(Path::new("/d/library/a/b/x.part")));
        assert!(is_partial(Path::new("/d/covers/x.0123abcd.part")));
        assert!(!is_partial(Path::new("/d/library/a/b/x.epub")));
        assert!(!is_partial(Path::new(
            "/d/library/a/b/brave.new-world.epub"
        )));
    }

    #[test]
    fn the_check_waits_for_no_one_and_excludes_everyone() {
        let dir = tempfile::tempdir().unwrap();
        let serving = lock_shared(dir.path()).unwrap();
        assert!(try_lock_exclusive(dir.path()).unwrap().is_none());
        drop(serving);
        let checking = try_lock_exclusive(dir.path()).unwrap();
        assert!(checking.is_some());
        assert!(try_lock_exclusive(dir.path()).unwrap().is_none());
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
        // Where pages are rendered: a directory with the program's output.
        let rendering = "1-page-0-0a";
        let rendered = format!("{}-page-1-0b", u32::MAX - 1);
        for name in [rendering, rendered.as_str()] {
            fs::create_dir(dir.path().join(name)).unwrap();
            fs::write(dir.path().join(name).join("page.ppm"), b"P6").unwrap();
        }
        let mut report = Report::default();
        clear_tmp(dir.path(), &mut report);
        assert_eq!(report.partial_uploads, 4);
        assert!(dir.path().join(alive).exists());
        assert!(dir.path().join(rendering).join("page.ppm").exists());
        assert!(!dir.path().join(&rendered).exists());
        clear_tmp(&dir.path().join("none"), &mut report);
        assert_eq!((report.partial_uploads, report.errors), (4, 0));
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
