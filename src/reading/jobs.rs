//! Background work on reading aggregates: the periodic sweep, and the full rebuild after a
//! change of the rules. Its state shows in `GET /api/health`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::state;
use crate::db::advisory::{Job, Locks};
use crate::db::{self, DbPool};

#[derive(Debug, Clone, Default, Serialize)]
pub struct RebuildStatus {
    pub running: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Reader–book pairs recomputed and aggregates changed by the last run.
    pub scanned: Option<i64>,
    pub changed: Option<i64>,
    pub error: Option<String>,
}

#[derive(Default)]
pub struct Jobs {
    rebuild: Mutex<RebuildStatus>,
    /// A change of rules arrived while a rebuild ran: run again when it ends.
    again: Mutex<bool>,
}

impl Jobs {
    pub fn rebuild_status(&self) -> RebuildStatus {
        self.rebuild
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Starts a rebuild of every aggregate in the background (after the finished threshold or
/// the paused window changed). A request while one runs makes it run once more after.
/// `settle` is how long other processes may still fold reports under the old rules (their
/// rules cache's lifetime): a second pass after it catches those.
pub fn spawn_rebuild(jobs: Arc<Jobs>, pool: DbPool, settle: Duration) {
    {
        let mut status = jobs.rebuild.lock().unwrap_or_else(|p| p.into_inner());
        if status.running {
            *jobs.again.lock().unwrap_or_else(|p| p.into_inner()) = true;
            return;
        }
        *status = RebuildStatus {
            running: true,
            started_at: Some(Utc::now()),
            ..RebuildStatus::default()
        };
    }
    actix_web::rt::spawn(async move {
        loop {
            let mut result = rebuild_all(&pool).await;
            // Another instance may fold reports under the old rules until its cache expires:
            // one more pass after that catches them (it writes only what differs).
            if result.is_ok() && !settle.is_zero() {
                tokio::time::sleep(settle).await;
                result = match (result, rebuild_all(&pool).await) {
                    (Ok(first), Ok(second)) => Ok(state::Rebuilt {
                        scanned: second.scanned,
                        changed: first.changed + second.changed,
                    }),
                    (_, e) => e,
                };
            }
            let again = std::mem::take(&mut *jobs.again.lock().unwrap_or_else(|p| p.into_inner()));
            let mut status = jobs.rebuild.lock().unwrap_or_else(|p| p.into_inner());
            status.finished_at = Some(Utc::now());
            match result {
                Ok(r) => {
                    log::info!(
                        "reading aggregates rebuilt: {} pairs, {} changed",
                        r.scanned,
                        r.changed
                    );
                    status.scanned = Some(r.scanned);
                    status.changed = Some(r.changed);
                    status.error = None;
                }
                Err(e) => {
                    log::error!("rebuilding reading aggregates: {e}");
                    status.error = Some(e.to_string());
                }
            }
            if !again {
                status.running = false;
                return;
            }
        }
    });
}

async fn rebuild_all(pool: &DbPool) -> Result<state::Rebuilt, crate::error::Error> {
    db::run(pool, |conn| {
        let rules = state::rules(conn)?;
        state::rebuild(conn, &rules, None, None)
    })
    .await
}

/// Moves reading → paused as time passes, every `every`, for the life of the server.
pub async fn sweep_forever(pool: DbPool, every: Duration, locks: Locks) {
    loop {
        tokio::time::sleep(every).await;
        let swept = locks.turn(
            Job::ReadingSweep,
            db::run(&pool, |conn| {
                let rules = state::rules(conn)?;
                state::sweep(conn, &rules)
            }),
        );
        match swept.await {
            None | Some(Ok(0)) => {}
            Some(Ok(n)) => log::info!("reading sweep: {n} aggregates now paused"),
            Some(Err(e)) => log::warn!("reading sweep: {e}"),
        }
    }
}
