//! The review queue: books in review, newest first (the order of `books_status_created_idx`,
//! so that a page and a book's neighbours are index scans), each with its formats and the
//! books it may duplicate or be another format of; and one book as its review shows it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::models::{Book, BookFile, BookStatus, Candidate};
use crate::db::schema::{book_files, books};
use crate::error::Error;

/// Another book a queued one points at.
#[derive(Debug, Clone)]
pub struct Other {
    pub id: Uuid,
    pub title: Option<String>,
    pub status: BookStatus,
}

/// A book as the queue lists it.
#[derive(Debug, Clone)]
pub struct Queued {
    pub book: Book,
    /// Its files' formats, oldest file first.
    pub formats: Vec<String>,
    /// `books.format_of`: the book it is probably another format of.
    pub format_of: Option<Other>,
    /// `books.possible_duplicate_of`.
    pub duplicate_of: Option<Other>,
}

/// One book in review with all its review needs.
pub struct Review {
    pub queued: Queued,
    pub files: Vec<BookFile>,
    /// Most confident first (the file's own reading first of all).
    pub candidates: Vec<Candidate>,
    /// The neighbours in the queue: the previous (newer) and next (older) book.
    pub prev: Option<Uuid>,
    pub next: Option<Uuid>,
}

/// A page (1-based) of the queue and how many books are in review.
pub fn page(conn: &mut PgConnection, page: i64, limit: i64) -> Result<(i64, Vec<Queued>), Error> {
    let in_review = books::status.eq(BookStatus::Review);
    let total: i64 = books::table
        .filter(in_review.clone())
        .count()
        .get_result(conn)?;
    let rows: Vec<Book> = books::table
        .filter(in_review)
        .order((books::created_at.desc(), books::id))
        .select(Book::as_select())
        .limit(limit)
        .offset((page - 1).saturating_mul(limit))
        .load(conn)?;
    Ok((total, with_details(conn, rows)?))
}

/// These books (any status) as the queue shows them, in the order given; missing ones are
/// left out.
pub fn summaries(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Queued>, Error> {
    let mut rows: Vec<Book> = books::table
        .filter(books::id.eq_any(ids))
        .select(Book::as_select())
        .load(conn)?;
    rows.sort_by_key(|b| ids.iter().position(|i| *i == b.id));
    with_details(conn, rows)
}

fn with_details(conn: &mut PgConnection, rows: Vec<Book>) -> Result<Vec<Queued>, Error> {
    let ids: Vec<Uuid> = rows.iter().map(|b| b.id).collect();
    let files: Vec<(Uuid, String)> = book_files::table
        .filter(book_files::book_id.eq_any(&ids))
        .order((book_files::created_at, book_files::id))
        .select((book_files::book_id, book_files::format))
        .load(conn)?;
    let mut formats: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (book, format) in files {
        let list = formats.entry(book).or_default();
        if !list.contains(&format) {
            list.push(format);
        }
    }
    let pointed: Vec<Uuid> = rows
        .iter()
        .flat_map(|b| [b.format_of, b.possible_duplicate_of])
        .flatten()
        .collect();
    let others: HashMap<Uuid, Other> = books::table
        .filter(books::id.eq_any(&pointed))
        .select((books::id, books::title, books::status))
        .load::<(Uuid, Option<String>, BookStatus)>(conn)?
        .into_iter()
        .map(|(id, title, status)| (id, Other { id, title, status }))
        .collect();
    Ok(rows
        .into_iter()
        .map(|book| Queued {
            formats: formats.remove(&book.id).unwrap_or_default(),
            format_of: book.format_of.and_then(|id| others.get(&id).cloned()),
            duplicate_of: book
                .possible_duplicate_of
                .and_then(|id| others.get(&id).cloned()),
            book,
        })
        .collect())
}

/// The books before (newer) and after (older) this one in the queue. The book itself need
/// not be in review (it may have just been approved): its place is its creation time.
pub fn neighbours(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<(Option<Uuid>, Option<Uuid>), Error> {
    let Some(at): Option<DateTime<Utc>> = books::table
        .find(id)
        .select(books::created_at)
        .first(conn)
        .optional()?
    else {
        return Ok((None, None));
    };
    let in_review = books::status.eq(BookStatus::Review);
    let next = books::table
        .filter(in_review.clone())
        .filter(
            books::created_at
                .lt(at)
                .or(books::created_at.eq(at).and(books::id.gt(id))),
        )
        .order((books::created_at.desc(), books::id))
        .select(books::id)
        .first(conn)
        .optional()?;
    let prev = books::table
        .filter(in_review)
        .filter(
            books::created_at
                .gt(at)
                .or(books::created_at.eq(at).and(books::id.lt(id))),
        )
        .order((books::created_at.asc(), books::id.desc()))
        .select(books::id)
        .first(conn)
        .optional()?;
    Ok((prev, next))
}

/// Where to go once this book has left the queue: the next book, else the previous one.
pub fn after(conn: &mut PgConnection, id: Uuid) -> Result<Option<Uuid>, Error> {
    let (prev, next) = neighbours(conn, id)?;
    Ok(next.or(prev))
}

/// One book (any status: the page says when it is no longer in review) for its review.
pub fn review(conn: &mut PgConnection, id: Uuid) -> Result<Review, Error> {
    let book = super::books::visible(conn, id, true)?;
    let queued = with_details(conn, vec![book])?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("no book {id}")))?;
    let files = super::books::files_of(conn, id)?;
    let candidates = super::books::candidates_of(conn, id)?;
    let (prev, next) = neighbours(conn, id)?;
    Ok(Review {
        queued,
        files,
        candidates,
        prev,
        next,
    })
}

/// The book a book in review is another format of, for merging it there; a conflict when
/// it has none (any more).
pub fn format_of(conn: &mut PgConnection, id: Uuid) -> Result<Uuid, Error> {
    let (status, format_of): (BookStatus, Option<Uuid>) = books::table
        .find(id)
        .select((books::status, books::format_of))
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("no book {id}")))?;
    match (status, format_of) {
        (BookStatus::Review, Some(into)) => Ok(into),
        _ => Err(Error::Conflict(
            "this book is not proposed as another format of a book".into(),
        )),
    }
}
