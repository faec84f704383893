//! `libris restore`: an archive of `libris backup` into an empty database and data dir.
//!
//! Two passes over the archive. The first reads all of it, recomputes every member's size
//! and SHA-256 and compares them with the manifest (written last), copying the dump aside;
//! any difference refuses the archive with nothing changed. The second runs after pg_restore
//! has succeeded in one transaction, and places the data dir's files, checking each again.
//! Then this binary's pending migrations bring an older archive up to date.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use flate2::read::GzDecoder;

use super::manifest::{self, Entry, Manifest};
use super::{postgres, private_file, Hashing, DUMP, MANIFEST};
use crate::library::check;

/// The largest manifest read (a library of a million files has one of about 200 MB).
const MANIFEST_LIMIT: u64 = 1 << 30;

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub migration: String,
    pub created_at: String,
    pub files: usize,
    pub file_bytes: u64,
    /// Migrations of this binary applied after the restore.
    pub applied: Vec<String>,
    pub missing: Vec<String>,
}

/// Restores `archive` into `database_url`'s database and `data_dir`, both empty.
pub fn restore(
    database_url: &str,
    db_wait: std::time::Duration,
    data_dir: &Path,
    archive: &Path,
) -> Result<Restored, String> {
    data_dir_empty(data_dir)?;
    let mut conn = crate::db::connect_with_retry(database_url, db_wait)
        .map_err(|e| format!("database unreachable: {}", e.to_string().trim()))?;
    database_empty(&mut conn)?;

    // The dump waits inside the data dir (made private if new): the user who owns the data
    // dir can restore into it without writing anywhere else. A data dir made here goes again
    // when the restore fails.
    let made = !data_dir.exists();
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(|e| format!("{}: {e}", data_dir.display()))?;
    }
    let restored = restore_into(&mut conn, database_url, data_dir, archive);
    if restored.is_err() && made {
        let _ = fs::remove_dir_all(data_dir);
    }
    restored
}

fn restore_into(
    conn: &mut PgConnection,
    database_url: &str,
    data_dir: &Path,
    archive: &Path,
) -> Result<Restored, String> {
    let lock = check::try_lock_exclusive(data_dir)
        .map_err(|e| format!("locking {}/.lock: {e}", data_dir.display()))?
        .ok_or_else(|| format!("another libris process uses {}", data_dir.display()))?;
    let dump = data_dir.join(format!(".restore.{}.dump", std::process::id()));
    let _dump_gone = RemoveOnDrop(dump.clone());
    let manifest = verify(archive, Some(&dump))?;
    let known = newest_known_migration();
    if !manifest::migration_known(&manifest.migration, &known) {
        return Err(format!(
            "the archive's database has migration {}, newer than this libris knows ({known}): \
             restore with the version that made it ({})",
            manifest.migration, manifest.libris_version
        ));
    }

    postgres::run(
        "pg_restore",
        database_url,
        &[
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
        ],
        &dump,
    )?;

    let (files, file_bytes) = extract(archive, &manifest, data_dir).map_err(|e| {
        format!(
            "{e}. The database was restored but its files were not: drop and create the \
             database again, empty {} (removed if the restore made it), and restore again",
            data_dir.display()
        )
    })?;
    drop(lock);

    let applied = crate::migrate(conn).map_err(|e| format!("migration failed: {e}"))?;
    if let Err(e) = crate::config::remember_database(data_dir, database_url) {
        log::warn!("{}: {e}", crate::config::REMEMBERED);
    }
    Ok(Restored {
        migration: manifest.migration,
        created_at: manifest.created_at,
        files,
        file_bytes,
        applied,
        missing: manifest.missing,
    })
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The newest migration embedded in this binary.
fn newest_known_migration() -> String {
    MigrationSource::<Pg>::migrations(&crate::db::MIGRATIONS)
        .unwrap_or_default()
        .iter()
        .map(|m| m.name().version().to_string())
        .max_by_key(|v| (v.len(), v.clone()))
        .unwrap_or_default()
}

/// A data dir to restore into: absent, or holding nothing but what names its database
/// (`libris.env`, so that the restore's target can be named there) and its lock.
fn data_dir_empty(data_dir: &Path) -> Result<(), String> {
    let items = match fs::read_dir(data_dir) {
        Ok(items) => items,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", data_dir.display())),
    };
    let mut other: Vec<String> = items
        .flatten()
        .map(|i| i.file_name().to_string_lossy().into_owned())
        .filter(|n| n != crate::config::REMEMBERED && n != ".lock")
        .collect();
    other.sort();
    if other.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the data dir {} is not empty ({}): restore only into an empty or new data dir",
            data_dir.display(),
            other.join(", ")
        ))
    }
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn database_empty(conn: &mut PgConnection) -> Result<(), String> {
    let tables = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm') \
         AND s.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND s.nspname NOT LIKE 'pg_toast%'",
    )
    .get_result::<N>(conn)
    .map_err(|e| format!("reading the database: {e}"))?
    .n;
    if tables == 0 {
        Ok(())
    } else {
        Err(format!(
            "the database is not empty ({tables} tables and views): restore only into a new, \
             empty database (createdb)"
        ))
    }
}

