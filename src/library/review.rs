//! The review workflow: approve (review → organized, files into the library) and delete.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use libris_formats::covers::Cover;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::edit::{self, BookEdit, FIELDS};
use super::{paths, storage};
use crate::db::models::{Book, BookFile, BookStatus};
use crate::db::schema::{book_files, book_metadata_candidates as bmc, books};
use crate::error::Error;

/// Per candidate, the fields taken from it.
pub type Taken = Vec<(Uuid, Vec<String>)>;

/// A cover taken from a candidate on approval: fetched and checked before the approval.
pub struct TakenCover {
    pub candidate: Uuid,
    pub url: String,
    pub cover: Cover,
}

/// The cover URL a candidate of this book proposes.
pub fn candidate_cover_url(
    conn: &mut PgConnection,
    book_id: Uuid,
    candidate: Uuid,
) -> Result<String, Error> {
    // Checked before the cover is fetched: approving a book not in review fails anyway.
    let status: BookStatus = books::table
        .find(book_id)
        .select(books::status)
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("no book {book_id}")))?;
    in_review(status)?;
    let normalized = normalized_of(conn, book_id, candidate, "cover")?;
    normalized["cover_url"]
        .as_str()
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::invalid("fields", "cover: that candidate proposes no cover"))
}

/// Only a book in review can be approved (409 otherwise).
fn in_review(status: BookStatus) -> Result<(), Error> {
    if status == BookStatus::Review {
        return Ok(());
    }
    Err(Error::Conflict(format!(
        "only a book in review can be approved; this one is {}",
        serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    )))
}

/// A candidate's normalized fields; 400 naming `field` when the book has no such candidate.
fn normalized_of(
    conn: &mut PgConnection,
    book_id: Uuid,
    candidate: Uuid,
    field: &str,
) -> Result<Value, Error> {
    bmc::table
        .filter(bmc::id.eq(candidate).and(bmc::book_id.eq(book_id)))
        .select(bmc::normalized)
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            Error::invalid(
                "fields",
                format!("{field}: no candidate {candidate} for this book"),
            )
        })
}

/// Resolves approve's `fields`: each value is either the value itself or
/// `{"candidate": "<id>"}`, meaning "this field as that candidate has it". Returns the plain
/// edit and, per candidate, the fields taken from it.
pub fn resolve_fields(
    conn: &mut PgConnection,
    book_id: Uuid,
    fields: &Map<String, Value>,
) -> Result<(BookEdit, Taken), Error> {
    let mut plain = Map::new();
    let mut taken: Taken = Vec::new();
    for (field, value) in fields {
        if !FIELDS.contains(&field.as_str()) {
            return Err(Error::invalid(
                "fields",
                format!("unknown field {field:?}; known: {}", FIELDS.join(", ")),
            ));
        }
        let from_candidate = value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("candidate"));
        let value = match from_candidate {
            Some(id) => {
                let id = id
                    .as_str()
                    .and_then(|s| s.parse::<Uuid>().ok())
                    .ok_or_else(|| {
                        Error::invalid("fields", format!("{field}: candidate must be an id"))
                    })?;
                let normalized = normalized_of(conn, book_id, id, field)?;
                match taken.iter_mut().find(|(c, _)| *c == id) {
                    Some((_, names)) => names.push(field.clone()),
                    None => taken.push((id, vec![field.clone()])),
                }
                normalized.get(field).cloned().unwrap_or(Value::Null)
            }
            None => value.clone(),
        };
        // A candidate without the field clears it, as an explicit empty value would.
        let value = match value {
            Value::Null if matches!(field.as_str(), "genres" | "tags") => Value::Array(vec![]),
            Value::Null => match field.as_str() {
                "published_year" | "page_count" | "series_index" => continue,
                _ => Value::String(String::new()),
            },
            v => v,
        };
        plain.insert(field.clone(), value);
    }
    let edit: BookEdit = serde_json::from_value(Value::Object(plain))
        .map_err(|e| Error::invalid("fields", e.to_string()))?;
    Ok((edit, taken))
}

