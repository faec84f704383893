//! A reader's reading goals over REST: books a year, books a month, minutes a day, with how
//! far they are (computed each time: `reading::goals`).

use actix_web::{delete, get, put, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ApiError;
use super::ErrorBody;
use crate::error::Error;
use crate::reading::goals::{self, Goal, GoalKind, GoalProgress};
use crate::{db, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalRequest {
    /// Books (a year or a month) or minutes (a day): a whole number from 1 to 366, 31 or
    /// 1,440.
    pub target: i64,
}

fn kind(raw: &str) -> Result<GoalKind, Error> {
    GoalKind::parse(raw).ok_or_else(|| {
        Error::NotFound(format!(
            "no goal kind {raw}: books_per_year, books_per_month or minutes_per_day"
        ))
    })
}

/// The caller's goals with their progress today (UTC days, months and years).
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<GoalProgress>), (status = 401, body = ErrorBody))
)]
#[get("/goals")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let reader = caller.key_id;
    let today = Utc::now().date_naive();
    let stats = state.stats.clone();
    let result = db::run(&state.pool, move |conn| {
        goals::with_progress(conn, &stats, reader, today)
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// Sets or changes one of the caller's goals.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(("kind" = GoalKind, Path)),
    request_body = GoalRequest,
    responses((status = 200, body = Goal), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[put("/goals/{kind}")]
pub async fn set(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<GoalRequest>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind(&path)?;
    let target = body.into_inner().target;
    goals::check_target(kind, target)?;
    let reader = caller.key_id;
    let goal = db::run(&state.pool, move |conn| {
        goals::set(conn, reader, kind, target)
    })
    .await?;
    Ok(HttpResponse::Ok().json(goal))
}

/// Removes one of the caller's goals.
#[utoipa::path(
    tag = "reading",
    security(("bearer" = [])),
    params(("kind" = GoalKind, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/goals/{kind}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind(&path)?;
    let reader = caller.key_id;
    let removed = db::run(&state.pool, move |conn| goals::remove(conn, reader, kind)).await?;
    if !removed {
        return Err(Error::NotFound(format!("no goal {}", kind.as_str())).into());
    }
    Ok(HttpResponse::NoContent().finish())
}
