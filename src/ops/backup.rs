//! `libris backup`: one archive of the database and the data dir, taken while the server
//! serves.
//!
//! Consistency: a connection opens a REPEATABLE READ transaction and exports its snapshot;
//! `pg_dump --snapshot` dumps exactly that snapshot, and the list of files to copy is read
//! in the same transaction. Only then are files copied. So the archive holds the files the
//! dump's rows name and no others: a file placed after the snapshot belongs to rows the dump
//! does not have (restored, it would be an unclaimed leftover). Book files are never changed
//! in place and WebDAV files are replaced by rename, so a file opened is read whole as it
//! was. A file the snapshot names but that is gone when its turn comes (its book deleted
//! meanwhile) is listed in the manifest as `missing`, and a warning says so.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use flate2::write::GzEncoder;

use super::manifest::{self, Entry, Manifest};
use super::{postgres, private_file, Hashing, DATA, DUMP, MANIFEST};
use crate::db::advisory;
use crate::db::schema::{book_files, books};
use crate::library::{check, paths, storage};

/// What a backup wrote.
#[derive(Debug)]
pub struct Summary {
    pub path: PathBuf,
    pub migration: String,
    pub dump_bytes: u64,
    /// Files of the data dir, and their bytes.
    pub files: usize,
    pub file_bytes: u64,
    pub missing: Vec<String>,
    pub archive_bytes: u64,
}

/// The files a snapshot names, and the dump of that snapshot.
struct Snapshot {
    migration: String,
    /// Book files and covers, relative to the data dir.
    named: BTreeSet<String>,
    /// Whose each named path is: where to look when it moved during the backup.
    origins: BTreeMap<String, Origin>,
    /// Thumbnails: made beside most covers, not all.
    optional: BTreeSet<String>,
}

/// The row a named path belongs to.
#[derive(Clone, Copy)]
enum Origin {
    File(uuid::Uuid),
    Cover(uuid::Uuid),
}

/// Where the row of a path the snapshot named keeps its file now: an approval moves a book's
/// file from `inbox/` to `library/`, a new cover replaces the old, while the backup copies.
fn now_at(conn: &mut PgConnection, origin: Origin) -> Option<String> {
    match origin {
        Origin::File(id) => book_files::table
            .find(id)
            .select((book_files::storage_path, book_files::inbox_path))
            .first::<(Option<String>, Option<String>)>(conn)
            .ok()
            .and_then(|(stored, inbox)| stored.or(inbox)),
        Origin::Cover(id) => books::table
            .find(id)
            .select(books::cover_path)
            .first::<Option<String>>(conn)
            .ok()
            .flatten(),
    }
}

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = Nullable<Text>)]
    t: Option<String>,
}

/// Removes the temporary files it names unless the backup got through.
struct Temporaries(Vec<PathBuf>);

