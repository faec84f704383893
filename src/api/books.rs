//! Books over REST: list and search, one book with its files and candidates, edits, the
//! review workflow, downloads, covers, and links to KOReader documents.

use actix_web::{delete, get, patch, post, route, web, HttpRequest, HttpResponse};
use chrono::{Datelike, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::caller::{Admin, Caller};
use super::error::ApiError;
use super::json::optional_json;
use super::reading::ReadingState;
use super::ErrorBody;
use crate::db::models::{Book, BookFile, BookStatus, Candidate};
use crate::error::Error;
use crate::library::books::Sort;
use crate::library::edit::BookEdit;
use crate::library::links;
use crate::library::{books, download, paths, review};
use crate::{db, hardcover, AppState};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// inbox, review or organized (readers see organized books only).
    pub status: Option<BookStatus>,
    /// Full-text search (websearch syntax: words, "phrases", -exclusions, or).
    pub q: Option<String>,
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Inline: the document's components do not list types only parameters use.
    #[param(inline)]
    pub sort: Option<Sort>,
}

#[derive(Serialize, ToSchema)]
pub struct BookPage {
    pub items: Vec<Book>,
    pub page: i64,
    pub limit: i64,
    pub total: i64,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentLink {
    pub document: String,
    /// content, filename, metadata or manual.
    pub source: String,
}

#[derive(Serialize, ToSchema)]
pub struct BookDetail {
    #[serde(flatten)]
    pub book: Book,
    pub has_cover: bool,
    pub files: Vec<BookFile>,
    pub candidates: Vec<Candidate>,
    pub documents: Vec<DocumentLink>,
    /// The caller's reading state for this book.
    pub reading: ReadingState,
}

#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = BookPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/books")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let status = match (query.status, caller.is_admin) {
        (Some(s), true) => Some(s),
        (None, true) => None,
        (None | Some(BookStatus::Organized), false) => Some(BookStatus::Organized),
        (Some(_), false) => {
            return Err(Error::Forbidden("readers see organized books only".into()).into())
        }
    };
    let (page, limit) = super::json::paging(query.page, query.limit, 50, 200)?;
    let q = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if q.as_ref().is_some_and(|q| q.len() > 500) {
        return Err(Error::invalid("q", "at most 500 characters").into());
    }
    let sort = query.sort.unwrap_or_default();
    let result = db::run(&state.pool, move |conn| {
        let (total, items) = books::list(conn, status, q.as_deref(), sort, page, limit)?;
        Ok(BookPage {
            items,
            page,
            limit,
            total,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// A book the caller may see: readers only organized ones (others are 404 to them).
fn visible(conn: &mut PgConnection, caller: &Caller, id: Uuid) -> Result<Book, Error> {
    books::visible(conn, id, caller.is_admin)
}

fn detail(conn: &mut PgConnection, caller: &Caller, id: Uuid) -> Result<BookDetail, Error> {
    let book = visible(conn, caller, id)?;
    let files = books::files_of(conn, id)?;
    let candidates = if caller.is_admin {
        books::candidates_of(conn, id)?
    } else {
        Vec::new()
    };
    let documents = links::of_book(conn, id)?
        .into_iter()
        .map(|(document, source)| DocumentLink { document, source })
        .collect();
    let reading = super::reading::state_of(conn, caller.key_id, id)?;
    Ok(BookDetail {
        has_cover: book.cover_path.is_some(),
        book,
        files,
        candidates,
        documents,
        reading,
    })
}

#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BookDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/books/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let book = db::run(&state.pool, move |conn| detail(conn, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(book))
}

fn this_year() -> i32 {
    Utc::now().year()
}

/// Edits metadata. Validated: ISBN check digits, year range, BCP 47 language.
#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = BookEdit,
    responses((status = 200, body = BookDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[patch("/books/{id}")]
pub async fn edit(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<Uuid>,
    body: web::Json<BookEdit>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let changes = body.into_inner().validate(this_year())?;
    let caller = admin.0;
    let book = db::run(&state.pool, move |conn| {
        crate::library::edit::apply_to_book(conn, id, &changes)?;
        detail(conn, &caller, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(book))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Values to set on approval. Each is either the value itself or
    /// `{"candidate": "<candidate id>"}` to take that field from a metadata candidate.
    /// `"cover": {"candidate": "<id>"}` takes a candidate's cover_url (downloaded).
    #[schema(value_type = Option<Object>)]
    pub fields: Option<Map<String, Value>>,
}

/// review → organized: applies `fields`, moves the files to library/<Author>/<Title>/.
#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body(content = Option<ApproveRequest>, description = "optional"),
    responses((status = 200, body = BookDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "the book is not in review", body = ErrorBody))
)]
#[post("/books/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let request: ApproveRequest = optional_json(&body)?.unwrap_or_default();
    let mut fields = request.fields.unwrap_or_default();
    let taken = match fields.remove("cover") {
        None => None,
        Some(value) => Some(taken_cover(&state, id, &value).await?),
    };
    let data_dir = state.config.data_dir.clone();
    let caller = admin.0;
    let book = db::run(&state.pool, move |conn| {
        review::approve(conn, &data_dir, id, &fields, taken.as_ref(), this_year())?;
        detail(conn, &caller, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(book))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The books to merge into this one (1–100): the same work in other files.
    pub from: Vec<Uuid>,
}

/// Merges other books into this one: one work, several files. Their files, metadata
/// candidates, KOReader document links, every reader's positions, history and statuses move
/// here (reading state recomputed), in one transaction; this book keeps its metadata and
/// takes from them only what it lacks; they are deleted. A book in review with `format_of`
/// set is merged into that book with `{"from": [its id]}`.
#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = MergeRequest,
    responses((status = 200, body = BookDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[post("/books/{id}/merge")]
pub async fn merge(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<Uuid>,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let from = body.into_inner().from;
    crate::library::formats::check_merge(id, &from)?;
    let data_dir = state.config.data_dir.clone();
    let caller = admin.0;
    let book = db::run(&state.pool, move |conn| {
        crate::library::formats::merge(conn, &data_dir, id, &from)?;
        detail(conn, &caller, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(book))
}

/// Splits one file off this book into a new book of its own (a copy of this book's
/// metadata and cover, in the same status, without its series position). The file's
/// KOReader documents and the readers' positions and history of them follow it.
#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("file_id" = Uuid, Path)),
    responses((status = 201, body = BookDetail, description = "the new book"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "the file is the book's only one", body = ErrorBody))
)]
#[post("/books/{id}/files/{file_id}/split")]
pub async fn split(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, file_id) = path.into_inner();
    let data_dir = state.config.data_dir.clone();
    let caller = admin.0;
    let book = db::run(&state.pool, move |conn| {
        let new = crate::library::formats::split(conn, &data_dir, id, file_id)?;
        detail(conn, &caller, new)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/api/books/{}", book.book.id)))
        .json(book))
}

/// approve's `"cover": {"candidate": id}`: the candidate's cover_url fetched (public
/// addresses only, images only, at most 10 MB) and checked as a book's own cover is.
async fn taken_cover(
    state: &AppState,
    book_id: Uuid,
    value: &Value,
) -> Result<review::TakenCover, Error> {
    let candidate = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("candidate"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Uuid>().ok())
        .ok_or_else(|| Error::invalid("fields", "cover: expected {\"candidate\": \"<id>\"}"))?;
    let allow_private = state.config.allow_private_cover_urls;
    hardcover::cover::take(&state.pool, allow_private, book_id, candidate).await
}

/// Looks the book up on Hardcover now (again) with a reader's token; the proposal made
/// replaces an earlier Hardcover one. `candidate` is null when Hardcover has no match.
#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "{\"candidate\": {id, source, normalized, confidence} | null}"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "no reader has a usable Hardcover token", body = ErrorBody),
        (status = 503, description = "Hardcover could not be reached", body = ErrorBody),
    )
)]
#[post("/books/{id}/hardcover/lookup")]
pub async fn hardcover_lookup(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let candidate = hardcover::metadata::lookup_book(&state.hardcover, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "candidate": candidate })))
}

/// Removes the book, its files and covers. Reading progress stays, unlinked.
#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/books/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let data_dir = state.config.data_dir.clone();
    db::run(&state.pool, move |conn| review::delete(conn, &data_dir, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Downloads a file: supports HEAD, Range, If-None-Match.
#[utoipa::path(
    method(get, head),
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("file_id" = Uuid, Path)),
    responses((status = 200, description = "the file"), (status = 206, description = "a range of it"), (status = 304), (status = 404, body = ErrorBody), (status = 416))
)]
#[route("/books/{id}/files/{file_id}", method = "GET", method = "HEAD")]
pub async fn file(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, file_id) = path.into_inner();
    let file = db::run(&state.pool, move |conn| {
        visible(conn, &caller, id)?;
        books::file_of(conn, id, file_id)?
            .ok_or_else(|| Error::NotFound(format!("no file {file_id} in book {id}")))
    })
    .await?;
    Ok(download::serve(&req, &state.config.data_dir, &file)?)
}

