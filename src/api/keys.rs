//! API keys over REST: the first admin key (setup), and keys for readers.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::caller::{Admin, Caller};
use super::error::ApiError;
use super::json::optional_json;
use super::ErrorBody;
use crate::auth::keys::{self, valid_label, ApiKey};
use crate::error::Error;
use crate::{db, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// A name for the admin key (default "admin").
    pub label: Option<String>,
    /// The one-time setup token from the server's log at start-up, or `libris setup-token`.
    pub setup_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    pub label: String,
    #[serde(default)]
    pub is_admin: bool,
}

/// A new key: `key` is shown this once and never stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    pub id: Uuid,
    pub key: String,
    pub label: String,
    pub is_admin: bool,
}

fn created((row, key): (ApiKey, String)) -> HttpResponse {
    HttpResponse::Created().json(CreatedKey {
        id: row.id,
        key,
        label: row.label,
        is_admin: row.is_admin,
    })
}

/// Creates the first admin key, given the setup token the server printed at start-up (and
/// `libris setup-token` prints). Only while no key exists: exactly one of several concurrent
/// calls wins.
#[utoipa::path(
    tag = "keys",
    request_body = SetupRequest,
    responses(
        (status = 201, body = CreatedKey),
        (status = 403, description = "not the setup token", body = ErrorBody),
        (status = 409, description = "a key already exists", body = ErrorBody),
        (status = 400, body = ErrorBody),
    )
)]
#[post("/auth/setup")]
pub async fn setup(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let request: SetupRequest = optional_json(&body)?
        .ok_or_else(|| Error::invalid("setup_token", "required: see the server's log"))?;
    if !state.is_setup_token(&request.setup_token) {
        return Err(Error::Forbidden(
            "not the setup token: see the server's log at start-up or `libris setup-token`".into(),
        )
        .into());
    }
    let label = valid_label(request.label.as_deref().unwrap_or("admin"))?;
    let made = db::run(&state.pool, move |conn| keys::setup(conn, &label)).await?;
    Ok(created(made))
}

#[utoipa::path(
    tag = "keys",
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedKey),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    )
)]
#[post("/keys")]
pub async fn create(
    state: web::Data<AppState>,
    _admin: Admin,
    body: web::Json<CreateKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let label = valid_label(&body.label)?;
    let is_admin = body.is_admin;
    let made = db::run(&state.pool, move |conn| {
        keys::create(conn, &label, is_admin)
    })
    .await?;
    Ok(created(made))
}

/// Admins see every key; other readers their own. Never a key or its hash.
#[utoipa::path(
    tag = "keys",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiKey>), (status = 401, body = ErrorBody))
)]
#[get("/keys")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let rows = db::run(&state.pool, move |conn| {
        let all = keys::list(conn)?;
        Ok(all
            .into_iter()
            .filter(|k| caller.is_admin || k.id == caller.key_id)
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Deletes a key and what its reader owns (reading history stays, unattributed).
#[utoipa::path(
    tag = "keys",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the caller's own key, or the last admin key", body = ErrorBody),
    )
)]
#[delete("/keys/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    if id == admin.0.key_id {
        return Err(Error::Conflict("an admin cannot delete their own key".into()).into());
    }
    db::run(&state.pool, move |conn| keys::remove(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
