//! Group commit of KoSync reports: reports that arrive while earlier ones are being written
//! wait in one queue; a writer takes all of them (up to [`MAX_BATCH`]) and writes them with
//! one statement over arrays (`sql/record_batch.sql`, prepared once per connection), one
//! commit; only then is each request answered. There is no delay: a writer that finds one
//! report writes it at once, with the same statement.
//!
//! - At most `writers` batches are in flight at once; a report that finds them all busy waits
//!   for the next batch, so the busier the server, the more each commit carries.
//! - The statement applies the reports of one (reader, document, device) in arrival order
//!   (the last is current, each has its history row) and locks rows in key order, so two
//!   batches never wait for each other in a cycle.
//! - Each report still names the password hash its key was verified against, and the
//!   statement sees every change committed before it runs: a credential changed or deleted
//!   while the report waited is honoured (that report gets `None`, as from [`super::record`]).
//! - Reports are validated before they are queued. If the statement fails anyway (a book
//!   deleted meanwhile, a lost connection), nothing of it is kept and every report is written
//!   again on its own, so only the culprit gets its error.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use diesel::pg::PgConnection;
use tokio::sync::oneshot;

use super::derive::Rules;
use super::progress::{record_all, Recorded, Report, Verified};
use super::state::RulesCache;
use crate::db::{self, DbPool};
use crate::error::Error;
use crate::telemetry;

/// The most reports one statement carries.
pub const MAX_BATCH: usize = 64;

/// The most reports waiting at once: beyond them a report is refused at once (502/2000, which
/// KOReader retries later) rather than held in memory behind a database that keeps no pace.
const MAX_WAITING: usize = 16 * MAX_BATCH;

/// The upper bounds of the batch size counters in [`BatchStats`].
const BUCKETS: [usize; 7] = [1, 2, 4, 8, 16, 32, MAX_BATCH];

/// What one report came to: as [`super::record`] answers.
pub type Outcome = Result<Option<Recorded>, Error>;

/// A batch written: each report's outcome, in the batch's order, and whether the batch's
/// statement failed and its reports were written one by one.
pub struct Written {
    pub outcomes: Vec<Outcome>,
    pub fell_back: bool,
}

/// Writes `batch` (see the module's comment) in one statement or, when that fails and there
/// is more than one report, each on its own.
pub fn write(conn: &mut PgConnection, rules: &Rules, batch: &[Verified]) -> Written {
    let written = write_batch(conn, rules, batch);
    let stored = written
        .outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Some(_))))
        .count();
    metrics::counter!(telemetry::KOSYNC_REPORTS).increment(stored as u64);
    metrics::histogram!(telemetry::KOSYNC_BATCH).record(batch.len() as f64);
    written
}

fn write_batch(conn: &mut PgConnection, rules: &Rules, batch: &[Verified]) -> Written {
    match record_all(conn, rules, batch) {
        Ok(outcomes) => Written {
            outcomes: outcomes.into_iter().map(Ok).collect(),
            fell_back: false,
        },
        // Nothing more is tried on a lost connection: the first report carries the error
        // itself (so the connection is seen broken), the others share it.
        Err(e) if batch.len() == 1 || is_connection_loss(&e) => {
            let mut outcomes: Vec<Outcome> = batch[1..].iter().map(|_| Err(shared(&e))).collect();
            outcomes.insert(0, Err(e));
            Written {
                outcomes,
                fell_back: false,
            }
        }
        Err(e) => {
            log::debug!(
                "a batch of {} reports failed ({e}); writing them one by one",
                batch.len()
            );
            let outcomes = batch
                .iter()
                .map(|v| Ok(record_all(conn, rules, std::slice::from_ref(v))?.remove(0)))
                .collect();
            Written {
                outcomes,
                fell_back: true,
            }
        }
    }
}

type Waiting = (Verified, oneshot::Sender<Outcome>);

struct Queue {
    waiting: VecDeque<Waiting>,
    /// Writers running (each writes one batch at a time).
    writers: usize,
}

