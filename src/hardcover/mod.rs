//! Hardcover (hardcover.app): readers' API tokens, kept sealed; the GraphQL client that
//! uses them; metadata proposals for books in review; and two-way reading-status sync.

pub mod client;
pub mod cover;
pub mod graphql;
pub mod metadata;
pub mod rules;
pub mod schedule;
pub mod sync;
pub mod token;

use diesel::prelude::*;
use uuid::Uuid;

pub use client::{Hardcover, HardcoverError, Me};

use crate::db::schema::service_credentials as sc;
use crate::error::Error;
use crate::AppState;

pub const SERVICE: &str = "hardcover";

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
    state: &AppState,
    sealed: Vec<(Uuid, String)>,
) -> Result<Vec<(Uuid, String)>, Error> {
    let key = state.key(token::PURPOSE)?;
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
