//! Where files live under the data dir, and how they get there without ever being
//! half-written: a temporary name in the same file system, then a rename.
//!
//! ```text
//! <data>/tmp/                         uploads and imports being received, pages being rendered
//! <data>/inbox/<book id>/<file name>  files of books awaiting review
//! <data>/library/<Author>/<Title>/    organized books
//! <data>/covers/<book id>.<ext>       covers, and <book id>.thumb.jpg
//! <data>/unclaimed/                   files no book claimed at a start-up check
//! ```
//! The database stores paths relative to the data dir, so the dir can move.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const TMP: &str = "tmp";
pub const INBOX: &str = "inbox";
pub const LIBRARY: &str = "library";
pub const COVERS: &str = "covers";

/// A file received into `<data>/tmp`, hashed while it was written. Dropping it removes
/// the temporary file unless it was moved into place.
pub struct Staged {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    kept: bool,
}

impl Staged {
    /// Marks the file as moved: it is no longer ours to delete.
    pub fn keep(&mut self) {
        self.kept = true;
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes chunks to a new temporary file under `<data>/tmp` while hashing them. Dropped
/// before `finish`, it removes the file.
pub struct StagingWriter {
    file: File,
    path: PathBuf,
    size: u64,
    sha: Sha256,
    limit: u64,
    finished: bool,
}

/// Whether files can be written under the data dir now: a staging file is made and removed
/// (a read-only mount or a full disk shows here before an upload fails). The I/O error
/// says why not.
pub fn writable(data_dir: &Path) -> io::Result<()> {
    let mut probe = StagingWriter::create(data_dir, 1)?;
    probe.file.write_all(b"x")?;
    probe.file.sync_all()?;
    // Dropped unfinished: the probe removes itself.
    Ok(())
}

/// The upload went over the size limit; nothing is kept.
#[derive(Debug)]
pub struct TooLarge;

impl StagingWriter {
    pub fn create(data_dir: &Path, limit: u64) -> io::Result<StagingWriter> {
        let dir = data_dir.join(TMP);
        fs::create_dir_all(&dir)?;
        // Named for the writing process: the start-up check keeps a running process's files.
        let path = dir.join(format!(
            "{}-{}.part",
            std::process::id(),
            Uuid::new_v4().simple()
        ));
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok(StagingWriter {
            file,
            path,
            size: 0,
            sha: Sha256::new(),
            limit,
            finished: false,
        })
    }

    pub fn write(&mut self, chunk: &[u8]) -> io::Result<Result<(), TooLarge>> {
        if self.size + chunk.len() as u64 > self.limit {
            return Ok(Err(TooLarge));
        }
        self.file.write_all(chunk)?;
        self.sha.update(chunk);
        self.size += chunk.len() as u64;
        Ok(Ok(()))
    }

    pub fn finish(mut self) -> io::Result<Staged> {
        self.file.flush()?;
        self.finished = true;
        Ok(Staged {
            path: self.path.clone(),
            size: self.size,
            sha256: hex::encode(self.sha.clone().finalize()),
            kept: false,
        })
    }
}

impl Drop for StagingWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Copies a file into `<data>/tmp`, hashing it on the way (imports: one read of the source).
pub fn stage_copy(
    data_dir: &Path,
    source: &Path,
    limit: u64,
) -> io::Result<Result<Staged, TooLarge>> {
    let mut input = File::open(source)?;
    let mut writer = StagingWriter::create(data_dir, limit)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if writer.write(&buf[..n])?.is_err() {
            return Ok(Err(TooLarge));
        }
    }
    writer.finish().map(Ok)
}

/// A file or directory name made safe for any common file system: no separators, no
/// control or reserved characters, no leading dots, at most `max` bytes on a char boundary.
pub fn sanitize(name: &str, max: usize) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => ' ',
            c => c,
        };
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    let mut out = out.trim().trim_start_matches('.').trim().to_owned();
    if out.len() > max {
        let mut cut = max;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out = out.trim_end().to_owned();
    }
    // Windows refuses trailing dots and spaces; file systems refuse empty names.
    let out = out.trim_end_matches(['.', ' ']).to_owned();
    if out.is_empty() {
        "_".to_owned()
    } else {
        out
    }
}

/// A file name kept with its extension, the stem shortened if needed.
pub fn sanitize_file_name(name: &str, extension: &str) -> String {
    let base = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = base.to_lowercase();
    let suffix = format!(".{extension}");
    let stem = if lower.ends_with(&suffix) {
        &base[..base.len() - suffix.len()]
    } else {
        base.as_str()
    };
    format!("{}{suffix}", sanitize(stem, 150))
}

/// `dir/name`, or `dir/stem (2).ext`, `(3)`, … : the first that does not exist.
pub fn unique_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = match name.find('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}){ext}")))
        .find(|p| !p.exists())
        .expect("some numbered name is free")
}

/// Moves `from` into `dir` as `name`, or `stem (2).ext`, `(3)`, …: the first name free.
/// The name is taken by creating it (`create_new`) before the move replaces that empty
/// file, so two books placing the same name at once never overwrite each other.
pub fn place(from: &Path, dir: &Path, name: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let (stem, ext) = match name.find('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let names = std::iter::once(name.to_owned()).chain((2..).map(|n| format!("{stem} ({n}){ext}")));
    for candidate in names.map(|n| dir.join(n)) {
        match File::options()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        return match move_file(from, &candidate) {
            Ok(()) => Ok(candidate),
            Err(e) => {
                let _ = fs::remove_file(&candidate);
                Err(e)
            }
        };
    }
    unreachable!("some numbered name is free")
}

/// A path relative to the data dir, as stored in the database, made absolute. Refuses
/// anything that could leave the data dir (absolute paths, `..`), whatever the database says.
pub fn resolve(data_dir: &Path, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    let safe = !relative.is_empty()
        && !relative.contains('\0')
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    safe.then(|| data_dir.join(rel))
}

/// `path` relative to the data dir, for the database.
pub fn relative(data_dir: &Path, path: &Path) -> String {
    path.strip_prefix(data_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Moves a file, across file systems if need be, creating the target's directory.
pub fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir)?;
    }
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            let tmp = to.with_extension("part");
            fs::copy(from, &tmp)?;
            fs::rename(&tmp, to)?;
            fs::remove_file(from)
        }
        Err(e) => Err(e),
    }
}

