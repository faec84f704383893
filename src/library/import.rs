//! `libris import` and the inbox folder: files from disk through the ingest pipeline.
//!
//! A folder is read as a person would sort it: a calibre library's book folders (a
//! `metadata.opf` beside the formats) are one book each, described by calibre; other
//! files of one folder that are the same work (the same ISBN, or the same title and
//! authors) in different formats become one book with several files; what is not a book
//! (by its extension) is skipped, never imported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use diesel::PgConnection;
use libris_formats::{calibre, covers, is_book_name, Format, Metadata};
use uuid::Uuid;

use super::ingest::{self, NewBook, Options, Outcome, ReadFile, Target};
use super::storage::{self, Staged};
use crate::db::models::BookStatus;
use crate::error::Error;

/// What an import takes, one worker at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Unit {
    /// A book file on its own; files of one folder may still join one book.
    File(PathBuf),
    /// A calibre book folder.
    Calibre(CalibreBook),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CalibreBook {
    pub dir: PathBuf,
    pub cover: Option<PathBuf>,
    /// Its formats.
    pub files: Vec<PathBuf>,
}

impl Unit {
    /// The path a failure or progress line names.
    pub fn path(&self) -> &Path {
        match self {
            Unit::File(p) => p,
            Unit::Calibre(b) => &b.dir,
        }
    }
}

/// Why a file with another extension was skipped.
pub const NOT_A_BOOK: &str = "not a book";

#[derive(Debug, Default)]
pub struct Collected {
    pub units: Vec<Unit>,
    /// What was passed over, and why (not a book, hidden, a link).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Every book under `paths` (files themselves, folders recursively), in a stable order.
/// Hidden files and folders are skipped, as are symbolic links (a link could point
/// anywhere, and the target is imported when it is itself under a given path).
pub fn collect(paths: &[PathBuf]) -> Result<Collected, String> {
    let mut out = Collected::default();
    for path in paths {
        let meta =
            std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut out).map_err(|e| format!("{}: {e}", path.display()))?;
        } else if meta.is_file() {
            take_file(path.clone(), &mut out);
        } else {
            out.skipped
                .push((path.clone(), "not a regular file".into()));
        }
    }
    Ok(out)
}

fn take_file(path: PathBuf, out: &mut Collected) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_book_name(&name) {
        out.units.push(Unit::File(path));
    } else {
        out.skipped.push((path, NOT_A_BOOK.into()));
    }
}

fn walk(dir: &Path, out: &mut Collected) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    let visible_book = |e: &std::fs::DirEntry| {
        let name = e.file_name().to_string_lossy().into_owned();
        !name.starts_with('.') && is_book_name(&name) && e.file_type().is_ok_and(|t| t.is_file())
    };
    let is_calibre_book =
        entries.iter().any(|e| e.file_name() == calibre::OPF) && entries.iter().any(visible_book);
    let mut book = CalibreBook {
        dir: dir.to_owned(),
        cover: None,
        files: Vec::new(),
    };
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let kind = entry.file_type()?;
        if name.starts_with('.') {
            out.skipped.push((path, "hidden".into()));
        } else if kind.is_dir() {
            // A calibre book folder's `data/` holds its extra files, not books.
            if is_calibre_book && name == "data" {
                out.skipped
                    .push((path, "a calibre book's extra files".into()));
            } else {
                walk(&path, out)?;
            }
        } else if !kind.is_file() {
            out.skipped.push((path, "not a regular file".into()));
        } else if !is_calibre_book {
            take_file(path, out);
        } else if name == calibre::OPF {
            // Read with the book.
        } else if name == calibre::COVER {
            book.cover = Some(path);
        } else if is_book_name(&name) {
            book.files.push(path);
        } else {
            out.skipped.push((path, NOT_A_BOOK.into()));
        }
    }
    if is_calibre_book {
        out.units.push(Unit::Calibre(book));
    }
    Ok(())
}

/// Copies one file into the data dir (hashing it on the way) and ingests it as a book of
/// its own. The source is left untouched.
pub fn import_file(
    conn: &mut PgConnection,
    data_dir: &Path,
    path: &Path,
    limit: u64,
    options: &Options,
) -> Result<Outcome, Error> {
    let staged = stage(data_dir, path, limit)?;
    ingest::ingest(conn, data_dir, staged, &file_name(path), options)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into())
}

