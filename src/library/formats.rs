//! One work, several files: books merged into one (their formats, documents, reading and
//! proposals with them), and a file split off into a book of its own.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Array, Uuid as SqlUuid};
use uuid::Uuid;

use super::{links, paths, review, storage};
use crate::db::models::{Book, BookFile, BookStatus};
use crate::db::schema::{book_files, book_metadata_candidates as bmc, books};
use crate::error::Error;

/// Books one merge may take in.
pub const MAX_MERGED: usize = 100;

/// The books merged into `into` must be named once each, and not include it.
pub fn check_merge(into: Uuid, from: &[Uuid]) -> Result<(), Error> {
    if from.is_empty() {
        return Err(Error::invalid("from", "name at least one book to merge"));
    }
    if from.len() > MAX_MERGED {
        return Err(Error::invalid(
            "from",
            format!("at most {MAX_MERGED} books at once"),
        ));
    }
    if from.contains(&into) {
        return Err(Error::invalid(
            "from",
            "a book cannot be merged into itself",
        ));
    }
    let mut sorted = from.to_vec();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::invalid("from", "a book is named twice"));
    }
    Ok(())
}

/// What `into` keeps: its own values, and where it has none, the first of `from` that has
/// one (series and index together); genres and tags of all. Pure: the merge's one rule.
pub fn merged_metadata(into: &Book, from: &[Book]) -> Book {
    let mut out = into.clone();
    macro_rules! fill {
        ($($field:ident),*) => {$(
            if out.$field.is_none() {
                out.$field = from.iter().find_map(|b| b.$field.clone());
            }
        )*};
    }
    fill!(
        title,
        author,
        isbn_10,
        isbn_13,
        publisher,
        published_year,
        language,
        description,
        cover_url,
        cover_path,
        page_count,
        hardcover_book_id,
        hardcover_edition_id
    );
    if out.series.is_none() {
        if let Some(b) = from.iter().find(|b| b.series.is_some()) {
            out.series = b.series.clone();
            out.series_index = b.series_index;
        }
    }
    let union = |all: Vec<&Vec<Option<String>>>| {
        let mut out: Vec<Option<String>> = Vec::new();
        for value in all.into_iter().flatten() {
            if !out.contains(value) {
                out.push(value.clone());
            }
        }
        out
    };
    out.genres = union(
        std::iter::once(&into.genres)
            .chain(from.iter().map(|b| &b.genres))
            .collect(),
    );
    out.tags = union(
        std::iter::once(&into.tags)
            .chain(from.iter().map(|b| &b.tags))
            .collect(),
    );
    out
}

