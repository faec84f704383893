//! What the OPDS catalog reads from the database: organized books only, a page at a time.
//! The lists, facets, search and shelves it pages through, and the library's version its
//! caches are kept under. (Rendering, negotiation and caching are the catalog's face, src/opds.)

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::models::{Book, BookFile, BookStatus};
use crate::db::schema::{book_files, books};
use crate::error::Error;
use crate::reading::state::{last_reads, LastRead};

/// A list the catalog pages through, in a stable order (ties broken by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum List {
    /// By title.
    Title,
    /// By (first) author.
    Author,
    /// Recently added first.
    Added,
    /// Newest publication year first.
    Published,
}

impl List {
    pub const SORTS: [List; 4] = [List::Title, List::Author, List::Added, List::Published];

    /// Its name in a `sort=` parameter.
    pub fn name(self) -> &'static str {
        match self {
            List::Title => "title",
            List::Author => "author",
            List::Added => "added",
            List::Published => "published",
        }
    }

    pub fn parse(name: &str) -> Option<List> {
        List::SORTS.into_iter().find(|l| l.name() == name)
    }

    pub fn title(self) -> &'static str {
        match self {
            List::Title => "Title",
            List::Author => "Author",
            List::Added => "Recently added",
            List::Published => "Newest published",
        }
    }

    /// The sort key and the direction, each pair backed by an index of migration 5 or 7; None
    /// by author, whose order comes from sort names made in Rust ([`by_author`]).
    fn order(self) -> Option<(&'static str, &'static str)> {
        match self {
            List::Title => Some(("coalesce(libris_norm(title), '')", "ASC")),
            List::Author => None,
            List::Added => Some(("created_at", "DESC")),
            List::Published => Some(("coalesce(published_year, 0)", "DESC")),
        }
    }

    /// Whether pages of it are slices of the whole list in order ([`by_author`]) rather than
    /// index ranges from [`page_starts`].
    pub fn listed_whole(self) -> bool {
        self.order().is_none()
    }
}

/// Narrows a list to one language and/or one file format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    pub language: Option<String>,
    pub format: Option<String>,
}

/// The filter as SQL over `books`, with the language as $2 and the format as $3 (NULL: any).
const FILTER: &str = "($2::text IS NULL OR language = $2)
    AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM book_files f WHERE f.book_id = books.id AND f.format = $3))";

/// A dimension readers browse the library by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Facet {
    Author,
    Series,
    Genre,
    Language,
    Publisher,
}

impl Facet {
    pub const ALL: [Facet; 5] = [
        Facet::Author,
        Facet::Series,
        Facet::Genre,
        Facet::Language,
        Facet::Publisher,
    ];

    /// Its path segment in the catalog.
    pub fn segment(self) -> &'static str {
        match self {
            Facet::Author => "authors",
            Facet::Series => "series",
            Facet::Genre => "genres",
            Facet::Language => "languages",
            Facet::Publisher => "publishers",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Facet::Author => "Authors",
            Facet::Series => "Series",
            Facet::Genre => "Genres",
            Facet::Language => "Languages",
            Facet::Publisher => "Publishers",
        }
    }

    /// Each value with the organized books it holds.
    fn values_sql(self) -> &'static str {
        match self {
            // With the sort name a source gave, if any (migration 12).
            Facet::Author => {
                "SELECT v.value, v.n, s.sort_name FROM (
                    SELECT a AS value, count(*) AS n FROM books, unnest(libris_authors(author)) a
                    WHERE status = 'organized' GROUP BY a
                ) v LEFT JOIN author_sort_names s ON s.name = v.value"
            }
            Facet::Series => {
                "SELECT series AS value, count(*) AS n, NULL::text AS sort_name FROM books
                WHERE status = 'organized' AND series IS NOT NULL GROUP BY series"
            }
            Facet::Genre => {
                "SELECT g AS value, count(*) AS n, NULL::text AS sort_name FROM books, unnest(genres) g
                WHERE status = 'organized' AND g IS NOT NULL GROUP BY g"
            }
            Facet::Language => {
                "SELECT language AS value, count(*) AS n, NULL::text AS sort_name FROM books
                WHERE status = 'organized' AND language IS NOT NULL GROUP BY language"
            }
            Facet::Publisher => {
                "SELECT publisher AS value, count(*) AS n, NULL::text AS sort_name FROM books
                WHERE status = 'organized' AND publisher IS NOT NULL GROUP BY publisher"
            }
        }
    }

    /// The books of value $1 in reading order (series by position), each condition backed by
    /// an index of migration 6.
    fn books_sql(self) -> String {
        let (cond, order) = match self {
            Facet::Author => ("libris_authors(author) @> ARRAY[$1::text]", TITLE_ORDER),
            Facet::Series => (
                "series = $1",
                "series_index NULLS LAST, coalesce(libris_norm(title), ''), id",
            ),
            Facet::Genre => ("genres @> ARRAY[$1::text]", TITLE_ORDER),
            Facet::Language => ("language = $1", TITLE_ORDER),
            Facet::Publisher => ("publisher = $1", TITLE_ORDER),
        };
        format!(
            "SELECT id, count(*) OVER () AS total FROM books
             WHERE status = 'organized' AND {cond} ORDER BY {order} LIMIT $2 OFFSET $3"
        )
    }
}

