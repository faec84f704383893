//! Covers, thumbnails and downloads for signed-in browsers, served as the REST API serves them
//! (`library::download`). A cover's address carries its book's version (`?v=`): when it is the
//! current one, the browser may keep the image for good; a new cover is a new address.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use super::book::book_id;
use crate::error::Error;
use crate::library::{books, download, paths};
use crate::web::error::WebError;
use crate::web::session::Visitor;
use crate::{db, AppState};

async fn image(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    id: String,
    small: bool,
) -> Result<HttpResponse, WebError> {
    let admin = v.signed()?.is_admin;
    let id = book_id(&id)?;
    let book = db::run(&state.pool, move |conn| books::visible(conn, id, admin)).await?;
    let cover = book
        .cover_path
        .ok_or_else(|| Error::NotFound("this book has no cover".into()))?;
    let path = if small {
        paths::thumbnail_of(&cover).ok_or_else(|| Error::NotFound("no thumbnail".into()))?
    } else {
        cover
    };
    let mut res = download::serve_image(&req, &state.config.data_dir, &path)?;
    let current = book.updated_at.timestamp_micros().to_string();
    let asked = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.iter().find(|(k, _)| k == "v").map(|(_, v)| v.clone()));
    let cache = if asked.as_deref() == Some(current.as_str()) {
        "private, max-age=31536000, immutable"
    } else {
        "private, no-cache"
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(res)
}

pub async fn cover(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    image(req, state, v, id.into_inner(), false).await
}

pub async fn thumbnail(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    image(req, state, v, id.into_inner(), true).await
}

pub async fn file(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let admin = v.signed()?.is_admin;
    let (id, file_id) = path.into_inner();
    let id = book_id(&id)?;
    let file_id = book_id(&file_id)?;
    let file = db::run(&state.pool, move |conn| {
        books::visible(conn, id, admin)?;
        books::file_of(conn, id, file_id)?
            .ok_or_else(|| Error::NotFound(format!("no file {file_id} in book {id}")))
    })
    .await?;
    let mut res = download::serve(&req, &state.config.data_dir, &file)?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(res)
}