/// Approves a book under review: applies the edit, records which candidate fields were
/// taken, moves its files to `library/<Author>/<Title>/`, marks it organized. Another
/// approval racing this one waits on the row lock and then gets a conflict.
pub fn approve(
    conn: &mut PgConnection,
    data_dir: &Path,
    book_id: Uuid,
    fields: &Map<String, Value>,
    cover: Option<&TakenCover>,
    this_year: i32,
) -> Result<(), Error> {
    let mut moved = storage::Moves::default();
    let mut cover_files = None;
    // The new cover is written beside the old one first, and takes its place only once the
    // approval stands: a failed write changes nothing, a rolled-back approval keeps the old.
    let staged = match cover {
        Some(taken) => Some(stage_cover(data_dir, book_id, &taken.cover)?),
        None => None,
    };
    let result = conn.transaction(|conn| {
        let status: BookStatus = books::table
            .find(book_id)
            .select(books::status)
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("no book {book_id}")))?;
        in_review(status)?;
        let (edit, taken) = resolve_fields(conn, book_id, fields)?;
        let changes = edit.validate(this_year)?;
        edit::apply(conn, book_id, &changes)?;
        for (candidate, names) in taken {
            diesel::sql_query(
                "UPDATE book_metadata_candidates SET selected_fields = \
                 ARRAY(SELECT DISTINCT unnest(selected_fields || $1::text[]) ORDER BY 1) WHERE id = $2",
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&names)
            .bind::<diesel::sql_types::Uuid, _>(candidate)
            .execute(conn)?;
            link_to_hardcover(conn, candidate)?;
        }
        if let Some(taken) = cover {
            let (full, thumb) = paths::cover_files(data_dir, book_id, taken.cover.extension);
            let old: Option<String> = books::table
                .find(book_id)
                .select(books::cover_path)
                .first(conn)?;
            diesel::update(books::table.find(book_id))
                .set((
                    books::cover_path.eq(storage::relative(data_dir, &full)),
                    books::cover_url.eq(&taken.url),
                ))
                .execute(conn)?;
            diesel::sql_query(
                "UPDATE book_metadata_candidates SET selected_fields = \
                 ARRAY(SELECT DISTINCT unnest(selected_fields || '{cover}'::text[]) ORDER BY 1) WHERE id = $1",
            )
            .bind::<diesel::sql_types::Uuid, _>(taken.candidate)
            .execute(conn)?;
            link_to_hardcover(conn, taken.candidate)?;
            cover_files = Some((full, thumb, old));
        }
        let (title, author): (Option<String>, Option<String>) = books::table
            .find(book_id)
            .select((books::title, books::author))
            .first(conn)?;
        into_library(conn, data_dir, book_id, (title.as_deref(), &author), &mut moved)?;
        diesel::update(books::table.find(book_id))
            .set((
                books::status.eq(BookStatus::Organized),
                books::approved_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        Ok(())
    });
    match result {
        Ok(()) => {
            moved.settle(data_dir);
            if let (Some((full, thumb, old)), Some(staged)) = (cover_files, &staged) {
                let placed = std::fs::rename(&staged.0, &full)
                    .and_then(|_| std::fs::rename(&staged.1, &thumb));
                match placed {
                    Err(e) => log::error!("book {book_id}: placing the approved cover: {e}"),
                    // A cover of another type leaves its old file behind.
                    Ok(()) => {
                        if let Some(old) = old
                            .filter(|o| *o != storage::relative(data_dir, &full))
                            .and_then(|o| storage::resolve(data_dir, &o))
                        {
                            storage::remove_and_prune(&old, data_dir);
                        }
                    }
                }
            }
            Ok(())
        }
        Err(e) => {
            if let Some((image, thumb)) = &staged {
                let _ = std::fs::remove_file(image);
                let _ = std::fs::remove_file(thumb);
            }
            moved.undo();
            Err(e)
        }
    }
}

