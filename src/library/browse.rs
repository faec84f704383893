//! What the web app's library and home pages read beyond the catalog's lists: organized books
//! narrowed by author, series or genre (and a search, a language, a format) in a chosen
//! order, a book's neighbours in its series, the books added last, and how many wait in
//! review. A list narrowed by an author, a series, a genre or a search holds few books next
//! to the library, so a page of it is an OFFSET; the whole library pages by the catalog's
//! keyset (`catalog::page_starts` and `page_from`).

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use uuid::Uuid;

use super::catalog::List;
use crate::db::models::{Book, BookStatus};
use crate::db::schema::{book_files, books};
use crate::error::Error;

/// What a list of organized books is narrowed by. `q` is a tsquery made by
/// `catalog::search_query`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Narrow {
    pub q: Option<String>,
    pub author: Option<String>,
    pub series: Option<String>,
    pub genre: Option<String>,
    pub language: Option<String>,
    pub format: Option<String>,
}

impl Narrow {
    /// Whether it names an author, a series, a genre or a search: lists small enough to page
    /// by OFFSET. Otherwise the list is the library's (by language and format at most).
    pub fn is_small(&self) -> bool {
        self.q.is_some() || self.author.is_some() || self.series.is_some() || self.genre.is_some()
    }
}

fn narrowed(n: &Narrow) -> books::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = books::table
        .filter(books::status.eq(BookStatus::Organized))
        .into_boxed();
    if let Some(q) = &n.q {
        query = query.filter(
            sql::<Bool>("search_vector @@ to_tsquery('simple', ")
                .bind::<Text, _>(q.clone())
                .sql(")"),
        );
    }
    if let Some(author) = &n.author {
        // libris_authors() is what the authors' GIN index (migration 6) is over.
        query = query.filter(
            sql::<Bool>("libris_authors(author) @> ARRAY[")
                .bind::<Text, _>(author.clone())
                .sql("]::text[]"),
        );
    }
    if let Some(series) = &n.series {
        query = query.filter(books::series.eq(series.clone()));
    }
    if let Some(genre) = &n.genre {
        query = query.filter(
            sql::<Bool>("genres @> ARRAY[")
                .bind::<Text, _>(genre.clone())
                .sql("]::text[]"),
        );
    }
    if let Some(language) = &n.language {
        query = query.filter(books::language.eq(language.clone()));
    }
    if let Some(format) = &n.format {
        query = query.filter(
            books::id.eq_any(
                book_files::table
                    .filter(book_files::format.eq(format.clone()))
                    .select(book_files::book_id),
            ),
        );
    }
    query
}

/// A page of the organized books `n` narrows to (see [`Narrow::is_small`]), and how many
/// there are. In `sort` order; without one, a search's best first, a series' by position,
/// anything else by title. Ties are broken by id, so pages never overlap.
pub fn page(
    conn: &mut PgConnection,
    n: &Narrow,
    sort: Option<List>,
    page: i64,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    let total: i64 = narrowed(n).count().get_result(conn)?;
    let title = "coalesce(libris_norm(title), ''), id";
    let order = match (sort, &n.q, &n.series) {
        (Some(List::Title), _, _) => title.to_owned(),
        (Some(List::Author), _, _) => format!("coalesce(libris_norm(author), ''), {title}"),
        (Some(List::Added), _, _) => "created_at DESC, id DESC".to_owned(),
        (Some(List::Published), _, _) => format!("coalesce(published_year, 0) DESC, {title}"),
        // The catalog's search order (sql/search.sql): best first.
        (None, Some(q), _) => {
            let ranked = sql::<Text>("ts_rank(search_vector, to_tsquery('simple', ")
                .bind::<Text, _>(q.clone())
                .sql(")) DESC, lower(title), id");
            let ids = narrowed(n)
                .order(ranked)
                .select(books::id)
                .limit(size)
                .offset((page - 1) * size)
                .load(conn)?;
            return Ok((total, ids));
        }
        (None, None, Some(_)) => format!("series_index NULLS LAST, {title}"),
        (None, None, None) => title.to_owned(),
    };
    let ordered = narrowed(n).order(sql::<Text>(&order));
    let ids = ordered
        .select(books::id)
        .limit(size)
        .offset((page - 1) * size)
        .load(conn)?;
    Ok((total, ids))
}

