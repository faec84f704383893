//! KoSync authentication around a unit of database work.
//!
//! Warm path: one connection, the credential lookup, a cache hit, the work. Cold path: the
//! connection goes back to the pool while bcrypt runs, so a flood of wrong passwords cannot
//! starve the pool; the work then runs on a fresh checkout.

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
    let verifier = state.verifier.clone();
    let hash = found.as_ref().map(|(_, h)| h.clone());
    let ok = web::block(move || verifier.verify_kosync(&username, hash.as_deref(), &key)).await?;
    match (ok, found) {
        (true, Some((id, _))) => db::run(&state.pool, move |conn| work(conn, id)).await,
        (_, None) => Err(unknown),
        (false, Some(_)) => Err(Error::Unauthorized),
    }
}
