use std::time::Instant;

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::{db, AppState};

/// Readiness: 200 with the database's state, or 503 naming the cause. (`/healthcheck` is the
/// KoSync liveness check and never touches the database.)
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "the database answers"),
        (status = 503, description = "the database is unreachable"),
    )
)]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let started = Instant::now();
    let checked = db::run(&state.pool, |conn| db::server_version(conn)).await;
    let pool = state.pool.state();
    let pool = json!({ "connections": pool.connections, "idle": pool.idle_connections });
    match checked {
        Ok(v) => HttpResponse::Ok().json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "database": {
                "status": "ok",
                "server_version": v,
                "latency_ms": started.elapsed().as_secs_f64() * 1000.0,
                "pool": pool,
            },
            "auth": state.verifier.stats(),
            "kosync": { "report_batches": state.reports.stats() },
            "jobs": { "reading_rebuild": state.jobs.rebuild_status() },
        })),
        Err(e) => HttpResponse::ServiceUnavailable().json(json!({
            "status": "unavailable",
            "error": "database_unavailable",
            "message": format!("database unreachable: {e}"),
            "database": { "status": "down", "pool": pool },
        })),
    }
}
