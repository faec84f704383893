//! The ingest pipeline, shared by uploads, `libris import` and the inbox folder: one staged
//! file in, one book (or the existing one it duplicates) out, or a reason it was refused.
//!
//! Order matters for "nothing half-stored": everything slow or fallible that touches no
//! rows (reading the format, hashing, rendering the cover) happens first; files are moved
//! into place; then the rows go in in one transaction, and if that fails the files go again.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName};
use libris_formats::{covers, hash, Extracted, FormatError, Metadata};
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

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// A new book.
    Created {
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
            Outcome::Created { book_id, .. } | Outcome::Duplicate { book_id, .. } => *book_id,
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

/// A file read, hashed, its cover rendered and everything moved into place, waiting for its
/// rows. Dropped without [`commit`], it takes its files away again.
pub struct Prepared {
    id: Uuid,
    extracted: Extracted,
    name: String,
    sha256: String,
    size: u64,
    content_hash: String,
    location: String,
    cover_path: Option<String>,
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
    Ok(Some(Outcome::Duplicate {
        book_id: found.book_id,
        title: found.title,
    }))
}

/// Everything that needs no database: format, metadata, hashes, cover, and the move of the
/// file to the inbox (or the library, when approving at once). CPU and disk work: run it
/// on a blocking thread, without holding a connection.
pub fn prepare(
    data_dir: &Path,
    mut staged: Staged,
    name: &str,
    approve: bool,
) -> Result<Prepared, Error> {
    let extracted = libris_formats::extract(&staged.path, name).map_err(refusal)?;
    let content_hash = hash::partial_md5_file(&staged.path)
        .map_err(|e| Error::Internal(format!("hashing a staged file: {e}")))?;
    let mut prepared = Prepared {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        sha256: std::mem::take(&mut staged.sha256),
        size: staged.size,
        content_hash,
        location: String::new(),
        cover_path: None,
        approve,
        data_dir: data_dir.to_owned(),
        written: Vec::new(),
        extracted,
    };
    if let Some(raw) = &prepared.extracted.cover {
        match covers::render(&raw.bytes) {
            Ok(cover) => {
                let (full, thumb) = paths::cover_files(data_dir, prepared.id, cover.extension);
                prepared.written.extend([full.clone(), thumb.clone()]);
                storage::write_atomic(&full, &cover.image)
                    .and_then(|_| storage::write_atomic(&thumb, &cover.thumbnail))
                    .map_err(|e| Error::Internal(format!("writing a cover: {e}")))?;
                prepared.cover_path = Some(storage::relative(data_dir, &full));
            }
            // A book is still a book without its cover.
            Err(e) => log::warn!("{name}: cover not used: {e}"),
        }
    }
    let metadata = &prepared.extracted.metadata;
    let file_name = storage::sanitize_file_name(name, prepared.extracted.format.extension());
    let destination = if approve {
        paths::library_file(
            data_dir,
            metadata.title.as_deref(),
            &author_of(metadata),
            &file_name,
        )
    } else {
        storage::unique_path(&paths::inbox_dir(data_dir, prepared.id), &file_name)
    };
    storage::move_file(&staged.path, &destination)
        .map_err(|e| Error::Internal(format!("storing a file: {e}")))?;
    staged.keep();
    prepared.written.push(destination.clone());
    prepared.location = storage::relative(data_dir, &destination);
    Ok(prepared)
}

/// Writes the rows of a prepared file in one transaction. On failure, or when the same
/// bytes won a race meanwhile, the prepared files are removed.
pub fn commit(
    conn: &mut PgConnection,
    mut prepared: Prepared,
    options: &Options,
) -> Result<Outcome, Error> {
    let outcome = conn.transaction(|conn| store(conn, &prepared, options))?;
    if matches!(outcome, Outcome::Created { .. }) {
        prepared.written.clear();
    }
    Ok(outcome)
}

/// The whole pipeline on one connection (`libris import`, the inbox folder).
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
    let prepared = prepare(data_dir, staged, name, options.approve)?;
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

fn store(conn: &mut PgConnection, row: &Prepared, options: &Options) -> Result<Outcome, Error> {
    // Two uploads of the same bytes at once: the second waits here, then finds the first.
    sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(&row.sha256)
        .execute(conn)?;
    if let Some(found) = existing(conn, &row.sha256)? {
        register_upload(conn, options.uploader, &row.sha256, &row.name)?;
        return Ok(Outcome::Duplicate {
            book_id: found.book_id,
            title: found.title,
        });
    }
    let m = &row.extracted.metadata;
    let author = author_of(m);
    let duplicate_of = possible_duplicate(
        conn,
        row.id,
        m.isbn_13.as_deref(),
        m.title.as_deref(),
        author.as_deref(),
    )?;
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
            books::id.eq(row.id),
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
            books::approved_at.eq(row.approve.then(chrono::Utc::now)),
        ))
        .execute(conn)?;
    let digest = links::filename_digest(&row.name);
    let (inbox_path, storage_path) = if row.approve {
        (None, Some(&row.location))
    } else {
        (Some(&row.location), None)
    };
    diesel::insert_into(book_files::table)
        .values((
            book_files::book_id.eq(row.id),
            book_files::format.eq(row.extracted.format.as_str()),
            book_files::original_name.eq(&row.name),
            book_files::storage_path.eq(storage_path),
            book_files::inbox_path.eq(inbox_path),
            book_files::file_size.eq(row.size as i64),
            book_files::checksum.eq(&row.sha256),
            book_files::content_hash.eq(&row.content_hash),
            book_files::original_content_hash.eq(&row.content_hash),
            book_files::filename_digest.eq(&digest),
        ))
        .execute(conn)?;
    let mut normalized = serde_json::to_value(m).unwrap_or_else(|_| json!({}));
    normalized["author"] = json!(author);
    normalized["format"] = json!(row.extracted.format.as_str());
    diesel::insert_into(book_metadata_candidates::table)
        .values((
            book_metadata_candidates::book_id.eq(row.id),
            book_metadata_candidates::source.eq("file"),
            book_metadata_candidates::normalized.eq(&normalized),
            book_metadata_candidates::confidence.eq(bigdecimal::BigDecimal::from(1)),
        ))
        .execute(conn)?;
    register_upload(conn, options.uploader, &row.sha256, &row.name)?;
    author_sort::remember(conn, &author_sort::given_by_file(&m.authors))?;
    links::link(
        conn,
        row.id,
        &[
            (row.content_hash.as_str(), Source::Content),
            (digest.as_str(), Source::Filename),
        ],
    )?;
    Ok(Outcome::Created {
        book_id: row.id,
        title: m.title.clone(),
    })
}