async fn cover_of(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: Uuid,
    small: bool,
) -> Result<HttpResponse, ApiError> {
    let book = db::run(&state.pool, move |conn| visible(conn, &caller, id)).await?;
    let image = book
        .cover_path
        .ok_or_else(|| Error::NotFound("this book has no cover".into()))?;
    let path = if small {
        paths::thumbnail_of(&image).ok_or_else(|| Error::NotFound("no thumbnail".into()))?
    } else {
        image
    };
    Ok(download::serve_image(&req, &state.config.data_dir, &path)?)
}

#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "the cover image"), (status = 404, body = ErrorBody))
)]
#[get("/books/{id}/cover")]
pub async fn cover(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    cover_of(req, state, caller, id.into_inner(), false).await
}

#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "a JPEG at most 300 px high"), (status = 404, body = ErrorBody))
)]
#[get("/books/{id}/cover/thumbnail")]
pub async fn thumbnail(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    cover_of(req, state, caller, id.into_inner(), true).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// A KOReader document id (partial MD5 or file-name MD5: 32 hex characters), or any
    /// id a client syncs under.
    pub document: String,
}

fn valid_document(document: &str) -> Result<(), Error> {
    if document.is_empty() || document.len() > 255 || document.contains(['\0', '/']) {
        return Err(Error::invalid(
            "document",
            "must be 1–255 characters, without '/'",
        ));
    }
    Ok(())
}

/// Links a KOReader document to this book by hand. A manual link wins over ambiguous
/// automatic ones; progress and history already synced under it follow.
#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = LinkRequest,
    responses((status = 201, body = DocumentLink), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[post("/books/{id}/documents")]
pub async fn link_document(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<Uuid>,
    body: web::Json<LinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let document = body.into_inner().document.trim().to_owned();
    valid_document(&document)?;
    let caller = admin.0;
    let shown = document.clone();
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            visible(conn, &caller, id)?;
            links::link_by_hand(conn, id, &document)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(DocumentLink {
        document: shown,
        source: "manual".into(),
    }))
}

#[utoipa::path(
    tag = "books",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("document" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/books/{id}/documents/{document}")]
pub async fn unlink_document(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, document) = path.into_inner();
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| match links::unlink(conn, id, &document)? {
            true => Ok(()),
            false => Err(Error::NotFound(format!(
                "{document} is not linked to book {id}"
            ))),
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
