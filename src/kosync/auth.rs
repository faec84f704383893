//! KoSync authentication around a unit of database work.
//!
//! Writes: one connection, the credential lookup, a cache hit, the work. Reads: the
//! credential and the data come back from one statement, and the data is released only once
//! the key is verified. On a cache miss the connection goes back to the pool while bcrypt
//! runs, so a flood of wrong passwords cannot starve the pool.

use actix_web::web;
use uuid::Uuid;

use crate::auth::credentials;
use crate::db::{self, Conn};
use crate::error::Error;
use crate::AppState;

enum Step<T, F> {
    Done(T),
    Verify(F, Option<(Uuid, String)>),
}

/// bcrypt on the blocking pool: does `key` open the stored hash (`None`: unknown user,
/// which costs the same)?
async fn verify(
    state: &AppState,
    username: String,
    key: String,
    hash: Option<String>,
) -> Result<bool, Error> {
    let verifier = state.verifier.clone();
    Ok(web::block(move || verifier.verify_kosync(&username, hash.as_deref(), &key)).await?)
}

/// Authenticates `(username, key)` and runs `work` for the reader. `unknown` is the error for
/// a username without a kosync credential (401 everywhere but `DELETE /users/me`).
pub async fn authorized<T, F>(
    state: &AppState,
    creds: (String, String),
    unknown: Error,
    work: F,
) -> Result<T, Error>
where
    F: FnOnce(&mut Conn, Uuid) -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    let (username, key) = creds;
    let verifier = state.verifier.clone();
    let (user, presented) = (username.clone(), key.clone());
    let step = db::run(&state.pool, move |conn| {
        match credentials::lookup(conn, "kosync", &user)? {
            Some((id, hash)) if verifier.is_cached(&user, &hash, &presented) => {
                work(conn, id).map(Step::Done)
            }
            other => Ok(Step::Verify(work, other)),
        }
    })
    .await?;

    let (work, found) = match step {
        Step::Done(value) => return Ok(value),
        Step::Verify(work, found) => (work, found),
    };
    let ok = verify(state, username, key, found.as_ref().map(|(_, h)| h.clone())).await?;
    match (ok, found) {
        (true, Some((id, _))) => db::run(&state.pool, move |conn| work(conn, id)).await,
        (_, None) => Err(unknown),
        (false, Some(_)) => Err(Error::Unauthorized),
    }
}

/// Authenticates `(username, key)` around a read that fetches the credential and the data
/// together: `read(conn, username)` answers `(api_key_id, stored hash, data)` or `None` for
/// an unknown user. One round trip when the verification is cached.
pub async fn authorized_read<T, F>(
    state: &AppState,
    creds: (String, String),
    read: F,
) -> Result<T, Error>
where
    F: FnOnce(&mut Conn, &str) -> Result<Option<(Uuid, String, T)>, Error> + Send + 'static,
    T: Send + 'static,
{
    let (username, key) = creds;
    let user = username.clone();
    let found = db::run(&state.pool, move |conn| read(conn, &user)).await?;
    if let Some((_, hash, _)) = &found {
        if state.verifier.is_cached(&username, hash, &key) {
            return Ok(found.unwrap().2);
        }
    }
    let hash = found.as_ref().map(|(_, h, _)| h.clone());
    match (verify(state, username, key, hash).await?, found) {
        (true, Some((_, _, data))) => Ok(data),
        _ => Err(Error::Unauthorized),
    }
}