/// A reader's own list, from the reading state (src/reading): newest read first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shelf {
    /// Reading or paused: where to pick up.
    Continue,
    Reading,
    Paused,
    Finished,
    /// Marked unread (by the reader, or by a sync service's want-to-read).
    Unread,
}

impl Shelf {
    pub const ALL: [Shelf; 5] = [
        Shelf::Continue,
        Shelf::Reading,
        Shelf::Paused,
        Shelf::Finished,
        Shelf::Unread,
    ];

    pub fn segment(self) -> &'static str {
        match self {
            Shelf::Continue => "continue",
            Shelf::Reading => "reading",
            Shelf::Paused => "paused",
            Shelf::Finished => "finished",
            Shelf::Unread => "unread",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Shelf::Continue => "Continue reading",
            Shelf::Reading => "Reading",
            Shelf::Paused => "Paused",
            Shelf::Finished => "Finished",
            Shelf::Unread => "Unread",
        }
    }

    /// What it holds and in what order, in the reader's words (the root's entry for it).
    pub fn description(self) -> &'static str {
        match self {
            Shelf::Continue => {
                "Books you are reading or have set aside, the most recently read first"
            }
            Shelf::Reading => "Books you are reading now, the most recently read first",
            Shelf::Paused => {
                "Books you started and have not read for a while, the most recently read first"
            }
            Shelf::Finished => "Books you have finished, the most recently read first",
            Shelf::Unread => {
                "Books you have not started: marked unread, want to read on Hardcover, or opened \
                 but not read yet"
            }
        }
    }

    /// The effective statuses (reading_aggregate.status) it holds.
    fn statuses(self) -> &'static [&'static str] {
        match self {
            Shelf::Continue => &["reading", "paused"],
            Shelf::Reading => &["reading"],
            Shelf::Paused => &["paused"],
            Shelf::Finished => &["finished"],
            Shelf::Unread => &["unread"],
        }
    }
}

/// A page of one reader's shelf, newest read first (the shelf index of migration 4), and
/// how many books it holds. A shelf is one reader's books, so OFFSET is fine here. Reads
/// reading_aggregate (the reading domain's) beside books; writes nothing.
///
/// sql/shelf_books.sql: $1 the reader, $2 the shelf's statuses, $3 the page size, $4 the
/// offset.
pub fn shelf_books(
    conn: &mut PgConnection,
    reader: Uuid,
    shelf: Shelf,
    page: i64,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    let rows: Vec<Start> = sql_query(include_str!("sql/shelf_books.sql"))
        .bind::<SqlUuid, _>(reader)
        .bind::<diesel::sql_types::Array<Text>, _>(shelf.statuses())
        .bind::<BigInt, _>(size)
        .bind::<BigInt, _>((page - 1) * size)
        .load(conn)?;
    let total = rows.first().map_or(0, |r| r.total);
    Ok((total, rows.into_iter().map(|r| r.id).collect()))
}

