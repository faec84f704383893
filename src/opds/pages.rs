//! Where each page of a long list starts, so page N is an index range scan from its first
//! book rather than a walk past N × size rows. Boundaries are computed in one pass and
//! kept while the library version (migration 5) stays put; never longer than [`MAX_AGE`],
//! because a version can move before the change it announces is committed and visible.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::PgConnection;
use uuid::Uuid;

use super::catalog::{self, List};
use crate::error::Error;

pub const MAX_AGE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Starts {
    pub version: i64,
    pub total: i64,
    pub firsts: Arc<Vec<Uuid>>,
    at: Instant,
}

#[derive(Default)]
pub struct PageCache {
    held: Mutex<HashMap<(List, i64), Starts>>,
}

impl PageCache {
    /// The page starts of `list` at `size` books a page, as of library `version`.
    pub fn starts(
        &self,
        conn: &mut PgConnection,
        list: List,
        size: i64,
        version: i64,
    ) -> Result<Starts, Error> {
        let key = (list, size);
        if let Some(held) = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if held.version == version && held.at.elapsed() < MAX_AGE {
                return Ok(held.clone());
            }
        }
        let (total, firsts) = catalog::page_starts(conn, list, size)?;
        let starts = Starts {
            version,
            total,
            firsts: Arc::new(firsts),
            at: Instant::now(),
        };
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        // Page sizes come from one setting; a handful of keys at most, but bound it anyway.
        if held.len() > 64 {
            held.clear();
        }
        held.insert(key, starts.clone());
        Ok(starts)
    }
}