/// The batch sizes seen since the start, for `GET /api/health`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BatchStats {
    /// Transactions written (a lone report counts as a batch of one).
    pub batches: u64,
    pub reports: u64,
    /// Batches whose transaction failed and whose reports were written one by one.
    pub fell_back: u64,
    /// How many batches had at most `up_to` reports (and more than the bound before).
    pub sizes: Vec<SizeCount>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SizeCount {
    pub up_to: usize,
    pub batches: u64,
}

/// The queue of reports and the writers that empty it (see the module's comment), handed the
/// pool and the reading rules.
pub struct Writer {
    pool: DbPool,
    rules: Arc<RulesCache>,
    max_writers: usize,
    queue: Mutex<Queue>,
    batches: AtomicU64,
    reports: AtomicU64,
    fell_back: AtomicU64,
    sizes: [AtomicU64; BUCKETS.len()],
}

impl Writer {
    /// At most `writers` batches in flight at once (at least one).
    pub fn new(pool: DbPool, rules: Arc<RulesCache>, writers: usize) -> Writer {
        Writer {
            pool,
            rules,
            max_writers: writers.max(1),
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                writers: 0,
            }),
            batches: AtomicU64::new(0),
            reports: AtomicU64::new(0),
            fell_back: AtomicU64::new(0),
            sizes: Default::default(),
        }
    }

    /// Records `report` as [`super::record`] does, in the next batch; answers once that
    /// batch is committed (or failed).
    pub async fn record(
        self: &Arc<Self>,
        username: String,
        password_hash: String,
        report: Arc<Report>,
        timestamp: i64,
    ) -> Outcome {
        let (reply, answer) = oneshot::channel();
        let queued = Verified {
            username,
            password_hash,
            report,
            timestamp,
        };
        let start_writer = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            if queue.waiting.len() >= MAX_WAITING {
                return Err(Error::Unavailable("too many reports are waiting".into()));
            }
            queue.waiting.push_back((queued, reply));
            let start = queue.writers < self.max_writers;
            if start {
                queue.writers += 1;
            }
            start
        };
        if start_writer {
            tokio::spawn(self.clone().drain());
        }
        answer
            .await
            .map_err(|_| Error::Internal("the report writer stopped".into()))?
    }

    /// Writes batches until the queue is empty, on one connection held meanwhile: the next
    /// batch starts as soon as the last one's answers are sent, with no hand-over between
    /// threads. A lost connection is given back and another one taken.
    async fn drain(self: Arc<Self>) {
        let slot = Slot {
            writer: self.clone(),
            held: Arc::new(AtomicBool::new(true)),
        };
        loop {
            let (writer, held) = (self.clone(), slot.held.clone());
            let timeout = self.pool.wait();
            let drained = db::run(&self.pool, move |conn| {
                writer.write_until_empty(conn, &held, timeout)
            })
            .await;
            match drained {
                Ok(Drained::Empty) => return,
                Ok(Drained::ConnectionLost) => {
                    if self.release_if_empty(&slot.held) {
                        return;
                    }
                }
                Err(e) => {
                    // No connection in time. Another writer may still be writing: it takes
                    // the waiting reports. The last one answers them with the error (the
                    // database is away, and each request's client is waiting).
                    let waiting: Vec<Waiting> = {
                        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                        if queue.writers > 1 {
                            if slot.held.swap(false, Ordering::SeqCst) {
                                queue.writers -= 1;
                            }
                            return;
                        }
                        queue.waiting.drain(..).collect()
                    };
                    for (_, reply) in waiting {
                        let _ = reply.send(Err(shared(&e)));
                    }
                    if self.release_if_empty(&slot.held) {
                        return;
                    }
                }
            }
        }
    }

    /// The loop of [`Self::drain`] on `conn`. While the writer holds it, a statement may run
    /// at most `timeout` (the pool's wait): a batch stuck behind a lock fails, and the
    /// reports queued behind it are not held without end.
    fn write_until_empty(
        &self,
        conn: &mut db::Conn,
        held: &AtomicBool,
        timeout: std::time::Duration,
    ) -> Result<Drained, Error> {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!("SET statement_timeout = {}", timeout.as_millis()))?;
        let drained = self.write_batches(conn, held);
        if !conn.is_broken() {
            conn.batch_execute("RESET statement_timeout")?;
        }
        Ok(drained)
    }

    fn write_batches(&self, conn: &mut db::Conn, held: &AtomicBool) -> Drained {
        loop {
            let batch: Vec<Waiting> = {
                let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                if queue.waiting.is_empty() {
                    // Under the same lock as the check: a report queued after it starts a writer.
                    if held.swap(false, Ordering::SeqCst) {
                        queue.writers -= 1;
                    }
                    return Drained::Empty;
                }
                let n = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..n).collect()
            };
            self.count(batch.len());
            let (items, replies): (Vec<Verified>, Vec<oneshot::Sender<Outcome>>) =
                batch.into_iter().unzip();
            let written = match self.rules.get(conn) {
                Ok(rules) => write(conn, &rules, &items),
                Err(e) => {
                    conn.note(&e);
                    Written {
                        outcomes: items.iter().map(|_| Err(shared(&e))).collect(),
                        fell_back: false,
                    }
                }
            };
            if written.fell_back {
                self.fell_back.fetch_add(1, Ordering::Relaxed);
            }
            for outcome in &written.outcomes {
                if let Err(e) = outcome {
                    conn.note(e);
                }
            }
            for (reply, outcome) in replies.into_iter().zip(written.outcomes) {
                let _ = reply.send(outcome);
            }
            if conn.is_broken() {
                return Drained::ConnectionLost;
            }
        }
    }

    /// Gives the writer's place back if no report waits (under the queue's lock, so a report
    /// queued after the check starts a writer); whether it did.
    fn release_if_empty(&self, held: &AtomicBool) -> bool {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if !queue.waiting.is_empty() {
            return false;
        }
        if held.swap(false, Ordering::SeqCst) {
            queue.writers -= 1;
        }
        true
    }

    fn count(&self, size: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.reports.fetch_add(size as u64, Ordering::Relaxed);
        let bucket = BUCKETS
            .iter()
            .position(|&b| size <= b)
            .unwrap_or(BUCKETS.len() - 1);
        self.sizes[bucket].fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> BatchStats {
        BatchStats {
            batches: self.batches.load(Ordering::Relaxed),
            reports: self.reports.load(Ordering::Relaxed),
            fell_back: self.fell_back.load(Ordering::Relaxed),
            sizes: BUCKETS
                .iter()
                .zip(&self.sizes)
                .map(|(&up_to, n)| SizeCount {
                    up_to,
                    batches: n.load(Ordering::Relaxed),
                })
                .collect(),
        }
    }
}