/// Merges books `from` into book `into`, in one transaction: their files, metadata
/// candidates, document links, every reader's positions, history and statuses (reading
/// state rebuilt), and the proposals pointing at them move to `into`, which keeps its own
/// metadata and takes what it lacks from them; then they are deleted. A file in the inbox
/// joining an organized book moves into the library beside its other files. Their
/// Hardcover sync log goes with them (`into` keeps its own).
pub fn merge(
    conn: &mut PgConnection,
    data_dir: &Path,
    into: Uuid,
    from: &[Uuid],
) -> Result<(), Error> {
    check_merge(into, from)?;
    let mut moves = storage::Moves::default();
    let result = conn.transaction(|conn| -> Result<Vec<String>, Error> {
        let mut ids = from.to_vec();
        ids.push(into);
        ids.sort();
        // Locked in id order: two merges of overlapping books cannot deadlock.
        let locked: Vec<Book> = books::table
            .filter(books::id.eq_any(&ids))
            .order(books::id)
            .select(Book::as_select())
            .for_update()
            .load(conn)?;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !locked.iter().any(|b| b.id == **id))
            .map(Uuid::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(Error::NotFound(format!("no book {}", missing.join(", "))));
        }
        let target = locked.iter().find(|b| b.id == into).cloned();
        let target = target.ok_or_else(|| Error::NotFound(format!("no book {into}")))?;
        let sources: Vec<Book> = from
            .iter()
            .filter_map(|id| locked.iter().find(|b| b.id == *id).cloned())
            .collect();
        let merged = merged_metadata(&target, &sources);

        diesel::update(book_files::table.filter(book_files::book_id.eq_any(from)))
            .set(book_files::book_id.eq(into))
            .execute(conn)?;
        diesel::update(bmc::table.filter(bmc::book_id.eq_any(from)))
            .set(bmc::book_id.eq(into))
            .execute(conn)?;
        let documents = links::merge_into(conn, into, from)?;
        crate::reading::store::merge_books(conn, into, from)?;
        super::collections::merge_into(conn, into, from)?;
        for column in ["possible_duplicate_of", "format_of"] {
            sql_query(format!(
                "UPDATE books SET {column} = CASE WHEN id = $1 THEN NULL ELSE $1 END \
                 WHERE {column} = ANY($2)"
            ))
            .bind::<SqlUuid, _>(into)
            .bind::<Array<SqlUuid>, _>(from)
            .execute(conn)?;
        }
        diesel::delete(books::table.filter(books::id.eq_any(from))).execute(conn)?;
        // Reports of a document that was tied to several of these books belonged to none;
        // now that they are one, they belong to it.
        crate::reading::relink(conn, &documents)?;
        diesel::update(books::table.find(into))
            .set((
                books::title.eq(&merged.title),
                books::author.eq(&merged.author),
                books::isbn_10.eq(&merged.isbn_10),
                books::isbn_13.eq(&merged.isbn_13),
                books::publisher.eq(&merged.publisher),
                books::published_year.eq(merged.published_year),
                books::language.eq(&merged.language),
                books::description.eq(&merged.description),
                books::cover_url.eq(&merged.cover_url),
                books::cover_path.eq(&merged.cover_path),
                books::page_count.eq(merged.page_count),
                books::series.eq(&merged.series),
                books::series_index.eq(merged.series_index),
                books::genres.eq(&merged.genres),
                books::tags.eq(&merged.tags),
                books::hardcover_book_id.eq(merged.hardcover_book_id),
                books::hardcover_edition_id.eq(merged.hardcover_edition_id),
                books::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        if merged.status == BookStatus::Organized {
            let place = (merged.title.as_deref(), &merged.author);
            review::into_library(conn, data_dir, into, place, &mut moves)?;
        }
        // Covers of merged books that `into` did not take are no one's now.
        Ok(sources
            .iter()
            .filter_map(|b| b.cover_path.clone())
            .filter(|c| merged.cover_path.as_ref() != Some(c))
            .collect())
    });
    match result {
        Ok(orphaned_covers) => {
            moves.settle(data_dir);
            for cover in orphaned_covers {
                review::remove_cover(data_dir, &cover);
            }
            Ok(())
        }
        Err(e) => {
            moves.undo();
            Err(e)
        }
    }
}

/// Splits file `file` off book `book` into a new book of its own, in one transaction: the
/// new book starts as a copy of the book's metadata (and cover), in the same status, without
/// a series position (that stays with the book); the file's documents (its content hash and
/// file-name digest) follow it, and readers' positions and history of those documents with
/// them. Statuses set by hand stay with the book. Returns the new book's id.
pub fn split(
    conn: &mut PgConnection,
    data_dir: &Path,
    book: Uuid,
    file: Uuid,
) -> Result<Uuid, Error> {
    let new_id = Uuid::new_v4();
    let mut copied_cover: Option<(PathBuf, PathBuf)> = None;
    let result = conn.transaction(|conn| -> Result<(), Error> {
        let original: Book = books::table
            .find(book)
            .select(Book::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("no book {book}")))?;
        let files: Vec<BookFile> = book_files::table
            .filter(book_files::book_id.eq(book))
            .select(BookFile::as_select())
            .load(conn)?;
        let moving = files
            .iter()
            .find(|f| f.id == file)
            .ok_or_else(|| Error::NotFound(format!("no file {file} of book {book}")))?;
        if files.len() < 2 {
            return Err(Error::Conflict(
                "a book's only file cannot be split off: it is the book".into(),
            ));
        }
        let staying: Vec<&BookFile> = files.iter().filter(|f| f.id != file).collect();
        let cover_path = match original.cover_path.as_deref() {
            Some(cover) => match copy_cover(data_dir, cover, new_id) {
                Ok((copy, thumb)) => {
                    let relative = storage::relative(data_dir, &copy);
                    copied_cover = Some((copy, thumb));
                    Some(relative)
                }
                // The new book is still a book without its cover.
                Err(e) => {
                    log::warn!("book {book}: its cover not copied for the split file: {e}");
                    None
                }
            },
            None => None,
        };
        diesel::insert_into(books::table)
            .values((
                books::id.eq(new_id),
                books::status.eq(original.status),
                books::title.eq(&original.title),
                books::author.eq(&original.author),
                books::isbn_10.eq(&original.isbn_10),
                books::isbn_13.eq(&original.isbn_13),
                books::publisher.eq(&original.publisher),
                books::published_year.eq(original.published_year),
                books::language.eq(&original.language),
                books::description.eq(&original.description),
                books::cover_url.eq(&original.cover_url),
                books::cover_path.eq(&cover_path),
                books::page_count.eq(original.page_count),
                books::series.eq(&original.series),
                books::genres.eq(&original.genres),
                books::tags.eq(&original.tags),
                books::created_by.eq(original.created_by),
                books::approved_at.eq(original.approved_at),
            ))
            .execute(conn)?;
        diesel::update(book_files::table.find(file))
            .set(book_files::book_id.eq(new_id))
            .execute(conn)?;
        // The file's own reading of itself goes with it, when no file left behind is of its
        // format (then which one it was cannot be told).
        if !staying.iter().any(|f| f.format == moving.format) {
            sql_query(
                "UPDATE book_metadata_candidates SET book_id = $1 \
                 WHERE book_id = $2 AND source = 'file' AND normalized->>'format' = $3",
            )
            .bind::<SqlUuid, _>(new_id)
            .bind::<SqlUuid, _>(book)
            .bind::<diesel::sql_types::Text, _>(&moving.format)
            .execute(conn)?;
        }
        let documents: Vec<String> = file_documents(moving)
            .into_iter()
            .filter(|d| !staying.iter().any(|f| file_documents(f).contains(d)))
            .collect();
        links::move_documents(conn, book, new_id, &documents)?;
        Ok(())
    });
    match result {
        Ok(()) => Ok(new_id),
        Err(e) => {
            if let Some((copy, thumb)) = copied_cover {
                let _ = std::fs::remove_file(copy);
                let _ = std::fs::remove_file(thumb);
            }
            Err(e)
        }
    }
}

