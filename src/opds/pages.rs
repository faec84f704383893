//! What the catalog derives from the whole library and keeps between requests: where each
//! page of a long list starts (so page N is an index range scan from its first book rather
//! than a walk past N × size rows), the values of each browsable facet (authors, series, …)
//! with their book counts, and recently served pages. Kept while the library version
//! (migrations 5 and 8) stays put: it moves when a change to books or files commits, and
//! anything read after the version is at least as new as it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::handlers::Rendered;
use super::render::Flavor;
use crate::db::models::{Book, BookFile};
use crate::error::Error;
use crate::library::catalog::{Facet, Filter, List};

/// A value computed from the library, kept per key and library version. One request
/// computes it while the others with the same key wait for that result (never sixteen
/// computations of the same thing at once).
pub struct Versioned<K, V> {
    held: Mutex<HashMap<K, (i64, V)>>,
    /// Keys being computed, at which version; waiters are woken when one is done.
    computing: Mutex<HashMap<K, i64>>,
    done: Condvar,
    capacity: usize,
}

impl<K, V> Versioned<K, V> {
    /// Holding at most `capacity` values (all are dropped when it is reached).
    pub fn with_capacity(capacity: usize) -> Self {
        Versioned {
            held: Mutex::new(HashMap::new()),
            computing: Mutex::new(HashMap::new()),
            done: Condvar::new(),
            capacity,
        }
    }
}

