//! What the catalog derives from the whole library and keeps between requests: where each
//! page of a long list starts (so page N is an index range scan from its first book rather
//! than a walk past N × size rows), and the values of each browsable facet (authors, series,
//! …) with their book counts. Kept while the library version (migration 5) stays put, and
//! never longer than [`MAX_AGE`]: a version can move before the change it announces is
//! committed and visible.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::catalog::{Facet, Filter, List};
use crate::error::Error;

pub const MAX_AGE: Duration = Duration::from_secs(10);

/// A value computed from the library, kept per key and library version. One request
/// computes it while the others wait for that result (never sixteen computations of the
/// same thing at once); when only its age is up, the others go on with the value held.
pub struct Versioned<K, V> {
    held: Mutex<HashMap<K, (i64, Instant, V)>>,
    computing: Mutex<()>,
}

impl<K, V> Default for Versioned<K, V> {
    fn default() -> Self {
        Versioned {
            held: Mutex::new(HashMap::new()),
            computing: Mutex::new(()),
        }
    }
}

impl<K: Hash + Eq, V: Clone> Versioned<K, V> {
    fn held(&self, key: &K, version: i64) -> Option<(bool, V)> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let (v, at, value) = held.get(key)?;
        (*v == version).then(|| (at.elapsed() < MAX_AGE, value.clone()))
    }

    /// The value for `key` at library `version`, computed by `compute` when not held.
    pub fn get(
        &self,
        key: K,
        version: i64,
        compute: impl FnOnce() -> Result<V, Error>,
    ) -> Result<V, Error> {
        let _turn = match self.held(&key, version) {
            Some((true, value)) => return Ok(value),
            Some((false, value)) => match self.computing.try_lock() {
                Ok(turn) => turn,
                Err(_) => return Ok(value),
            },
            None => {
                let turn = self.computing.lock().unwrap_or_else(|p| p.into_inner());
                // Another request may have computed it while this one waited.
                if let Some((true, value)) = self.held(&key, version) {
                    return Ok(value);
                }
                turn
            }
        };
        let value = compute()?;
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        // Lists × sorts × filters × page sizes: a few hundred at most; bound them all the same.
        if held.len() > 1024 {
            held.clear();
        }
        held.insert(key, (version, Instant::now(), value.clone()));
        Ok(value)
    }
}

/// The first book of every page of a list, and how many books the list holds.
#[derive(Debug, Clone)]
pub struct Starts {
    pub total: i64,
    pub firsts: Arc<Vec<Uuid>>,
}

/// What the catalog keeps: page starts per (list, filter, page size), the values of each
/// facet, and the file formats, each with their book counts.
#[derive(Default)]
pub struct CatalogCache {
    pub starts: Versioned<(List, Filter, i64), Starts>,
    pub facets: Versioned<Facet, Arc<Vec<(String, i64)>>>,
    pub formats: Versioned<(), Arc<Vec<(String, i64)>>>,
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
}
