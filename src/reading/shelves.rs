//! The shelf of books a reader has not started: every organized book with no reading state of
//! theirs, or one whose effective status is unread. (The other shelves are
//! [`super::state::by_status`].)

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::models::{Book, BookStatus, ReadingStatus};
use crate::error::Error;

/// A page of the reader's unread books, newest in the library first, and how many there are.
pub fn unread(
    conn: &mut PgConnection,
    reader: Uuid,
    page: i64,
    limit: i64,
) -> Result<(i64, Vec<Book>), Error> {
    use crate::db::schema::{books, reading_aggregate as ra};
    let started = || {
        ra::table
            .filter(ra::api_key_id.eq(reader))
            .filter(ra::status.ne(ReadingStatus::Unread))
            .filter(ra::book_id.is_not_null())
            .select(ra::book_id.assume_not_null())
    };
    let shelf = || {
        books::table
            .filter(books::status.eq(BookStatus::Organized))
            .filter(books::id.ne_all(started()))
    };
    let total: i64 = shelf().count().get_result(conn)?;
    let rows = shelf()
        .order((books::created_at.desc(), books::id.desc()))
        .select(Book::as_select())
        .limit(limit)
        .offset((page - 1) * limit)
        .load(conn)?;
    Ok((total, rows))
}
