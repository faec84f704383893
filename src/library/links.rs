//! Which KOReader documents belong to which book (document_links), and keeping the
//! reading rows and aggregates in step with it.
//!
//! A document id is whatever KOReader computed: the partial MD5 of the file's bytes
//! ("binary" mode) or the MD5 of its file name ("file name" mode). Neither is unique, so a
//! document tied to several books resolves to none, unless a person linked it by hand.

use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName};
use uuid::Uuid;

use crate::auth::md5_hex;
use crate::error::Error;
use crate::reading::state;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Content,
    Filename,
    Metadata,
    Manual,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Content => "content",
            Source::Filename => "filename",
            Source::Metadata => "metadata",
            Source::Manual => "manual",
        }
    }
}

/// The book a document resolves to, as an aggregate over its `document_links l` rows: the
/// one manual link if there is exactly one, else the only linked book, else NULL. The
/// KoSync write path and relinking both use this expression.
pub const RESOLVED_BOOK: &str = "CASE \
    WHEN count(*) FILTER (WHERE l.source = 'manual') = 1 \
        THEN min(l.book_id::text) FILTER (WHERE l.source = 'manual') \
    WHEN count(*) FILTER (WHERE l.source = 'manual') = 0 AND count(DISTINCT l.book_id) = 1 \
        THEN min(l.book_id::text) \
    END::uuid";

/// KOReader's document id in "file name" checksum mode.
pub fn filename_digest(file_name: &str) -> String {
    md5_hex(file_name)
}

/// Ties documents to a book (existing links stay) and brings reading rows up to date.
pub fn link(
    conn: &mut PgConnection,
    book_id: Uuid,
    documents: &[(&str, Source)],
) -> Result<(), Error> {
    for (document, source) in documents {
        diesel::sql_query(
            "INSERT INTO document_links (document, book_id, source) VALUES ($1, $2, $3) \
             ON CONFLICT (document, book_id) DO NOTHING",
        )
        .bind::<Text, _>(*document)
        .bind::<SqlUuid, _>(book_id)
        .bind::<Text, _>(source.as_str())
        .execute(conn)?;
    }
    let docs: Vec<String> = documents.iter().map(|(d, _)| d.to_string()).collect();
    refresh(conn, &docs)
}

/// Removes one link; Ok(false) when there was none.
pub fn unlink(conn: &mut PgConnection, book_id: Uuid, document: &str) -> Result<bool, Error> {
    let removed = sql_query("DELETE FROM document_links WHERE document = $1 AND book_id = $2")
        .bind::<Text, _>(document)
        .bind::<SqlUuid, _>(book_id)
        .execute(conn)?;
    if removed > 0 {
        refresh(conn, &[document.to_owned()])?;
    }
    Ok(removed > 0)
}

#[derive(QueryableByName)]
struct BookId {
    #[diesel(sql_type = SqlUuid)]
    book_id: Uuid,
}

fn books_of(conn: &mut PgConnection, documents: &[String]) -> Result<Vec<Uuid>, Error> {
    Ok(sql_query(
        "SELECT DISTINCT book_id FROM reading_progress_history \
         WHERE document = ANY($1) AND book_id IS NOT NULL \
         UNION SELECT DISTINCT book_id FROM reading_progress \
         WHERE document = ANY($1) AND book_id IS NOT NULL",
    )
    .bind::<Array<Text>, _>(documents)
    .load::<BookId>(conn)?
    .into_iter()
    .map(|b| b.book_id)
    .collect())
}

/// Re-resolves the rows of `documents`: rows without a book get the one their document
/// resolves to; rows whose book is no longer linked to their document are re-resolved too.
/// Rows linked to a book that is still linked stay as they are, so a second book arriving
/// with the same partial MD5 does not take history away from the first; a manual link is a
/// person's decision and moves every row of the document to its book. The aggregates of
/// every book that gained or lost rows are recomputed.
pub fn refresh(conn: &mut PgConnection, documents: &[String]) -> Result<(), Error> {
    if documents.is_empty() {
        return Ok(());
    }
    let mut books = books_of(conn, documents)?;
    for table in ["reading_progress", "reading_progress_history"] {
        sql_query(format!(
            "WITH resolved AS (
                SELECT d.document, r.book_id, r.manual
                FROM unnest($1::text[]) AS d(document)
                CROSS JOIN LATERAL (
                    SELECT {RESOLVED_BOOK} AS book_id,
                        count(*) FILTER (WHERE l.source = 'manual') = 1 AS manual
                    FROM document_links l WHERE l.document = d.document
                ) r
            )
            UPDATE {table} t SET book_id = resolved.book_id
            FROM resolved
            WHERE t.document = resolved.document
              AND t.book_id IS DISTINCT FROM resolved.book_id
              AND (resolved.manual OR t.book_id IS NULL OR NOT EXISTS (
                  SELECT 1 FROM document_links l WHERE l.document = t.document AND l.book_id = t.book_id))"
        ))
        .bind::<Array<Text>, _>(documents)
        .execute(conn)?;
    }
    books.extend(books_of(conn, documents)?);
    books.sort();
    books.dedup();
    let rules = state::rules(conn)?;
    for book in books {
        state::rebuild(conn, &rules, None, Some(book))?;
    }
    Ok(())
}

/// The documents tied to a book, with how.
pub fn of_book(conn: &mut PgConnection, book_id: Uuid) -> Result<Vec<(String, String)>, Error> {
    use crate::db::schema::document_links as dl;
    Ok(dl::table
        .filter(dl::book_id.eq(book_id))
        .select((dl::document, dl::source))
        .order((dl::source, dl::document))
        .load(conn)?)
}
