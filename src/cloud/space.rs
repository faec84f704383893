//! A reader's WebDAV space: plain files under `<data dir>/dav/<reader id>/`, as KOReader's
//! Cloud storage keeps them (statistics.sqlite3, vocabulary, exports).
//!
//! - Paths come from URLs: [`Path::parse`] takes the percent-decoded segments and refuses
//!   `.`, `..`, empty segments inside, control characters, backslashes and names libris keeps
//!   for itself, so a path can only name something inside the space.
//! - Writes are atomic: the body goes to a hidden temporary file beside the target, which is
//!   synced and renamed over it, so a PUT that fails midway (or a kill -9) leaves the old file.
//! - The ETag is strong: size, modification time (ns) and inode of the file. A write makes a
//!   new inode (the rename), so a changed file never keeps its ETag; computing one reads no
//!   content.
//! - Preconditions (`If-Match`, `If-None-Match`) are checked and the file replaced under one
//!   lock per reader ([`Locks`]): of two uploads with the same `If-Match`, one wins and the
//!   other gets 412.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use uuid::Uuid;

use crate::error::Error;

/// Names that start with this are libris's own (temporary uploads): never listed, never
/// addressable.
pub const HIDDEN_PREFIX: &str = ".libris-";
/// Segments a path may have, and bytes a segment may have.
const MAX_DEPTH: usize = 32;
const MAX_SEGMENT: usize = 255;
/// Entries a folder listing shows at most.
pub const MAX_LISTED: usize = 10_000;
/// Bytes a whole path may have (the file system's PATH_MAX is 4096, with the data dir before).
const MAX_PATH: usize = 1024;
/// Files and folders a reader's space may hold.
pub const MAX_ENTRIES: u64 = 10_000;

/// Where a reader's space is.
pub fn root(data_dir: &std::path::Path, reader: Uuid) -> PathBuf {
    data_dir.join("dav").join(reader.to_string())
}

/// A path inside a reader's space: its segments, none of them empty, `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    segments: Vec<String>,
}

impl Path {
    /// The space's own root.
    pub fn root() -> Path {
        Path { segments: vec![] }
    }

    /// A path from a URL's (percent-decoded) tail under the space: "a/b/c" or "a/b/". A
    /// trailing slash is allowed (folders); empty segments elsewhere are not.
    pub fn parse(decoded: &str) -> Result<Path, Error> {
        let trimmed = decoded.trim_start_matches('/');
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Ok(Path::root());
        }
        if trimmed.len() > MAX_PATH {
            return Err(Error::invalid("path", "longer than 1,024 bytes"));
        }
        let mut segments = vec![];
        for segment in trimmed.split('/') {
            let bad = segment.is_empty()
                || segment == "."
                || segment == ".."
                || segment.len() > MAX_SEGMENT
                || segment.starts_with(HIDDEN_PREFIX)
                || segment
                    .chars()
                    .any(|c| c.is_control() || c == '\\' || matches!(c, '\u{fffe}' | '\u{ffff}'));
            if bad {
                return Err(Error::invalid("path", "not a path inside your space"));
            }
            segments.push(segment.to_owned());
        }
        if segments.len() > MAX_DEPTH {
            return Err(Error::invalid("path", "nested too deep"));
        }
        Ok(Path { segments })
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The last segment (none for the root).
    pub fn name(&self) -> Option<&str> {
        self.segments.last().map(String::as_str)
    }

    pub fn parent(&self) -> Path {
        let mut segments = self.segments.clone();
        segments.pop();
        Path { segments }
    }

    pub fn child(&self, name: &str) -> Path {
        let mut segments = self.segments.clone();
        segments.push(name.to_owned());
        Path { segments }
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Where it is on disk, under `root`.
    pub fn on_disk(&self, root: &std::path::Path) -> PathBuf {
        let mut p = root.to_path_buf();
        for s in &self.segments {
            p.push(s);
        }
        p
    }
}

/// What a path holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: Path,
    pub folder: bool,
    pub size: u64,
    pub modified: SystemTime,
    /// Quoted, strong (files only).
    pub etag: Option<String>,
}

/// The strong ETag of a file's present version.
pub fn etag(meta: &fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    let nanos = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
    format!("\"{:x}-{:x}-{:x}\"", meta.len(), nanos, meta.ino())
}

fn entry(path: Path, meta: &fs::Metadata) -> Entry {
    let folder = meta.is_dir();
    Entry {
        path,
        folder,
        size: if folder { 0 } else { meta.len() },
        modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        etag: (!folder).then(|| etag(meta)),
    }
}

fn io_error(e: io::Error) -> Error {
    Error::Internal(format!("WebDAV storage: {e}"))
}