/// How a writer's loop on one connection ended.
enum Drained {
    /// No report waits; the writer's place is given back.
    Empty,
    /// The connection is gone; the writer goes on with another one.
    ConnectionLost,
}

/// A running writer's place: given back if its task ends early (its runtime stopped), so
/// that a later report starts a writer again. `held` is cleared by whoever gives it back.
struct Slot {
    writer: Arc<Writer>,
    held: Arc<AtomicBool>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let stranded: Vec<Waiting> = {
            let mut queue = self.writer.queue.lock().unwrap_or_else(|p| p.into_inner());
            if !self.held.swap(false, Ordering::SeqCst) {
                return;
            }
            queue.writers -= 1;
            // The last writer stopped early (its runtime is going away): no one else would
            // answer the reports still waiting.
            if queue.writers > 0 {
                return;
            }
            queue.waiting.drain(..).collect()
        };
        for (_, reply) in stranded {
            let _ = reply.send(Err(Error::Unavailable("the server is stopping".into())));
        }
    }
}

/// Whether `e` says the link to the database is lost (then nothing more is tried on it).
fn is_connection_loss(e: &Error) -> bool {
    match e {
        Error::Database(d) => db::is_connection_loss(d),
        _ => false,
    }
}

/// The error of a whole batch (no connection in time, the rules unreadable), for each of its
/// reports.
fn shared(e: &Error) -> Error {
    match e {
        Error::Internal(s) => Error::Internal(s.clone()),
        Error::Unavailable(s) => Error::Unavailable(s.clone()),
        other => Error::Unavailable(other.to_string()),
    }
}