/// Reads the whole archive and checks every member against the manifest; the manifest when
/// all agree. The dump is copied to `dump_to` on the way.
pub fn verify(archive: &Path, dump_to: Option<&Path>) -> Result<Manifest, String> {
    let mut manifest: Option<Manifest> = None;
    let mut read: Vec<Entry> = Vec::new();
    members(archive, &mut |path, data| {
        if manifest.is_some() {
            return Err(format!("{path}: after the manifest, which comes last"));
        }
        if path == MANIFEST {
            let mut text = Vec::new();
            data.take(MANIFEST_LIMIT)
                .read_to_end(&mut text)
                .map_err(unreadable)?;
            manifest = Some(serde_json::from_slice(&text).map_err(|e| {
                format!("the archive is damaged: {MANIFEST} is not a libris manifest: {e}")
            })?);
            return Ok(());
        }
        let mut reader = Hashing::new(data);
        match (path, dump_to) {
            (DUMP, Some(to)) => {
                let mut out = private_file(to).map_err(|e| format!("{}: {e}", to.display()))?;
                io::copy(&mut reader, &mut out).map_err(unreadable)?;
            }
            _ => {
                io::copy(&mut reader, &mut io::sink()).map_err(unreadable)?;
            }
        }
        let (size, sha256) = reader.finish();
        read.push(Entry {
            path: path.to_owned(),
            size,
            sha256,
        });
        Ok(())
    })?;
    let manifest =
        manifest.ok_or_else(|| format!("the archive is damaged: no {MANIFEST} (cut short?)"))?;
    if manifest.format > manifest::FORMAT {
        return Err(format!(
            "archive format {} is newer than this libris reads ({})",
            manifest.format,
            manifest::FORMAT
        ));
    }
    let problems = manifest::differences(&manifest, &read);
    if !problems.is_empty() {
        let shown: Vec<&str> = problems.iter().take(10).map(String::as_str).collect();
        return Err(format!(
            "the archive is damaged, nothing restored: {}{}",
            shown.join("; "),
            if problems.len() > 10 { "; …" } else { "" }
        ));
    }
    Ok(manifest)
}

/// Places the archive's `data/` members under `data_dir`, each checked against the manifest
/// again (the archive could have changed since it was verified): (files, bytes).
fn extract(archive: &Path, manifest: &Manifest, data_dir: &Path) -> Result<(usize, u64), String> {
    let expected: std::collections::HashMap<&str, &Entry> = manifest
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    let (mut files, mut bytes) = (0, 0);
    members(archive, &mut |path, data| {
        let Some(rel) = manifest::data_path(path) else {
            return io::copy(data, &mut io::sink())
                .map(|_| ())
                .map_err(unreadable);
        };
        let target = data_dir.join(rel);
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mode = if rel == "secret" || rel.starts_with("dav/") {
            0o600
        } else {
            0o644
        };
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let mut out = options
            .open(&target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
        let mut reader = Hashing::new(data);
        io::copy(&mut reader, &mut out).map_err(|e| format!("{}: {e}", target.display()))?;
        out.sync_all()
            .map_err(|e| format!("{}: {e}", target.display()))?;
        let (size, sha256) = reader.finish();
        match expected.get(path) {
            Some(e) if e.size == size && e.sha256 == sha256 => {}
            _ => return Err(format!("{path}: changed since the archive was verified")),
        }
        files += 1;
        bytes += size;
        Ok(())
    })?;
    Ok((files, bytes))
}

fn unreadable(e: io::Error) -> String {
    format!("the archive is damaged or cut short, nothing restored: {e}")
}

/// Visits each member of the archive in order with its path (checked: only the dump, the
/// manifest, and regular files under `data/` with plain path parts), then reads the gzip
/// stream to its end so that its own checksum is checked too.
fn members(
    archive: &Path,
    visit: &mut dyn FnMut(&str, &mut dyn Read) -> Result<(), String>,
) -> Result<(), String> {
    let file = fs::File::open(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    for entry in tar.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let path = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| "the archive has a member whose name is not UTF-8: refused".to_owned())?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(format!(
                "{path}: not a regular file ({:?}): refused",
                entry.header().entry_type()
            ));
        }
        if path != DUMP && path != MANIFEST && manifest::data_path(&path).is_none() {
            return Err(format!("{path}: not a path libris writes: refused"));
        }
        visit(&path, &mut entry)?;
    }
    let mut rest = tar.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(unreadable)?;
    Ok(())
}
