//! Hardcover metadata proposals for books in review: searched by ISBN, else by "title
//! author"; the best hit becomes a `book_metadata_candidates` row (source 'hardcover').
//! `books.hardcover_searched_at` marks a book as looked up, so a restart resumes where the
//! lookups stopped and a book Hardcover does not know is not asked about again.

use std::str::FromStr;
use std::time::Duration;

use bigdecimal::BigDecimal;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::graphql::{self, Lookup, Proposal};
use super::Context;
use super::{open_tokens, sealed_tokens, HardcoverError};
use crate::db::models::BookStatus;
use crate::db::schema::books;
use crate::error::Error;
use crate::library::external::{self, Proposed};
use crate::{db, settings};

/// Books looked up per pass; the next pass takes the rest.
const BATCH: i64 = 50;
/// How often the worker looks for books nobody woke it for (a CLI import).
const EVERY: Duration = Duration::from_secs(600);

/// A proposal as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub id: Uuid,
    pub source: String,
    #[schema(value_type = Object)]
    pub normalized: Value,
    pub confidence: f64,
}

/// The best Hardcover hit for a book, with what Hardcover answered; None when nothing matched.
pub async fn lookup(
    cx: &Context,
    token: &str,
    book: &Lookup,
) -> Result<Option<(Proposal, f64, Value)>, HardcoverError> {
    let Some(q) = book.query() else {
        return Ok(None);
    };
    let data = cx
        .client
        .query(token, graphql::SEARCH, json!({ "q": q }))
        .await?;
    // `results` is a JSON scalar; some deployments hand it over as a string.
    let results = match &data["search"]["results"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        v => v.clone(),
    };
    let Some((mut proposal, confidence, _)) = graphql::best_hit(book, &results) else {
        return Ok(None);
    };
    let mut raw = json!({ "query": q, "search": results });
    // The edition (its id, publisher, pages) comes from the ISBN the hit carries.
    let isbns: Vec<String> = [proposal.isbn_13.clone(), proposal.isbn_10.clone()]
        .into_iter()
        .flatten()
        .collect();
    if !isbns.is_empty() {
        let data = cx
            .client
            .query(token, graphql::EDITIONS_BY_ISBN, json!({ "isbns": isbns }))
            .await?;
        let editions = graphql::editions(&data);
        if let Some(e) = graphql::edition_for(
            &editions,
            proposal.isbn_13.as_deref(),
            proposal.isbn_10.as_deref(),
        )
        .filter(|e| Some(e.book_id) == proposal.hardcover_book_id)
        {
            proposal.hardcover_edition_id = Some(e.id);
            proposal.publisher = e.publisher.clone();
            proposal.page_count = e.pages.or(proposal.page_count);
        }
        raw["editions"] = data["editions"].clone();
    }
    Ok(Some((proposal, confidence, raw)))
}

fn lookup_of(conn: &mut PgConnection, id: Uuid) -> Result<Option<Lookup>, Error> {
    type Known = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Known> = books::table
        .find(id)
        .select((books::title, books::author, books::isbn_13, books::isbn_10))
        .first(conn)
        .optional()?;
    Ok(row.map(|(title, author, isbn_13, isbn_10)| Lookup {
        title,
        author,
        isbn_13,
        isbn_10,
    }))
}

/// Records a lookup: the book is marked looked up and its Hardcover proposal (if any)
/// replaces an earlier one, in one transaction.
fn record(
    conn: &mut PgConnection,
    book_id: Uuid,
    found: Option<(Proposal, f64, Value)>,
) -> Result<Option<Candidate>, Error> {
    let Some((proposal, confidence, raw)) = found else {
        external::record_hardcover_lookup(conn, book_id, None)?;
        return Ok(None);
    };
    let normalized = serde_json::to_value(&proposal).unwrap_or_else(|_| json!({}));
    let stored = BigDecimal::from_str(&format!("{confidence:.4}")).unwrap_or_default();
    let proposed = Proposed {
        raw: &raw,
        normalized: &normalized,
        confidence: stored,
    };
    let id = external::record_hardcover_lookup(conn, book_id, Some(proposed))?;
    Ok(id.map(|id| Candidate {
        id,
        source: "hardcover".into(),
        normalized,
        confidence: (confidence * 10_000.0).round() / 10_000.0,
    }))
}

