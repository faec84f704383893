//! The shelf of books a reader has not started: every organized book with no reading state of
//! theirs, or one whose effective status is unread. (The other shelves are
//! [`super::state::by_status`]; how many books are unread is the library's count less the
//! started ones, which the caller has.)

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::models::{Book, BookStatus, ReadingStatus};
use crate::error::Error;

/// A page of the reader's unread books, newest in the library first: an anti-join, so a page
/// of a large library is an index scan that skips the few books they started.
pub fn unread(
    conn: &mut PgConnection,
    reader: Uuid,
    page: i64,
    limit: i64,
) -> Result<Vec<Book>, Error> {
    use crate::db::schema::{books, reading_aggregate as ra};
    let started = ra::table
        .filter(ra::api_key_id.eq(reader))
        .filter(ra::book_id.eq(books::id.nullable()))
        .filter(ra::status.ne(ReadingStatus::Unread));
    Ok(books::table
        .filter(books::status.eq(BookStatus::Organized))
        .filter(diesel::dsl::not(diesel::dsl::exists(started)))
        .order((books::created_at.desc(), books::id.desc()))
        .select(Book::as_select())
        .limit(limit)
        .offset((page - 1) * limit)
        .load(conn)?)
}