fn stage(data_dir: &Path, path: &Path, limit: u64) -> Result<Staged, Error> {
    storage::stage_copy(data_dir, path, limit)
        .map_err(|e| Error::invalid("file", format!("cannot read it: {e}")))?
        .map_err(|_| Error::PayloadTooLarge)
}

#[derive(Debug, Default)]
pub struct Summary {
    /// New books, and the files they hold.
    pub books: usize,
    pub files: usize,
    /// Files added to books already in the library (new formats of them).
    pub formats_added: usize,
    /// Files whose bytes were already in the library.
    pub duplicates: usize,
    pub skipped: Vec<(PathBuf, String)>,
    pub failed: Vec<(PathBuf, String)>,
}

impl Summary {
    fn count(&mut self, outcome: &Outcome, files: usize) {
        match outcome {
            Outcome::Created { .. } => {
                self.books += 1;
                self.files += files;
            }
            Outcome::Added { .. } => self.formats_added += files,
            Outcome::Duplicate { .. } => self.duplicates += files,
        }
    }
}

/// The same work, as files of one folder show it: its ISBN, or its title and authors
/// compared as `libris_norm` compares them (case, accents aside, punctuation ignored).
fn work_keys(m: &Metadata) -> Vec<String> {
    let norm = |s: &str| -> String {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut keys = Vec::new();
    if let Some(isbn) = &m.isbn_13 {
        keys.push(format!("isbn:{isbn}"));
    }
    let title = m.title.as_deref().map(norm).filter(|t| !t.is_empty());
    let author = ingest::author_of(m)
        .map(|a| norm(&a))
        .filter(|a| !a.is_empty());
    if let (Some(title), Some(author)) = (title, author) {
        keys.push(format!("work:{title}\u{1f}{author}"));
    }
    keys
}

/// A book this import made from a folder's files, that more formats may join.
struct Grouped {
    keys: Vec<String>,
    formats: Vec<Format>,
    book_id: Uuid,
    status: BookStatus,
    title: Option<String>,
    author: Option<String>,
}

/// The books made from one folder so far. Its lock is held while a file of the folder is
/// placed and committed, so two formats of one work read at once still meet.
#[derive(Default)]
struct Folder {
    books: Vec<Grouped>,
}

impl Folder {
    fn joinable(&mut self, keys: &[String], format: Format) -> Option<&mut Grouped> {
        self.books
            .iter_mut()
            .find(|g| !g.formats.contains(&format) && g.keys.iter().any(|k| keys.contains(k)))
    }
}

struct Run<'a> {
    data_dir: &'a Path,
    limit: u64,
    options: &'a Options,
    folders: Mutex<HashMap<PathBuf, Arc<Mutex<Folder>>>>,
}

