//! What the catalog derives from the whole library and keeps between requests: where each
//! page of a long list starts (so page N is an index range scan from its first book rather
//! than a walk past N × size rows), the values of each browsable facet (authors, series, …)
//! with their book counts, and recently served pages. Kept while the library version
//! (migrations 5 and 8) stays put: it moves when a change to books or files commits, and
//! anything read after the version is at least as new as it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::conditional::Rendered;
use super::render::Flavor;
use crate::db::models::{Book, BookFile};
use crate::db::{self, Conn, DbPool};
use crate::error::Error;
use crate::library::catalog::{Facet, FacetValue, Filter, List};
pub use crate::library::versioned::Versioned;
use crate::library::versioned::Waiting;

/// Where each page of a list starts, and how many books it holds; for a list made whole
/// (by author), the whole list in order, of which a page is a slice.
#[derive(Debug, Clone)]
pub struct Starts {
    pub total: i64,
    pub firsts: Arc<Vec<Uuid>>,
    pub whole: Option<Arc<Vec<Uuid>>>,
}

/// Which page of books: a list in an order and narrowed, a search, or a facet value's books,
/// with the page size and number; or one book.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageKey {
    List(List, Filter, i64, i64),
    Search(String, i64, i64),
    Facet(Facet, String, i64, i64),
    /// One book, for its complete entry.
    Book(Uuid),
}

/// A page of books as the database gave it: how many the whole list holds, this page's books
/// with their files, and when the library last changed.
#[derive(Debug)]
pub struct PageData {
    pub total: i64,
    pub books: Vec<(Book, Vec<BookFile>)>,
    pub updated: Option<DateTime<Utc>>,
}

/// Pages kept: about 50 books each, so some 15 MB at most (as many documents, about 10 MB).
const PAGES_KEPT: usize = 256;

/// What the catalog keeps: page starts per (list, filter, page size), the values of each
/// facet, the file formats, each with their book counts; and the pages last served, so a
/// page asked for again (by the next reader, or the same one paging back) costs no query
/// beyond the version check.
pub struct CatalogCache {
    pub starts: Versioned<(List, Filter, i64), Starts>,
    pub facets: Versioned<Facet, Arc<Vec<FacetValue>>>,
    pub formats: Versioned<(), Arc<Vec<(String, i64)>>>,
    pub pages: Versioned<PageKey, Arc<PageData>>,
    /// Documents that are the same for every reader, by flavor, base URL, address and page
    /// size.
    pub bodies: Versioned<(Flavor, String, String, i64), Arc<Rendered>>,
    /// Reads of what is not kept yet, at once: at most half the pool's connections, so that a
    /// burst of new searches leaves the rest to KoSync (whose reports must not wait behind
    /// catalog queries).
    reads: Arc<tokio::sync::Semaphore>,
    reads_waiting: AtomicUsize,
}

impl CatalogCache {
    /// A cache whose cold reads use at most half of a pool of `pool_size` connections.
    pub fn new(pool_size: u32) -> CatalogCache {
        CatalogCache {
            starts: Versioned::default(),
            facets: Versioned::default(),
            formats: Versioned::default(),
            pages: Versioned::with_capacity(PAGES_KEPT),
            bodies: Versioned::with_capacity(PAGES_KEPT),
            reads: Arc::new(tokio::sync::Semaphore::new((pool_size as usize / 2).max(1))),
            reads_waiting: AtomicUsize::new(0),
        }
    }

    /// How many cold reads are waiting for a read slot (for tests and metrics).
    pub fn reads_waiting(&self) -> usize {
        self.reads_waiting.load(Ordering::Relaxed)
    }

    /// Runs a read of the catalog that nothing kept could answer, taking one of the cache's
    /// read slots first (waiting at most as long as the pool would), then a connection. The
    /// slot goes with the work onto the blocking pool, as `db::run`'s permit does: a request
    /// given up mid-query frees its slot only when its query is done.
    pub async fn read<T, F>(&self, pool: &DbPool, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let slot = {
            let _waiting = Waiting::new(&self.reads_waiting);
            tokio::time::timeout(pool.wait(), self.reads.clone().acquire_owned()).await
        };
        let slot = slot
            .map_err(|_| Error::Unavailable("no catalog read slot became free in time".into()))?
            .map_err(|_| Error::Internal("the catalog read slots are closed".into()))?;
        db::run(pool, move |conn| {
            let _slot = slot;
            work(conn)
        })
        .await
    }
}
