//! What the catalog derives from the whole library and keeps between requests: where each
//! page of a long list starts (so page N is an index range scan from its first book rather
//! than a walk past N × size rows), and the values of each browsable facet (authors, series,
//! …) with their book counts. Kept while the library version (migration 5) stays put, and
//! never longer than [`MAX_AGE`]: a version can move before the change it announces is
//! committed and visible.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::catalog::{Facet, Filter, List};
use super::handlers::Rendered;
use super::render::Flavor;
use crate::db::models::{Book, BookFile};
use crate::error::Error;

pub const MAX_AGE: Duration = Duration::from_secs(10);

/// A value computed from the library, kept per key and library version. One request
/// computes it while the others wait for that result (never sixteen computations of the
/// same thing at once); when only its age is up, the others go on with the value held.
///
/// A value computed within [`MAX_AGE`] of its version's first sighting may predate the
/// change that version announces, so it is recomputed once it is that old; one computed
/// later is settled and kept until the version moves.
pub struct Versioned<K, V> {
    held: Mutex<HashMap<K, Held<V>>>,
    /// The newest version seen, and when it was first seen.
    seen: Mutex<(i64, Instant)>,
    /// Keys being computed; waiters are woken when one is done.
    computing: Mutex<HashSet<K>>,
    done: Condvar,
    capacity: usize,
}

struct Held<V> {
    version: i64,
    at: Instant,
    settled: bool,
    value: V,
}

impl<K, V> Versioned<K, V> {
    /// Holding at most `capacity` values (all are dropped when it is reached).
    pub fn with_capacity(capacity: usize) -> Self {
        Versioned {
            held: Mutex::new(HashMap::new()),
            seen: Mutex::new((i64::MIN, Instant::now())),
            computing: Mutex::new(HashSet::new()),
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
    /// The value held for this version, and whether it is still fresh.
    fn held(&self, key: &K, version: i64) -> Option<(bool, V)> {
        let held = lock(&self.held);
        let h = held.get(key)?;
        (h.version == version).then(|| (h.settled || h.at.elapsed() < MAX_AGE, h.value.clone()))
    }

    /// The fresh value held for this key and version, if any.
    pub fn lookup(&self, key: &K, version: i64) -> Option<V> {
        self.held(key, version)
            .and_then(|(fresh, value)| fresh.then_some(value))
    }

    /// Keeps `value`, computed from the library at `version`.
    pub fn store(&self, key: K, version: i64, value: V) {
        let settled = {
            let mut seen = lock(&self.seen);
            if version > seen.0 {
                *seen = (version, Instant::now());
            }
            version == seen.0 && seen.1.elapsed() >= MAX_AGE
        };
        let mut held = lock(&self.held);
        if held.len() >= self.capacity {
            held.clear();
        }
        held.insert(
            key,
            Held {
                version,
                at: Instant::now(),
                settled,
                value,
            },
        );
    }

    /// The value for this key and version. One caller computes it while the others with
    /// the same key wait for that result, or go on with the aged value when there is one;
    /// different keys are computed at the same time.
    pub fn get(
        &self,
        key: K,
        version: i64,
        compute: impl FnOnce() -> Result<V, Error>,
    ) -> Result<V, Error> {
        let aged = match self.held(&key, version) {
            Some((true, value)) => return Ok(value),
            Some((false, value)) => Some(value),
            None => None,
        };
        let mut computing = lock(&self.computing);
        if let (true, Some(value)) = (computing.contains(&key), aged) {
            return Ok(value);
        }
        while computing.contains(&key) {
            computing = self.done.wait(computing).unwrap_or_else(|p| p.into_inner());
            drop(computing);
            if let Some((true, value)) = self.held(&key, version) {
                return Ok(value);
            }
            computing = lock(&self.computing);
        }
        computing.insert(key.clone());
        drop(computing);
        let _turn = Turn {
            cache: self,
            key: Some(key.clone()),
        };
        let value = compute()?;
        self.store(key, version, value.clone());
        Ok(value)
    }
}

#[derive(Debug, Clone)]
pub struct Starts {
    pub total: i64,
    pub firsts: Arc<Vec<Uuid>>,
}

/// Which page of books: a list in an order and narrowed, a search, or a facet value's books;
/// with the page size and number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageKey {
    List(List, Filter, i64, i64),
    Search(String, i64, i64),
    Facet(Facet, String, i64, i64),
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
        assert_eq!(got.unwrap(), 1);
        assert_eq!(other.join().unwrap().unwrap(), 2);
    }

    #[test]
    fn a_failed_computation_lets_the_next_caller_try() {
        let cache: Versioned<u8, u8> = Versioned::default();
        assert!(cache
            .get(1, 7, || Err(Error::Internal("down".into())))
            .is_err());
        assert_eq!(cache.get(1, 7, || Ok(3)).unwrap(), 3);
    }
}