impl Run<'_> {
    fn folder(&self, path: &Path) -> Arc<Mutex<Folder>> {
        let dir = path.parent().unwrap_or(Path::new("")).to_owned();
        let mut folders = self.folders.lock().unwrap_or_else(|p| p.into_inner());
        folders.entry(dir).or_default().clone()
    }

    /// One file: a new book, or another format of a book made from its folder in this run.
    fn file(&self, conn: &mut PgConnection, path: &Path) -> Result<Outcome, Error> {
        let name = file_name(path);
        let staged = stage(self.data_dir, path, self.limit)?;
        if let Some(duplicate) = ingest::find_duplicate(conn, &staged, &name, self.options)? {
            return Ok(duplicate);
        }
        let file = ingest::read(staged, &name)?;
        let metadata = file.metadata.clone().unwrap_or_default();
        let keys = work_keys(&metadata);
        let format = file.format;
        let folder = self.folder(path);
        let mut folder = folder.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(group) = folder.joinable(&keys, format) {
            let target = Target::Join {
                book_id: group.book_id,
                status: group.status,
                title: group.title.clone(),
                author: group.author.clone(),
            };
            let prepared = ingest::prepare(self.data_dir, vec![file], target, false)?;
            let outcome = ingest::commit(conn, prepared, self.options)?;
            if matches!(outcome, Outcome::Added { .. }) {
                group.formats.push(format);
            }
            return Ok(outcome);
        }
        let book = NewBook::from_files(std::slice::from_ref(&file));
        let prepared = ingest::prepare(
            self.data_dir,
            vec![file],
            Target::New(Box::new(book)),
            self.options.approve,
        )?;
        let outcome = ingest::commit(conn, prepared, self.options)?;
        if let Outcome::Created { book_id, .. } = outcome {
            folder.books.push(Grouped {
                keys,
                formats: vec![format],
                book_id,
                status: if self.options.approve {
                    BookStatus::Organized
                } else {
                    BookStatus::Review
                },
                title: metadata.title.clone(),
                author: ingest::author_of(&metadata),
            });
        }
        Ok(outcome)
    }

    /// A calibre book folder: one book with all its formats, described by `metadata.opf`
    /// and `cover.jpg`; its formats are identified, never read for metadata. Formats
    /// already in the library bring the new ones to their book. Returns the outcomes and
    /// how many files each concerns, beside the files that failed.
    fn calibre(
        &self,
        conn: &mut PgConnection,
        book: &CalibreBook,
        failed: &mut Vec<(PathBuf, String)>,
    ) -> Result<Vec<(Outcome, usize)>, Error> {
        let metadata = calibre::read_opf(&book.dir.join(calibre::OPF)).map_err(ingest::refusal)?;
        let mut fresh: Vec<ReadFile> = Vec::new();
        let mut known: Option<Outcome> = None;
        let mut duplicates = 0;
        for path in &book.files {
            let name = file_name(path);
            let read = stage(self.data_dir, path, self.limit).and_then(|staged| {
                match ingest::find_duplicate(conn, &staged, &name, self.options)? {
                    Some(duplicate) => Ok(Err(duplicate)),
                    None => ingest::read_format(staged, &name).map(Ok),
                }
            });
            match read {
                // The same bytes twice in one folder (a `.prc` copy of a `.mobi`): one file.
                Ok(Ok(file)) if fresh.iter().any(|f| f.sha256() == file.sha256()) => {
                    duplicates += 1;
                }
                Ok(Ok(file)) => fresh.push(file),
                Ok(Err(duplicate)) => {
                    duplicates += 1;
                    known.get_or_insert(duplicate);
                }
                Err(e) => failed.push((path.clone(), e.to_string())),
            }
        }
        let mut outcomes: Vec<(Outcome, usize)> =
            known.iter().map(|d| (d.clone(), duplicates)).collect();
        if fresh.is_empty() {
            return Ok(outcomes);
        }
        let count = fresh.len();
        let target = match &known {
            Some(existing) => ingest::join_target(conn, existing.book_id())?,
            None => {
                let cover = book.cover.as_deref().and_then(|p| {
                    calibre::read_cover(p)
                        .map_err(|e| e.to_string())
                        .and_then(|bytes| covers::render(&bytes).map_err(|e| e.to_string()))
                        .map_err(|e| log::warn!("{}: cover not used: {e}", p.display()))
                        .ok()
                });
                Target::New(Box::new(NewBook {
                    metadata,
                    cover,
                    source: "calibre",
                }))
            }
        };
        let prepared = ingest::prepare(self.data_dir, fresh, target, self.options.approve)?;
        let outcome = ingest::commit(conn, prepared, self.options)?;
        // Copies within the folder itself are duplicates of the book just made.
        if known.is_none() && duplicates > 0 {
            let copies = Outcome::Duplicate {
                book_id: outcome.book_id(),
                title: None,
            };
            outcomes.push((copies, duplicates));
        }
        outcomes.push((outcome, count));
        Ok(outcomes)
    }
}