impl Drop for Temporaries {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

/// Writes the archive of `database_url`'s database and `data_dir` to `target` (through a
/// temporary file beside it, renamed into place once complete and on disk).
pub fn write(
    database_url: &str,
    db_wait: std::time::Duration,
    data_dir: &Path,
    target: &Path,
) -> Result<Summary, String> {
    if !data_dir.is_dir() {
        return Err(format!(
            "the data dir {} does not exist",
            data_dir.display()
        ));
    }
    // `check` moves and removes files: not while they are copied.
    let _lock = check::lock_shared(data_dir)
        .map_err(|e| format!("locking {}/.lock: {e}", data_dir.display()))?;
    // ...nor while another instance's start-up check holds the database's lock, which holds
    // where the file's may not (a data dir on NFS).
    let mut placing = crate::db::connect_with_retry(database_url, db_wait)
        .map_err(|e| format!("database: {}", e.to_string().trim()))?;
    advisory::lock_shared(&mut placing, advisory::PLACING_FILES).map_err(|e| e.to_string())?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", target.display()))?
        .to_string_lossy()
        .into_owned();
    let pid = std::process::id();
    let part = dir.join(format!(".{name}.{pid}.part"));
    let dump = dir.join(format!(".{name}.{pid}.dump"));
    let mut temporaries = Temporaries(vec![part.clone(), dump.clone()]);

    // pg_dump truncates the file it is given and keeps its mode.
    private_file(&dump).map_err(|e| format!("{}: {e}", dump.display()))?;
    let snapshot = dump_snapshot(database_url, db_wait, &dump)?;

    let file = private_file(&part).map_err(|e| format!("{}: {e}", part.display()))?;
    let gz = GzEncoder::new(io::BufWriter::new(file), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut entries: Vec<Entry> = Vec::new();
    let mut missing = Vec::new();
    let fail = |what: &str, e: io::Error| format!("writing {}: {what}: {e}", part.display());

    let dump_file = fs::File::open(&dump).map_err(|e| fail(DUMP, e))?;
    entries.push(append(&mut tar, DUMP, dump_file).map_err(|e| fail(DUMP, e))?);

    let mut files: Vec<(String, bool)> = Vec::new();
    files.push(("secret".into(), false));
    files.extend(snapshot.named.iter().map(|p| (p.clone(), true)));
    files.extend(snapshot.optional.iter().map(|p| (p.clone(), false)));
    for folder in ["dav", check::UNCLAIMED] {
        walk(data_dir, folder, &mut |rel| files.push((rel, false)));
    }
    for (rel, required) in files {
        let Some(path) = storage::resolve(data_dir, &rel) else {
            log::warn!("{rel}: not a path inside the data dir; left out");
            continue;
        };
        match fs::File::open(&path) {
            Ok(f) => {
                let member = format!("{DATA}/{rel}");
                entries.push(append(&mut tar, &member, f).map_err(|e| fail(&member, e))?);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Moved meanwhile: the same bytes, kept under the name the dump knows.
                let moved = snapshot
                    .origins
                    .get(&rel)
                    .and_then(|origin| now_at(&mut placing, *origin))
                    .and_then(|now| storage::resolve(data_dir, &now))
                    .and_then(|now| fs::File::open(now).ok());
                if let Some(f) = moved {
                    let member = format!("{DATA}/{rel}");
                    entries.push(append(&mut tar, &member, f).map_err(|e| fail(&member, e))?);
                } else if required {
                    log::warn!("{rel}: named by the database but gone before it was copied");
                    missing.push(rel);
                }
            }
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        }
    }

    let manifest = Manifest {
        format: manifest::FORMAT,
        libris_version: env!("CARGO_PKG_VERSION").into(),
        migration: snapshot.migration.clone(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        entries: entries.clone(),
        missing: missing.clone(),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let mut header = header(json.len() as u64, 0o600, now_secs());
    tar.append_data(&mut header, MANIFEST, json.as_slice())
        .map_err(|e| fail(MANIFEST, e))?;
    let file = tar
        .into_inner()
        .and_then(|gz| gz.finish())
        .and_then(|buf| buf.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| fail("finishing", e))?;
    file.sync_all().map_err(|e| fail("syncing", e))?;
    let archive_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    drop(file);
    fs::rename(&part, target).map_err(|e| format!("renaming to {}: {e}", target.display()))?;
    temporaries.0.retain(|p| p != &part);
    // The rename itself on disk.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    let data: Vec<&Entry> = entries.iter().filter(|e| e.path != DUMP).collect();
    Ok(Summary {
        path: target.to_owned(),
        migration: snapshot.migration,
        dump_bytes: entries[0].size,
        files: data.len(),
        file_bytes: data.iter().map(|e| e.size).sum(),
        missing,
        archive_bytes,
    })
}

/// Dumps the database into `dump` from one snapshot, and reads in that snapshot which files
/// its rows name.
fn dump_snapshot(url: &str, db_wait: std::time::Duration, dump: &Path) -> Result<Snapshot, String> {
    let mut conn = crate::db::connect_with_retry(url, db_wait)
        .map_err(|e| format!("database unreachable: {}", e.to_string().trim()))?;
    let sql = |e: diesel::result::Error| format!("reading the database: {e}");
    conn.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .map_err(sql)?;
    let snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS t")
        .get_result::<Text1>(&mut conn)
        .map_err(sql)?
        .t
        .unwrap_or_default();
    let migration =
        diesel::sql_query("SELECT max(version)::text AS t FROM __diesel_schema_migrations")
            .get_result::<Text1>(&mut conn)
            .map_err(|e| format!("not a libris database (no migrations table?): {e}"))?
            .t
            .ok_or("not a libris database: no migration applied")?;
    let located: Vec<(uuid::Uuid, Option<String>, Option<String>)> = book_files::table
        .select((
            book_files::id,
            book_files::storage_path,
            book_files::inbox_path,
        ))
        .load(&mut conn)
        .map_err(sql)?;
    let covered: Vec<(uuid::Uuid, Option<String>)> = books::table
        .select((books::id, books::cover_path))
        .filter(books::cover_path.is_not_null())
        .load(&mut conn)
        .map_err(sql)?;
    let mut origins = BTreeMap::new();
    for (id, stored, inbox) in located {
        if let Some(path) = stored.or(inbox) {
            origins.insert(path, Origin::File(id));
        }
    }
    let mut covers: Vec<String> = Vec::new();
    for (id, cover) in covered {
        if let Some(path) = cover {
            origins.insert(path.clone(), Origin::Cover(id));
            covers.push(path);
        }
    }
    let mut named: BTreeSet<String> = origins
        .iter()
        .filter(|(_, o)| matches!(o, Origin::File(_)))
        .map(|(p, _)| p.clone())
        .collect();
    let optional = covers
        .iter()
        .filter_map(|c| paths::thumbnail_of(c))
        .filter(|t| !covers.contains(t))
        .collect();
    named.extend(covers);

    // The transaction stays open while pg_dump runs: an exported snapshot lives only as long.
    let args = [
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        // Fingerprints of recent wrong passwords, keyed with the secret the archive also
        // holds: never in a backup (a restored server starts with no failures counted).
        "--exclude-table-data=login_failures",
        &format!("--snapshot={snapshot}"),
    ];
    postgres::run("pg_dump", url, &args, dump)?;
    conn.batch_execute("COMMIT").map_err(sql)?;
    Ok(Snapshot {
        migration,
        named,
        origins,
        optional,
    })
}

/// Appends `file` (open, so what is read is one file even if its path is replaced) as
/// `member`, hashing it on the way.
fn append<W: Write>(tar: &mut tar::Builder<W>, member: &str, file: fs::File) -> io::Result<Entry> {
    let meta = file.metadata()?;
    let len = meta.len();
    #[cfg(unix)]
    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
    #[cfg(not(unix))]
    let mode = 0o600;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let mut header = header(len, mode, mtime);
    let mut reader = Hashing::new(file.take(len));
    tar.append_data(&mut header, member, &mut reader)?;
    let (size, sha256) = reader.finish();
    // tar's header already promised `len` bytes: a file cut short while read spoils it.
    if size != len {
        return Err(io::Error::other(format!(
            "it shrank from {len} to {size} bytes while being read"
        )));
    }
    Ok(Entry {
        path: member.to_owned(),
        size,
        sha256,
    })
}

fn header(size: u64, mode: u32, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Every regular file under `<data_dir>/<folder>`, relative to the data dir, in a stable
/// order. Symbolic links are not followed; WebDAV uploads under way (hidden,
/// `cloud::space::HIDDEN_PREFIX`) are not files yet; a name that is not UTF-8 cannot be
/// listed in the manifest and is left out with a warning.
fn walk(data_dir: &Path, folder: &str, visit: &mut dyn FnMut(String)) {
    let Ok(items) = fs::read_dir(data_dir.join(folder)) else {
        return;
    };
    let mut items: Vec<_> = items.flatten().collect();
    items.sort_by_key(|i| i.file_name());
    for item in items {
        let Some(name) = item.file_name().to_str().map(str::to_owned) else {
            log::warn!("{}: not a UTF-8 name; left out", item.path().display());
            continue;
        };
        let rel = format!("{folder}/{name}");
        match item.file_type() {
            Ok(t) if t.is_dir() => walk(data_dir, &rel, visit),
            Ok(t) if t.is_file() && !name.starts_with(crate::cloud::space::HIDDEN_PREFIX) => {
                visit(rel)
            }
            _ => {}
        }
    }
}
