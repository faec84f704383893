//! The Prometheus recorder behind the `metrics` facade, one per process.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::{BUILD_INFO, DB_CONNECTIONS, KOSYNC_BATCH};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Seconds: from a cached KoSync GET (~0.2 ms) to a large upload or a slow page.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Reports per group-commit statement (at most 64).
const BATCH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// Installs the recorder (once; later calls, as every test app makes, change nothing).
/// `false` when another recorder was installed first, so that `/metrics` has nothing to show.
pub fn install() -> bool {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(KOSYNC_BATCH.into()), BATCH));
            let handle = match builder.map(PrometheusBuilder::install_recorder) {
                Ok(Ok(handle)) => handle,
                Ok(Err(e)) | Err(e) => {
                    log::warn!("metrics are off: {e}");
                    return None;
                }
            };
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Some(handle)
        })
        .is_some()
}

/// Folds histogram samples into their buckets. Samples pile up in memory until this runs:
/// the server runs it every few seconds, scraped or not (`background::start`).
pub fn upkeep() {
    if let Some(Some(handle)) = HANDLE.get() {
        handle.run_upkeep();
    }
}

/// The Prometheus text format of every metric now, with the pool's connections as they are
/// (`total`, `idle`) at this moment. `None` when no recorder is installed.
pub fn render(connections: u32, idle: u32) -> Option<String> {
    let handle = HANDLE.get()?.as_ref()?;
    metrics::gauge!(DB_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(DB_CONNECTIONS, "state" => "busy").set(connections.saturating_sub(idle));
    handle.run_upkeep();
    Some(handle.render())
}
