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
pub fn open_tokens(
    cx: &Context,
    sealed: Vec<(Uuid, String)>,
) -> Result<Vec<(Uuid, String)>, Error> {
    let key = cx.token_key;
    Ok(sealed
        .into_iter()
        .filter_map(
            |(key_id, stored)| match token::open(&key, key_id, &stored) {
                Some(t) => Some((key_id, t)),
                None => {
                    log::warn!(
                        "hardcover: the token of key {key_id} was sealed under another secret"
                    );
                    None
                }
            },
        )
        .collect())
}
