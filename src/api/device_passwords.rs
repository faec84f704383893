//! A reader's device passwords over REST: make one (shown once), list them with their last
//! use, revoke one (`auth::device_passwords`).

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::caller::Caller;
use super::error::ApiError;
use super::ErrorBody;
use crate::auth::device_passwords::{self, DevicePassword};
use crate::{db, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevicePassword {
    /// What the device is called ("Kobo Libra"): 1–100 characters, unique among the caller's.
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDevicePassword {
    #[serde(flatten)]
    pub row: DevicePassword,
    /// The password: shown this once, never stored.
    pub password: String,
}

/// The caller's device passwords, oldest first, with their last use.
#[utoipa::path(
    tag = "credentials",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<DevicePassword>), (status = 401, body = ErrorBody))
)]
#[get("/device-passwords")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let reader = caller.key_id;
    let rows = db::run(&state.pool, move |conn| {
        device_passwords::list(conn, reader)
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Makes a device password. It opens KoSync (under the caller's KoSync username), OPDS,
/// WebDAV and the Notes API (under any of the caller's usernames).
#[utoipa::path(
    tag = "credentials",
    security(("bearer" = [])),
    request_body = NewDevicePassword,
    responses((status = 201, body = CreatedDevicePassword), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
#[post("/device-passwords")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewDevicePassword>,
) -> Result<HttpResponse, ApiError> {
    let reader = caller.key_id;
    let label = device_passwords::valid_label(&body.into_inner().label)?;
    let (row, password) = db::run(&state.pool, move |conn| {
        device_passwords::create(conn, reader, &label)
    })
    .await?;
    Ok(HttpResponse::Created().json(CreatedDevicePassword { row, password }))
}

/// Revokes one of the caller's device passwords: the device it was typed into is refused
/// from the next request on.
#[utoipa::path(
    tag = "credentials",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/device-passwords/{id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (reader, id) = (caller.key_id, path.into_inner());
    db::run(&state.pool, move |conn| {
        device_passwords::revoke(conn, reader, id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
