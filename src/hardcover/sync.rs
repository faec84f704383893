//! A reader's sync run with Hardcover: link books by ISBN, pull the reader's Hardcover
//! statuses into `reading_aggregate.external_status`, push the reader's own statuses and
//! progress where they changed since `hardcover_sync_log`. Each run is a
//! `hardcover_sync_runs` row; a failure on one book is recorded there and the run goes on.

use std::collections::HashMap;

use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int4, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::graphql::{self, UserBook};
use super::rules::{self, Sent};
use super::Context;
use super::{open_tokens, sealed_tokens, HardcoverError};
use crate::db::models::{BookStatus, ReadingStatus};
use crate::db::schema::sql_types::ReadingStatus as SqlStatus;
use crate::db::schema::{books, hardcover_sync_runs as runs, service_credentials as sc};
use crate::error::Error;
use crate::library::external;
use crate::{db, reading, settings};

/// ISBNs per editions query, books per shelf query.
const CHUNK: usize = 100;
/// Runs kept per reader.
pub const KEPT_RUNS: i64 = 100;
/// An open run silent this long was left by a server that stopped: longer than any wait
/// for Hardcover (10 s timeouts, a Retry-After of at most 10 minutes).
const STALE_MINUTES: i32 = 15;

fn under_way() -> Error {
    Error::Conflict("a Hardcover sync for this reader is under way".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Api,
    Cli,
    /// "Sync now" on the web app's connect page.
    Web,
}

impl Trigger {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Api => "api",
            Trigger::Cli => "cli",
            Trigger::Web => "web",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Failure {
    pub book_id: Uuid,
    pub title: Option<String>,
    pub error: String,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Report {
    pub run_id: Uuid,
    /// Books newly linked to Hardcover by ISBN (for the whole library).
    pub linked: i32,
    /// Books with a status on the reader's Hardcover shelf.
    pub pulled: i32,
    /// Books whose status or progress was sent.
    pub pushed: i32,
    /// Books with nothing new to send.
    pub unchanged: i32,
    pub failed: i32,
    pub failures: Vec<Failure>,
    /// Why the run stopped early.
    pub error: Option<String>,
}

/// Links the library's books that carry an ISBN to Hardcover editions (ISBN-13 first, then
/// ISBN-10), filling page_count where it is missing. Returns how many were linked.
async fn link(cx: &Context, token: &str, run_id: Uuid) -> Result<i32, HardcoverError> {
    type Unlinked = (Uuid, Option<String>, Option<String>);
    let unlinked: Vec<Unlinked> = db::run(&cx.pool, |conn| {
        Ok(books::table
            .filter(books::hardcover_book_id.is_null())
            .filter(books::status.eq(BookStatus::Organized))
            .filter(
                books::isbn_13
                    .is_not_null()
                    .or(books::isbn_10.is_not_null()),
            )
            .select((books::id, books::isbn_13, books::isbn_10))
            .load(&mut **conn)?)
    })
    .await
    .map_err(|e| HardcoverError::Response(format!("reading the library: {e}")))?;
    let mut linked = 0;
    for chunk in unlinked.chunks(CHUNK / 2) {
        let isbns: Vec<&str> = chunk
            .iter()
            .flat_map(|(_, a, b)| [a.as_deref(), b.as_deref()])
            .flatten()
            .collect();
        let data = match cx
            .client
            .query(token, graphql::EDITIONS_BY_ISBN, json!({ "isbns": isbns }))
            .await
        {
            Ok(data) => data,
            Err(e) if stops_run(&e) => return Err(e),
            // These books stay unlinked until the next run.
            Err(e) => {
                log::warn!("hardcover: looking up {} ISBNs: {e}", isbns.len());
                continue;
            }
        };
        beat(cx, run_id).await;
        let editions = graphql::editions(&data);
        let links: Vec<(Uuid, i32, i32, Option<i32>)> = chunk
            .iter()
            .filter_map(|(id, i13, i10)| {
                let e = graphql::edition_for(&editions, i13.as_deref(), i10.as_deref())?;
                Some((
                    *id,
                    i32::try_from(e.book_id).ok()?,
                    i32::try_from(e.id).ok()?,
                    e.pages,
                ))
            })
            .collect();
        if links.is_empty() {
            continue;
        }
        linked += db::run(&cx.pool, move |conn| external::link_hardcover(conn, &links))
            .await
            .map_err(|e| HardcoverError::Response(format!("linking: {e}")))?;
    }
    Ok(linked)
}

/// A linked book as the reader has it.
#[derive(Debug, Clone, QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Int4)]
    hardcover_book_id: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    hardcover_edition_id: Option<i32>,
    #[diesel(sql_type = Nullable<Int4>)]
    page_count: Option<i32>,
    #[diesel(sql_type = Nullable<SqlStatus>)]
    manual_status: Option<ReadingStatus>,
    #[diesel(sql_type = Nullable<SqlStatus>)]
    derived_status: Option<ReadingStatus>,
    #[diesel(sql_type = Nullable<SqlStatus>)]
    external_status: Option<ReadingStatus>,
    #[diesel(sql_type = Nullable<Numeric>)]
    percentage: Option<BigDecimal>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    started_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    finished_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    last_status: Option<String>,
    #[diesel(sql_type = Nullable<Numeric>)]
    last_progress: Option<BigDecimal>,
    #[diesel(sql_type = Nullable<Int4>)]
    hardcover_user_book_id: Option<i32>,
    #[diesel(sql_type = Nullable<Int4>)]
    hardcover_read_id: Option<i32>,
}

const LINKED: &str =
    "SELECT b.id, b.title, b.hardcover_book_id, b.hardcover_edition_id, b.page_count,
    ra.manual_status, ra.derived_status, ra.external_status, ra.percentage,
    coalesce(ra.manual_started_at, ra.started_at) AS started_at,
    coalesce(ra.manual_finished_at, ra.finished_at) AS finished_at,
    l.last_status, l.last_progress, l.hardcover_user_book_id, l.hardcover_read_id
FROM books b
LEFT JOIN reading_aggregate ra ON ra.book_id = b.id AND ra.api_key_id = $1
LEFT JOIN hardcover_sync_log l ON l.book_id = b.id AND l.api_key_id = $1
WHERE b.status = 'organized' AND b.hardcover_book_id IS NOT NULL
ORDER BY b.id";

const LOG: &str = "INSERT INTO hardcover_sync_log (book_id, api_key_id, hardcover_user_book_id,
    hardcover_read_id, last_status, last_progress, last_synced_at)
VALUES ($1, $2, $3, $4, $5, $6, now())
ON CONFLICT (api_key_id, book_id) DO UPDATE SET
    hardcover_user_book_id = EXCLUDED.hardcover_user_book_id,
    hardcover_read_id = EXCLUDED.hardcover_read_id,
    last_status = EXCLUDED.last_status,
    last_progress = EXCLUDED.last_progress,
    last_synced_at = now()";

fn status_name(s: ReadingStatus) -> &'static str {
    match s {
        ReadingStatus::Unread => "unread",
        ReadingStatus::Reading => "reading",
        ReadingStatus::Finished => "finished",
        ReadingStatus::Paused => "paused",
    }
}

