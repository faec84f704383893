//! A reader's Hardcover account: the API token (sealed at rest, never shown again) and
//! whether Hardcover accepts it.

use actix_web::{get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ApiError;
use super::ErrorBody;
use crate::auth::credentials;
use crate::error::Error;
use crate::hardcover::status::{self as sync_status, Run, Synced};
use crate::hardcover::sync::{self, Report, Trigger, Waited};
use crate::hardcover::{token, Me};
use crate::{db, AppState};

use crate::hardcover::SERVICE;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetToken {
    /// The API token from Hardcover's settings page ("Bearer " in front is fine).
    pub token: String,
    /// A name for it; unique among readers. Default: `hardcover-<key id>`.
    pub label: Option<String>,
}

/// Stores the caller's Hardcover API token, sealed (XChaCha20-Poly1305 under a key derived
/// from the server secret). No response ever shows it again.
#[utoipa::path(
    tag = "hardcover",
    security(("bearer" = [])),
    request_body = SetToken,
    responses(
        (status = 200, description = "stored; the service and label"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "label taken", body = ErrorBody),
    )
)]
#[put("/credentials/hardcover")]
pub async fn set_token(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<SetToken>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (label, sealed) = token::prepare(
        &state.hardcover.token_key,
        caller.key_id,
        &body.token,
        body.label.as_deref(),
    )?;
    let shown = label.clone();
    db::run(&state.pool, move |conn| {
        credentials::set(conn, SERVICE, caller.key_id, &label, &sealed)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "service": SERVICE, "username": shown })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// missing (none stored), valid, invalid (Hardcover refuses it), unreadable (sealed under
    /// another server secret: store it again), unreachable, or rate_limited.
    pub token: &'static str,
    /// The Hardcover account the token belongs to, when valid.
    #[schema(value_type = Option<Object>)]
    pub account: Option<Me>,
    /// Why it is not valid, for a person.
    pub message: Option<String>,
    /// Books of the library linked to Hardcover.
    pub linked_books: i64,
    /// Books whose status this reader has synced with Hardcover.
    pub synced_books: i64,
    /// This reader's latest sync run.
    pub last_run: Option<Run>,
}

/// Whether Hardcover accepts the caller's token (one request to Hardcover), and how much of
/// the library is linked.
#[utoipa::path(
    tag = "hardcover",
    security(("bearer" = [])),
    responses((status = 200, body = Status), (status = 401, body = ErrorBody))
)]
#[get("/hardcover/status")]
pub async fn status(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let key_id = caller.key_id;
    let (stored, linked_books, synced_books, last_run) = db::run(&state.pool, move |conn| {
        let stored = credentials::stored(conn, SERVICE, key_id)?;
        let (linked, synced, last_run) = sync_status::standing(conn, key_id)?;
        Ok((stored, linked, synced, last_run))
    })
    .await?;
    let check = sync_status::check_token(&state.hardcover, key_id, stored).await?;
    let status = Status {
        token: check.token,
        account: check.account,
        message: check.message,
        linked_books,
        synced_books,
        last_run,
    };
    Ok(HttpResponse::Ok().json(status))
}

/// Syncs the caller's reading statuses with Hardcover now: links books by ISBN, pulls the
/// caller's Hardcover statuses, pushes what changed. Answers the run's report, or 202 with
/// its id when it takes longer than 20 s (Hardcover takes a request a second, so a first
/// run over a large library does): it goes on, and GET /api/hardcover/log shows it.
#[utoipa::path(
    tag = "hardcover",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Report),
        (status = 202, description = "still running after 20 s: {\"run_id\", \"running\": true}"),
        (status = 401, body = ErrorBody),
        (status = 409, description = "sync off, no token, or a run under way", body = ErrorBody),
    )
)]
#[post("/hardcover/sync")]
pub async fn sync_now(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let waited = sync::run_waiting(
        state.hardcover.clone(),
        caller.key_id,
        Trigger::Api,
        state.config.hardcover_sync_wait,
    )
    .await?;
    Ok(match waited {
        Waited::Done(report) => HttpResponse::Ok().json(report),
        Waited::Running(run_id) => {
            HttpResponse::Accepted().json(serde_json::json!({ "run_id": run_id, "running": true }))
        }
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Log {
    /// The caller's latest runs, newest first (at most 20).
    pub runs: Vec<Run>,
    /// What was last sent per book, most recent first.
    pub books: Vec<Synced>,
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
pub struct LogQuery {
    /// Books listed (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The caller's sync runs and what was last sent for each book.
#[utoipa::path(
    tag = "hardcover",
    security(("bearer" = [])),
    params(LogQuery),
    responses((status = 200, body = Log), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
#[get("/hardcover/log")]
pub async fn log(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "expected 1 to 1000").into());
    }
    let key_id = caller.key_id;
    let log = db::run(&state.pool, move |conn| {
        let (runs, books) = sync_status::log(conn, key_id, limit)?;
        Ok(Log { runs, books })
    })
    .await?;
    Ok(HttpResponse::Ok().json(log))
}