/// Looks one book up now, with the first token Hardcover accepts (an admin asking again).
pub async fn lookup_book(cx: &Context, book_id: Uuid) -> Result<Option<Candidate>, Error> {
    let (book, sealed) = db::run(&cx.pool, move |conn| {
        let book = lookup_of(conn, book_id)?
            .ok_or_else(|| Error::NotFound(format!("no book {book_id}")))?;
        Ok((book, sealed_tokens(conn)?))
    })
    .await?;
    let tokens = open_tokens(cx, sealed).await?;
    if tokens.is_empty() {
        return Err(Error::Conflict(
            "no reader has stored a Hardcover token (PUT /api/credentials/hardcover)".into(),
        ));
    }
    for (key_id, token) in &tokens {
        match lookup(cx, token, &book).await {
            Ok(found) => {
                return db::run(&cx.pool, move |conn| record(conn, book_id, found)).await;
            }
            Err(HardcoverError::InvalidToken) => {
                log::warn!("hardcover: the token of key {key_id} is refused");
            }
            Err(e) => return Err(Error::Upstream(e.to_string())),
        }
    }
    Err(Error::Conflict(
        "Hardcover refuses every stored token".into(),
    ))
}

/// One pass over the books in review not yet looked up; the number of proposals made.
/// Stops early (leaving the rest for later) when Hardcover cannot be reached or refuses
/// every token.
pub async fn pass(cx: &Context) -> Result<usize, Error> {
    let mut made = 0;
    loop {
        match batch(cx, &mut made).await? {
            true => continue,
            false => return Ok(made),
        }
    }
}

/// Looks up to BATCH books up; whether there may be more to do now.
async fn batch(cx: &Context, made: &mut usize) -> Result<bool, Error> {
    let config = cx.config.clone();
    let (enabled, sealed, todo) = db::run(&cx.pool, move |conn| {
        let enabled = settings::load(conn, &config)?.hardcover_metadata_enabled;
        if !enabled {
            return Ok((false, vec![], vec![]));
        }
        let sealed = sealed_tokens(conn)?;
        if sealed.is_empty() {
            return Ok((true, sealed, vec![]));
        }
        let todo: Vec<Uuid> = books::table
            .filter(books::status.eq(BookStatus::Review))
            .filter(books::hardcover_searched_at.is_null())
            .order(books::created_at)
            .limit(BATCH)
            .select(books::id)
            .load(&mut **conn)?;
        Ok((true, sealed, todo))
    })
    .await?;
    if !enabled || todo.is_empty() {
        return Ok(false);
    }
    let full = todo.len() as i64 == BATCH;
    let mut tokens = open_tokens(cx, sealed).await?;
    for book_id in todo {
        let Some(book) = db::run(&cx.pool, move |conn| lookup_of(conn, book_id)).await? else {
            continue;
        };
        let found = loop {
            let Some((key_id, token)) = tokens.first() else {
                log::warn!("hardcover: no usable token left; lookups wait for the next pass");
                return Ok(false);
            };
            match lookup(cx, token, &book).await {
                Ok(found) => break found,
                Err(HardcoverError::InvalidToken) => {
                    log::warn!("hardcover: the token of key {key_id} is refused; trying another");
                    tokens.remove(0);
                }
                Err(e @ (HardcoverError::Unreachable(_) | HardcoverError::RateLimited)) => {
                    log::warn!("hardcover: lookups paused: {e}");
                    return Ok(false);
                }
                Err(HardcoverError::Response(e)) => {
                    // An answer Hardcover will give again: the book is marked looked up
                    // rather than asked about forever.
                    log::warn!("hardcover: looking up book {book_id}: {e}");
                    break None;
                }
            }
        };
        if db::run(&cx.pool, move |conn| record(conn, book_id, found))
            .await?
            .is_some()
        {
            *made += 1;
        }
    }
    Ok(full)
}

/// Looks books up for the life of the server: when woken (a book entered review) and every
/// ten minutes.
pub async fn work(cx: Context, locks: crate::db::advisory::Locks) {
    use crate::db::advisory::Job;
    loop {
        if let Some(passed) = locks.turn(Job::HardcoverLookups, pass(&cx)).await {
            let outcome = if passed.is_ok() { "ok" } else { "failed" };
            metrics::counter!(crate::telemetry::HARDCOVER_RUNS, "run" => "lookup", "outcome" => outcome)
                .increment(1);
            match passed {
                Ok(0) => {}
                Ok(n) => log::info!("hardcover: {n} metadata proposal(s) made"),
                Err(e) => log::warn!("hardcover: metadata lookups: {e}"),
            }
        }
        tokio::select! {
            _ = cx.client.lookups.notified() => {}
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
