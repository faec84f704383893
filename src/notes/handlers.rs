//! The Notes API's handlers: list (by category), create, show, update, delete. Answers are
//! 200 with the note, as Nextcloud's (KOReader counts only 200 as success).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::NotesError;
use crate::auth::device_passwords::Via;
use crate::error::Error;
use crate::reading::export_notes::{self, Change, Note, MAX_CONTENT};
use crate::{db, AppState};

type Reply = Result<HttpResponse, NotesError>;

/// The signed-in reader (`AppState::basic_login`: a device password, an API key, or the
/// OPDS login).
async fn reader(req: &HttpRequest, state: &AppState) -> Result<Uuid, NotesError> {
    state
        .basic_login(req, Via::Notes)
        .await?
        .ok_or(NotesError::Unauthorized)
}

/// A write must say it is JSON (KOReader's does), which a page on another site cannot send
/// without the CORS permission libris never gives: a browser that remembers a reader's Basic
/// login cannot be made to write notes. A browser's own cross-site request is refused too.
fn same_site_json(req: &HttpRequest) -> Result<(), NotesError> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| s == "cross-site") {
        return Err(Error::Forbidden("a cross-site request".into()).into());
    }
    let json = header("content-type")
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Error::UnsupportedMedia("send Content-Type: application/json".into()).into());
    }
    Ok(())
}

fn note_json(n: &Note) -> Value {
    json!({
        "id": n.id,
        "etag": n.etag(),
        "readonly": false,
        "modified": n.modified.timestamp(),
        "title": n.title,
        "category": n.category,
        "content": n.content,
        "favorite": n.favorite,
    })
}

/// The note named in the path (Nextcloud's ids are integers; anything else names none).
fn id_of(req: &HttpRequest) -> Result<i64, NotesError> {
    req.match_info()
        .get("id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| Error::NotFound("no such note".into()).into())
}

/// A note's fields from a JSON body (at most a note's size, and some).
async fn change(req: &HttpRequest, payload: web::Payload) -> Result<Change, NotesError> {
    let limit = MAX_CONTENT + 64 * 1024;
    let body = crate::http::slow_body::read_limited(req.headers(), payload, limit).await?;
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| Error::BadJson(format!("the body: {e}")))?;
    let Value::Object(o) = value else {
        return Err(Error::BadJson("the body is not a JSON object".into()).into());
    };
    let text = |key: &'static str| -> Result<Option<String>, Error> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::invalid(key, "must be a string")),
        }
    };
    let favorite = match o.get("favorite") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(Error::invalid("favorite", "must be true or false").into()),
    };
    let change = Change {
        title: text("title")?,
        content: text("content")?,
        category: text("category")?,
        favorite,
    };
    change.check()?;
    Ok(change)
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Reply {
    let reader = reader(&req, &state).await?;
    let category = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "category")
        .map(|(_, v)| v);
    let notes = db::run(&state.pool, move |conn| {
        export_notes::list(conn, reader, category.as_deref())
    })
    .await?;
    Ok(HttpResponse::Ok().json(notes.iter().map(note_json).collect::<Vec<_>>()))
}

pub async fn create(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> Reply {
    let reader = reader(&req, &state).await?;
    same_site_json(&req)?;
    let change = change(&req, body).await?;
    let note = db::run(&state.pool, move |conn| {
        export_notes::create(conn, reader, change)
    })
    .await?;
    Ok(HttpResponse::Ok().json(note_json(&note)))
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Reply {
    let reader = reader(&req, &state).await?;
    let id = id_of(&req)?;
    let note = db::run(&state.pool, move |conn| export_notes::get(conn, reader, id)).await?;
    Ok(HttpResponse::Ok().json(note_json(&note)))
}

pub async fn update(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> Reply {
    let reader = reader(&req, &state).await?;
    same_site_json(&req)?;
    let id = id_of(&req)?;
    let change = change(&req, body).await?;
    let note = db::run(&state.pool, move |conn| {
        export_notes::update(conn, reader, id, change)
    })
    .await?;
    Ok(HttpResponse::Ok().json(note_json(&note)))
}

pub async fn delete(req: HttpRequest, state: web::Data<AppState>) -> Reply {
    let reader = reader(&req, &state).await?;
    if req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|s| s == "cross-site")
    {
        return Err(Error::Forbidden("a cross-site request".into()).into());
    }
    let id = id_of(&req)?;
    db::run(&state.pool, move |conn| {
        export_notes::delete(conn, reader, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

pub async fn no_route() -> Reply {
    Err(Error::NoRoute.into())
}
