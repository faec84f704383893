//! The ingest pipeline, shared by uploads, `libris import` and the inbox folder: files in,
//! one book (a new one, or the existing book they join or duplicate) out, or a reason they
//! were refused.
//!
//! Order matters for "nothing half-stored": everything slow or fallible that touches no
//! rows (reading the format, hashing, rendering the cover) happens first ([`read`]); files
//! are moved into place ([`prepare`]); then the rows go in in one transaction ([`commit`]),
//! and if that fails the files go again.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName};
use libris_formats::covers::{self, Cover};
use libris_formats::{hash, Format, FormatError, Metadata};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::author_sort;
use super::links::{self, Source};
use super::paths;
use super::storage::{self, Staged};
use crate::db::models::BookStatus;
use crate::db::schema::{book_files, book_metadata_candidates, books, upload_registry};
use crate::error::Error;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The API key that brought the file (upload_registry, books.created_by).
    pub uploader: Option<Uuid>,
    /// Organize at once instead of leaving the book for review (`libris import --approve`).
    pub approve: bool,
}

/// What became of one file (or of one calibre book's files).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// A new book.
    Created {
        book_id: Uuid,
        title: Option<String>,
    },
    /// New files of a book already in the library (another format of it).
    Added {
        book_id: Uuid,
        title: Option<String>,
    },
    /// The same bytes are already in the library, as this book.
    Duplicate {
        book_id: Uuid,
        title: Option<String>,
    },
}

impl Outcome {
    pub fn book_id(&self) -> Uuid {
        match self {
            Outcome::Created { book_id, .. }
            | Outcome::Added { book_id, .. }
            | Outcome::Duplicate { book_id, .. } => *book_id,
        }
    }
}

/// Why a file was refused, as the API reports it: 415 for a format libris does not take,
/// 400 naming the file for a damaged one.
pub fn refusal(e: FormatError) -> Error {
    match e {
        FormatError::Unsupported => Error::UnsupportedMedia("unsupported format".into()),
        FormatError::Broken(why) => Error::invalid("file", why),
        FormatError::Io(why) => Error::Internal(format!("reading a staged file: {why}")),
    }
}

#[derive(QueryableByName)]
struct Existing {
    #[diesel(sql_type = SqlUuid)]
    book_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
}

fn existing(conn: &mut PgConnection, sha256: &str) -> Result<Option<Existing>, Error> {
    Ok(sql_query(
        "SELECT b.id AS book_id, b.title FROM book_files f JOIN books b ON b.id = f.book_id \
         WHERE f.checksum = $1 LIMIT 1",
    )
    .bind::<Text, _>(sha256)
    .get_result(conn)
    .optional()?)
}

fn register_upload(
    conn: &mut PgConnection,
    uploader: Option<Uuid>,
    sha256: &str,
    name: &str,
) -> Result<(), Error> {
    if let Some(key) = uploader {
        diesel::insert_into(upload_registry::table)
            .values((
                upload_registry::checksum.eq(sha256),
                upload_registry::api_key_id.eq(key),
                upload_registry::filename.eq(name),
            ))
            .on_conflict((upload_registry::checksum, upload_registry::api_key_id))
            .do_nothing()
            .execute(conn)?;
    }
    Ok(())
}

/// The book these bytes already are, if any; the upload is recorded against it.
pub fn find_duplicate(
    conn: &mut PgConnection,
    staged: &Staged,
    name: &str,
    options: &Options,
) -> Result<Option<Outcome>, Error> {
    let Some(found) = existing(conn, &staged.sha256)? else {
        return Ok(None);
    };
    register_upload(conn, options.uploader, &staged.sha256, name)?;
    counted("duplicate");
    Ok(Some(Outcome::Duplicate {
        book_id: found.book_id,
        title: found.title,
    }))
}

/// One file read and hashed, its cover rendered: everything that needs neither the database
/// nor a decision about which book it belongs to.
pub struct ReadFile {
    staged: Staged,
    pub name: String,
    pub format: Format,
    /// What the file says about itself; `None` when its metadata comes from elsewhere.
    pub metadata: Option<Metadata>,
    cover: Option<Cover>,
    content_hash: String,
}

impl ReadFile {
    pub fn sha256(&self) -> &str {
        &self.staged.sha256
    }
}