fn status_id_of(name: &str) -> Option<i64> {
    let status = match name {
        "reading" => ReadingStatus::Reading,
        "finished" => ReadingStatus::Finished,
        "paused" => ReadingStatus::Paused,
        _ => return None,
    };
    rules::to_push(Some(status), ReadingStatus::Unread)
}

fn fraction(p: &Option<BigDecimal>) -> Option<f64> {
    p.as_ref().and_then(ToPrimitive::to_f64)
}

/// A date as the reader's calendar shows it (the server's local time).
fn day(t: DateTime<Utc>) -> Value {
    json!(t
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d")
        .to_string())
}

/// What is written to the log after a push (or a first look that needed none).
struct Logged {
    book_id: Uuid,
    user_book_id: Option<i32>,
    read_id: Option<i32>,
    status: &'static str,
    progress: Option<BigDecimal>,
}

/// Sends one book's status and progress; the log row to write.
async fn push_one(
    cx: &Context,
    token: &str,
    row: &Row,
    on_shelf: Option<&UserBook>,
    status_id: i64,
    pages: Option<i32>,
) -> Result<(Option<i32>, Option<i32>), HardcoverError> {
    let hc = &cx.client;
    let user_book_id = match on_shelf {
        Some(ub) => {
            if rules::status_differs(Some(ub.status_id), status_id) {
                let data = hc
                    .query(
                        token,
                        graphql::UPDATE_USER_BOOK,
                        json!({ "id": ub.id, "object": { "status_id": status_id } }),
                    )
                    .await?;
                graphql::mutation_id(&data, "update_user_book")
                    .map_err(HardcoverError::Response)?;
            }
            ub.id
        }
        None => {
            let mut object = json!({ "book_id": row.hardcover_book_id, "status_id": status_id });
            if let Some(edition) = row.hardcover_edition_id {
                object["edition_id"] = json!(edition);
            }
            let data = hc
                .query(
                    token,
                    graphql::INSERT_USER_BOOK,
                    json!({ "object": object }),
                )
                .await?;
            graphql::mutation_id(&data, "insert_user_book").map_err(HardcoverError::Response)?
        }
    };
    // The dated read carries the progress and the dates (only those known: a null would
    // erase what the reader entered on Hardcover).
    let finishing = status_id == 3;
    let mut read = json!({});
    if let Some(started) = row.started_at {
        read["started_at"] = day(started);
    }
    if finishing {
        read["finished_at"] = day(row.finished_at.unwrap_or_else(Utc::now));
    }
    if let Some(pages) = pages {
        read["progress_pages"] = json!(pages);
    }
    let edition = on_shelf
        .and_then(|u| u.edition_id)
        .or(row.hardcover_edition_id.map(i64::from));
    if let Some(edition) = edition {
        read["edition_id"] = json!(edition);
    }
    let known_read =
        on_shelf.and_then(|u| u.read_to_update(row.hardcover_read_id.map(i64::from), finishing));
    let read_id = match known_read {
        Some(id) => {
            let data = hc
                .query(
                    token,
                    graphql::UPDATE_READ,
                    json!({ "id": id, "read": read }),
                )
                .await?;
            graphql::mutation_id(&data, "update_user_book_read")
                .map_err(HardcoverError::Response)?
        }
        None => {
            let data = hc
                .query(
                    token,
                    graphql::INSERT_READ,
                    json!({ "user_book_id": user_book_id, "read": read }),
                )
                .await?;
            graphql::mutation_id(&data, "insert_user_book_read")
                .map_err(HardcoverError::Response)?
        }
    };
    Ok((
        i32::try_from(user_book_id).ok(),
        i32::try_from(read_id).ok(),
    ))
}

