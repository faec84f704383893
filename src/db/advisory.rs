//! PostgreSQL advisory locks: how several libris processes on one database agree on who does
//! what. They live in the database, so they hold across machines where file locks may not
//! (NFS), and a process that dies releases its locks with its connection.
//!
//! Each key is a constant below. Session locks belong to the connection that took them, so
//! the background work keeps one connection of its own ([`Locks`]), outside the pool.

use std::sync::{Arc, Mutex};

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Bool};
use diesel::{Connection, QueryableByName, RunQueryDsl};

use crate::error::Error;

/// The background jobs that run in one process at a time, whichever it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    ReadingSweep,
    SessionSweep,
    SpaceSweep,
    Inbox,
    PageCovers,
    HardcoverLookups,
    HardcoverDaily,
}

impl Job {
    /// Its name in logs and in `/metrics`.
    pub fn name(self) -> &'static str {
        match self {
            Job::ReadingSweep => "reading_sweep",
            Job::SessionSweep => "session_sweep",
            Job::SpaceSweep => "dav_space_sweep",
            Job::Inbox => "inbox",
            Job::PageCovers => "page_covers",
            Job::HardcoverLookups => "hardcover_lookups",
            Job::HardcoverDaily => "hardcover_daily_sync",
        }
    }

    /// Its advisory lock's key.
    pub fn key(self) -> i64 {
        JOBS + self as i64
    }
}

/// The first of the jobs' keys ("libris" in ASCII, then a number).
const JOBS: i64 = 0x6c69_6272_6973_0100;

/// Held shared by every process that serves or imports; held exclusively by the start-up
/// check of the data dir, which must not run while anyone places files.
pub const PLACING_FILES: i64 = 0x6c69_6272_6973_0001;

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

fn ask(conn: &mut PgConnection, sql: &str, key: i64) -> Result<bool, Error> {
    let row: Taken = diesel::sql_query(sql)
        .bind::<BigInt, _>(key)
        .get_result(conn)?;
    Ok(row.taken)
}

/// Takes `key` exclusively if nobody holds it, without waiting.
pub fn try_lock(conn: &mut PgConnection, key: i64) -> Result<bool, Error> {
    ask(conn, "SELECT pg_try_advisory_lock($1) AS taken", key)
}

/// Takes `key` shared, waiting while someone holds it exclusively.
pub fn lock_shared(conn: &mut PgConnection, key: i64) -> Result<(), Error> {
    diesel::sql_query("SELECT pg_advisory_lock_shared($1)")
        .bind::<BigInt, _>(key)
        .execute(conn)?;
    Ok(())
}

/// Lets go of an exclusive hold of `key`; `false` if this session did not hold it.
pub fn unlock(conn: &mut PgConnection, key: i64) -> Result<bool, Error> {
    ask(conn, "SELECT pg_advisory_unlock($1) AS taken", key)
}

/// A connection of its own for the locks of background work. It connects when first asked
/// and again after losing the server (a lost connection has lost its locks too, so the next
/// turn asks anew).
#[derive(Clone)]
pub struct Locks {
    url: Arc<str>,
    conn: Arc<Mutex<Option<PgConnection>>>,
}

impl Locks {
    pub fn new(url: &str) -> Locks {
        Locks {
            url: url.into(),
            conn: Arc::new(Mutex::new(None)),
        }
    }

    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (url, conn) = (self.url.clone(), self.conn.clone());
        actix_web::web::block(move || {
            let mut held = conn.lock().unwrap_or_else(|p| p.into_inner());
            if held.is_none() {
                let conn = PgConnection::establish(&url)
                    .map_err(|e| Error::Unavailable(e.to_string().trim().to_owned()))?;
                *held = Some(conn);
            }
            let result = work(held.as_mut().expect("connected above"));
            if result.is_err() {
                // Whatever went wrong, a new connection starts clean.
                *held = None;
            }
            result
        })
        .await?
    }

    /// Takes `key` if no process holds it: `true` when this one now does.
    pub async fn try_lock(&self, key: i64) -> Result<bool, Error> {
        self.with(move |conn| try_lock(conn, key)).await
    }

    pub async fn unlock(&self, key: i64) -> Result<(), Error> {
        self.with(move |conn| unlock(conn, key).map(|_| ())).await
    }
}

impl Locks {
    /// Runs one turn of `job` if no other process is running it now: `None` when another
    /// is (or the database cannot say), the turn's result otherwise. Counted in `/metrics`.
    pub async fn turn<T>(
        &self,
        job: Job,
        work: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Option<Result<T, Error>> {
        match self.try_lock(job.key()).await {
            Ok(true) => {}
            Ok(false) => {
                crate::telemetry::job_skipped(job.name());
                return None;
            }
            Err(e) => {
                log::warn!("{}: not run: its lock cannot be taken: {e}", job.name());
                crate::telemetry::job_ran(job.name(), false, std::time::Duration::ZERO);
                return None;
            }
        }
        let mut held = Held {
            locks: self.clone(),
            key: job.key(),
            armed: true,
        };
        let started = std::time::Instant::now();
        let result = work.await;
        crate::telemetry::job_ran(job.name(), result.is_ok(), started.elapsed());
        held.armed = false;
        if let Err(e) = self.unlock(job.key()).await {
            // Its connection is gone, and the lock with it.
            log::debug!("{}: unlock: {e}", job.name());
        }
        Some(result)
    }
}

/// A job's lock while its turn runs: let go however the turn ends, done or dropped halfway
/// (the connection is shared by every job, so it would otherwise hold the lock for good).
struct Held {
    locks: Locks,
    key: i64,
    /// Until the turn ends and lets go itself.
    armed: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (locks, key) = (self.locks.clone(), self.key);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = locks.unlock(key).await {
                    // Its connection is gone, and the lock with it.
                    log::debug!("advisory unlock: {e}");
                }
            });
        }
    }
}