fn partial_md5(staged: &Staged) -> Result<String, Error> {
    hash::partial_md5_file(&staged.path)
        .map_err(|e| Error::Internal(format!("hashing a staged file: {e}")))
}

/// Reads a staged file: format, metadata, cover (rendered and checked), KOReader's hash.
/// CPU and disk work: run it on a blocking thread, without holding a connection.
pub fn read(staged: Staged, name: &str) -> Result<ReadFile, Error> {
    let extracted = libris_formats::extract(&staged.path, name).map_err(refused)?;
    let cover = extracted.cover.as_ref().and_then(|raw| {
        covers::render(&raw.bytes)
            // A book is still a book without its cover.
            .map_err(|e| log::warn!("{name}: cover not used: {e}"))
            .ok()
    });
    Ok(ReadFile {
        content_hash: partial_md5(&staged)?,
        staged,
        name: name.to_owned(),
        format: extracted.format,
        metadata: Some(extracted.metadata),
        cover,
    })
}

/// Reads only a staged file's format and KOReader's hash: for files whose metadata and cover
/// come from elsewhere (a calibre book's `metadata.opf` and `cover.jpg`).
pub fn read_format(staged: Staged, name: &str) -> Result<ReadFile, Error> {
    let format = libris_formats::identify(&staged.path, name).map_err(refused)?;
    Ok(ReadFile {
        content_hash: partial_md5(&staged)?,
        staged,
        name: name.to_owned(),
        format,
        metadata: None,
        cover: None,
    })
}

/// What the files of one new book are, and where its description comes from.
pub struct NewBook {
    pub metadata: Metadata,
    pub cover: Option<Cover>,
    /// The candidate source recorded for the metadata: "file" or "calibre".
    pub source: &'static str,
}

impl NewBook {
    /// A book described by its own files: the first file that says anything.
    pub fn from_files(files: &[ReadFile]) -> NewBook {
        let metadata = files
            .iter()
            .filter_map(|f| f.metadata.clone())
            .max_by_key(|m| (m.title.is_some(), !m.authors.is_empty()))
            .unwrap_or_default();
        NewBook {
            metadata,
            cover: files.iter().find_map(|f| f.cover.clone()),
            source: "file",
        }
    }
}

/// Which book prepared files go to.
pub enum Target {
    New(Box<NewBook>),
    /// An existing book, as it was when the decision was made: its files go where its
    /// other files are. [`commit`] checks it is still so.
    Join {
        book_id: Uuid,
        status: BookStatus,
        title: Option<String>,
        author: Option<String>,
    },
}

/// An existing book as [`Target::Join`] needs it.
pub fn join_target(conn: &mut PgConnection, book_id: Uuid) -> Result<Target, Error> {
    let (status, title, author) = books::table
        .find(book_id)
        .select((books::status, books::title, books::author))
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("no book {book_id}")))?;
    Ok(Target::Join {
        book_id,
        status,
        title,
        author,
    })
}

struct PreparedFile {
    name: String,
    format: Format,
    metadata: Option<Metadata>,
    sha256: String,
    size: u64,
    content_hash: String,
    location: String,
    in_library: bool,
}

/// Files moved into place (and a new book's cover written), waiting for their rows.
/// Dropped without [`commit`], it takes its files away again.
pub struct Prepared {
    book_id: Uuid,
    target: Target,
    cover_path: Option<String>,
    files: Vec<PreparedFile>,
    approve: bool,
    data_dir: PathBuf,
    written: Vec<PathBuf>,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        for p in &self.written {
            storage::remove_and_prune(p, &self.data_dir);
        }
    }
}