/// Whether a reader's run should stop at this error (the token or Hardcover itself), rather
/// than record it against one book and go on.
fn stops_run(e: &HardcoverError) -> bool {
    !matches!(e, HardcoverError::Response(_))
}

async fn pull_and_push(
    cx: &Context,
    key_id: Uuid,
    token: &str,
    report: &mut Report,
) -> Result<(), HardcoverError> {
    let rows: Vec<Row> = db::run(&cx.pool, move |conn| {
        Ok(diesel::sql_query(LINKED)
            .bind::<SqlUuid, _>(key_id)
            .load(&mut **conn)?)
    })
    .await
    .map_err(|e| HardcoverError::Response(format!("reading the library: {e}")))?;
    // Pull.
    let mut shelf: HashMap<i64, UserBook> = HashMap::new();
    let ids: Vec<i32> = rows.iter().map(|r| r.hardcover_book_id).collect();
    for chunk in ids.chunks(CHUNK) {
        let data = cx
            .client
            .query(token, graphql::USER_BOOKS, json!({ "ids": chunk }))
            .await?;
        for ub in graphql::user_books(&data) {
            shelf.insert(ub.book_id, ub);
        }
        beat(cx, report.run_id).await;
    }
    // The reader's Hardcover status is the external status: set where Hardcover has one,
    // cleared where the book left the reader's shelf there. Changed statuses are written;
    // unchanged ones only have their synced_at moved.
    let (mut changed, mut seen, mut cleared) = (vec![], vec![], vec![]);
    for row in &rows {
        match shelf.get(&i64::from(row.hardcover_book_id)) {
            // A status id Hardcover added since maps to nothing: what was pulled stays.
            Some(ub) => match rules::from_hardcover(ub.status_id) {
                Some(status) if row.external_status == Some(status) => seen.push(row.id),
                Some(status) => changed.push((row.id, status)),
                None => {}
            },
            None if row.external_status.is_some() => cleared.push(row.id),
            None => {}
        }
    }
    report.pulled = (changed.len() + seen.len()) as i32;
    db::run(&cx.pool, move |conn| {
        reading::store::set_external(conn, key_id, &changed, &seen, &cleared)
    })
    .await
    .map_err(|e| HardcoverError::Response(format!("recording Hardcover statuses: {e}")))?;

    // Push.
    for row in &rows {
        let derived = row.derived_status.unwrap_or(ReadingStatus::Unread);
        let Some(status_id) = rules::to_push(row.manual_status, derived) else {
            continue;
        };
        let on_shelf = shelf.get(&i64::from(row.hardcover_book_id));
        let edition_pages = on_shelf.and_then(|u| u.edition_pages).or(row.page_count);
        let percentage = fraction(&row.percentage).unwrap_or(0.0);
        let now = Sent {
            status: status_id,
            progress_pages: rules::progress_pages(percentage, edition_pages),
        };
        let last = row
            .last_status
            .as_deref()
            .and_then(status_id_of)
            .map(|status| Sent {
                status,
                progress_pages: rules::progress_pages(
                    fraction(&row.last_progress).unwrap_or(0.0),
                    edition_pages,
                ),
            });
        let local_status = rules::from_hardcover(status_id).unwrap_or(ReadingStatus::Unread);
        let mut logged = Logged {
            book_id: row.id,
            user_book_id: row.hardcover_user_book_id,
            read_id: row.hardcover_read_id,
            status: status_name(local_status),
            progress: row.percentage.clone(),
        };
        let unchanged = !rules::changed(last.as_ref(), &now)
            || rules::keeps_hardcover(last.is_some(), on_shelf.map(|u| u.status_id), status_id);
        let result = if unchanged {
            // Nothing new; or a first look at a book Hardcover has as read or did not finish,
            // which an older local reading must not undo. The log takes it as the start.
            report.unchanged += 1;
            if last.is_none() {
                logged.user_book_id = on_shelf.and_then(|u| i32::try_from(u.id).ok());
                write_log(cx, key_id, logged).await
            } else {
                Ok(())
            }
        } else {
            match push_one(cx, token, row, on_shelf, status_id, now.progress_pages).await {
                Ok((user_book_id, read_id)) => {
                    logged.user_book_id = user_book_id;
                    logged.read_id = read_id;
                    let logged = write_log(cx, key_id, logged).await;
                    if logged.is_ok() {
                        report.pushed += 1;
                    }
                    beat(cx, report.run_id).await;
                    logged
                }
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(()) => {}
            Err(e) if stops_run(&e) => return Err(e),
            Err(e) => {
                log::warn!("hardcover: syncing book {}: {e}", row.id);
                report.failed += 1;
                report.failures.push(Failure {
                    book_id: row.id,
                    title: row.title.clone(),
                    error: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Shows the run is alive (see [`STALE_MINUTES`]).
async fn beat(cx: &Context, run_id: Uuid) {
    let result = db::run(&cx.pool, move |conn| {
        diesel::update(runs::table.find(run_id))
            .set(runs::heartbeat_at.eq(diesel::dsl::now))
            .execute(&mut **conn)?;
        Ok(())
    })
    .await;
    if let Err(e) = result {
        log::warn!("hardcover: run {run_id}: {e}");
    }
}

async fn write_log(cx: &Context, key_id: Uuid, l: Logged) -> Result<(), HardcoverError> {
    db::run(&cx.pool, move |conn| {
        diesel::sql_query(LOG)
            .bind::<SqlUuid, _>(l.book_id)
            .bind::<SqlUuid, _>(key_id)
            .bind::<Nullable<Int4>, _>(l.user_book_id)
            .bind::<Nullable<Int4>, _>(l.read_id)
            .bind::<Text, _>(l.status)
            .bind::<Nullable<Numeric>, _>(&l.progress)
            .execute(&mut **conn)?;
        Ok(())
    })
    .await
    .map_err(|e| HardcoverError::Response(format!("recording the sync: {e}")))
}

/// Runs a reader's sync now. Refused (409) when sync is off, no token is stored, or a run for
/// this reader is under way.
pub async fn run(cx: &Context, key_id: Uuid, trigger: Trigger) -> Result<Report, Error> {
    run_announced(cx, key_id, trigger, None).await
}

/// How [`run_waiting`] ended its wait.
pub enum Waited {
    Done(Report),
    /// Still running after the wait: the run goes on, its row shows how it ends.
    Running(Uuid),
}

/// Starts a run that belongs to the server, not to the caller (a client that gives up does
/// not cut it short), and waits up to `wait` for its report. A run refused before it began
/// (sync off, no token, one under way) is that error.
pub async fn run_waiting(
    cx: Context,
    key_id: Uuid,
    trigger: Trigger,
    wait: std::time::Duration,
) -> Result<Waited, Error> {
    let (started, run_id) = tokio::sync::oneshot::channel();
    let mut running =
        actix_web::rt::spawn(
            async move { run_announced(&cx, key_id, trigger, Some(started)).await },
        );
    let finished = |done: Result<Result<Report, Error>, tokio::task::JoinError>| {
        let report = done.map_err(|e| Error::Internal(format!("the sync task: {e}")))??;
        Ok(Waited::Done(report))
    };
    // No id: the run was refused before it began.
    let Ok(run_id) = run_id.await else {
        return finished(running.await);
    };
    match tokio::time::timeout(wait, &mut running).await {
        Ok(done) => finished(done),
        Err(_) => Ok(Waited::Running(run_id)),
    }
}

/// [`run`], telling `started` the run's id once its row exists.
pub async fn run_announced(
    cx: &Context,
    key_id: Uuid,
    trigger: Trigger,
    started: Option<tokio::sync::oneshot::Sender<Uuid>>,
) -> Result<Report, Error> {
    let result = run_once(cx, key_id, trigger, started).await;
    let outcome = match &result {
        Ok(r) if r.error.is_none() => "ok",
        _ => "failed",
    };
    metrics::counter!(crate::telemetry::HARDCOVER_RUNS, "run" => "sync", "outcome" => outcome)
        .increment(1);
    result
}

async fn run_once(
    cx: &Context,
    key_id: Uuid,
    trigger: Trigger,
    started: Option<tokio::sync::oneshot::Sender<Uuid>>,
) -> Result<Report, Error> {
    let config = cx.config.clone();
    let (enabled, sealed) = db::run(&cx.pool, move |conn| {
        let enabled = settings::load(conn, &config)?.hardcover_sync_enabled;
        let sealed: Vec<(Uuid, String)> = sc::table
            .filter(
                sc::service
                    .eq(super::SERVICE)
                    .and(sc::api_key_id.eq(key_id)),
            )
            .select((sc::api_key_id, sc::password_hash))
            .load(&mut **conn)?;
        Ok((enabled, sealed))
    })
    .await?;
    if !enabled {
        return Err(Error::Conflict(
            "Hardcover sync is off (hardcover.sync_enabled)".into(),
        ));
    }
    let Some((_, token)) = open_tokens(cx, sealed).await?.pop() else {
        return Err(Error::Conflict(
            "no readable Hardcover token is stored (PUT /api/credentials/hardcover)".into(),
        ));
    };
    let Some(_guard) = cx.client.begin_run(key_id) else {
        return Err(under_way());
    };
    let run_id: Uuid = db::run(&cx.pool, move |conn| {
        conn.transaction(|conn| {
            // A run whose heartbeat stopped belonged to a server that stopped during it.
            diesel::update(
                runs::table
                    .filter(runs::api_key_id.eq(key_id).and(runs::finished_at.is_null()))
                    .filter(
                        diesel::dsl::sql::<diesel::sql_types::Bool>(
                            "heartbeat_at < now() - make_interval(mins => ",
                        )
                        .bind::<Int4, _>(STALE_MINUTES)
                        .sql(")"),
                    ),
            )
            .set((
                runs::finished_at.eq(diesel::dsl::now),
                runs::error.eq("interrupted: the server stopped during the run"),
            ))
            .execute(conn)?;
            // The newest runs are enough to see how syncing goes.
            diesel::sql_query(
                "DELETE FROM hardcover_sync_runs WHERE api_key_id = $1 AND id NOT IN \
                 (SELECT id FROM hardcover_sync_runs WHERE api_key_id = $1 \
                  ORDER BY started_at DESC LIMIT $2)",
            )
            .bind::<SqlUuid, _>(key_id)
            .bind::<diesel::sql_types::BigInt, _>(KEPT_RUNS - 1)
            .execute(conn)?;
            // At most one open run per reader (a unique index), across processes: `libris
            // hardcover sync` and the server do not sync one reader twice at once.
            diesel::insert_into(runs::table)
                .values((
                    runs::api_key_id.eq(key_id),
                    runs::trigger.eq(trigger.as_str()),
                ))
                .returning(runs::id)
                .get_result(conn)
                .map_err(|e| match e {
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    ) => under_way(),
                    e => e.into(),
                })
        })
    })
    .await?;
    if let Some(started) = started {
        let _ = started.send(run_id);
    }
    let mut report = Report {
        run_id,
        ..Report::default()
    };
    let outcome = match link(cx, &token, run_id).await {
        Ok(n) => {
            report.linked = n;
            pull_and_push(cx, key_id, &token, &mut report).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        log::warn!("hardcover: the sync of key {key_id} stopped: {e}");
        report.error = Some(e.to_string());
    }
    let r = report.clone();
    db::run(&cx.pool, move |conn| {
        diesel::update(runs::table.find(r.run_id))
            .set((
                runs::finished_at.eq(diesel::dsl::now),
                runs::linked.eq(r.linked),
                runs::pulled.eq(r.pulled),
                runs::pushed.eq(r.pushed),
                runs::unchanged.eq(r.unchanged),
                runs::failed.eq(r.failed),
                runs::error.eq(&r.error),
                runs::failures.eq(serde_json::to_value(&r.failures).unwrap_or_default()),
            ))
            .execute(&mut **conn)?;
        Ok(())
    })
    .await?;
    Ok(report)
}

/// Runs every reader's sync, one after the other; `only` limits it to one reader.
pub async fn run_all(
    cx: &Context,
    only: Option<Uuid>,
    trigger: Trigger,
) -> Vec<(Uuid, Result<Report, Error>)> {
    let readers = match db::run(&cx.pool, |conn| sealed_tokens(conn)).await {
        Ok(list) => list,
        Err(e) => return vec![(Uuid::nil(), Err(e))],
    };
    let mut out = vec![];
    for (key_id, _) in readers {
        if only.is_some_and(|o| o != key_id) {
            continue;
        }
        out.push((key_id, run(cx, key_id, trigger).await));
    }
    out
}
