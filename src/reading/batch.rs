//! Group commit of KoSync reports: reports that arrive while earlier ones are being written
//! wait in one queue; a writer takes all of them (up to [`MAX_BATCH`]) and writes them in one
//! transaction, one report statement each (`sql/record_progress.sql`, prepared once per
//! connection), committing once; only then is each request answered. There is no delay: a
//! writer that finds one report writes it at once, in its own implicit transaction, as before.
//!
//! - At most `writers` batches are in flight at once; a report that finds them all busy waits
//!   for the next batch, so the busier the server, the more each commit carries.
//! - Within a batch the reports run ordered by (username, document, device), a stable sort: the
//!   reports of one (reader, document, device) keep their arrival order (the last one is
//!   current, each has its history row), and two batches lock rows in the same order.
//! - Each statement still names the password hash the report's key was verified against, and
//!   sees every change committed before it runs: a credential changed or deleted while the
//!   report waited is honoured (that report gets `None`, as from [`super::record`]).
//! - Reports are validated before they are queued. If the batch's transaction fails anyway
//!   (a statement or the commit), nothing of it is kept and every report is written again on
//!   its own, so only the culprit gets its error.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use diesel::pg::PgConnection;
use diesel::Connection;
use tokio::sync::oneshot;

use super::derive::Rules;
use super::progress::{record, Recorded, Report};
use super::state::RulesCache;
use crate::db::{self, DbPool};
use crate::error::Error;

/// The most reports one transaction carries.
pub const MAX_BATCH: usize = 64;

/// The upper bounds of the batch size counters in [`BatchStats`].
const BUCKETS: [usize; 7] = [1, 2, 4, 8, 16, 32, MAX_BATCH];

/// One report waiting to be written, for the kosync user `username` whose key was verified
/// against `password_hash`.
#[derive(Debug, Clone)]
pub struct Queued {
    pub username: String,
    pub password_hash: String,
    pub report: Arc<Report>,
    pub timestamp: i64,
}

/// What one report came to: as [`super::record`] answers.
pub type Outcome = Result<Option<Recorded>, Error>;

/// A batch written: each report's outcome, in the batch's order, and whether the batch's
/// transaction failed and its reports were written one by one.
pub struct Written {
    pub outcomes: Vec<Outcome>,
    pub fell_back: bool,
}

/// Writes `batch` (see the module's comment): one report alone in its own statement, more in
/// one transaction, or, when that fails, each on its own.
pub fn write(conn: &mut PgConnection, rules: &Rules, batch: &[Queued]) -> Written {
    let one = |conn: &mut PgConnection, q: &Queued| {
        record(
            conn,
            rules,
            &q.username,
            &q.password_hash,
            &q.report,
            q.timestamp,
        )
    };
    if batch.len() == 1 {
        return Written {
            outcomes: vec![one(conn, &batch[0])],
            fell_back: false,
        };
    }
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| {
        let q = &batch[i];
        (&q.username, &q.report.document, &q.report.device)
    });
    let together = conn.transaction(|conn| {
        let mut outcomes = vec![None; batch.len()];
        for &i in &order {
            outcomes[i] = Some(one(conn, &batch[i])?);
        }
        Ok::<_, Error>(outcomes)
    });
    match together {
        Ok(outcomes) => Written {
            outcomes: outcomes.into_iter().map(|o| Ok(o.flatten())).collect(),
            fell_back: false,
        },
        Err(e) => {
            log::debug!(
                "a batch of {} reports failed ({e}); writing them one by one",
                batch.len()
            );
            let mut outcomes: Vec<Option<Outcome>> = (0..batch.len()).map(|_| None).collect();
            for &i in &order {
                outcomes[i] = Some(one(conn, &batch[i]));
            }
            Written {
                outcomes: outcomes.into_iter().flatten().collect(),
                fell_back: true,
            }
        }
    }
}

type Waiting = (Queued, oneshot::Sender<Outcome>);

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
        let queued = Queued {
            username,
            password_hash,
            report,
            timestamp,
        };
        let start_writer = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
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

    /// Writes batches until the queue is empty.
    async fn drain(self: Arc<Self>) {
        let mut slot = Slot {
            writer: self.clone(),
            held: true,
        };
        loop {
            let batch: Vec<Waiting> = {
                let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                if queue.waiting.is_empty() {
                    // Under the same lock as the check: a report queued after it starts a writer.
                    queue.writers -= 1;
                    slot.held = false;
                    return;
                }
                let n = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..n).collect()
            };
            self.count(batch.len());
            let (items, replies): (Vec<Queued>, Vec<oneshot::Sender<Outcome>>) =
                batch.into_iter().unzip();
            let rules = self.rules.clone();
            let written = db::run(&self.pool, move |conn| {
                let rules = rules.get(conn)?;
                let written = write(conn, &rules, &items);
                for outcome in &written.outcomes {
                    if let Err(e) = outcome {
                        conn.note(e);
                    }
                }
                Ok(written)
            })
            .await;
            match written {
                Ok(written) => {
                    if written.fell_back {
                        self.fell_back.fetch_add(1, Ordering::Relaxed);
                    }
                    for (reply, outcome) in replies.into_iter().zip(written.outcomes) {
                        let _ = reply.send(outcome);
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(shared(&e)));
                    }
                }
            }
        }
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

/// A running writer's place: given back if its task ends early (its runtime stopped), so
/// that a later report starts a writer again.
struct Slot {
    writer: Arc<Writer>,
    held: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.held {
            let mut queue = self.writer.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.writers -= 1;
        }
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