const TITLE_ORDER: &str = "coalesce(libris_norm(title), ''), id";

/// The authors of an author field, split as libris_authors() (migration 6) splits them.
pub fn authors_of(field: &str) -> Vec<String> {
    field
        .split(['&', ';'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A facet value as `Facet::values_sql` reads it, with the sort name a source gave (authors).
#[derive(QueryableByName)]
struct FacetRow {
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Nullable<Text>)]
    sort_name: Option<String>,
}

/// One value of a facet as readers browse it: `value` is what links and queries carry,
/// `title` what readers see, `sort` what orders it and gives its initial letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetValue {
    pub value: String,
    pub title: String,
    pub sort: String,
    /// Its organized books.
    pub count: i64,
}

impl FacetValue {
    /// A value of `facet` held by `count` books, titled and sorted as that facet does: an
    /// author by the sort name a source gave (`given_sort`), else by the derived one
    /// ("Doe, Jane"); a language by its name; anything else as it is written.
    pub fn new(
        facet: Facet,
        value: impl Into<String>,
        count: i64,
        given_sort: Option<String>,
    ) -> FacetValue {
        let value = value.into();
        let title = value_title(facet, &value);
        let sort = match facet {
            Facet::Author => given_sort.unwrap_or_else(|| super::author_sort::derive(&value)),
            _ => title.clone(),
        };
        FacetValue {
            sort,
            title,
            value,
            count,
        }
    }
}

/// What readers see for a value of `facet`: a language's name for its tag, other values as
/// they are.
pub fn value_title(facet: Facet, value: &str) -> String {
    match facet {
        Facet::Language => super::languages::name(value),
        _ => value.to_owned(),
    }
}

/// Every value of `facet` with its number of books, in browsing order (Émile beside Emma, not
/// after Zola; Jane Doe under D).
pub fn facet_values(conn: &mut PgConnection, facet: Facet) -> Result<Vec<FacetValue>, Error> {
    let mut values: Vec<FacetValue> = sql_query(facet.values_sql())
        .load::<FacetRow>(conn)?
        .into_iter()
        .map(|v| FacetValue::new(facet, v.value, v.n, v.sort_name))
        .collect();
    in_browsing_order(&mut values);
    Ok(values)
}

/// Facet values in the order readers browse them: by what each sorts as, case and accents
/// aside, then as written.
pub fn in_browsing_order(values: &mut [FacetValue]) {
    values.sort_by_cached_key(|v| (sort_key(&v.sort), v.value.clone()));
}