/// Moves a book's files still in the inbox to `library/<Author>/<Title>/` (its title and
/// author as they are now), in the caller's transaction, recording each move in `moves`.
pub(super) fn into_library(
    conn: &mut PgConnection,
    data_dir: &Path,
    book_id: Uuid,
    (title, author): (Option<&str>, &Option<String>),
    moves: &mut storage::Moves,
) -> Result<(), Error> {
    let files: Vec<BookFile> = book_files::table
        .filter(book_files::book_id.eq(book_id))
        .filter(book_files::inbox_path.is_not_null())
        .select(BookFile::as_select())
        .load(conn)?;
    let dir = paths::library_dir(data_dir, title, author);
    for file in files {
        let Some(from) = file
            .inbox_path
            .as_deref()
            .and_then(|p| storage::resolve(data_dir, p))
        else {
            continue;
        };
        let name = from
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.original_name.clone());
        let to = storage::place(&from, &dir, &name)
            .map_err(|e| Error::Internal(format!("moving {}: {e}", from.display())))?;
        moves.record(from, to.clone());
        diesel::update(book_files::table.find(file.id))
            .set((
                book_files::storage_path.eq(storage::relative(data_dir, &to)),
                book_files::inbox_path.eq(None::<String>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes a cover and its thumbnail.
pub(super) fn remove_cover(data_dir: &Path, cover: &str) {
    for p in [Some(cover.to_owned()), paths::thumbnail_of(cover)]
        .into_iter()
        .flatten()
    {
        if let Some(path) = storage::resolve(data_dir, &p) {
            storage::remove_and_prune(&path, data_dir);
        }
    }
}

/// Writes a cover and its thumbnail under temporary names beside where they go.
pub(super) fn stage_cover(
    data_dir: &Path,
    book_id: Uuid,
    cover: &Cover,
) -> Result<(PathBuf, PathBuf), Error> {
    let (full, thumb) = paths::cover_files(data_dir, book_id, cover.extension);
    let tag = Uuid::new_v4().simple().to_string();
    let staged = |p: &Path| {
        let mut name = p.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".new-{tag}"));
        p.with_file_name(name)
    };
    let (image, thumbnail) = (staged(&full), staged(&thumb));
    storage::write_atomic(&image, &cover.image)
        .and_then(|_| storage::write_atomic(&thumbnail, &cover.thumbnail))
        .map_err(|e| {
            let _ = std::fs::remove_file(&image);
            Error::Internal(format!("writing a cover: {e}"))
        })?;
    Ok((image, thumbnail))
}

/// Taking fields from a Hardcover proposal links the book to that Hardcover book and
/// edition, unless it is linked already (ids outside Postgres' integer range are ignored).
fn link_to_hardcover(conn: &mut PgConnection, candidate: Uuid) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE books b SET hardcover_book_id = (c.normalized->>'hardcover_book_id')::int, \
         hardcover_edition_id = CASE WHEN jsonb_typeof(c.normalized->'hardcover_edition_id') = 'number' \
             THEN CASE WHEN (c.normalized->>'hardcover_edition_id')::numeric BETWEEN 1 AND 2147483647 \
             THEN (c.normalized->>'hardcover_edition_id')::int END END \
         FROM book_metadata_candidates c \
         WHERE c.id = $1 AND c.source = 'hardcover' AND b.id = c.book_id \
           AND b.hardcover_book_id IS NULL \
           AND CASE WHEN jsonb_typeof(c.normalized->'hardcover_book_id') = 'number' \
               THEN (c.normalized->>'hardcover_book_id')::numeric END BETWEEN 1 AND 2147483647",
    )
    .bind::<diesel::sql_types::Uuid, _>(candidate)
    .execute(conn)?;
    Ok(())
}

/// Deletes a book: its rows in one transaction (files, candidates, links, aggregates),
/// then its files and covers. Reading progress and history stay, unlinked.
pub fn delete(conn: &mut PgConnection, data_dir: &Path, book_id: Uuid) -> Result<(), Error> {
    let (book, files) = conn.transaction(|conn| {
        let book: Book = books::table
            .find(book_id)
            .select(Book::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("no book {book_id}")))?;
        let files: Vec<BookFile> = book_files::table
            .filter(book_files::book_id.eq(book_id))
            .select(BookFile::as_select())
            .load(conn)?;
        crate::reading::store::forget_book(conn, book_id)?;
        diesel::delete(books::table.find(book_id)).execute(conn)?;
        Ok::<_, Error>((book, files))
    })?;
    for file in &files {
        if let Some(path) = file.location().and_then(|p| storage::resolve(data_dir, p)) {
            storage::remove_and_prune(&path, data_dir);
        }
    }
    if let Some(cover) = book.cover_path.as_deref() {
        remove_cover(data_dir, cover);
    }
    Ok(())
}
