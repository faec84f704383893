use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::{authenticate, authorized, authorized_as, authorized_read};
use super::error::KosyncError;
use super::request::{self, Object, BODY_LIMIT};
use crate::auth::{accounts, credentials};
use crate::error::Error;
use crate::reading::identifiers::{self, Identifier};
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
async fn json_body(req: &HttpRequest, payload: web::Payload) -> Result<Object, KosyncError> {
    let body = crate::http::slow_body::read_limited(req.headers(), payload, BODY_LIMIT).await?;
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
    let identifiers = body.get("identifiers").cloned();
    // Field errors are reported only to an authenticated reader.
    let checked = request::progress_report(body).and_then(|report| {
        let list = identifiers::from_body(identifiers.as_ref(), &report.document)?;
        Ok((report, list))
    });
    let (report, list) = match checked {
        Ok(checked) => checked,
        Err(invalid) => {
            authenticate(&state, &req, creds).await?;
            return Err(invalid.into());
        }
    };
    let timestamp = unix_now();
    if let Some(list) = list {
        return put_with_identifiers(&req, &state, creds, report, list, timestamp).await;
    }
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

/// A push that names identifiers (the extension: `reading::identifiers`): resolved, its
/// aliases registered and the report recorded in one transaction, outside the batch (rare,
/// and its answer depends on the resolution).
async fn put_with_identifiers(
    req: &HttpRequest,
    state: &AppState,
    creds: (String, String),
    report: reading::Report,
    list: Vec<Identifier>,
    timestamp: i64,
) -> Reply {
    let username = creds.0.clone();
    let device = Some((report.device.clone(), report.device_id.clone()));
    let (reader, hash) = authorized_read(state, req, creds, device, |conn, user| {
        Ok(credentials::lookup(conn, "kosync", user)?.map(|(id, h)| (id, h.clone(), (id, h))))
    })
    .await?;
    let rules = state.rules.clone();
    let pushed = db::run(&state.pool, move |conn| {
        let rules = rules.get(conn)?;
        identifiers::push(
            conn, &rules, reader, &username, &hash, &report, &list, timestamp,
        )
    })
    .await?;
    let (document, matched) = pushed.ok_or(Error::Unauthorized)?;
    reply(
        StatusCode::OK,
        json!({ "document": document, "match": matched, "timestamp": timestamp }),
    )
}

/// The `ids` of a pull's query, if named (the last, if named twice); other parameters are
/// ignored, as before the extension.
fn ids_of(req: &HttpRequest) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v)
        .next_back()
}

pub async fn get_progress(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Reply {
    accept(&req, &state)?;
    let creds = credentials(&req)?;
    let document = path.into_inner();
    if let Some(ids) = ids_of(&req) {
        return get_with_identifiers(&req, &state, creds, document, Some(ids)).await;
    }
    let valid = request::valid_document(&document);
    let position = authorized_read(&state, &req, creds, None, move |conn, user| {
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

/// A pull that names identifiers: the record they lead to, with `match` and
/// `progress_match`; `{}` when they lead nowhere.
async fn get_with_identifiers(
    req: &HttpRequest,
    state: &AppState,
    creds: (String, String),
    document: String,
    ids: Option<String>,
) -> Reply {
    let list = if request::valid_document(&document) {
        identifiers::from_query(ids.as_deref(), &document)
    } else {
        Err(Error::invalid("document", "invalid"))
    };
    let list = match list {
        Ok(list) => list.unwrap_or_default(),
        Err(invalid) => {
            authenticate(state, req, creds).await?;
            return Err(invalid.into());
        }
    };
    let (reader, _) = authorized_read(state, req, creds, None, |conn, user| {
        Ok(credentials::lookup(conn, "kosync", user)?.map(|(id, h)| (id, h, (id, ()))))
    })
    .await?;
    let pulled = db::run(&state.pool, move |conn| {
        identifiers::pull(conn, reader, &document, &list)
    })
    .await?;
    let Some(p) = pulled else {
        return reply(StatusCode::OK, json!({}));
    };
    let mut body = json!({
        "document": p.position.document,
        "progress": p.position.progress,
        "percentage": request::percentage_json(p.position.percentage),
        "device": p.position.device,
        "timestamp": p.position.timestamp,
        "match": p.matched,
        "progress_match": p.progress_match,
    });
    if let Some(device_id) = p.position.device_id {
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