/// `s` folded for ordering: lower case, accents dropped.
pub fn sort_key(s: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A page of the books of one facet value, and how many there are. A value holds few
/// books next to the library, so OFFSET is fine here.
pub fn facet_books(
    conn: &mut PgConnection,
    facet: Facet,
    value: &str,
    page: i64,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    let rows: Vec<Start> = sql_query(facet.books_sql())
        .bind::<Text, _>(value)
        .bind::<BigInt, _>(size)
        .bind::<BigInt, _>((page - 1) * size)
        .load(conn)?;
    let total = rows.first().map_or(0, |r| r.total);
    Ok((total, rows.into_iter().map(|r| r.id).collect()))
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

/// The library's version as read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct Version {
    /// The change counter (migrations 5 and 8): a committed write to books, files or author
    /// sort names moves it.
    pub number: i64,
    /// When that write committed (migration 13).
    pub changed_at: DateTime<Utc>,
    /// The database's time of the read: whatever is read after it is at least this new.
    pub read_at: DateTime<Utc>,
}

/// The library's version now. Read by every catalog request: a statement diesel keeps
/// prepared (a `sql_query` or an `sql` fragment is parsed and planned anew each time).
pub fn library_version(conn: &mut PgConnection) -> Result<Version, Error> {
    use crate::db::schema::library_state;
    Ok(library_state::table
        .select((
            library_state::version,
            library_state::changed_at,
            diesel::dsl::now.into_sql::<diesel::sql_types::Timestamptz>(),
        ))
        .first(conn)?)
}

/// When an organized book last changed (None: there are none).
pub fn library_updated(conn: &mut PgConnection) -> Result<Option<DateTime<Utc>>, Error> {
    Ok(books::table
        .filter(books::status.eq(BookStatus::Organized))
        .select(diesel::dsl::max(books::updated_at))
        .first(conn)?)
}

fn keyset(list: List) -> Result<(&'static str, &'static str), Error> {
    list.order()
        .ok_or_else(|| Error::Internal(format!("{} is listed whole", list.name())))
}

#[derive(QueryableByName)]
struct Authored {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    author: Option<String>,
}

/// Every book of All books (narrowed by `filter`) by author: by its authors' sort names (the
/// one a source gave, else derived: "Doe, Jane & Roe, John"), case and accents aside, then by
/// id; books without an author first. Sort names are the library's rule in Rust, so the order
/// is made here, whole, once per library version (the catalog keeps it) and a page is a slice
/// of it, as cheap deep in the list as at its start.
pub fn by_author(conn: &mut PgConnection, filter: &Filter) -> Result<Vec<Uuid>, Error> {
    use crate::db::schema::author_sort_names as asn;
    let rows: Vec<Authored> = sql_query(
        "SELECT id, author FROM books WHERE status = 'organized'
            AND ($1::text IS NULL OR language = $1)
            AND ($2::text IS NULL OR EXISTS (
                SELECT 1 FROM book_files f WHERE f.book_id = books.id AND f.format = $2))",
    )
    .bind::<Nullable<Text>, _>(filter.language.as_deref())
    .bind::<Nullable<Text>, _>(filter.format.as_deref())
    .load(conn)?;
    let mut sorts: HashMap<String, String> = asn::table
        .select((asn::name, asn::sort_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut keyed: Vec<(String, Uuid)> = rows
        .into_iter()
        .map(|row| {
            let names = row.author.as_deref().map(authors_of).unwrap_or_default();
            let sorted: Vec<String> = names
                .into_iter()
                .map(|name| {
                    sorts
                        .entry(name)
                        .or_insert_with_key(|name| super::author_sort::derive(name))
                        .clone()
                })
                .collect();
            (sort_key(&sorted.join(" & ")), row.id)
        })
        .collect();
    keyed.sort_unstable();
    Ok(keyed.into_iter().map(|(_, id)| id).collect())
}

/// The first book of every page of `list` (`size` books a page), and how many books it holds.
/// One pass over the list's index. Not for a list [`List::listed_whole`].
pub fn page_starts(
    conn: &mut PgConnection,
    list: List,
    filter: &Filter,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    let (key, dir) = keyset(list)?;
    let rows: Vec<Start> = sql_query(format!(
        "SELECT id, total FROM (
            SELECT id, row_number() OVER (ORDER BY {key} {dir}, id {dir}) AS n, count(*) OVER () AS total
            FROM books WHERE status = 'organized' AND {FILTER}
        ) s WHERE (n - 1) % $1 = 0 ORDER BY n"
    ))
    .bind::<BigInt, _>(size)
    .bind::<Nullable<Text>, _>(filter.language.as_deref())
    .bind::<Nullable<Text>, _>(filter.format.as_deref())
    .load(conn)?;
    let total = rows.first().map_or(0, |r| r.total);
    Ok((total, rows.into_iter().map(|r| r.id).collect()))
}

/// Up to `size` books of `list` from the book `start` on (keyset: an index range scan,
/// however deep the page). Not for a list [`List::listed_whole`].
pub fn page_from(
    conn: &mut PgConnection,
    list: List,
    filter: &Filter,
    start: Uuid,
    size: i64,
) -> Result<Vec<Uuid>, Error> {
    let (key, dir) = keyset(list)?;
    let cmp = if dir == "ASC" { ">=" } else { "<=" };
    let rows: Vec<Id> = sql_query(format!(
        "SELECT id FROM books
         WHERE status = 'organized' AND {FILTER}
           AND ({key}, id) {cmp} (SELECT {key}, id FROM books WHERE id = $1)
         ORDER BY {key} {dir}, id {dir} LIMIT $4"
    ))
    .bind::<SqlUuid, _>(start)
    .bind::<Nullable<Text>, _>(filter.language.as_deref())
    .bind::<Nullable<Text>, _>(filter.format.as_deref())
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

/// A page of search results, best first (equal ranks by title, lower-cased: libris_norm()
/// over every match cost more than the ranking), and how many there are in all. Results of
/// a search are few, so OFFSET is fine here.
///
/// sql/search.sql: $1 the tsquery (from [`search_query`]), $2 the page size, $3 the offset.
pub fn search(
    conn: &mut PgConnection,
    query: &str,
    page: i64,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    let rows: Vec<Start> = sql_query(include_str!("sql/search.sql"))
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

/// Each file format with the number of organized books that have a file in it.
pub fn format_counts(conn: &mut PgConnection) -> Result<Vec<(String, i64)>, Error> {
    let values: Vec<Value> = sql_query(include_str!("sql/format_counts.sql")).load(conn)?;
    Ok(values.into_iter().map(|v| (v.value, v.n)).collect())
}

/// An organized book.
pub fn organized_book(conn: &mut PgConnection, id: Uuid) -> Result<Option<Book>, Error> {
    Ok(books::table
        .find(id)
        .filter(books::status.eq(BookStatus::Organized))
        .select(Book::as_select())
        .first(conn)
        .optional()?)
}

/// Files of organized books, by file id.
fn organized_file(file: Uuid) -> book_files::BoxedQuery<'static, diesel::pg::Pg> {
    book_files::table
        .filter(book_files::id.eq(file))
        .filter(
            book_files::book_id.eq_any(
                books::table
                    .filter(books::status.eq(BookStatus::Organized))
                    .select(books::id),
            ),
        )
        .into_boxed()
}

/// A CBZ file of an organized book, for page streaming.
pub fn comic_file(conn: &mut PgConnection, file: Uuid) -> Result<Option<BookFile>, Error> {
    Ok(organized_file(file)
        .filter(book_files::format.eq("cbz"))
        .select(BookFile::as_select())
        .first(conn)
        .optional()?)
}

/// The comics among `books` (read page by page: the catalog tells where the reader stopped).
pub fn comics(books: &[(Book, Vec<BookFile>)]) -> Vec<Uuid> {
    books
        .iter()
        .filter(|(b, files)| b.page_count.is_some() && files.iter().any(|f| f.format == "cbz"))
        .map(|(b, _)| b.id)
        .collect()
}

/// The reader's newest report for each of these books that has a CBZ file (the others
/// carry no page streaming, so nothing is read for them).
pub fn comic_reading(
    conn: &mut PgConnection,
    reader: Option<Uuid>,
    books: &[(Book, Vec<BookFile>)],
) -> Result<HashMap<Uuid, LastRead>, Error> {
    let comics = comics(books);
    let Some(reader) = reader.filter(|_| !comics.is_empty()) else {
        return Ok(HashMap::new());
    };
    last_reads(conn, reader, &comics)
}

/// One file of an organized book.
pub fn file_of(conn: &mut PgConnection, book: Uuid, file: Uuid) -> Result<Option<BookFile>, Error> {
    Ok(organized_file(file)
        .filter(book_files::book_id.eq(book))
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
    fn authors_split_on_ampersands_and_semicolons() {
        assert_eq!(
            authors_of("Jane Doe & John Roe; Ann"),
            ["Jane Doe", "John Roe", "Ann"]
        );
        assert_eq!(authors_of(" & ;"), Vec::<String>::new());
        assert_eq!(authors_of("Tom and Jerry"), ["Tom and Jerry"]);
    }

    #[test]
    fn sorting_folds_case_and_accents() {
        assert_eq!(sort_key("Émile Zola"), "emile zola");
        assert_eq!(sort_key("ÅSA"), "asa");
        assert_eq!(sort_key("山田"), "山田");
        assert!(sort_key("Émile") < sort_key("Emma"));
    }

    #[test]
    fn non_ascii_words_are_kept() {
        assert_eq!(
            search_query("Bücher Ärger").as_deref(),
            Some("'bücher' & 'ärger':*")
        );
    }
}