/// Moves read files into place for `target`: the inbox (`inbox/<book id>/`) for a book in
/// review, the library (`library/<Author>/<Title>/`) for an organized one (or a new one
/// approved at once). Disk work only.
pub fn prepare(
    data_dir: &Path,
    files: Vec<ReadFile>,
    target: Target,
    approve: bool,
) -> Result<Prepared, Error> {
    let book_id = match &target {
        Target::New(_) => Uuid::new_v4(),
        Target::Join { book_id, .. } => *book_id,
    };
    let mut prepared = Prepared {
        book_id,
        cover_path: None,
        files: Vec::new(),
        approve,
        data_dir: data_dir.to_owned(),
        written: Vec::new(),
        target,
    };
    let (in_library, title, author) = match &prepared.target {
        Target::New(book) => (
            approve,
            book.metadata.title.clone(),
            author_of(&book.metadata),
        ),
        Target::Join {
            status,
            title,
            author,
            ..
        } => (
            *status == BookStatus::Organized,
            title.clone(),
            author.clone(),
        ),
    };
    if let Some(cover) = match &prepared.target {
        Target::New(book) => book.cover.as_ref(),
        Target::Join { .. } => None,
    } {
        let (full, thumb) = paths::cover_files(data_dir, book_id, cover.extension);
        prepared.written.extend([full.clone(), thumb.clone()]);
        storage::write_atomic(&full, &cover.image)
            .and_then(|_| storage::write_atomic(&thumb, &cover.thumbnail))
            .map_err(|e| Error::Internal(format!("writing a cover: {e}")))?;
        prepared.cover_path = Some(storage::relative(data_dir, &full));
    }
    for mut file in files {
        let file_name = storage::sanitize_file_name(&file.name, file.format.extension());
        let dir = if in_library {
            paths::library_dir(data_dir, title.as_deref(), &author)
        } else {
            paths::inbox_dir(data_dir, book_id)
        };
        let destination = storage::place(&file.staged.path, &dir, &file_name)
            .map_err(|e| Error::Internal(format!("storing a file: {e}")))?;
        file.staged.keep();
        prepared.written.push(destination.clone());
        prepared.files.push(PreparedFile {
            name: file.name,
            format: file.format,
            metadata: file.metadata,
            sha256: std::mem::take(&mut file.staged.sha256),
            size: file.staged.size,
            content_hash: file.content_hash,
            location: storage::relative(data_dir, &destination),
            in_library,
        });
    }
    Ok(prepared)
}

/// Writes the rows of prepared files in one transaction. On failure, or when the same
/// bytes won a race meanwhile, the prepared files are removed.
pub fn commit(
    conn: &mut PgConnection,
    mut prepared: Prepared,
    options: &Options,
) -> Result<Outcome, Error> {
    let outcome = conn
        .transaction(|conn| store(conn, &prepared, options))
        .inspect_err(|_| counted("failed"))?;
    counted(match outcome {
        Outcome::Created { .. } => "created",
        Outcome::Added { .. } => "added",
        Outcome::Duplicate { .. } => "duplicate",
    });
    if !matches!(outcome, Outcome::Duplicate { .. }) {
        prepared.written.clear();
    }
    Ok(outcome)
}

/// Counts a file's outcome for `/metrics`.
fn counted(outcome: &'static str) {
    metrics::counter!(crate::telemetry::INGEST, "outcome" => outcome).increment(1);
}

/// [`refusal`], counted.
fn refused(e: FormatError) -> Error {
    counted(if matches!(e, FormatError::Io(_)) {
        "failed"
    } else {
        "refused"
    });
    refusal(e)
}

/// One file through the whole pipeline on one connection, as a book of its own (the inbox
/// folder, a single imported file).
pub fn ingest(
    conn: &mut PgConnection,
    data_dir: &Path,
    staged: Staged,
    name: &str,
    options: &Options,
) -> Result<Outcome, Error> {
    if let Some(duplicate) = find_duplicate(conn, &staged, name, options)? {
        return Ok(duplicate);
    }
    let file = read(staged, name)?;
    let book = NewBook::from_files(std::slice::from_ref(&file));
    let prepared = prepare(
        data_dir,
        vec![file],
        Target::New(Box::new(book)),
        options.approve,
    )?;
    commit(conn, prepared, options)
}

