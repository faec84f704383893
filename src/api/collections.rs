//! Collections over REST: a reader's own and the library-wide ones, their books in order,
//! and their share links (`library::collections` holds the rules).

use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::caller::Caller;
use super::error::ApiError;
use super::ErrorBody;
use crate::db::models::Book;
use crate::library::collections::{self, Asker, Collection};
use crate::{db, http, AppState};

fn asker(caller: &Caller) -> Asker {
    Asker {
        reader: caller.key_id,
        admin: caller.is_admin,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionSummary {
    #[serde(flatten)]
    pub collection: Collection,
    pub library_wide: bool,
    /// Organized books in it.
    pub books: i64,
    /// When it is shared by a link: since when, and until when (null: no end).
    pub shared_since: Option<DateTime<Utc>>,
    pub shared_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionWithBooks {
    #[serde(flatten)]
    pub collection: Collection,
    pub library_wide: bool,
    /// Its organized books, in its order.
    pub books: Vec<Book>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCollection {
    /// 1–200 characters.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Every reader sees it, only admins change it (admins only).
    #[serde(default)]
    pub library_wide: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionChange {
    pub name: String,
    /// Left out: the description stays as it is.
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// Every book of the collection once, in the order wanted.
    pub books: Vec<Uuid>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    /// When the link stops working; none: it works until revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareLink {
    /// Given once: libris keeps only its SHA-256.
    pub token: String,
    /// The read-only page of the collection the token opens.
    pub url: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The caller's collections, then the library-wide ones.
#[utoipa::path(tag = "collections", security(("bearer" = [])),
    responses((status = 200, body = Vec<CollectionSummary>), (status = 401, body = ErrorBody)))]
#[get("/collections")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let who = asker(&caller);
    let listed = db::run(&state.pool, move |conn| collections::list(conn, who)).await?;
    let out: Vec<CollectionSummary> = listed
        .into_iter()
        .map(|l| CollectionSummary {
            library_wide: l.collection.library_wide(),
            books: l.books,
            shared_since: l.shared.as_ref().map(|s| s.created_at),
            shared_until: l.shared.and_then(|s| s.expires_at),
            collection: l.collection,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Makes a collection: the caller's own, or a library-wide one (admins).
#[utoipa::path(tag = "collections", security(("bearer" = [])), request_body = NewCollection,
    responses((status = 201, body = Collection), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[post("/collections")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewCollection>,
) -> Result<HttpResponse, ApiError> {
    let who = asker(&caller);
    let b = body.into_inner();
    let made = db::run(&state.pool, move |conn| {
        collections::create(conn, who, &b.name, &b.description, b.library_wide)
    })
    .await?;
    Ok(HttpResponse::Created().json(made))
}

/// One collection the caller sees, with its books in order.
#[utoipa::path(tag = "collections", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CollectionWithBooks), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/collections/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (who, id) = (asker(&caller), id.into_inner());
    let (collection, books) = db::run(&state.pool, move |conn| {
        Ok((
            collections::get(conn, who, id)?,
            collections::books_of(conn, id)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(CollectionWithBooks {
        library_wide: collection.library_wide(),
        collection,
        books,
    }))
}

/// Renames a collection, or changes its description.
#[utoipa::path(tag = "collections", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = CollectionChange,
    responses((status = 200, body = Collection), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[patch("/collections/{id}")]
pub async fn change(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<CollectionChange>,
) -> Result<HttpResponse, ApiError> {
    let (who, id, b) = (asker(&caller), id.into_inner(), body.into_inner());
    let changed = db::run(&state.pool, move |conn| {
        let description = match b.description {
            Some(d) => d,
            None => collections::get(conn, who, id)?.description,
        };
        collections::rename(conn, who, id, &b.name, &description)
    })
    .await?;
    Ok(HttpResponse::Ok().json(changed))
}

/// Deletes a collection (its books stay in the library).
#[utoipa::path(tag = "collections", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/collections/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (who, id) = (asker(&caller), id.into_inner());
    db::run(&state.pool, move |conn| collections::delete(conn, who, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds an organized book at the end (already in it: nothing changes).
#[utoipa::path(tag = "collections", security(("bearer" = [])), params(("id" = Uuid, Path), ("book_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/collections/{id}/books/{book_id}")]
pub async fn add_book(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (who, (id, book)) = (asker(&caller), path.into_inner());
    db::run(&state.pool, move |conn| {
        collections::add(conn, who, id, book)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Takes a book out of the collection.
#[utoipa::path(tag = "collections", security(("bearer" = [])), params(("id" = Uuid, Path), ("book_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/collections/{id}/books/{book_id}")]
pub async fn remove_book(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (who, (id, book)) = (asker(&caller), path.into_inner());
    db::run(&state.pool, move |conn| {
        collections::remove(conn, who, id, book)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Puts the collection's books in a new order.
#[utoipa::path(tag = "collections", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = Order,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/collections/{id}/order")]
pub async fn reorder(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<Order>,
) -> Result<HttpResponse, ApiError> {
    let (who, id, order) = (asker(&caller), id.into_inner(), body.into_inner().books);
    db::run(&state.pool, move |conn| {
        collections::reorder(conn, who, id, &order)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Shares the collection by a new link (an older one stops working).
#[utoipa::path(tag = "collections", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = ShareRequest,
    responses((status = 201, body = ShareLink), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/collections/{id}/share")]
pub async fn share(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<ShareRequest>,
) -> Result<HttpResponse, ApiError> {
    let (who, id, expires_at) = (
        asker(&caller),
        id.into_inner(),
        body.into_inner().expires_at,
    );
    let token = db::run(&state.pool, move |conn| {
        collections::share(conn, who, id, expires_at)
    })
    .await?;
    let url = format!("{}/s/{token}", http::base::base_url(&req, &state.config));
    Ok(HttpResponse::Created().json(ShareLink {
        token,
        url,
        expires_at,
    }))
}

/// Revokes the collection's share link: every address of it stops at once.
#[utoipa::path(tag = "collections", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/collections/{id}/share")]
pub async fn unshare(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (who, id) = (asker(&caller), id.into_inner());
    db::run(&state.pool, move |conn| collections::unshare(conn, who, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
