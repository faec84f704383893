//! Reading rows follow their documents' links: when the library ties a document to a book
//! (or unties it), the rows of that document are re-resolved here, and the aggregates of the
//! books that gained or lost rows recomputed.

use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel::{sql_query, QueryableByName};
use uuid::Uuid;

use super::state;
use crate::error::Error;

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
pub fn relink(conn: &mut PgConnection, documents: &[String]) -> Result<(), Error> {
    if documents.is_empty() {
        return Ok(());
    }
    let mut books = books_of(conn, documents)?;
    for table in ["reading_progress", "reading_progress_history"] {
        sql_query(format!(
            "WITH resolved AS (
                SELECT d.document, r.book_id, r.manual
                FROM unnest($1::text[]) AS d(document)
                CROSS JOIN LATERAL libris_document_book(d.document) r
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