/// Imports `units` on `jobs` threads, each with its own connection from `connect`;
/// `progress` is called after each unit.
pub fn import_all(
    units: &[Unit],
    jobs: usize,
    connect: &(dyn Fn() -> Result<PgConnection, String> + Sync),
    data_dir: &Path,
    limit: u64,
    options: &Options,
    progress: &(dyn Fn(&Path) + Sync),
) -> Result<Summary, String> {
    let next = AtomicUsize::new(0);
    let summary = Mutex::new(Summary::default());
    let run = Run {
        data_dir,
        limit,
        options,
        folders: Mutex::new(HashMap::new()),
    };
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                s.spawn(|| -> Result<(), String> {
                    let mut conn = connect()?;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(unit) = units.get(i) else {
                            return Ok(());
                        };
                        let mut failed = Vec::new();
                        let result = match unit {
                            Unit::File(path) => run.file(&mut conn, path).map(|o| vec![(o, 1)]),
                            Unit::Calibre(book) => run.calibre(&mut conn, book, &mut failed),
                        };
                        {
                            let mut sum = summary.lock().unwrap_or_else(|p| p.into_inner());
                            match result {
                                Ok(outcomes) => {
                                    for (outcome, files) in outcomes {
                                        sum.count(&outcome, files);
                                    }
                                }
                                Err(e) => sum.failed.push((unit.path().to_owned(), e.to_string())),
                            }
                            sum.failed.append(&mut failed);
                        }
                        progress(unit.path());
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

#[cfg(test)]
mod tests {
    use super::*;
    use libris_formats::Person;

    fn meta(title: &str, authors: &[&str], isbn: Option<&str>) -> Metadata {
        Metadata {
            title: Some(title.into()),
            authors: authors
                .iter()
                .map(|a| Person::named(a.to_string()))
                .collect(),
            isbn_13: isbn.map(str::to_owned),
            ..Metadata::default()
        }
    }

    #[test]
    fn one_work_in_two_formats_shares_a_key() {
        let epub = work_keys(&meta("The Dispossessed", &["Ursula K. Le Guin"], None));
        let pdf = work_keys(&meta("the dispossessed!", &["URSULA K LE GUIN"], None));
        assert!(epub.iter().any(|k| pdf.contains(k)), "{epub:?} {pdf:?}");
        let other = work_keys(&meta("The Dispossessed", &["Someone Else"], None));
        assert!(!epub.iter().any(|k| other.contains(k)));
    }

    #[test]
    fn an_isbn_is_a_key_of_its_own() {
        let a = work_keys(&meta("Title", &["A"], Some("9780441478125")));
        let b = work_keys(&meta("Another title", &[], Some("9780441478125")));
        assert!(a.iter().any(|k| b.contains(k)));
    }

    #[test]
    fn a_title_alone_groups_nothing() {
        assert!(work_keys(&meta("Untitled", &[], None)).is_empty());
    }

    #[test]
    fn calibre_folders_and_non_books_are_told_apart() {
        let root = tempfile::tempdir().unwrap();
        let book = root.path().join("Ursula K. Le Guin/The Dispossessed (12)");
        std::fs::create_dir_all(book.join("data")).unwrap();
        for name in [
            "metadata.opf",
            "cover.jpg",
            "The Dispossessed - Ursula K. Le Guin.epub",
            "The Dispossessed - Ursula K. Le Guin.azw3",
            "notes.md",
            "data/extra.epub",
        ] {
            std::fs::write(book.join(name), b"x").unwrap();
        }
        let loose = root.path().join("loose");
        std::fs::create_dir_all(&loose).unwrap();
        for name in [
            "README.md",
            "MANIFEST.tsv",
            "make.py",
            "a.txt",
            ".hidden.epub",
        ] {
            std::fs::write(loose.join(name), b"x").unwrap();
        }
        std::fs::write(root.path().join("metadata.db"), b"x").unwrap();

        let found = collect(&[root.path().to_owned()]).unwrap();
        assert_eq!(
            found.units,
            vec![
                Unit::Calibre(CalibreBook {
                    dir: book.clone(),
                    cover: Some(book.join("cover.jpg")),
                    files: vec![
                        book.join("The Dispossessed - Ursula K. Le Guin.azw3"),
                        book.join("The Dispossessed - Ursula K. Le Guin.epub"),
                    ],
                }),
                Unit::File(loose.join("a.txt")),
            ]
        );
        let mut skipped: Vec<String> = found
            .skipped
            .iter()
            .map(|(p, _)| p.strip_prefix(root.path()).unwrap().display().to_string())
            .collect();
        skipped.sort();
        assert_eq!(
            skipped,
            [
                "Ursula K. Le Guin/The Dispossessed (12)/data",
                "Ursula K. Le Guin/The Dispossessed (12)/notes.md",
                "loose/.hidden.epub",
                "loose/MANIFEST.tsv",
                "loose/README.md",
                "loose/make.py",
                "metadata.db",
            ]
        );
    }
}
