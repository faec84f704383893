//! What the server tells its operators: Prometheus metrics and the log format.
//!
//! Code anywhere records through the `metrics` facade with the names below (one place, so
//! docs/operations.md's list can be checked against it); [`install`] puts a Prometheus
//! recorder behind the facade once per process, and [`render`] writes the text format that
//! `/metrics` serves. Without a recorder (the command-line tools) recording costs nothing.

mod families;
mod log_format;
mod recorder;

pub use families::{family, middleware};
pub use log_format::{init_logging, LogFormat};
pub use recorder::{install, render, upkeep};

/// Requests answered, by route family (`family`) and status (`status`).
pub const HTTP_REQUESTS: &str = "libris_http_requests_total";
/// Time to a response's head, by route family (histogram, seconds).
pub const HTTP_DURATION: &str = "libris_http_request_duration_seconds";
/// KoSync progress reports written to the database.
pub const KOSYNC_REPORTS: &str = "libris_kosync_reports_written_total";
/// Reports written per statement by the group commit (histogram).
pub const KOSYNC_BATCH: &str = "libris_kosync_batch_size";
/// Time a request waited for a database connection, queue and checkout (histogram, seconds).
pub const DB_WAIT: &str = "libris_db_wait_seconds";
/// Requests that found no free connection in time (answered 502/503).
pub const DB_TIMEOUTS: &str = "libris_db_wait_timeouts_total";
/// Database work that ended in a database error (not a not-found or a refusal).
pub const DB_ERRORS: &str = "libris_db_errors_total";
/// Connections in the pool now, by `state` (`idle`, `busy`).
pub const DB_CONNECTIONS: &str = "libris_db_connections";
/// Catalog and web-library cache lookups, by `result` (`hit`, `shared`: waited for another
/// request's computation, `miss`: computed).
pub const CACHE_LOOKUPS: &str = "libris_catalog_cache_lookups_total";
/// Files ingested into the library, by `outcome` (`created`: a new book, `added`: a format
/// of a book already there, `duplicate`, `refused`: not a book libris reads, `failed`).
pub const INGEST: &str = "libris_ingest_files_total";
/// Hardcover work done, by `run` (`sync`, `lookup`) and `outcome` (`ok`, `failed`).
pub const HARDCOVER_RUNS: &str = "libris_hardcover_runs_total";
/// Background job runs, by `job` and `outcome` (`ok`, `failed`, `skipped`: another
/// instance holds the job).
pub const JOB_RUNS: &str = "libris_job_runs_total";
/// Background job run time, by `job` (histogram, seconds).
pub const JOB_DURATION: &str = "libris_job_duration_seconds";
/// Always 1, labelled with the running `version`.
pub const BUILD_INFO: &str = "libris_build_info";

/// Every metric, with its type, for the documentation test.
pub const ALL: &[(&str, &str)] = &[
    (HTTP_REQUESTS, "counter"),
    (HTTP_DURATION, "histogram"),
    (KOSYNC_REPORTS, "counter"),
    (KOSYNC_BATCH, "histogram"),
    (DB_WAIT, "histogram"),
    (DB_TIMEOUTS, "counter"),
    (DB_ERRORS, "counter"),
    (DB_CONNECTIONS, "gauge"),
    (CACHE_LOOKUPS, "counter"),
    (INGEST, "counter"),
    (HARDCOVER_RUNS, "counter"),
    (JOB_RUNS, "counter"),
    (JOB_DURATION, "histogram"),
    (BUILD_INFO, "gauge"),
];

/// Records one run of a background job: its outcome and how long it took.
pub fn job_ran(job: &'static str, ok: bool, took: std::time::Duration) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::counter!(JOB_RUNS, "job" => job, "outcome" => outcome).increment(1);
    metrics::histogram!(JOB_DURATION, "job" => job).record(took.as_secs_f64());
}

/// Records a job's turn passed over because another instance holds it.
pub fn job_skipped(job: &'static str) {
    metrics::counter!(JOB_RUNS, "job" => job, "outcome" => "skipped").increment(1);
}
