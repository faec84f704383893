use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::auth::{authenticate, authorized, authorized_as, authorized_read};
use super::error::KosyncError;
use super::request::{self, Object, BODY_LIMIT};
use crate::auth::accounts;
use crate::error::Error;
use crate::{db, reading, AppState};

type Reply = Result<HttpResponse, KosyncError>;

fn reply(status: StatusCode, body: Value) -> Reply {
    Ok(HttpResponse::build(status).json(body))
}

/// The strict Accept rules apply only when the operator asked for them: other clients omit it.
fn accept(req: &HttpRequest, state: &AppState) -> Result<(), KosyncError> {
    if !state.config.kosync_strict_accept {
        return Ok(());
    }
    let header = req
        .headers()
        .get("accept")
        .map(|v| v.to_str().unwrap_or(""));
    request::check_accept(header)
}

fn credentials(req: &HttpRequest) -> Result<(String, String), Error> {
    let header = |name| req.headers().get(name).map(|v| v.as_bytes());
    request::credentials(header("x-auth-user"), header("x-auth-key"))
}

/// Reads at most [`BODY_LIMIT`] bytes and parses them as a JSON object.
async fn json_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Object, KosyncError> {
    if crate::http::slow_body::declared_length(req.headers()).is_some_and(|n| n > BODY_LIMIT as u64)
    {
        return Err(Error::PayloadTooLarge.into());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => Error::PayloadTooLarge,
            other => Error::BadJson(other.to_string()),
        })?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(Error::PayloadTooLarge.into());
        }
        body.extend_from_slice(&chunk);
    }
    request::parse_body(&body)
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub async fn healthcheck(req: HttpRequest, state: web::Data<AppState>) -> Reply {
    accept(&req, &state)?;
    reply(StatusCode::OK, json!({ "state": "OK" }))
}

pub async fn create_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Reply {
    accept(&req, &state)?;
    // kosync.registration in app_settings wins over LIBRIS_KOSYNC_REGISTRATION.
    let config = state.config.clone();
    let settings = db::run(&state.pool, move |conn| {
        crate::settings::load(conn, &config)
    })
    .await?;
    if !settings.kosync_registration {
        return Err(KosyncError::RegistrationDisabled);
    }
    let body = json_body(&req, payload).await?;
    let (username, password) = request::new_user(&body)?;
    // bcrypt before taking a connection: it is the slow part.
    let hash = state
        .bcrypt(move || crate::auth::credentials::hash_secret(&password))
        .await??;
    let name = username.clone();
    db::run(&state.pool, move |conn| {
        accounts::create(conn, &name, &hash)
    })
    .await
    .map_err(|e| match e {
        Error::Conflict(_) => KosyncError::UsernameTaken,
        other => other.into(),
    })?;
    reply(StatusCode::CREATED, json!({ "username": username }))
}

pub async fn auth(req: HttpRequest, state: web::Data<AppState>) -> Reply {
    accept(&req, &state)?;
    authenticate(&state, &req, credentials(&req)?).await?;
    reply(StatusCode::OK, json!({ "authorized": "OK" }))
}

pub async fn put_progress(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Reply {
    accept(&req, &state)?;
    let body = json_body(&req, payload).await?;
    let creds = credentials(&req)?;
    // Field errors are reported only to an authenticated reader.
    let report = match request::progress_report(body) {
        Ok(report) => report,
        Err(invalid) => {
            authenticate(&state, &req, creds).await?;
            return Err(invalid.into());
        }
    };
    let timestamp = unix_now();
    let document = report.document.clone();
    let report = std::sync::Arc::new(report);
    // Written with the reports that arrive meanwhile, in one transaction (reading::batch).
    let device = Some((report.device.clone(), report.device_id.clone()));
    authorized_as(&state, &req, creds, device, |user, hash| {
        state.reports.record(user, hash, report.clone(), timestamp)
    })
    .await?;
    reply(
        StatusCode::OK,
        json!({ "document": document, "timestamp": timestamp }),
    )
}

pub async fn get_progress(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Reply {
    accept(&req, &state)?;
    let creds = credentials(&req)?;
    let document = path.into_inner();
    let valid = request::valid_document(&document);
    let position = authorized_read(&state, &req, creds, move |conn, user| {
        reading::credential_and_latest(conn, user, if valid { document.as_str() } else { "" })
    })
    .await?;
    if !valid {
        return Err(Error::invalid("document", "invalid").into());
    }
    let Some(p) = position else {
        return reply(StatusCode::OK, json!({}));
    };
    let mut body = json!({
        "document": p.document,
        "progress": p.progress,
        "percentage": request::percentage_json(p.percentage),
        "device": p.device,
        "timestamp": p.timestamp,
    });
    if let Some(device_id) = p.device_id {
        body["device_id"] = Value::String(device_id);
    }
    reply(StatusCode::OK, body)
}

pub async fn delete_me(req: HttpRequest, state: web::Data<AppState>) -> Reply {
    accept(&req, &state)?;
    let creds = credentials(&req)?;
    let username = creds.0.clone();
    let unknown = Error::NotFound("account not found".into());
    authorized(&state, &req, creds, unknown, move |conn, key_id| {
        accounts::delete(conn, key_id, &username)
    })
    .await?;
    reply(StatusCode::OK, json!({ "deleted": true }))
}

pub async fn set_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Reply {
    accept(&req, &state)?;
    let body = json_body(&req, payload).await?;
    let creds = credentials(&req)?;
    let new_key = request::password(&body);
    authorized(
        &state,
        &req,
        creds,
        Error::Unauthorized,
        move |conn, key_id| accounts::set_password(conn, key_id, &new_key?),
    )
    .await?;
    reply(StatusCode::OK, json!({ "updated": true }))
}