/// What `path` holds, if anything. The space's root always exists (made on first use).
pub fn stat(root: &std::path::Path, path: &Path) -> Result<Option<Entry>, Error> {
    if path.is_root() {
        fs::create_dir_all(root).map_err(io_error)?;
    }
    // symlink_metadata: a link (none is made here) is not followed out of the space.
    match fs::symlink_metadata(path.on_disk(root)) {
        Ok(meta) if meta.is_file() || meta.is_dir() => Ok(Some(entry(path.clone(), &meta))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(20) => Ok(None), // ENOTDIR: a file on the way
        Err(e) => Err(io_error(e)),
    }
}

/// A folder's entries (not hidden ones), by name, at most [`MAX_LISTED`].
pub fn list(root: &std::path::Path, folder: &Path) -> Result<Vec<Entry>, Error> {
    let mut out = vec![];
    for item in fs::read_dir(folder.on_disk(root)).map_err(io_error)? {
        let item = item.map_err(io_error)?;
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        if name.starts_with(HIDDEN_PREFIX) {
            continue;
        }
        let Ok(meta) = item.metadata() else { continue };
        if meta.is_file() || meta.is_dir() {
            out.push(entry(folder.child(&name), &meta));
        }
        if out.len() >= MAX_LISTED {
            break;
        }
    }
    out.sort_by(|a, b| a.path.name().cmp(&b.path.name()));
    Ok(out)
}

/// A request's preconditions on the current file.
#[derive(Debug, Default, Clone)]
pub struct Preconditions {
    /// `If-Match`: `*` or a list of ETags.
    pub if_match: Option<String>,
    /// `If-None-Match`: `*` or a list of ETags.
    pub if_none_match: Option<String>,
}

/// Whether a header's list names the version `etag`: strongly (If-Match: a weak tag never
/// matches), or weakly (If-None-Match: `W/` is looked past).
fn matches_any(header: &str, etag: Option<&str>, weak: bool) -> bool {
    let Some(etag) = etag else { return false };
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*"
            || candidate == etag
            || (weak && candidate.strip_prefix("W/") == Some(etag))
    })
}

impl Preconditions {
    /// Whether the request may go on, given the current entry (RFC 9110 §13.2.2, for
    /// writes: a failure is 412).
    pub fn hold(&self, current: Option<&Entry>) -> bool {
        let etag = current.and_then(|e| e.etag.as_deref());
        let exists = current.is_some();
        if let Some(h) = &self.if_match {
            let ok = if h.trim() == "*" {
                exists
            } else {
                matches_any(h, etag, false)
            };
            if !ok {
                return false;
            }
        }
        if let Some(h) = &self.if_none_match {
            let hit = if h.trim() == "*" {
                exists
            } else {
                matches_any(h, etag, true)
            };
            if hit {
                return false;
            }
        }
        true
    }
}

/// One lock per reader, around the check of preconditions and the replacement of a file.
#[derive(Default)]
pub struct Locks {
    held: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
}

