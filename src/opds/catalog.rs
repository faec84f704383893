//! What the catalog reads from the database: organized books only, a page at a time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::models::{Book, BookFile, BookStatus};
use crate::db::schema::{book_files, books};
use crate::error::Error;

/// A list the catalog pages through, in a stable order (ties broken by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum List {
    /// All books, by title.
    Title,
    /// Recently added first.
    Added,
}

impl List {
    /// The sort key and the direction; each pair is backed by an index of migration 5.
    fn order(self) -> (&'static str, &'static str) {
        match self {
            List::Title => ("coalesce(libris_norm(title), '')", "ASC"),
            List::Added => ("created_at", "DESC"),
        }
    }
}

#[derive(QueryableByName)]
struct Start {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The library's change counter (migration 5): any write to books or files moves it.
pub fn library_version(conn: &mut PgConnection) -> Result<i64, Error> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = BigInt)]
        v: i64,
    }
    Ok(sql_query("SELECT last_value AS v FROM library_version")
        .get_result::<Version>(conn)?
        .v)
}

/// When an organized book last changed (None: there are none).
pub fn library_updated(conn: &mut PgConnection) -> Result<Option<DateTime<Utc>>, Error> {
    Ok(books::table
        .filter(books::status.eq(BookStatus::Organized))
        .select(diesel::dsl::max(books::updated_at))
        .first(conn)?)
}

/// The first book of every page of `list` (`size` books a page), and how many books it holds.
/// One pass over the list's index.
pub fn page_starts(
    conn: &mut PgConnection,
    list: List,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    let (key, dir) = list.order();
    let rows: Vec<Start> = sql_query(format!(
        "SELECT id, total FROM (
            SELECT id, row_number() OVER (ORDER BY {key} {dir}, id {dir}) AS n, count(*) OVER () AS total
            FROM books WHERE status = 'organized'
        ) s WHERE (n - 1) % $1 = 0 ORDER BY n"
    ))
    .bind::<BigInt, _>(size)
    .load(conn)?;
    let total = rows.first().map_or(0, |r| r.total);
    Ok((total, rows.into_iter().map(|r| r.id).collect()))
}

/// Up to `size` books of `list` from the book `start` on (keyset: an index range scan,
/// however deep the page).
pub fn page_from(
    conn: &mut PgConnection,
    list: List,
    start: Uuid,
    size: i64,
) -> Result<Vec<Uuid>, Error> {
    let (key, dir) = list.order();
    let cmp = if dir == "ASC" { ">=" } else { "<=" };
    let rows: Vec<Id> = sql_query(format!(
        "SELECT id FROM books
         WHERE status = 'organized' AND ({key}, id) {cmp} (SELECT {key}, id FROM books WHERE id = $1)
         ORDER BY {key} {dir}, id {dir} LIMIT $2"
    ))
    .bind::<SqlUuid, _>(start)
    .bind::<BigInt, _>(size)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Turns what a reader typed into a tsquery: every word must match, the last one as a
/// prefix (the reader may still be typing it). Words are letters and digits only, so the
/// quoting below cannot be broken out of. None: nothing searchable.
pub fn search_query(terms: &str) -> Option<String> {
    let words: Vec<String> = terms
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("'{}'", w.to_lowercase()))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query: Vec<String> = rest.to_vec();
    query.push(format!("{last}:*"));
    Some(query.join(" & "))
}

/// A page of search results, best first, and how many there are in all. Results of a search
/// are few, so OFFSET is fine here.
pub fn search(
    conn: &mut PgConnection,
    query: &str,
    page: i64,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    let rows: Vec<Start> = sql_query(
        "WITH q AS (SELECT to_tsquery('simple', $1) AS q)
         SELECT id, count(*) OVER () AS total FROM books, q
         WHERE status = 'organized' AND search_vector @@ q.q
         ORDER BY ts_rank(search_vector, q.q) DESC, coalesce(libris_norm(title), ''), id
         LIMIT $2 OFFSET $3",
    )
    .bind::<Text, _>(query)
    .bind::<BigInt, _>(size)
    .bind::<BigInt, _>((page - 1) * size)
    .load(conn)?;
    let total = rows.first().map_or(0, |r| r.total);
    Ok((total, rows.into_iter().map(|r| r.id).collect()))
}

/// Organized books with their files, in the order of `ids`.
pub fn books_with_files(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<(Book, Vec<BookFile>)>, Error> {
    let found: Vec<Book> = books::table
        .filter(
            books::id
                .eq_any(ids)
                .and(books::status.eq(BookStatus::Organized)),
        )
        .select(Book::as_select())
        .load(conn)?;
    let mut files: HashMap<Uuid, Vec<BookFile>> = HashMap::new();
    for file in book_files::table
        .filter(book_files::book_id.eq_any(ids))
        .order((book_files::book_id, book_files::created_at, book_files::id))
        .select(BookFile::as_select())
        .load::<BookFile>(conn)?
    {
        files.entry(file.book_id).or_default().push(file);
    }
    let mut by_id: HashMap<Uuid, Book> = found.into_iter().map(|b| (b.id, b)).collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(|b| {
            let f = files.remove(&b.id).unwrap_or_default();
            (b, f)
        })
        .collect())
}

/// One file of an organized book.
pub fn file_of(conn: &mut PgConnection, book: Uuid, file: Uuid) -> Result<Option<BookFile>, Error> {
    Ok(book_files::table
        .inner_join(books::table)
        .filter(book_files::id.eq(file))
        .filter(book_files::book_id.eq(book))
        .filter(books::status.eq(BookStatus::Organized))
        .select(BookFile::as_select())
        .first(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_word_is_a_prefix() {
        assert_eq!(
            search_query("Dune messiah").as_deref(),
            Some("'dune' & 'messiah':*")
        );
        assert_eq!(search_query("tolk").as_deref(), Some("'tolk':*"));
    }

    #[test]
    fn quotes_and_operators_are_not_passed_through() {
        assert_eq!(
            search_query("o'brien & | ! :* (x)").as_deref(),
            Some("'o' & 'brien' & 'x':*")
        );
        assert_eq!(search_query(" + - ").as_deref(), None);
    }

    #[test]
    fn non_ascii_words_are_kept() {
        assert_eq!(
            search_query("Bücher Ärger").as_deref(),
            Some("'bücher' & 'ärger':*")
        );
    }
}