/// The KOReader documents a file is: its partial MD5 (as stored, and as first seen) and
/// the digest of its name.
fn file_documents(f: &BookFile) -> Vec<String> {
    let mut docs: Vec<String> = [
        f.content_hash.clone(),
        f.original_content_hash.clone(),
        f.filename_digest.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    docs.dedup();
    docs
}

/// Copies a cover and its thumbnail for another book.
fn copy_cover(data_dir: &Path, cover: &str, book: Uuid) -> Result<(PathBuf, PathBuf), Error> {
    let io = |e: std::io::Error| Error::Internal(format!("copying a cover: {e}"));
    let source = storage::resolve(data_dir, cover)
        .ok_or_else(|| Error::Internal(format!("cover {cover} is outside the data dir")))?;
    let extension = source
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("jpg")
        .to_owned();
    let extension: &'static str = match extension.as_str() {
        "png" => "png",
        "gif" => "gif",
        "webp" => "webp",
        _ => "jpg",
    };
    let (copy, thumb) = paths::cover_files(data_dir, book, extension);
    std::fs::copy(&source, &copy).map_err(io)?;
    if let Some(source_thumb) =
        paths::thumbnail_of(cover).and_then(|t| storage::resolve(data_dir, &t))
    {
        if let Err(e) = std::fs::copy(source_thumb, &thumb) {
            let _ = std::fs::remove_file(&copy);
            return Err(io(e));
        }
    }
    Ok((copy, thumb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use proptest::prelude::*;

    fn book(id: u128) -> Book {
        Book {
            id: Uuid::from_u128(id),
            status: BookStatus::Organized,
            title: None,
            author: None,
            isbn_10: None,
            isbn_13: None,
            publisher: None,
            published_year: None,
            language: None,
            description: None,
            cover_url: None,
            cover_path: None,
            page_count: None,
            series: None,
            series_index: None,
            genres: vec![],
            tags: vec![],
            hardcover_book_id: None,
            hardcover_edition_id: None,
            created_by: None,
            possible_duplicate_of: None,
            format_of: None,
            approved_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_target_keeps_its_values_and_takes_what_it_lacks() {
        let mut into = book(1);
        into.title = Some("Dune".into());
        into.genres = vec![Some("SF".into())];
        let mut a = book(2);
        a.title = Some("DUNE (pdf)".into());
        a.isbn_13 = Some("9780441013593".into());
        a.series = Some("Dune".into());
        a.series_index = Some(1.0);
        a.genres = vec![Some("SF".into()), Some("Classic".into())];
        let mut b = book(3);
        b.isbn_13 = Some("9780000000002".into());
        b.publisher = Some("Ace".into());
        let merged = merged_metadata(&into, &[a, b]);
        assert_eq!(merged.id, into.id);
        assert_eq!(merged.title.as_deref(), Some("Dune"));
        assert_eq!(merged.isbn_13.as_deref(), Some("9780441013593"));
        assert_eq!(merged.publisher.as_deref(), Some("Ace"));
        assert_eq!(merged.series.as_deref(), Some("Dune"));
        assert_eq!(merged.series_index, Some(1.0));
        assert_eq!(
            merged.genres,
            vec![Some("SF".into()), Some("Classic".into())]
        );
    }

    #[test]
    fn a_series_comes_with_its_own_index() {
        let mut into = book(1);
        into.series_index = Some(7.0); // an index without a series is no position
        let mut a = book(2);
        a.series = Some("S".into());
        a.series_index = None;
        let merged = merged_metadata(&into, &[a]);
        assert_eq!(merged.series.as_deref(), Some("S"));
        assert_eq!(merged.series_index, None);
    }

    #[test]
    fn merges_name_each_book_once_and_never_the_target() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(check_merge(a, &[b]).is_ok());
        assert!(check_merge(a, &[]).is_err());
        assert!(check_merge(a, &[a]).is_err());
        assert!(check_merge(a, &[b, b]).is_err());
        let many: Vec<Uuid> = (10..10 + MAX_MERGED as u128 + 1)
            .map(Uuid::from_u128)
            .collect();
        assert!(check_merge(a, &many).is_err());
    }

    proptest! {
        #[test]
        fn nothing_the_target_has_is_lost(
            title in proptest::option::of("[a-z]{1,8}"),
            other in proptest::option::of("[a-z]{1,8}"),
            genres in proptest::collection::vec("[a-c]", 0..4),
            more in proptest::collection::vec("[a-d]", 0..4),
        ) {
            let mut into = book(1);
            into.title = title.clone();
            into.genres = genres.iter().cloned().map(Some).collect();
            let mut a = book(2);
            a.title = other.clone();
            a.genres = more.iter().cloned().map(Some).collect();
            let merged = merged_metadata(&into, &[a]);
            prop_assert_eq!(merged.title, title.or(other));
            for g in genres.iter().chain(&more) {
                prop_assert!(merged.genres.contains(&Some(g.clone())));
            }
            let mut unique = merged.genres.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), merged.genres.len());
        }
    }
}