impl<K, V> Default for Versioned<K, V> {
    fn default() -> Self {
        Self::with_capacity(1024)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the key out of the computing set however the computation ends.
struct Turn<'a, K: Hash + Eq, V> {
    cache: &'a Versioned<K, V>,
    key: Option<K>,
}

impl<K: Hash + Eq, V> Drop for Turn<'_, K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.cache.computing).remove(&key);
            self.cache.done.notify_all();
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Versioned<K, V> {
    /// The value held for this key, computed at `version` or later, and its version.
    pub fn lookup(&self, key: &K, version: i64) -> Option<(V, i64)> {
        let held = lock(&self.held);
        let (v, value) = held.get(key)?;
        (*v >= version).then(|| (value.clone(), *v))
    }

    /// Keeps `value`, computed from the library at `version` (unless a newer one is held).
    pub fn store(&self, key: K, version: i64, value: V) {
        let mut held = lock(&self.held);
        if held.get(&key).is_some_and(|(v, _)| *v > version) {
            return;
        }
        if held.len() >= self.capacity {
            held.clear();
        }
        held.insert(key, (version, value));
    }

    /// The value for this key at `version` or later, and the version it was computed at.
    /// One caller computes it while the others with the same key wait for that result —
    /// or, when the computation under way is for their version or a later one and a value of
    /// an earlier version is held, go on with that at once (so a library that keeps
    /// changing, as during an import, is not browsed at one computation per request).
    /// Different keys are computed at the same time.
    pub fn get(
        &self,
        key: K,
        version: i64,
        compute: impl FnOnce() -> Result<V, Error>,
    ) -> Result<(V, i64), Error> {
        if let Some(found) = self.lookup(&key, version) {
            return Ok(found);
        }
        let mut computing = lock(&self.computing);
        while let Some(&running) = computing.get(&key) {
            if running >= version {
                let older = lock(&self.held).get(&key).cloned();
                if let Some((v, value)) = older {
                    return Ok((value, v));
                }
            }
            computing = self.done.wait(computing).unwrap_or_else(|p| p.into_inner());
            drop(computing);
            if let Some(found) = self.lookup(&key, version) {
                return Ok(found);
            }
            computing = lock(&self.computing);
        }
        computing.insert(key.clone(), version);
        drop(computing);
        let _turn = Turn {
            cache: self,
            key: Some(key.clone()),
        };
        let value = compute()?;
        self.store(key, version, value.clone());
        Ok((value, version))
    }
}

#[derive(Debug, Clone)]
pub struct Starts {
    pub total: i64,
    pub firsts: Arc<Vec<Uuid>>,
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
    pub facets: Versioned<Facet, Arc<Vec<(String, i64)>>>,
    pub formats: Versioned<(), Arc<Vec<(String, i64)>>>,
    pub pages: Versioned<PageKey, Arc<PageData>>,
    /// Documents that are the same for every reader, by flavor, base URL, address and page
    /// size.
    pub bodies: Versioned<(Flavor, String, String, i64), Arc<Rendered>>,
}

impl Default for CatalogCache {
    fn default() -> Self {
        CatalogCache {
            starts: Versioned::default(),
            facets: Versioned::default(),
            formats: Versioned::default(),
            pages: Versioned::with_capacity(PAGES_KEPT),
            bodies: Versioned::with_capacity(PAGES_KEPT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn kept_per_version() {
        let cache: Versioned<u8, u32> = Versioned::default();
        let mut runs = 0;
        let mut get = |version| {
            cache
                .get(1, version, || {
                    runs += 1;
                    Ok(runs)
                })
                .unwrap()
                .0
        };
        assert_eq!(get(7), 1);
        assert_eq!(get(7), 1, "held");
        assert_eq!(get(8), 2, "the library changed");
    }

    #[test]
    fn one_computation_per_key_however_many_ask() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cache: Arc<Versioned<u8, usize>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(std::sync::Barrier::new(8));
        let askers: Vec<_> = (0..8)
            .map(|_| {
                let (cache, runs, start) = (cache.clone(), runs.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    cache
                        .get(1, 7, || {
                            std::thread::sleep(Duration::from_millis(50));
                            Ok(runs.fetch_add(1, Ordering::SeqCst) + 1)
                        })
                        .unwrap()
                        .0
                })
            })
            .collect();
        for asker in askers {
            assert_eq!(asker.join().unwrap(), 1, "everyone gets the one result");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn different_keys_are_computed_at_once() {
        let cache: Arc<Versioned<u8, u8>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let other = {
            let cache = cache.clone();
            std::thread::spawn(move || {
                cache.get(2, 7, || {
                    tx.send(()).unwrap();
                    Ok(2)
                })
            })
        };
        // Key 1's computation waits for key 2's to start: were keys computed one at a
        // time, it would give up.
        let got = cache.get(1, 7, || {
            rx.recv_timeout(Duration::from_secs(30))
                .map_err(|_| Error::Internal("key 2 never started".into()))?;
            Ok(1)
        });
        assert_eq!(got.unwrap(), (1, 7));
        assert_eq!(other.join().unwrap().unwrap(), (2, 7));
    }

    #[test]
    fn while_a_change_is_computed_others_go_on_with_the_older_value() {
        let cache: Arc<Versioned<u8, &str>> = Arc::default();
        assert_eq!(cache.get(1, 7, || Ok("old")).unwrap(), ("old", 7));
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let (finish, finish_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let cache = cache.clone();
            std::thread::spawn(move || {
                cache.get(1, 8, || {
                    entered_tx.send(()).unwrap();
                    finish_rx.recv().unwrap();
                    Ok("new")
                })
            })
        };
        entered.recv().unwrap();
        let meanwhile = cache.get(1, 8, || Ok("unexpected")).unwrap();
        assert_eq!(
            meanwhile,
            ("old", 7),
            "the same change under way: not waiting, and saying which version it is"
        );
        // A later change than the one under way is never answered from before it.
        let later = {
            let cache = cache.clone();
            std::thread::spawn(move || cache.get(1, 9, || Ok("nine")).unwrap())
        };
        std::thread::sleep(Duration::from_millis(100));
        finish.send(()).unwrap();
        assert_eq!(
            first.join().unwrap().unwrap(),
            ("new", 8),
            "who met the change computes"
        );
        assert_eq!(later.join().unwrap(), ("nine", 9));
        assert_eq!(
            cache.get(1, 8, || Ok("unexpected")).unwrap(),
            ("nine", 9),
            "newer will do"
        );
    }

    #[test]
    fn a_failed_computation_lets_the_next_caller_try() {
        let cache: Versioned<u8, u8> = Versioned::default();
        assert!(cache
            .get(1, 7, || Err(Error::Internal("down".into())))
            .is_err());
        assert_eq!(cache.get(1, 7, || Ok(3)).unwrap(), (3, 7));
    }
}
