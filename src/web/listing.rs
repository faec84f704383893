//! Pages of the library for the web app, kept per library version as the OPDS catalog keeps
//! its own: where each page of a whole-library list starts (`catalog::page_starts`, so page
//! 1,500 is an index range scan from its first book, not a walk past 72,000 rows), and the
//! pages last shown. A list narrowed by an author, a series, a genre or a search is small:
//! read with OFFSET (`library::browse::page`), and kept too.

use std::sync::Arc;

use uuid::Uuid;

use crate::db::models::Book;
use crate::error::Error;
use crate::library::browse::{self, Narrow};
use crate::library::catalog::{self, Facet, FacetValue, Filter, List};
use crate::library::versioned::Versioned;
use crate::{db, AppState};

/// Books a page of the library shows: the HTML of a page stays well under 60 KB.
pub const PAGE_SIZE: i64 = 48;

/// Where each page of a whole-library list starts; by author, the whole list in order.
#[derive(Clone)]
struct Starts {
    total: i64,
    firsts: Arc<Vec<Uuid>>,
    whole: Option<Arc<Vec<Uuid>>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Library(List, Filter, i64),
    Narrowed(Narrow, Option<List>, i64),
}

/// One page: how many books the list holds, and this page's.
#[derive(Clone)]
pub struct Listed {
    pub total: i64,
    pub books: Arc<Vec<Book>>,
}

/// Books added a month: ("YYYY-MM", count).
pub type Growth = Arc<Vec<(String, i64)>>;

/// What the web app keeps of the library between requests (one per server).
pub struct LibraryCache {
    starts: Versioned<(List, Filter), Starts>,
    pages: Versioned<Key, Listed>,
    choices: Versioned<(), Arc<Choices>>,
    /// Books added a month over a range (the statistics page's, for admins).
    growth: Versioned<(chrono::NaiveDate, chrono::NaiveDate), Growth>,
}

/// What the library's filters offer: each value with its number of books, in browsing order.
pub struct Choices {
    pub languages: Vec<FacetValue>,
    pub genres: Vec<FacetValue>,
    pub formats: Vec<(String, i64)>,
}

impl Default for LibraryCache {
    fn default() -> Self {
        LibraryCache {
            starts: Versioned::default(),
            // About 48 books each: some 10 MB at most.
            pages: Versioned::with_capacity(256),
            choices: Versioned::with_capacity(1),
            growth: Versioned::with_capacity(16),
        }
    }
}

/// Books added to the library each month of `from..=to` (`browse::added_per_month`), kept per
/// library version.
pub async fn growth(
    state: &AppState,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Growth, Error> {
    let v = version(state).await?;
    let pool = state.pool.clone();
    let (growth, _) = state
        .web_library
        .growth
        .get((from, to), v, || async move {
            db::run(&pool, move |conn| {
                Ok(Arc::new(browse::added_per_month(conn, from, to)?))
            })
            .await
        })
        .await?;
    Ok(growth)
}

/// The library's version now: what is kept is kept under it.
pub async fn version(state: &AppState) -> Result<i64, Error> {
    Ok(db::run(&state.pool, |conn| catalog::library_version(conn))
        .await?
        .number)
}

/// Page `page` (1-based) of the organized books `narrow` leaves, in `sort` order (None: the
/// list's natural one, see `browse::page`).
pub async fn page(
    state: &AppState,
    version: i64,
    narrow: Narrow,
    sort: Option<List>,
    page: i64,
) -> Result<Listed, Error> {
    let cache = state.web_library.clone();
    if narrow.is_small() {
        let key = Key::Narrowed(narrow.clone(), sort, page);
        let pool = state.pool.clone();
        let (listed, _) = cache
            .pages
            .get(key, version, || async move {
                db::run(&pool, move |conn| {
                    let (total, ids) = browse::page(conn, &narrow, sort, page, PAGE_SIZE)?;
                    let books = browse::organized_in_order(conn, &ids)?;
                    Ok(Listed {
                        total,
                        books: Arc::new(books),
                    })
                })
                .await
            })
            .await?;
        return Ok(listed);
    }
    let list = sort.unwrap_or(List::Title);
    let filter = Filter {
        language: narrow.language.clone(),
        format: narrow.format.clone(),
    };
    let pool = state.pool.clone();
    let f = filter.clone();
    let (starts, _) = cache
        .starts
        .get((list, filter.clone()), version, || async move {
            db::run(&pool, move |conn| {
                if list.listed_whole() {
                    let whole = catalog::by_author(conn, &f)?;
                    Ok(Starts {
                        total: whole.len() as i64,
                        firsts: Arc::new(Vec::new()),
                        whole: Some(Arc::new(whole)),
                    })
                } else {
                    let (total, firsts) = catalog::page_starts(conn, list, &f, PAGE_SIZE)?;
                    Ok(Starts {
                        total,
                        firsts: Arc::new(firsts),
                        whole: None,
                    })
                }
            })
            .await
        })
        .await?;
    // A page is a slice of the whole list (by author) or the run from its first book.
    let index = (page - 1) as usize;
    let (ids, start) = match (&starts.whole, starts.firsts.get(index)) {
        (Some(whole), _) => {
            let from = (index * PAGE_SIZE as usize).min(whole.len());
            let to = (from + PAGE_SIZE as usize).min(whole.len());
            if from == to && page > 1 {
                return Err(Error::NotFound("no such page".into()));
            }
            (whole[from..to].to_vec(), None)
        }
        (None, Some(start)) => (Vec::new(), Some(*start)),
        (None, None) if page == 1 => (Vec::new(), None),
        (None, None) => return Err(Error::NotFound("no such page".into())),
    };
    let key = Key::Library(list, filter.clone(), page);
    let pool = state.pool.clone();
    let (listed, _) = cache
        .pages
        .get(key, version, || async move {
            db::run(&pool, move |conn| {
                let ids = match start {
                    Some(start) => catalog::page_from(conn, list, &filter, start, PAGE_SIZE)?,
                    None => ids,
                };
                Ok(Listed {
                    total: starts.total,
                    books: Arc::new(browse::organized_in_order(conn, &ids)?),
                })
            })
            .await
        })
        .await?;
    Ok(listed)
}

/// The values the library's filters offer now (read once per library version).
pub async fn choices(state: &AppState, version: i64) -> Result<Arc<Choices>, Error> {
    let pool = state.pool.clone();
    let (choices, _) = state
        .web_library
        .choices
        .get((), version, || async move {
            db::run(&pool, |conn| {
                Ok(Arc::new(Choices {
                    languages: catalog::facet_values(conn, Facet::Language)?,
                    genres: catalog::facet_values(conn, Facet::Genre)?,
                    formats: catalog::format_counts(conn)?,
                }))
            })
            .await
        })
        .await?;
    Ok(choices)
}
