//! Statistics kept while nothing they depend on changed. A reader's statistics are computed
//! from every report they ever sent (streaks look back past the range), tens of thousands
//! for a heavy reader: a tenth of a second. The cache keeps the answer per (reader, range,
//! today) with the version it was computed at, and one cheap query tells whether that is
//! still the version: the newest current row of theirs (every report moves one), the newest
//! aggregate (manual statuses, rebuilds, the sweep), the last time rows of theirs went, and
//! the library's version (a book's authors or genres changed the top lists).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz, Uuid as SqlUuid};
use lru::LruCache;
use uuid::Uuid;

use super::state::{first_report, statistics};
use super::stats::Stats;
use crate::error::Error;

/// Answers kept: a few ranges for each of a household's (or a busy server's active) readers.
const ENTRIES: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    reader: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
struct Version {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    reading: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    library: i64,
    /// Whether the newest stamp is older than [`SETTLED`]: a stamp is a transaction's start
    /// (`now()`), so another that began earlier may still commit rows under an older stamp.
    /// What was computed before that is not kept.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    settled: bool,
}

/// How long a transaction that stamped rows may take to commit (as the catalog's
/// `COMMIT_LAG` allows).
const SETTLED: &str = "2 seconds";

type First = Option<DateTime<Utc>>;

pub struct StatsCache {
    entries: Mutex<LruCache<Key, (Version, Arc<Stats>)>>,
    /// Each reader's first report (where "all time" starts), by the same version.
    firsts: Mutex<LruCache<Uuid, (Version, First)>>,
}

impl Default for StatsCache {
    fn default() -> StatsCache {
        let size = NonZeroUsize::new(ENTRIES).unwrap();
        StatsCache {
            entries: Mutex::new(LruCache::new(size)),
            firsts: Mutex::new(LruCache::new(size)),
        }
    }
}

fn version(conn: &mut PgConnection, reader: Uuid) -> Result<Version, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT v.reading, v.library,
            v.reading IS NULL OR v.reading < clock_timestamp() - interval '{SETTLED}' AS settled
         FROM (SELECT greatest(
            (SELECT max(updated_at) FROM reading_progress WHERE api_key_id = $1),
            (SELECT max(updated_at) FROM reading_aggregate WHERE api_key_id = $1),
            (SELECT forgotten_at FROM reading_forgotten WHERE api_key_id = $1),
            (SELECT max(updated_at) FROM reading_stat_books WHERE api_key_id = $1)) AS reading,
            coalesce((SELECT version FROM library_state), 0) AS library) v"
    ))
    .bind::<SqlUuid, _>(reader)
    .get_result(conn)?)
}

impl StatsCache {
    /// [`statistics`], from the cache while its version holds.
    pub fn statistics(
        &self,
        conn: &mut PgConnection,
        reader: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        today: NaiveDate,
    ) -> Result<Arc<Stats>, Error> {
        let key = Key {
            reader,
            from,
            to,
            today,
        };
        let now = version(conn, reader)?;
        if let Some((v, stats)) = self.entries.lock().unwrap().get(&key) {
            if *v == now {
                return Ok(stats.clone());
            }
        }
        let stats = Arc::new(statistics(conn, reader, from, to, today)?);
        self.entries.lock().unwrap().put(key, (now, stats.clone()));
        Ok(stats)
    }

    /// [`first_report`], from the cache while its version holds.
    pub fn first_report(
        &self,
        conn: &mut PgConnection,
        reader: Uuid,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        let now = version(conn, reader)?;
        if let Some((v, first)) = self.firsts.lock().unwrap().get(&reader) {
            if *v == now {
                return Ok(*first);
            }
        }
        let first = first_report(conn, reader)?;
        if now.settled {
            self.firsts.lock().unwrap().put(reader, (now, first));
        }
        Ok(first)
    }
}
