//! Operating a server: `libris backup` and `libris restore` (docs/operations.md, "Backup and
//! restore"). App-level: it reads the database through a snapshot of its own, runs
//! PostgreSQL's `pg_dump` and `pg_restore`, and copies the data dir's files.
//!
//! An archive is a gzipped tar: `database.dump` (pg_dump's custom format), the data dir's
//! files under `data/`, and `manifest.json` last, holding every other member's size and
//! SHA-256 (computed while they were streamed in).

pub mod backup;
pub mod manifest;
pub mod postgres;
pub mod restore;
pub mod rotation;

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// The archive's members besides the data dir's files.
pub const DUMP: &str = "database.dump";
pub const MANIFEST: &str = "manifest.json";
/// The data dir's files sit under this folder in the archive.
pub const DATA: &str = "data";

/// Reads through to `inner`, hashing and counting what passes.
pub struct Hashing<R> {
    inner: R,
    sha: Sha256,
    size: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            sha: Sha256::new(),
            size: 0,
        }
    }

    /// (size, SHA-256 in hex) of what was read.
    pub fn finish(self) -> (u64, String) {
        (self.size, hex::encode(self.sha.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// A new file only its owner reads: archives and dumps hold the server secret and every
/// reader's password hash.
pub fn private_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}
