//! All the work a server does besides answering requests, started in one place: the metrics'
//! upkeep, the reading
//! sweep, deleting ended web sessions, removing the WebDAV spaces of readers who are gone, the
//! inbox watcher, the covers of PDFs and DjVus (their first page), Hardcover's metadata
//! lookups and its daily sync. (A rebuild of reading aggregates after a change of rules is
//! started by the settings endpoint that changes them; its state shows in `GET /api/health`.)
//!
//! Several libris processes may share one database and data dir: each turn of each job first
//! takes the job's advisory lock ([`Locks::turn`]), so a job runs in one
//! process at a time, and whichever process is alive picks it up.

use crate::db::advisory::Locks;
use crate::{auth, cloud, hardcover, library, reading, AppState};

/// Spawns every background task on the current actix system; each runs for the life of the
/// server.
pub fn start(state: &AppState) {
    let config = &state.config;
    actix_web::rt::spawn(async {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            crate::telemetry::upkeep();
        }
    });
    let locks = Locks::new(&config.database_url);
    if let Some(every) = config.sweep_every {
        actix_web::rt::spawn(reading::jobs::sweep_forever(
            state.pool.clone(),
            every,
            locks.clone(),
        ));
    }
    let lifetimes = auth::sessions::Lifetimes::of(config);
    actix_web::rt::spawn(auth::sessions::sweep_forever(
        state.pool.clone(),
        lifetimes,
        locks.clone(),
    ));
    actix_web::rt::spawn(cloud::space::sweep_forever(
        state.pool.clone(),
        config.data_dir.clone(),
        locks.clone(),
    ));
    if let Some(dir) = config.inbox_dir.clone() {
        actix_web::rt::spawn(library::inbox::watch(state.inbox(), dir, locks.clone()));
    }
    actix_web::rt::spawn(library::page_covers::work(
        state.page_covers.clone(),
        locks.clone(),
    ));
    actix_web::rt::spawn(hardcover::metadata::work(
        state.hardcover.clone(),
        locks.clone(),
    ));
    if let Some(at) = config.hardcover_sync_at {
        actix_web::rt::spawn(hardcover::schedule::daily(
            state.hardcover.clone(),
            at,
            locks,
        ));
    }
}
