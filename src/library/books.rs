//! Books as the REST API lists and shows them: any status for admins (the API's face decides
//! who sees what), their files and metadata candidates.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::{Book, BookFile, BookStatus, Candidate};
use crate::db::schema::{book_files, book_metadata_candidates as bmc, books};
use crate::error::Error;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Title,
    Author,
    /// Newest first.
    Added,
    /// Newest publication year first.
    Published,
}

fn filtered<'a>(
    status: Option<BookStatus>,
    q: Option<&'a str>,
) -> books::BoxedQuery<'a, diesel::pg::Pg> {
    let mut query = books::table.into_boxed();
    if let Some(status) = status {
        query = query.filter(books::status.eq(status));
    }
    if let Some(q) = q {
        query = query.filter(
            sql::<Bool>("search_vector @@ websearch_to_tsquery('simple', ")
                .bind::<Text, _>(q.to_owned())
                .sql(")"),
        );
    }
    query
}

/// A page of books of one status (None: any) matching a websearch query (None: all), in
/// `sort` order, and how many match in all.
pub fn list(
    conn: &mut PgConnection,
    status: Option<BookStatus>,
    q: Option<&str>,
    sort: Sort,
    page: i64,
    limit: i64,
) -> Result<(i64, Vec<Book>), Error> {
    let total: i64 = filtered(status, q).count().get_result(conn)?;
    let ordered = match sort {
        Sort::Title => filtered(status, q).order((books::title.asc(), books::id)),
        Sort::Author => {
            filtered(status, q).order((books::author.asc(), books::title.asc(), books::id))
        }
        Sort::Added => filtered(status, q).order((books::created_at.desc(), books::id)),
        Sort::Published => filtered(status, q).order((
            books::published_year.desc().nulls_last(),
            books::title.asc(),
            books::id,
        )),
    };
    let items = ordered
        .select(Book::as_select())
        .limit(limit)
        .offset((page - 1) * limit)
        .load(conn)?;
    Ok((total, items))
}

/// A book, when `admin` whatever its status, else only an organized one (others are 404).
pub fn visible(conn: &mut PgConnection, id: Uuid, admin: bool) -> Result<Book, Error> {
    let book: Book = books::table
        .find(id)
        .select(Book::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("no book {id}")))?;
    if !admin && book.status != BookStatus::Organized {
        return Err(Error::NotFound(format!("no book {id}")));
    }
    Ok(book)
}

/// Ok when the book exists and is organized, else 404.
pub fn organized(conn: &mut PgConnection, book: Uuid) -> Result<(), Error> {
    let status: Option<BookStatus> = books::table
        .find(book)
        .select(books::status)
        .first(conn)
        .optional()?;
    match status {
        Some(BookStatus::Organized) => Ok(()),
        _ => Err(Error::NotFound(format!("no book {book}"))),
    }
}

/// Sets a reader's manual status of an organized book (NotFound for any other), in one
/// transaction with the check.
pub fn set_manual_status(
    conn: &mut PgConnection,
    reader: Uuid,
    book: Uuid,
    manual: &crate::reading::derive::Manual,
) -> Result<(), Error> {
    conn.transaction(|conn| {
        organized(conn, book)?;
        crate::reading::store::set_manual(conn, reader, book, manual)
    })
}

/// Clears a reader's manual status of an organized book (NotFound for any other).
pub fn clear_manual_status(conn: &mut PgConnection, reader: Uuid, book: Uuid) -> Result<(), Error> {
    conn.transaction(|conn| {
        organized(conn, book)?;
        crate::reading::store::clear_manual(conn, reader, book)
    })
}

/// A book's files, oldest first.
pub fn files_of(conn: &mut PgConnection, id: Uuid) -> Result<Vec<BookFile>, Error> {
    Ok(book_files::table
        .filter(book_files::book_id.eq(id))
        .select(BookFile::as_select())
        .order((book_files::created_at, book_files::id))
        .load(conn)?)
}

/// A book's metadata candidates, most confident first.
pub fn candidates_of(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Candidate>, Error> {
    Ok(bmc::table
        .filter(bmc::book_id.eq(id))
        .select(Candidate::as_select())
        .order((bmc::confidence.desc(), bmc::id))
        .load(conn)?)
}

/// One file of a book.
pub fn file_of(conn: &mut PgConnection, book: Uuid, file: Uuid) -> Result<Option<BookFile>, Error> {
    Ok(book_files::table
        .filter(book_files::id.eq(file).and(book_files::book_id.eq(book)))
        .select(BookFile::as_select())
        .first(conn)
        .optional()?)
}
