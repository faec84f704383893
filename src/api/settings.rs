//! Runtime settings over REST (admin).

use actix_web::{get, patch, web, HttpResponse};
use serde_json::Value;

use super::caller::Admin;
use super::error::ApiError;
use super::ErrorBody;
use crate::settings::{self, Settings};
use crate::{db, AppState};

#[utoipa::path(
    tag = "settings",
    security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 403, body = ErrorBody))
)]
#[get("/settings")]
pub async fn get(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, ApiError> {
    let config = state.config.clone();
    let current = db::run(&state.pool, move |conn| settings::load(conn, &config)).await?;
    Ok(HttpResponse::Ok().json(current))
}

/// Changes some settings; all or nothing. Answers with every setting's effective value.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = [])),
    request_body(content = Object, description = "a subset of the settings, e.g. {\"opds.page_size\": 25}"),
    responses(
        (status = 200, body = Settings),
        (status = 400, description = "unknown key or wrong type, named in the message", body = ErrorBody),
        (status = 403, body = ErrorBody),
    )
)]
#[patch("/settings")]
pub async fn update(
    state: web::Data<AppState>,
    _admin: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let values = settings::validate_patch(&body)?;
    let current = state.change_settings(values).await?;
    Ok(HttpResponse::Ok().json(current))
}