impl Locks {
    pub fn of(&self, reader: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut held = self.held.lock().expect("dav locks");
        if held.len() > 10_000 {
            held.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        held.entry(reader).or_default().clone()
    }
}

/// A body being received: a hidden file beside the target, removed unless [`Upload::commit`]
/// renamed it into place.
pub struct Upload {
    pub temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Upload {
    /// Starts an upload to `path`, whose folder must exist (else 409, as WebDAV asks).
    pub fn start(root: &std::path::Path, path: &Path) -> Result<(Upload, fs::File), Error> {
        let parent = stat(root, &path.parent())?;
        if !parent.is_some_and(|p| p.folder) {
            return Err(Error::Conflict(
                "the folder it goes in does not exist".into(),
            ));
        }
        let target = path.on_disk(root);
        let temp = target.with_file_name(format!("{HIDDEN_PREFIX}put-{}", Uuid::new_v4()));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(io_error)?;
        Ok((
            Upload {
                temp,
                target,
                committed: false,
            },
            file,
        ))
    }

    /// Puts the received file in place (synced, then renamed over the old one, then the
    /// folder synced) and answers its entry.
    pub fn commit(mut self, path: &Path) -> Result<Entry, Error> {
        fs::File::open(&self.temp)
            .and_then(|f| f.sync_all())
            .map_err(io_error)?;
        fs::rename(&self.temp, &self.target).map_err(io_error)?;
        self.committed = true;
        if let Some(dir) = self.target.parent() {
            let _ = fs::File::open(dir).and_then(|d| d.sync_all());
        }
        let meta = fs::metadata(&self.target).map_err(io_error)?;
        Ok(entry(path.clone(), &meta))
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// What a reader's space holds: bytes and entries (files and folders, not uploads under
/// way), counted up to a little past the entry limit.
pub fn usage(root: &std::path::Path) -> (u64, u64) {
    fn walk(dir: &std::path::Path, bytes: &mut u64, entries: &mut u64, depth: usize) {
        let Ok(items) = fs::read_dir(dir) else { return };
        for item in items.flatten() {
            if *entries > MAX_ENTRIES {
                return;
            }
            // Uploads under way (this one's too) are not counted.
            if item
                .file_name()
                .to_string_lossy()
                .starts_with(HIDDEN_PREFIX)
            {
                continue;
            }
            let Ok(meta) = item.metadata() else { continue };
            *entries += 1;
            if meta.is_dir() && depth <= MAX_DEPTH {
                walk(&item.path(), bytes, entries, depth + 1);
            } else if meta.is_file() {
                *bytes += meta.len();
            }
        }
    }
    let (mut bytes, mut entries) = (0, 0);
    walk(root, &mut bytes, &mut entries, 0);
    (bytes, entries)
}

/// Whether a space holding `usage` may take `adding` bytes (replacing `replacing` bytes) and
/// `new_entries` entries within `quota` bytes.
pub fn fits(usage: (u64, u64), adding: u64, replacing: u64, new_entries: u64, quota: u64) -> bool {
    usage.0.saturating_sub(replacing).saturating_add(adding) <= quota
        && usage.1 + new_entries <= MAX_ENTRIES
}

/// Removes a reader's whole space (the reader is gone).
pub fn remove(data_dir: &std::path::Path, reader: Uuid) -> Result<(), Error> {
    match fs::remove_dir_all(root(data_dir, reader)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(e)),
        _ => Ok(()),
    }
}

/// Removes the spaces of readers that no longer exist (deleted keys, deleted KoSync
/// accounts); the number removed. At start, then hourly ([`sweep_forever`]).
pub fn remove_orphans(
    conn: &mut diesel::PgConnection,
    data_dir: &std::path::Path,
) -> Result<usize, Error> {
    use crate::db::schema::api_keys;
    use diesel::prelude::*;
    let spaces = readers_with_spaces(data_dir);
    if spaces.is_empty() {
        return Ok(0);
    }
    let living: Vec<Uuid> = api_keys::table
        .filter(api_keys::id.eq_any(&spaces))
        .select(api_keys::id)
        .load(conn)?;
    let mut removed = 0;
    for reader in spaces.into_iter().filter(|r| !living.contains(r)) {
        remove(data_dir, reader)?;
        removed += 1;
    }
    Ok(removed)
}

/// [`remove_orphans`] every hour, for the life of the server.
pub async fn sweep_forever(
    pool: crate::db::DbPool,
    data_dir: std::path::PathBuf,
    locks: crate::db::advisory::Locks,
) {
    use crate::db::advisory::Job;
    loop {
        let dir = data_dir.clone();
        let swept = crate::db::run(&pool, move |conn| remove_orphans(conn, &dir));
        match locks.turn(Job::SpaceSweep, swept).await {
            None | Some(Ok(0)) => {}
            Some(Ok(n)) => log::info!("WebDAV: the spaces of {n} readers who are gone removed"),
            Some(Err(e)) => log::warn!("WebDAV spaces sweep: {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

/// The reader ids that have a space.
pub fn readers_with_spaces(data_dir: &std::path::Path) -> Vec<Uuid> {
    fs::read_dir(data_dir.join("dav"))
        .map(|items| {
            items
                .flatten()
                .filter_map(|i| i.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Makes a folder (MKCOL): its parent must exist (409), it must not (405, as RFC 4918 says).
pub fn make_folder(root: &std::path::Path, path: &Path) -> Result<(), Error> {
    if stat(root, path)?.is_some() {
        return Err(Error::MethodNotAllowed);
    }
    if !stat(root, &path.parent())?.is_some_and(|p| p.folder) {
        return Err(Error::Conflict(
            "the folder it goes in does not exist".into(),
        ));
    }
    fs::create_dir(path.on_disk(root)).map_err(io_error)
}

/// Deletes a file or a folder with everything in it. The root is not deleted.
pub fn delete(root: &std::path::Path, entry: &Entry) -> Result<(), Error> {
    if entry.path.is_root() {
        return Err(Error::Forbidden("your space itself is not deleted".into()));
    }
    let on_disk = entry.path.on_disk(root);
    if entry.folder {
        fs::remove_dir_all(on_disk).map_err(io_error)
    } else {
        fs::remove_file(on_disk).map_err(io_error)
    }
}

/// Removes temporary uploads a crash left behind (at start; they are hidden meanwhile).
pub fn sweep_temporaries(data_dir: &std::path::Path) -> usize {
    fn walk(dir: &std::path::Path, removed: &mut usize, depth: usize) {
        let Ok(items) = fs::read_dir(dir) else { return };
        for item in items.flatten() {
            let name = item.file_name();
            let Ok(kind) = item.file_type() else { continue };
            if kind.is_dir() && depth < MAX_DEPTH + 1 {
                walk(&item.path(), removed, depth + 1);
            } else if kind.is_file()
                && name.to_string_lossy().starts_with(HIDDEN_PREFIX)
                && fs::remove_file(item.path()).is_ok()
            {
                *removed += 1;
            }
        }
    }
    let mut removed = 0;
    walk(&data_dir.join("dav"), &mut removed, 0);
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_space() {
        assert!(Path::parse("").unwrap().is_root());
        assert!(Path::parse("/").unwrap().is_root());
        let p = Path::parse("KOReader/statistics.sqlite3").unwrap();
        assert_eq!(p.segments(), ["KOReader", "statistics.sqlite3"]);
        assert_eq!(Path::parse("a/b/").unwrap().segments(), ["a", "b"]);
        for bad in [
            "..",
            "a/../b",
            "a/./b",
            "a//b",
            "a\\b",
            "a/\u{0}b",
            ".libris-put-1",
            "a/\nb",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Path::parse(&"a/".repeat(40)).is_err());
        assert!(Path::parse(&"x".repeat(256)).is_err());
        assert!(
            Path::parse(&format!("{}/x", "abcdefghij/".repeat(100))).is_err(),
            "too long"
        );
        assert!(Path::parse("a\u{fffe}").is_err());
        let root = std::path::Path::new("/data/dav/r");
        assert_eq!(
            Path::parse("a/b").unwrap().on_disk(root),
            PathBuf::from("/data/dav/r/a/b")
        );
    }

    fn file(etag: &str) -> Entry {
        Entry {
            path: Path::root().child("f"),
            folder: false,
            size: 1,
            modified: SystemTime::UNIX_EPOCH,
            etag: Some(etag.into()),
        }
    }

    #[test]
    fn preconditions_follow_rfc_9110() {
        let current = file("\"a\"");
        let p = |m: Option<&str>, n: Option<&str>| Preconditions {
            if_match: m.map(Into::into),
            if_none_match: n.map(Into::into),
        };
        assert!(p(None, None).hold(Some(&current)));
        assert!(p(None, None).hold(None));
        assert!(p(Some("\"a\""), None).hold(Some(&current)));
        assert!(
            !p(Some("W/\"a\""), None).hold(Some(&current)),
            "If-Match is strong"
        );
        assert!(
            !p(None, Some("W/\"a\"")).hold(Some(&current)),
            "If-None-Match is weak"
        );
        assert!(p(Some("\"b\", \"a\""), None).hold(Some(&current)));
        assert!(!p(Some("\"b\""), None).hold(Some(&current)));
        assert!(!p(Some("\"a\""), None).hold(None), "no file, no match");
        assert!(p(Some("*"), None).hold(Some(&current)));
        assert!(!p(Some("*"), None).hold(None));
        assert!(!p(None, Some("*")).hold(Some(&current)));
        assert!(p(None, Some("*")).hold(None));
        assert!(!p(None, Some("\"a\"")).hold(Some(&current)));
        assert!(p(None, Some("\"b\"")).hold(Some(&current)));
    }

    #[test]
    fn writes_replace_atomically_and_change_the_etag() {
        let dir = std::env::temp_dir().join(format!("libris-space-{}", Uuid::new_v4()));
        let root = dir.join("r");
        assert!(stat(&root, &Path::root()).unwrap().unwrap().folder);
        let path = Path::parse("f.txt").unwrap();
        let (up, mut f) = Upload::start(&root, &path).unwrap();
        std::io::Write::write_all(&mut f, b"one").unwrap();
        let first = up.commit(&path).unwrap();
        let (up, mut f) = Upload::start(&root, &path).unwrap();
        std::io::Write::write_all(&mut f, b"two").unwrap();
        let temp = up.temp.clone();
        drop(up); // a failed upload: the old file stays, the temporary goes
        assert!(!temp.exists());
        assert_eq!(fs::read(path.on_disk(&root)).unwrap(), b"one");
        let (up, mut f) = Upload::start(&root, &path).unwrap();
        std::io::Write::write_all(&mut f, b"one").unwrap();
        let second = up.commit(&path).unwrap();
        assert_ne!(first.etag, second.etag, "same content, new version");
        assert_eq!(list(&root, &Path::root()).unwrap().len(), 1);
        assert_eq!(usage(&root), (3, 1));
        assert!(fits((3, 1), 10, 3, 0, 10));
        assert!(!fits((3, 1), 11, 3, 0, 10));
        assert!(!fits((3, MAX_ENTRIES), 1, 0, 1, 10));
        assert!(Upload::start(&root, &Path::parse("missing/f").unwrap()).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
