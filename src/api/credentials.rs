//! A reader's usernames and passwords for KoSync, OPDS and the web app.

use actix_web::{delete, get, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::caller::{Admin, Caller};
use super::error::ApiError;
use super::ErrorBody;
use crate::auth::credentials::CredentialView;
use crate::auth::{credentials, web as accounts, Service};
use crate::{db, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCredential {
    pub username: String,
    /// The plain password. For KoSync, libris stores bcrypt(md5_hex(password)), since
    /// KOReader sends md5_hex(password) as its key.
    pub password: String,
}

async fn set_for(
    state: &AppState,
    key_id: Uuid,
    service_name: &str,
    body: SetCredential,
) -> Result<HttpResponse, ApiError> {
    let service = Service::parse(service_name)?;
    credentials::check_new(service, &body.username, &body.password)?;
    // bcrypt is deliberately slow: never on an async worker, never holding a connection.
    let password = body.password;
    let hash = state
        .bcrypt(move || service.hash_password(&password))
        .await??;
    let username = body.username;
    let shown = username.clone();
    db::run(&state.pool, move |conn| {
        let login = accounts::Login {
            username: &username,
            password_hash: &hash,
        };
        accounts::set_service_login(conn, service, key_id, login, None)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "service": service.as_str(),
        "username": shown,
    })))
}

async fn delete_for(
    state: &AppState,
    key_id: Uuid,
    service_name: &str,
) -> Result<HttpResponse, ApiError> {
    // Any stored credential can be removed, the Hardcover token too.
    let service = match service_name {
        "hardcover" => "hardcover",
        other => Service::parse(other)?.as_str(),
    };
    db::run(&state.pool, move |conn| {
        accounts::remove_service_login(conn, service, key_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "credentials",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<CredentialView>), (status = 401, body = ErrorBody))
)]
#[get("/credentials")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let rows = db::run(&state.pool, move |conn| {
        credentials::list(conn, caller.key_id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Sets the caller's own credential for a service. A web login set here ends the caller's web
/// sessions (a password changed because it leaked must not leave a thief signed in).
#[utoipa::path(
    tag = "credentials",
    security(("bearer" = [])),
    params(("service" = String, Path, description = "kosync, opds or web")),
    responses(
        (status = 200, description = "set"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "username taken for that service", body = ErrorBody),
    )
)]
#[put("/credentials/{service}")]
pub async fn set_own(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<SetCredential>,
) -> Result<HttpResponse, ApiError> {
    set_for(&state, caller.key_id, &path, body.into_inner()).await
}

#[utoipa::path(
    tag = "credentials",
    security(("bearer" = [])),
    params(("service" = String, Path, description = "kosync, opds, web or hardcover")),
    responses(
        (status = 204),
        (status = 400, description = "no such service", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[delete("/credentials/{service}")]
/// Removes one of the caller's credentials; without a web login their web sessions end too.
pub async fn delete_own(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    delete_for(&state, caller.key_id, &path).await
}

/// Sets another reader's credential (admin). A web login set here ends the reader's web sessions.
#[utoipa::path(
    tag = "credentials",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("service" = String, Path, description = "kosync, opds or web")),
    responses(
        (status = 200, description = "set"),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    )
)]
#[put("/keys/{id}/credentials/{service}")]
pub async fn set_other(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<(Uuid, String)>,
    body: web::Json<SetCredential>,
) -> Result<HttpResponse, ApiError> {
    let (id, service) = path.into_inner();
    set_for(&state, id, &service, body.into_inner()).await
}

#[utoipa::path(
    tag = "credentials",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("service" = String, Path, description = "kosync, opds, web or hardcover")),
    responses(
        (status = 204),
        (status = 400, description = "no such service", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[delete("/keys/{id}/credentials/{service}")]
/// Removes one of a reader's credentials (admin); without a web login their web sessions end.
pub async fn delete_other(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, service) = path.into_inner();
    delete_for(&state, id, &service).await
}
