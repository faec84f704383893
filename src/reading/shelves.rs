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

/// A book the reader finished, with when they started and finished it (the effective dates:
/// set by hand, else from their reports).
pub struct Finished {
    pub book: Book,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
}

/// The organized books the reader finished in `from..to` (UTC instants), in the order they
/// finished them (the effective finish, coalesced as `reading::derive` does).
pub fn finished_between(
    conn: &mut PgConnection,
    reader: Uuid,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Finished>, Error> {
    use crate::db::schema::{books, reading_aggregate as ra};
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Timestamptz};
    let finished = || {
        sql::<Timestamptz>(
            "coalesce(reading_aggregate.manual_finished_at, reading_aggregate.finished_at)",
        )
    };
    let started = sql::<Nullable<Timestamptz>>(
        "coalesce(reading_aggregate.manual_started_at, reading_aggregate.started_at)",
    );
    let rows: Vec<(
        Book,
        Option<chrono::DateTime<chrono::Utc>>,
        chrono::DateTime<chrono::Utc>,
    )> = ra::table
        .inner_join(books::table)
        .filter(ra::api_key_id.eq(reader))
        .filter(ra::status.eq(ReadingStatus::Finished))
        .filter(books::status.eq(BookStatus::Organized))
        .filter(finished().ge(from))
        .filter(finished().lt(to))
        .order((finished().asc(), books::id))
        .select((Book::as_select(), started, finished()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(book, started_at, finished_at)| Finished {
            book,
            started_at,
            finished_at,
        })
        .collect())
}
