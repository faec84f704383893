//! A reader's Hardcover account: the API token (sealed at rest, never shown again) and
//! whether Hardcover accepts it.

use actix_web::{get, put, web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::ErrorBody;
use crate::auth::credentials;
use crate::db::schema::{books, hardcover_sync_log, service_credentials as sc};
use crate::error::{ApiError, Error};
use crate::hardcover::{token, HardcoverError, Me};
use crate::{db, AppState};

const SERVICE: &str = "hardcover";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetToken {
    /// The API token from Hardcover's settings page ("Bearer " in front is fine).
    pub token: String,
    /// A name for it; unique among readers. Default: `hardcover-<key id>`.
    pub label: Option<String>,
}

/// Stores the caller's Hardcover API token, sealed (XChaCha20-Poly1305 under a key derived
/// from the server secret). No response ever shows it again.
#[utoipa::path(
    tag = "hardcover",
    security(("bearer" = [])),
    request_body = SetToken,
    responses(
        (status = 200, description = "stored; the service and label"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "label taken", body = ErrorBody),
    )
)]
#[put("/credentials/hardcover")]
pub async fn set_token(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<SetToken>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let token = token::normalize(&body.token).ok_or_else(|| {
        Error::invalid(
            "token",
            "expected the API token from Hardcover's settings page",
        )
    })?;
    let label = match body.label.as_deref().map(str::trim) {
        None | Some("") => format!("hardcover-{}", caller.key_id.simple()),
        Some(l) => l.to_owned(),
    };
    let sealed = token::seal(&state.key(token::PURPOSE)?, caller.key_id, token);
    let shown = label.clone();
    db::run(&state.pool, move |conn| {
        credentials::set(conn, SERVICE, caller.key_id, &label, &sealed)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "service": SERVICE, "username": shown })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// missing (none stored), valid, invalid (Hardcover refuses it), unreadable (sealed under
    /// another server secret: store it again), unreachable, or rate_limited.
    pub token: &'static str,
    /// The Hardcover account the token belongs to, when valid.
    #[schema(value_type = Option<Object>)]
    pub account: Option<Me>,
    /// Why it is not valid, for a person.
    pub message: Option<String>,
    /// Books of the library linked to Hardcover.
    pub linked_books: i64,
    /// Books whose status this reader has synced with Hardcover.
    pub synced_books: i64,
}

/// Whether Hardcover accepts the caller's token (one request to Hardcover), and how much of
/// the library is linked.
#[utoipa::path(
    tag = "hardcover",
    security(("bearer" = [])),
    responses((status = 200, body = Status), (status = 401, body = ErrorBody))
)]
#[get("/hardcover/status")]
pub async fn status(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let key_id = caller.key_id;
    let (stored, linked_books, synced_books) = db::run(&state.pool, move |conn| {
        let stored: Option<String> = sc::table
            .filter(sc::service.eq(SERVICE).and(sc::api_key_id.eq(key_id)))
            .select(sc::password_hash)
            .first(&mut **conn)
            .optional()?;
        let linked: i64 = books::table
            .filter(books::hardcover_book_id.is_not_null())
            .count()
            .get_result(&mut **conn)?;
        let synced: i64 = hardcover_sync_log::table
            .filter(hardcover_sync_log::api_key_id.eq(key_id))
            .count()
            .get_result(&mut **conn)?;
        Ok((stored, linked, synced))
    })
    .await?;
    let mut status = Status {
        token: "missing",
        account: None,
        message: None,
        linked_books,
        synced_books,
    };
    if let Some(stored) = stored {
        match token::open(&state.key(token::PURPOSE)?, key_id, &stored) {
            None => {
                status.token = "unreadable";
                status.message =
                    Some("the token was stored under another server secret: store it again".into());
            }
            Some(token) => match state.hardcover.me(&token).await {
                Ok(me) => {
                    status.token = "valid";
                    status.account = Some(me);
                }
                Err(e) => {
                    status.token = match e {
                        HardcoverError::InvalidToken => "invalid",
                        HardcoverError::RateLimited => "rate_limited",
                        HardcoverError::Unreachable(_) | HardcoverError::Response(_) => {
                            "unreachable"
                        }
                    };
                    status.message = Some(e.to_string());
                }
            },
        }
    }
    Ok(HttpResponse::Ok().json(status))
}
