//! What a reader's syncs with Hardcover left behind, as the reader is shown it: the runs
//! (hardcover_sync_runs), what was last sent per book (hardcover_sync_log), and how much of
//! the library is linked.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Context, HardcoverError, Me};
use crate::db::schema::{books, hardcover_sync_log, hardcover_sync_runs as runs};
use crate::error::Error;

/// A sync run (hardcover_sync_runs).
#[derive(Debug, Clone, Serialize, Queryable, Selectable, ToSchema)]
#[diesel(table_name = runs)]
pub struct Run {
    pub id: uuid::Uuid,
    /// schedule, api or cli.
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    /// None while it runs.
    pub finished_at: Option<DateTime<Utc>>,
    pub linked: i32,
    pub pulled: i32,
    pub pushed: i32,
    pub unchanged: i32,
    pub failed: i32,
    /// Why it stopped early.
    pub error: Option<String>,
    /// Per book: book_id, title, error.
    #[schema(value_type = Vec<Object>)]
    pub failures: serde_json::Value,
}

/// A book as last synced (hardcover_sync_log).
#[derive(Debug, Serialize, Queryable, ToSchema)]
pub struct Synced {
    pub book_id: uuid::Uuid,
    pub title: Option<String>,
    pub hardcover_book_id: Option<i32>,
    pub hardcover_user_book_id: Option<i32>,
    pub hardcover_read_id: Option<i32>,
    /// The status sent: reading, finished or paused.
    pub last_status: Option<String>,
    /// The fraction read when last sent.
    #[schema(value_type = Option<f64>)]
    #[serde(serialize_with = "as_f64")]
    pub last_progress: Option<bigdecimal::BigDecimal>,
    pub last_synced_at: DateTime<Utc>,
}

/// Books of the library linked to Hardcover, books whose status this reader has synced, and
/// the reader's latest run.
pub fn standing(conn: &mut PgConnection, key_id: Uuid) -> Result<(i64, i64, Option<Run>), Error> {
    let linked: i64 = books::table
        .filter(books::hardcover_book_id.is_not_null())
        .count()
        .get_result(conn)?;
    let synced: i64 = hardcover_sync_log::table
        .filter(hardcover_sync_log::api_key_id.eq(key_id))
        .count()
        .get_result(conn)?;
    let last_run: Option<Run> = runs::table
        .filter(runs::api_key_id.eq(key_id))
        .order(runs::started_at.desc())
        .select(Run::as_select())
        .first(conn)
        .optional()?;
    Ok((linked, synced, last_run))
}

/// The reader's latest runs (at most 20) and what was last sent for up to `limit` books,
/// newest first.
pub fn log(
    conn: &mut PgConnection,
    key_id: Uuid,
    limit: i64,
) -> Result<(Vec<Run>, Vec<Synced>), Error> {
    let runs: Vec<Run> = runs::table
        .filter(runs::api_key_id.eq(key_id))
        .order(runs::started_at.desc())
        .limit(20)
        .select(Run::as_select())
        .load(conn)?;
    let books: Vec<Synced> = hardcover_sync_log::table
        .inner_join(books::table)
        .filter(hardcover_sync_log::api_key_id.eq(key_id))
        .order(hardcover_sync_log::last_synced_at.desc())
        .limit(limit)
        .select((
            hardcover_sync_log::book_id,
            books::title,
            books::hardcover_book_id,
            hardcover_sync_log::hardcover_user_book_id,
            hardcover_sync_log::hardcover_read_id,
            hardcover_sync_log::last_status,
            hardcover_sync_log::last_progress,
            hardcover_sync_log::last_synced_at,
        ))
        .load(conn)?;
    Ok((runs, books))
}

/// The latest sync runs, of any reader, that failed or failed for some books: what an admin
/// is shown on the home page.
pub fn problems(conn: &mut PgConnection, limit: i64) -> Result<Vec<Run>, Error> {
    Ok(runs::table
        .filter(runs::error.is_not_null().or(runs::failed.gt(0)))
        .order(runs::started_at.desc())
        .limit(limit)
        .select(Run::as_select())
        .load(conn)?)
}

/// What Hardcover says of a reader's stored token (one request to Hardcover).
#[derive(Debug, Clone, Serialize)]
pub struct TokenCheck {
    /// missing (none stored), valid, invalid (Hardcover refuses it), unreadable (sealed under
    /// another server secret: store it again), unreachable, or rate_limited.
    pub token: &'static str,
    /// The Hardcover account the token belongs to, when valid.
    pub account: Option<Me>,
    /// Why it is not valid, for a person.
    pub message: Option<String>,
}

/// Asks Hardcover whose `stored` (sealed) token it is.
pub async fn check_token(
    cx: &Context,
    key_id: Uuid,
    stored: Option<String>,
) -> Result<TokenCheck, Error> {
    let mut check = TokenCheck {
        token: "missing",
        account: None,
        message: None,
    };
    let Some(stored) = stored else {
        return Ok(check);
    };
    match super::open_token(cx, key_id, stored).await? {
        None => {
            check.token = "unreadable";
            check.message =
                Some("the token was stored under another server secret: store it again".into());
        }
        Some(token) => match cx.client.me(&token).await {
            Ok(me) => {
                check.token = "valid";
                check.account = Some(me);
            }
            Err(e) => {
                check.token = match e {
                    HardcoverError::InvalidToken => "invalid",
                    HardcoverError::RateLimited => "rate_limited",
                    HardcoverError::Unreachable(_) | HardcoverError::Response(_) => "unreachable",
                };
                check.message = Some(e.to_string());
            }
        },
    }
    Ok(check)
}

fn as_f64<S: serde::Serializer>(
    v: &Option<bigdecimal::BigDecimal>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use bigdecimal::ToPrimitive;
    v.as_ref().and_then(|d| d.to_f64()).serialize(s)
}