/// Authors as books.author holds them: "A & B".
pub fn author_of(m: &Metadata) -> Option<String> {
    let names: Vec<&str> = m
        .authors
        .iter()
        .map(|p| p.name.trim())
        .filter(|n| !n.is_empty())
        .collect();
    (!names.is_empty()).then(|| names.join(" & "))
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Another book that is probably the same work: same ISBN-13, or title and author both
/// more than 0.7 similar (trigrams).
fn possible_duplicate(
    conn: &mut PgConnection,
    id: Uuid,
    isbn_13: Option<&str>,
    title: Option<&str>,
    author: Option<&str>,
) -> Result<Option<Uuid>, Error> {
    let found: Option<Id> = sql_query(
        "SELECT id FROM books WHERE id <> $1 AND (
            isbn_13 = $2
            OR (title % $3 AND similarity(title, $3) > 0.7
                AND similarity(coalesce(author, ''), coalesce($4, '')) > 0.7)
         ) ORDER BY (isbn_13 = $2) DESC NULLS LAST, created_at, id LIMIT 1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Text>, _>(isbn_13)
    .bind::<Nullable<Text>, _>(title)
    .bind::<Nullable<Text>, _>(author)
    .get_result(conn)
    .optional()?;
    Ok(found.map(|f| f.id))
}

/// A book these files are probably another format of: the same ISBN, or the same title and
/// authors (compared as `libris_norm` compares them), holding none of these formats.
/// Organized books first: that is where a new format is wanted.
fn format_of(
    conn: &mut PgConnection,
    id: Uuid,
    m: &Metadata,
    author: Option<&str>,
    formats: &[&str],
) -> Result<Option<Uuid>, Error> {
    if m.isbn_13.is_none() && (m.title.is_none() || author.is_none()) {
        return Ok(None);
    }
    let found: Option<Id> = sql_query(include_str!("sql/format_of.sql"))
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<Text>, _>(&m.isbn_13)
        .bind::<Nullable<Text>, _>(&m.title)
        .bind::<Nullable<Text>, _>(author)
        .bind::<Array<Text>, _>(formats)
        .get_result(conn)
        .optional()?;
    Ok(found.map(|f| f.id))
}

fn store(conn: &mut PgConnection, row: &Prepared, options: &Options) -> Result<Outcome, Error> {
    // Two uploads of the same bytes at once: the second waits here, then finds the first.
    let mut checksums: Vec<&str> = row.files.iter().map(|f| f.sha256.as_str()).collect();
    checksums.sort_unstable();
    for sha in &checksums {
        sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<Text, _>(*sha)
            .execute(conn)?;
    }
    for file in &row.files {
        if let Some(found) = existing(conn, &file.sha256)? {
            // Several files, one of them stored meanwhile by another import: dropping the
            // others as duplicates would lose them, storing them beside it guesses. Refused,
            // their files removed: importing again takes them (as new formats of its book).
            if row.files.len() > 1 {
                return Err(Error::Conflict(format!(
                    "{} was stored meanwhile as another book's file; import again",
                    file.name
                )));
            }
            register_upload(conn, options.uploader, &file.sha256, &file.name)?;
            return Ok(Outcome::Duplicate {
                book_id: found.book_id,
                title: found.title,
            });
        }
    }
    let title = match &row.target {
        Target::New(book) => {
            insert_book(conn, row, book, options)?;
            book.metadata.title.clone()
        }
        Target::Join {
            book_id,
            status,
            title,
            author,
        } => {
            // The files were placed for the book as it was; it must still be so.
            let now: Option<(BookStatus, Option<String>, Option<String>)> = books::table
                .find(book_id)
                .select((books::status, books::title, books::author))
                .for_update()
                .first(conn)
                .optional()?;
            let placed_for = (*status, title.clone(), author.clone());
            match now {
                None => return Err(Error::NotFound(format!("no book {book_id}"))),
                Some(now) if now != placed_for => {
                    return Err(Error::Conflict(format!(
                        "book {book_id} changed while its new files were stored; try again"
                    )))
                }
                Some(_) => {}
            }
            title.clone()
        }
    };
    for file in &row.files {
        insert_file(conn, row.book_id, file)?;
        // A file's own reading of itself is a candidate unless the book's metadata came
        // from elsewhere (calibre), which is recorded once.
        let own = match &row.target {
            Target::New(book) => book.source == "file",
            Target::Join { .. } => true,
        };
        if let (Some(m), true) = (&file.metadata, own) {
            insert_candidate(conn, row.book_id, "file", m, file.format)?;
            if let Target::Join { .. } = row.target {
                author_sort::remember(conn, &author_sort::given_by_file(&m.authors))?;
            }
        }
        register_upload(conn, options.uploader, &file.sha256, &file.name)?;
    }
    Ok(match row.target {
        Target::New(_) => Outcome::Created {
            book_id: row.book_id,
            title,
        },
        Target::Join { .. } => Outcome::Added {
            book_id: row.book_id,
            title,
        },
    })
}

fn insert_book(
    conn: &mut PgConnection,
    row: &Prepared,
    book: &NewBook,
    options: &Options,
) -> Result<(), Error> {
    let m = &book.metadata;
    let author = author_of(m);
    let formats: Vec<&str> = row.files.iter().map(|f| f.format.as_str()).collect();
    let format_of = format_of(conn, row.book_id, m, author.as_deref(), &formats)?;
    let duplicate_of = match format_of {
        Some(_) => None,
        None => possible_duplicate(
            conn,
            row.book_id,
            m.isbn_13.as_deref(),
            m.title.as_deref(),
            author.as_deref(),
        )?,
    };
    // (series, series_index) is unique: the same volume in another format keeps its place
    // in the candidate and is flagged as a possible duplicate instead.
    let series_index = match (&m.series, m.series_index) {
        (Some(series), Some(index)) => {
            // Two volumes of one series arriving at once must not both take the index.
            sql_query("SELECT pg_advisory_xact_lock(hashtextextended('series:' || $1, 0))")
                .bind::<Text, _>(series)
                .execute(conn)?;
            let taken: i64 = books::table
                .filter(books::series.eq(series).and(books::series_index.eq(index)))
                .count()
                .get_result(conn)?;
            (taken == 0).then_some(index)
        }
        _ => None,
    };
    let status = if row.approve {
        BookStatus::Organized
    } else {
        BookStatus::Review
    };
    let genres: Vec<Option<String>> = m.genres.iter().cloned().map(Some).collect();
    diesel::insert_into(books::table)
        .values((
            books::id.eq(row.book_id),
            books::status.eq(status),
            books::title.eq(&m.title),
            books::author.eq(&author),
            books::isbn_10.eq(&m.isbn_10),
            books::isbn_13.eq(&m.isbn_13),
            books::publisher.eq(&m.publisher),
            books::published_year.eq(m.published_year),
            books::language.eq(&m.language),
            books::description.eq(&m.description),
            books::cover_path.eq(&row.cover_path),
            books::page_count.eq(m.page_count),
            books::series.eq(&m.series),
            books::series_index.eq(series_index),
            books::genres.eq(&genres),
            books::created_by.eq(options.uploader),
            books::possible_duplicate_of.eq(duplicate_of),
            books::format_of.eq(format_of),
            books::approved_at.eq(row.approve.then(chrono::Utc::now)),
        ))
        .execute(conn)?;
    author_sort::remember(conn, &author_sort::given_by_file(&m.authors))?;
    if book.source != "file" {
        let format = row.files.first().map_or(Format::Epub, |f| f.format);
        insert_candidate(conn, row.book_id, book.source, m, format)?;
    }
    Ok(())
}

fn insert_file(conn: &mut PgConnection, book_id: Uuid, file: &PreparedFile) -> Result<(), Error> {
    let digest = links::filename_digest(&file.name);
    let (inbox_path, storage_path) = if file.in_library {
        (None, Some(&file.location))
    } else {
        (Some(&file.location), None)
    };
    diesel::insert_into(book_files::table)
        .values((
            book_files::book_id.eq(book_id),
            book_files::format.eq(file.format.as_str()),
            book_files::original_name.eq(&file.name),
            book_files::storage_path.eq(storage_path),
            book_files::inbox_path.eq(inbox_path),
            book_files::file_size.eq(file.size as i64),
            book_files::checksum.eq(&file.sha256),
            book_files::content_hash.eq(&file.content_hash),
            book_files::original_content_hash.eq(&file.content_hash),
            book_files::filename_digest.eq(&digest),
        ))
        .execute(conn)?;
    links::link(
        conn,
        book_id,
        &[
            (file.content_hash.as_str(), Source::Content),
            (digest.as_str(), Source::Filename),
        ],
    )
}

fn insert_candidate(
    conn: &mut PgConnection,
    book_id: Uuid,
    source: &str,
    m: &Metadata,
    format: Format,
) -> Result<(), Error> {
    let mut normalized = serde_json::to_value(m).unwrap_or_else(|_| json!({}));
    normalized["author"] = json!(author_of(m));
    normalized["format"] = json!(format.as_str());
    diesel::insert_into(book_metadata_candidates::table)
        .values((
            book_metadata_candidates::book_id.eq(book_id),
            book_metadata_candidates::source.eq(source),
            book_metadata_candidates::normalized.eq(&normalized),
            book_metadata_candidates::confidence.eq(bigdecimal::BigDecimal::from(1)),
        ))
        .execute(conn)?;
    Ok(())
}
