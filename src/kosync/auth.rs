//! KoSync authentication around a unit of database work.
//!
//! Progress reports: one statement (in a batch, `reading::batch`) that writes only while the
//! credential still holds the hash the key was verified against. Reads: the credential and the data come back from one
//! statement, and the data is released only once the key is verified. Other writes: the
//! credential lookup, then the work, on one connection. On a cache miss the connection goes
//! back to the pool while bcrypt runs, so a flood of wrong passwords cannot starve the pool.

use std::future::Future;

use actix_web::HttpRequest;
use uuid::Uuid;

use crate::auth::credentials;
use crate::auth::device_passwords::{self, Via, VERIFIED_PREFIX};
use crate::db::{self, Conn};
use crate::error::Error;
use crate::http::throttle;
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
    state
        .bcrypt(move || verifier.verify_kosync(&username, hash.as_deref(), &key))
        .await
}

/// The device password `key` is, under the KoSync username `username` (one round trip, no
/// bcrypt: see `auth::device_passwords`).
async fn device_password(
    state: &AppState,
    username: &str,
    key: &str,
) -> Result<Option<device_passwords::Opened>, Error> {
    let (user, key) = (username.to_owned(), key.to_owned());
    db::run(&state.pool, move |conn| {
        device_passwords::find(conn, &["kosync"], &user, &key)
    })
    .await
}

/// `result` of authenticating `req`, told to the login throttle when it signed in (the
/// credentials verified and the work done).
fn noted<T>(req: &HttpRequest, result: Result<T, Error>) -> Result<T, Error> {
    if result.is_ok() {
        throttle::signed_in(req);
    }
    result
}

/// Authenticates `(username, key)` and runs `work` for the reader. `unknown` is the error for
/// a username without a kosync credential (401 everywhere but `DELETE /users/me`).
pub async fn authorized<T, F>(
    state: &AppState,
    req: &HttpRequest,
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
        Step::Done(value) => return noted(req, Ok(value)),
        Step::Verify(work, found) => (work, found),
    };
    let ok = verify(state, username, key, found.as_ref().map(|(_, h)| h.clone())).await?;
    match (ok, found) {
        (true, Some((id, _))) => noted(req, db::run(&state.pool, move |conn| work(conn, id)).await),
        (_, None) => Err(unknown),
        (false, Some(_)) => Err(Error::Unauthorized),
    }
}

/// Authenticates `(username, key)` around a read that fetches the credential and the data
/// together: `read(conn, username)` answers `(api_key_id, stored hash, data)` or `None` for
/// an unknown user. One round trip when the verification is cached. `device`: the request's
/// device name and id, recorded when a device password opened it.
pub async fn authorized_read<T, F>(
    state: &AppState,
    req: &HttpRequest,
    creds: (String, String),
    device: Option<(String, Option<String>)>,
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
            return noted(req, Ok(found.unwrap().2));
        }
    }
    if let Some((id, _, _)) = &found {
        if let Some(opened) = device_password(state, &username, &key).await? {
            if opened.api_key_id == *id {
                state.device_used(&opened.key_sha256, Via::Kosync, device);
                return noted(req, Ok(found.unwrap().2));
            }
        }
    }
    let hash = found.as_ref().map(|(_, h, _)| h.clone());
    match (verify(state, username, key, hash).await?, found) {
        (true, Some((_, _, data))) => noted(req, Ok(data)),
        _ => Err(Error::Unauthorized),
    }
}

/// Authenticates `(username, key)` for work that checks the credential itself:
/// `work(username, verified_hash)` answers `None` when the credential no longer holds that
/// hash. Warm: the work alone (a progress report: its batch's statement). Cold, or when the
/// cached hash went stale: lookup, bcrypt, then the work.
///
/// A device password opens it too (`device`: the report's device name and id, recorded as
/// the password's last use): its "verified hash" is `device:` and the password's key, which
/// the report statement checks like a stored hash.
pub async fn authorized_as<T, F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    creds: (String, String),
    device: Option<(String, Option<String>)>,
    work: F,
) -> Result<T, Error>
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = Result<Option<T>, Error>>,
{
    let (username, key) = creds;
    let used = |hash: &str| {
        if let Some(sha) = hash.strip_prefix(VERIFIED_PREFIX) {
            state.device_used(sha, Via::Kosync, device.clone());
        }
    };
    if let Some(hash) = state.verifier.verified_hash(&username, &key) {
        match work(username.clone(), hash.clone()).await? {
            Some(value) => {
                used(&hash);
                return noted(req, Ok(value));
            }
            None => state.verifier.forget(&username, &key),
        }
    }
    if let Some(opened) = device_password(state, &username, &key).await? {
        let verified = opened.verified();
        if let Some(value) = work(username.clone(), verified.clone()).await? {
            state.verifier.remember_opened(&username, &verified, &key);
            used(&verified);
            return noted(req, Ok(value));
        }
    }
    let user = username.clone();
    let found = db::run(&state.pool, move |conn| {
        credentials::lookup(conn, "kosync", &user)
    })
    .await?;
    let hash = found.map(|(_, hash)| hash);
    if !verify(state, username.clone(), key, hash.clone()).await? {
        return Err(Error::Unauthorized);
    }
    let hash = hash.ok_or(Error::Unauthorized)?;
    let done = work(username, hash).await?;
    noted(req, done.ok_or(Error::Unauthorized))
}

/// Authentication alone (`/users/auth`, and requests refused after it).
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    creds: (String, String),
) -> Result<(), Error> {
    authorized_read(state, req, creds, None, |conn, user| {
        Ok(credentials::lookup(conn, "kosync", user)?.map(|(id, hash)| (id, hash, ())))
    })
    .await
}
