//! Web sessions (`web_sessions`): a signed-in browser. The cookie holds a random token; the
//! table holds only its SHA-256, so neither a leaked table nor a leaked log makes a cookie.
//! A session ends when it is idle too long, when it reaches its absolute end, when it is
//! revoked (sign out, "sign out everywhere", the account page), or when its reader's key is
//! deleted (the foreign key cascades).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rand::RngCore;
use uuid::Uuid;

use super::sha256_hex;
use crate::db::schema::{api_keys, web_sessions as ws};
use crate::error::Error;

/// How long sessions last: `idle` after the last request, `absolute` after signing in.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Lifetimes {
    /// LIBRIS_SESSION_IDLE_DAYS and LIBRIS_SESSION_MAX_DAYS.
    pub fn of(config: &crate::config::Config) -> Lifetimes {
        let days = |d: std::time::Duration| Duration::from_std(d).unwrap_or(Duration::days(30));
        Lifetimes {
            idle: days(config.session_idle),
            absolute: days(config.session_max),
        }
    }
}

/// A signed-in browser, as each request sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub key_id: Uuid,
    pub label: String,
    pub is_admin: bool,
    pub last_seen_at: DateTime<Utc>,
}

/// One of a reader's sessions, as the account page lists them.
#[derive(Debug, Clone, Queryable)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: String,
}

/// A new random session token (32 bytes, hex): what the cookie carries.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Starts a session for `key_id`; the token to put in the cookie.
pub fn start(
    conn: &mut PgConnection,
    key_id: Uuid,
    user_agent: &str,
    lifetimes: Lifetimes,
) -> Result<String, Error> {
    let token = new_token();
    let agent: String = user_agent.chars().take(512).collect();
    diesel::insert_into(ws::table)
        .values((
            ws::token_hash.eq(sha256_hex(token.as_bytes())),
            ws::api_key_id.eq(key_id),
            ws::expires_at.eq(Utc::now() + lifetimes.absolute),
            ws::user_agent.eq(agent),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The live session a cookie's token names, if any. An expired one is deleted on sight.
pub fn find(
    conn: &mut PgConnection,
    token: &str,
    lifetimes: Lifetimes,
) -> Result<Option<Session>, Error> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    type Row = (Uuid, Uuid, DateTime<Utc>, DateTime<Utc>, String, bool);
    let row: Option<Row> = ws::table
        .inner_join(api_keys::table)
        .filter(ws::token_hash.eq(sha256_hex(token.as_bytes())))
        .select((
            ws::id,
            ws::api_key_id,
            ws::last_seen_at,
            ws::expires_at,
            api_keys::label,
            api_keys::is_admin,
        ))
        .first(conn)
        .optional()?;
    let Some((id, key_id, last_seen_at, expires_at, label, is_admin)) = row else {
        return Ok(None);
    };
    let now = Utc::now();
    if !alive(now, last_seen_at, expires_at, lifetimes) {
        diesel::delete(ws::table.find(id)).execute(conn)?;
        return Ok(None);
    }
    Ok(Some(Session {
        id,
        key_id,
        label,
        is_admin,
        last_seen_at,
    }))
}

/// Whether a session seen last at `last_seen` and ending at `expires` is alive at `now`.
pub fn alive(
    now: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    expires: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> bool {
    now < expires && now < last_seen + lifetimes.idle
}

/// Notes that the session was just used (callers write it at most once a minute).
pub fn touch(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
    diesel::update(ws::table.find(id))
        .set(ws::last_seen_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// A reader's live sessions, the most recently used first.
pub fn list(
    conn: &mut PgConnection,
    key_id: Uuid,
    lifetimes: Lifetimes,
) -> Result<Vec<SessionView>, Error> {
    let now = Utc::now();
    let rows: Vec<SessionView> = ws::table
        .filter(ws::api_key_id.eq(key_id))
        .select((
            ws::id,
            ws::created_at,
            ws::last_seen_at,
            ws::expires_at,
            ws::user_agent,
        ))
        .order(ws::last_seen_at.desc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|s| alive(now, s.last_seen_at, s.expires_at, lifetimes))
        .collect())
}

/// Ends one of a reader's sessions; `NotFound` when they have no such session.
pub fn revoke(conn: &mut PgConnection, key_id: Uuid, id: Uuid) -> Result<(), Error> {
    match diesel::delete(ws::table.find(id).filter(ws::api_key_id.eq(key_id))).execute(conn)? {
        0 => Err(Error::NotFound("no such session".into())),
        _ => Ok(()),
    }
}

/// Ends all of a reader's sessions ("sign out everywhere"; a changed password); the number
/// ended.
pub fn revoke_all(conn: &mut PgConnection, key_id: Uuid) -> Result<usize, Error> {
    Ok(diesel::delete(ws::table.filter(ws::api_key_id.eq(key_id))).execute(conn)?)
}

/// Ends a reader's sessions but `keep` (the one asking); the number ended.
pub fn revoke_others(conn: &mut PgConnection, key_id: Uuid, keep: Uuid) -> Result<usize, Error> {
    Ok(diesel::delete(
        ws::table
            .filter(ws::api_key_id.eq(key_id))
            .filter(ws::id.ne(keep)),
    )
    .execute(conn)?)
}

/// Deletes sessions past their absolute end or idle longer than `lifetimes.idle`.
pub fn sweep(conn: &mut PgConnection, lifetimes: Lifetimes) -> Result<usize, Error> {
    let now = Utc::now();
    Ok(diesel::delete(
        ws::table.filter(
            ws::expires_at
                .le(now)
                .or(ws::last_seen_at.le(now - lifetimes.idle)),
        ),
    )
    .execute(conn)?)
}

/// Deletes ended sessions and the login throttle's ended windows every hour, for the life of
/// the server (a session is refused the moment it ends; this only keeps the tables small).
pub async fn sweep_forever(
    pool: crate::db::DbPool,
    lifetimes: Lifetimes,
    locks: crate::db::advisory::Locks,
) {
    use crate::db::advisory::Job;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        let swept = crate::db::run(&pool, move |conn| {
            // The login throttle's ended windows go with them.
            super::login_failures::sweep(conn)?;
            sweep(conn, lifetimes)
        });
        match locks.turn(Job::SessionSweep, swept).await {
            None | Some(Ok(0)) => {}
            Some(Ok(n)) => log::info!("web sessions: {n} ended sessions deleted"),
            Some(Err(e)) => log::warn!("web sessions sweep: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_dies_idle_or_at_its_end() {
        let l = Lifetimes {
            idle: Duration::days(30),
            absolute: Duration::days(90),
        };
        let t0 = Utc::now();
        let end = t0 + l.absolute;
        assert!(alive(t0, t0, end, l));
        assert!(alive(t0 + Duration::days(29), t0, end, l));
        assert!(!alive(t0 + Duration::days(30), t0, end, l), "idle");
        assert!(alive(
            t0 + Duration::days(89),
            t0 + Duration::days(80),
            end,
            l
        ));
        assert!(!alive(end, end - Duration::seconds(1), end, l), "its end");
    }

    #[test]
    fn tokens_are_random_hex() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_token());
    }
}