/// Files moved on disk by a transaction still open: put back where the rows say they are if
/// it rolls back, their old places tidied once it commits.
#[derive(Default)]
pub struct Moves {
    done: Vec<(PathBuf, PathBuf)>,
}

impl Moves {
    pub fn record(&mut self, from: PathBuf, to: PathBuf) {
        self.done.push((from, to));
    }

    /// The transaction rolled back.
    pub fn undo(&mut self) {
        for (from, to) in self.done.drain(..).rev() {
            if let Err(e) = move_file(&to, &from) {
                log::error!("could not move {} back: {e}", to.display());
            }
        }
    }

    /// The transaction committed: empty folders the files left are pruned.
    pub fn settle(&mut self, data_dir: &Path) {
        for (from, _) in self.done.drain(..) {
            remove_and_prune(&from, data_dir);
        }
    }
}

/// Writes bytes to `path` through a temporary name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("{}.part", Uuid::new_v4().simple()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Removes a file and then its parent directories up to (not including) `stop`, while empty.
pub fn remove_and_prune(path: &Path, stop: &Path) {
    let _ = fs::remove_file(path);
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(stop) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writability_probe_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        writable(dir.path()).unwrap();
        assert_eq!(fs::read_dir(dir.path().join(TMP)).unwrap().count(), 0);
        assert!(writable(&dir.path().join("missing/\0")).is_err());
    }

    #[test]
    fn sanitize_keeps_names_readable_and_safe() {
        assert_eq!(sanitize("Jane Doe", 100), "Jane Doe");
        assert_eq!(sanitize("../../etc/passwd", 100), "_.._etc_passwd");
        assert_eq!(sanitize("..", 100), "_");
        assert_eq!(sanitize("a/b\\c:d", 100), "a_b_c_d");
        assert_eq!(sanitize("  spaced\t\nout  ", 100), "spaced out");
        assert_eq!(sanitize("", 100), "_");
        assert_eq!(sanitize("trailing...", 100), "trailing");
        assert_eq!(sanitize("夏目漱石", 7), "夏目");
        assert_eq!(sanitize(".hidden", 100), "hidden");
    }

    #[test]
    fn file_names_keep_their_extension() {
        assert_eq!(sanitize_file_name("My Book.EPUB", "epub"), "My Book.epub");
        assert_eq!(sanitize_file_name("dir/x.fb2.zip", "fb2.zip"), "x.fb2.zip");
        assert_eq!(sanitize_file_name("noext", "pdf"), "noext.pdf");
        let long = "x".repeat(400) + ".epub";
        assert!(sanitize_file_name(&long, "epub").len() <= 160);
    }

    #[test]
    fn resolve_never_leaves_the_data_dir() {
        let d = Path::new("/data");
        assert_eq!(
            resolve(d, "library/a/b.epub"),
            Some(PathBuf::from("/data/library/a/b.epub"))
        );
        assert_eq!(resolve(d, "../etc/passwd"), None);
        assert_eq!(resolve(d, "/etc/passwd"), None);
        assert_eq!(resolve(d, "library/../../x"), None);
        assert_eq!(resolve(d, ""), None);
        assert_eq!(resolve(d, "a\0b"), None);
    }

    #[test]
    fn placing_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let dest = dir.path().join("lib");
        let mut placed = Vec::new();
        for n in 0..3 {
            let from = src.join(format!("{n}"));
            fs::create_dir_all(&src).unwrap();
            fs::write(&from, format!("book {n}")).unwrap();
            placed.push(place(&from, &dest, "book.epub").unwrap());
            assert!(!from.exists());
        }
        let names: Vec<_> = placed
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["book.epub", "book (2).epub", "book (3).epub"]);
        for (n, p) in placed.iter().enumerate() {
            assert_eq!(fs::read_to_string(p).unwrap(), format!("book {n}"));
        }
    }

    #[test]
    fn unique_path_numbers_collisions() {
        let dir = tempfile::tempdir().unwrap();
        let first = unique_path(dir.path(), "book.epub");
        fs::write(&first, b"x").unwrap();
        let second = unique_path(dir.path(), "book.epub");
        assert_eq!(second.file_name().unwrap(), "book (2).epub");
        fs::write(&second, b"x").unwrap();
        assert_eq!(
            unique_path(dir.path(), "book.epub").file_name().unwrap(),
            "book (3).epub"
        );
    }

    #[test]
    fn staging_hashes_and_enforces_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = StagingWriter::create(dir.path(), 10).unwrap();
        w.write(b"hello").unwrap().unwrap();
        let staged = w.finish().unwrap();
        assert_eq!(staged.size, 5);
        assert_eq!(
            staged.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let path = staged.path.clone();
        assert!(path.exists());
        drop(staged);
        assert!(!path.exists(), "an unkept staged file is removed");
        let mut w = StagingWriter::create(dir.path(), 4).unwrap();
        assert!(w.write(b"hello").unwrap().is_err());
    }
}