/// The organized books before and after `book` in its series, by position (None at either
/// end, or for a book without a series position).
pub fn series_neighbours(
    conn: &mut PgConnection,
    book: &Book,
) -> Result<(Option<Book>, Option<Book>), Error> {
    let (Some(series), Some(index)) = (&book.series, book.series_index) else {
        return Ok((None, None));
    };
    let same = || {
        books::table
            .filter(books::status.eq(BookStatus::Organized))
            .filter(books::series.eq(series.clone()))
            .filter(books::id.ne(book.id))
            .select(Book::as_select())
    };
    let before = same()
        .filter(books::series_index.lt(index))
        .order((books::series_index.desc(), books::id.desc()))
        .first(conn)
        .optional()?;
    let after = same()
        .filter(books::series_index.gt(index))
        .order((books::series_index.asc(), books::id))
        .first(conn)
        .optional()?;
    Ok((before, after))
}

/// The organized books added last, newest first.
pub fn recently_added(conn: &mut PgConnection, limit: i64) -> Result<Vec<Book>, Error> {
    Ok(books::table
        .filter(books::status.eq(BookStatus::Organized))
        .order((books::created_at.desc(), books::id.desc()))
        .limit(limit)
        .select(Book::as_select())
        .load(conn)?)
}

/// How many books wait in review (the inbox).
pub fn in_review(conn: &mut PgConnection) -> Result<i64, Error> {
    Ok(books::table
        .filter(books::status.eq(BookStatus::Review))
        .count()
        .get_result(conn)?)
}

/// The organized books of `ids`, in that order (those not organized left out).
pub fn organized_in_order(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Book>, Error> {
    let found: Vec<Book> = books::table
        .filter(books::id.eq_any(ids))
        .filter(books::status.eq(BookStatus::Organized))
        .select(Book::as_select())
        .load(conn)?;
    let mut by_id: std::collections::HashMap<Uuid, Book> =
        found.into_iter().map(|b| (b.id, b)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The first `limit` organized books a search of the library's words finds, in the
/// library's order (none for a query without a word): what pickers (link a document, add to a
/// collection, link highlights) offer.
pub fn search_books(conn: &mut PgConnection, query: &str, limit: i64) -> Result<Vec<Book>, Error> {
    let Some(q) = super::catalog::search_query(query) else {
        return Ok(vec![]);
    };
    let narrow = Narrow {
        q: Some(q),
        ..Default::default()
    };
    let (_, ids) = page(conn, &narrow, None, 1, limit)?;
    organized_in_order(conn, &ids)
}

/// Books added to the library (organized now) in each month of `from..=to` (UTC), as
/// ("YYYY-MM", count), oldest first; months with none are left out.
pub fn added_per_month(
    conn: &mut PgConnection,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<(String, i64)>, Error> {
    #[derive(QueryableByName)]
    struct Month {
        #[diesel(sql_type = Text)]
        month: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        books: i64,
    }
    let rows: Vec<Month> = diesel::sql_query(
        "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, count(*) AS books \
         FROM books WHERE status = 'organized' \
           AND created_at >= $1::timestamp AT TIME ZONE 'UTC' \
           AND created_at < ($2 + 1)::timestamp AT TIME ZONE 'UTC' \
         GROUP BY 1 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Date, _>(from)
    .bind::<diesel::sql_types::Date, _>(to)
    .load(conn)?;
    Ok(rows.into_iter().map(|m| (m.month, m.books)).collect())
}
