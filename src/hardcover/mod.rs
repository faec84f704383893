//! Hardcover (hardcover.app): readers' API tokens, kept sealed; the GraphQL client that
//! uses them; metadata proposals for books in review; and two-way reading-status sync.

pub mod client;
pub mod cover;
pub mod graphql;
pub mod metadata;
pub mod rules;
pub mod schedule;
pub mod status;
pub mod sync;
pub mod token;

use std::sync::Arc;

use diesel::prelude::*;
use uuid::Uuid;

pub use client::{Hardcover, HardcoverError, Me};

use crate::config::Config;
use crate::db::schema::service_credentials as sc;
use crate::db::DbPool;
use crate::error::Error;

pub const SERVICE: &str = "hardcover";

/// What Hardcover's lookups and syncs need, and nothing more: the pool, the settings'
/// defaults, the GraphQL client, and the key readers' tokens are sealed under.
#[derive(Clone)]
pub struct Context {
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub client: Arc<Hardcover>,
    pub token_key: [u8; 32],
}

impl Context {
    /// `secret` is the server secret; tokens are sealed under a key derived from it.
    pub fn new(pool: DbPool, config: Arc<Config>, secret: &[u8; 32]) -> Context {
        Context {
            client: Arc::new(Hardcover::new(&config.hardcover_url, config.hardcover_pace)),
            token_key: crate::secret::derive(secret, token::PURPOSE),
            pool,
            config,
        }
    }
}

/// Every reader's stored token, sealed, most recently stored first.
pub fn sealed_tokens(conn: &mut PgConnection) -> Result<Vec<(Uuid, String)>, Error> {
    Ok(sc::table
        .filter(sc::service.eq(SERVICE))
        .order(sc::updated_at.desc())
        .select((sc::api_key_id, sc::password_hash))
        .load(conn)?)
}

/// The tokens that open under this server's secret (one sealed under another secret is
/// skipped with a warning: its reader must store it again).
pub async fn open_tokens(
    cx: &Context,
    sealed: Vec<(Uuid, String)>,
) -> Result<Vec<(Uuid, String)>, Error> {
    let mut opened = Vec::with_capacity(sealed.len());
    for (key_id, stored) in sealed {
        match open_token(cx, key_id, stored).await? {
            Some(t) => opened.push((key_id, t)),
            None => {
                log::warn!("hardcover: the token of key {key_id} was sealed under another secret")
            }
        }
    }
    Ok(opened)
}

/// A reader's stored token, opened; None when it was sealed under another secret. A token
/// sealed under the key LIBRIS_SECRET_KEY gave before it was stretched with Argon2id
/// (`secret::legacy_from_passphrase`) still opens, and is sealed again under the current key
/// and stored so (unless the reader stored another meanwhile).
pub async fn open_token(
    cx: &Context,
    key_id: Uuid,
    stored: String,
) -> Result<Option<String>, Error> {
    if let Some(t) = token::open(&cx.token_key, key_id, &stored) {
        return Ok(Some(t));
    }
    let Some(passphrase) = &cx.config.secret_key else {
        return Ok(None);
    };
    let legacy = crate::secret::derive(
        &crate::secret::legacy_from_passphrase(&passphrase.0),
        token::PURPOSE,
    );
    let Some(t) = token::open(&legacy, key_id, &stored) else {
        return Ok(None);
    };
    let resealed = token::seal(&cx.token_key, key_id, &t);
    let saved = crate::db::run(&cx.pool, move |conn| {
        crate::auth::credentials::replace_secret(conn, SERVICE, key_id, &stored, &resealed)
    })
    .await;
    match saved {
        Ok(_) => log::info!("hardcover: the token of key {key_id} is sealed under the new key"),
        // Opened all the same; sealing again is tried the next time.
        Err(e) => log::warn!("hardcover: the token of key {key_id} stays under the old key: {e}"),
    }
    Ok(Some(t))
}
