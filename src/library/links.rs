//! Which KOReader documents belong to which book (document_links), and keeping the
//! reading rows and aggregates in step with it.
//!
//! A document id is whatever KOReader computed: the partial MD5 of the file's bytes
//! ("binary" mode) or the MD5 of its file name ("file name" mode). Neither is unique, so a
//! document tied to several books resolves to none, unless a person linked it by hand.

use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use uuid::Uuid;

use crate::auth::md5_hex;
use crate::error::Error;

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
    crate::reading::relink(conn, &docs)
}

/// Ties a document to a book by hand: a manual link wins over ambiguous automatic ones (an
/// existing automatic link of the pair becomes manual).
pub fn link_by_hand(conn: &mut PgConnection, book_id: Uuid, document: &str) -> Result<(), Error> {
    sql_query("UPDATE document_links SET source = 'manual' WHERE document = $1 AND book_id = $2")
        .bind::<Text, _>(document)
        .bind::<SqlUuid, _>(book_id)
        .execute(conn)?;
    link(conn, book_id, &[(document, Source::Manual)])
}

/// Whether any book is linked to `document` (by any source).
pub fn is_linked(conn: &mut PgConnection, document: &str) -> Result<bool, Error> {
    use crate::db::schema::document_links as dl;
    Ok(diesel::select(diesel::dsl::exists(
        dl::table.filter(dl::document.eq(document)),
    ))
    .get_result(conn)?)
}

/// Removes one link; Ok(false) when there was none.
pub fn unlink(conn: &mut PgConnection, book_id: Uuid, document: &str) -> Result<bool, Error> {
    let removed = sql_query("DELETE FROM document_links WHERE document = $1 AND book_id = $2")
        .bind::<Text, _>(document)
        .bind::<SqlUuid, _>(book_id)
        .execute(conn)?;
    if removed > 0 {
        crate::reading::relink(conn, &[document.to_owned()])?;
    }
    Ok(removed > 0)
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

/// How strongly a link of `column`'s source ties a document to its book: a person's link,
/// then the file's bytes, its name, KOReader's metadata.
fn rank(column: &str) -> String {
    format!(
        "CASE {column} WHEN 'manual' THEN 4 WHEN 'content' THEN 3 WHEN 'filename' THEN 2 ELSE 1 END"
    )
}

/// Books `from` are becoming book `into`: their links go to it, each document keeping its
/// strongest tie (to `into` or to any of them). Returns the documents moved: their reading
/// is the caller's to relink once the books are one.
pub fn merge_into(
    conn: &mut PgConnection,
    into: Uuid,
    from: &[Uuid],
) -> Result<Vec<String>, Error> {
    use crate::db::schema::document_links as dl;
    let documents: Vec<String> = dl::table
        .filter(dl::book_id.eq_any(from))
        .select(dl::document)
        .distinct()
        .load(conn)?;
    sql_query(format!(
        "INSERT INTO document_links (document, book_id, source, created_at) \
         SELECT DISTINCT ON (document) document, $1, source, created_at FROM document_links \
         WHERE book_id = ANY($2) ORDER BY document, {} DESC, created_at \
         ON CONFLICT (document, book_id) DO UPDATE SET source = CASE \
             WHEN {} > {} THEN EXCLUDED.source ELSE document_links.source END",
        rank("source"),
        rank("EXCLUDED.source"),
        rank("document_links.source"),
    ))
    .bind::<SqlUuid, _>(into)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(from)
    .execute(conn)?;
    diesel::delete(dl::table.filter(dl::book_id.eq_any(from))).execute(conn)?;
    Ok(documents)
}

/// A file moving from book `from` to book `to` takes its documents' links along, except a
/// person's (which name the book, not the file); then their reading follows.
pub fn move_documents(
    conn: &mut PgConnection,
    from: Uuid,
    to: Uuid,
    documents: &[String],
) -> Result<(), Error> {
    use crate::db::schema::document_links as dl;
    diesel::update(
        dl::table
            .filter(dl::book_id.eq(from))
            .filter(dl::document.eq_any(documents))
            .filter(dl::source.ne(Source::Manual.as_str())),
    )
    .set(dl::book_id.eq(to))
    .execute(conn)?;
    crate::reading::relink(conn, documents)
}
