//! Device passwords: one per device ("Kobo Libra", "Phone"), made by libris and shown once,
//! that opens KoSync (under the reader's KoSync username), OPDS, WebDAV and the Notes API
//! (under any of the reader's usernames), so a lost device is cut off alone.
//!
//! A password is 20 characters from an alphabet without look-alikes (about 100 random bits),
//! typed in four groups on an e-reader's keyboard. What is kept is SHA-256 of
//! md5_hex(password): KOReader's KoSync sends md5_hex(password) as its key, HTTP Basic sends
//! the password, and both reduce to it (see the migration). Finding one is an index probe, so
//! a device password needs no bcrypt and no cache; a wrong one falls through to the
//! service's own login, whose failure path (bcrypt against a dummy hash) is unchanged.
//!
//! A device password cannot change or delete the KoSync account: that takes the login itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rand::Rng;
use uuid::Uuid;

use super::{md5_hex, sha256_hex};
use crate::db::schema::{device_passwords as dp, service_credentials as sc};
use crate::error::Error;

/// What KoSync's report statement is handed as the "verified hash" of a key that a device
/// password opened: this prefix and the password's `key_sha256`. A bcrypt hash never starts
/// with it, so the two cannot be mistaken for each other.
pub const VERIFIED_PREFIX: &str = "device:";

/// No look-alikes (0/o, 1/l/i), lower case: easy to read off a screen and type on a
/// touch keyboard.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const GROUPS: usize = 4;
const GROUP_LEN: usize = 5;

/// Passwords a reader may hold at once.
pub const MAX_PER_READER: i64 = 50;

/// Which way in used a password (the `last_used_by` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    Kosync,
    Opds,
    Webdav,
    Notes,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Kosync => "kosync",
            Via::Opds => "opds",
            Via::Webdav => "webdav",
            Via::Notes => "notes",
        }
    }
}

/// A new password: "abcde-fghjk-mnpqr-stuvw".
pub fn generate() -> String {
    let mut rng = rand::rng();
    let groups: Vec<String> = (0..GROUPS)
        .map(|_| {
            (0..GROUP_LEN)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect()
        })
        .collect();
    groups.join("-")
}

/// What is stored for a password.
pub fn key_sha256(password: &str) -> String {
    sha256_hex(md5_hex(password).as_bytes())
}

/// The stored values `presented` may stand for: the password itself, or (32 lower-case hex
/// digits, as KOReader sends) md5_hex of it.
pub fn candidates(presented: &str) -> Vec<String> {
    let mut out = vec![key_sha256(presented)];
    if presented.len() == 32
        && presented
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        out.push(sha256_hex(presented.as_bytes()));
    }
    out
}

/// A label as stored: trimmed, 1–100 characters, no control characters.
pub fn valid_label(label: &str) -> Result<String, Error> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(Error::invalid("label", "must be 1–100 characters"));
    }
    if label.chars().any(char::is_control) {
        return Err(Error::invalid("label", "must not hold control characters"));
    }
    Ok(label.to_owned())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = dp)]
pub struct DevicePassword {
    pub id: Uuid,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// kosync, opds, webdav or notes.
    pub last_used_by: Option<String>,
    /// The KoSync device name that last reported with it.
    pub last_device: Option<String>,
    pub last_device_id: Option<String>,
}

/// Makes a password for the reader: its row and the password (shown once, never stored).
pub fn create(
    conn: &mut PgConnection,
    key_id: Uuid,
    label: &str,
) -> Result<(DevicePassword, String), Error> {
    let label = valid_label(label)?;
    conn.transaction(|conn| {
        let held: i64 = dp::table
            .filter(dp::api_key_id.eq(key_id))
            .count()
            .get_result(conn)?;
        if held >= MAX_PER_READER {
            return Err(Error::invalid(
                "label",
                "you hold 50 device passwords: revoke one first",
            ));
        }
        let password = generate();
        let row = diesel::insert_into(dp::table)
            .values((
                dp::api_key_id.eq(key_id),
                dp::label.eq(&label),
                dp::key_sha256.eq(key_sha256(&password)),
            ))
            .on_conflict_do_nothing()
            .returning(DevicePassword::as_returning())
            .get_result(conn)
            .optional()?
            .ok_or_else(|| Error::invalid("label", "you already have a password with this name"))?;
        Ok((row, password))
    })
}

pub fn list(conn: &mut PgConnection, key_id: Uuid) -> Result<Vec<DevicePassword>, Error> {
    Ok(dp::table
        .filter(dp::api_key_id.eq(key_id))
        .select(DevicePassword::as_select())
        .order((dp::created_at, dp::id))
        .load(conn)?)
}

/// Revokes (deletes) one of the reader's passwords; another reader's is not found.
pub fn revoke(conn: &mut PgConnection, key_id: Uuid, id: Uuid) -> Result<(), Error> {
    match diesel::delete(dp::table.filter(dp::id.eq(id).and(dp::api_key_id.eq(key_id))))
        .execute(conn)?
    {
        0 => Err(Error::NotFound("no such device password".into())),
        _ => Ok(()),
    }
}

/// A device password that opened a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub api_key_id: Uuid,
    pub key_sha256: String,
}

impl Opened {
    /// The "verified hash" KoSync's report statement checks (see [`VERIFIED_PREFIX`]).
    pub fn verified(&self) -> String {
        format!("{VERIFIED_PREFIX}{}", self.key_sha256)
    }
}

/// The device password `presented` is, when it belongs to the reader with `username` as one
/// of their logins (`services`: which logins' usernames count).
pub fn find(
    conn: &mut PgConnection,
    services: &[&str],
    username: &str,
    presented: &str,
) -> Result<Option<Opened>, Error> {
    if presented.is_empty() || presented.len() > 1024 {
        return Ok(None);
    }
    let owners = sc::table
        .filter(sc::username.eq(username))
        .filter(sc::service.eq_any(services))
        .select(sc::api_key_id);
    Ok(dp::table
        .filter(dp::key_sha256.eq_any(candidates(presented)))
        .filter(dp::api_key_id.eq_any(owners))
        .select((dp::api_key_id, dp::key_sha256))
        .first::<(Uuid, String)>(conn)
        .optional()?
        .map(|(api_key_id, key_sha256)| Opened {
            api_key_id,
            key_sha256,
        }))
}

/// Records a use. `device`: KoSync's device name and id, when the request named them.
pub fn touch(
    conn: &mut PgConnection,
    key_sha256: &str,
    via: Via,
    device: Option<(&str, Option<&str>)>,
) -> Result<(), Error> {
    let now = Utc::now();
    let found = dp::table.filter(dp::key_sha256.eq(key_sha256));
    match device {
        Some((name, id)) => diesel::update(found)
            .set((
                dp::last_used_at.eq(now),
                dp::last_used_by.eq(via.as_str()),
                dp::last_device.eq(name),
                dp::last_device_id.eq(id),
            ))
            .execute(conn)?,
        None => diesel::update(found)
            .set((dp::last_used_at.eq(now), dp::last_used_by.eq(via.as_str())))
            .execute(conn)?,
    };
    Ok(())
}

/// How often a password's use is written at most (unless its device changed).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Uses seen lately, so that a device syncing every page turn writes its "last used" once a
/// minute, not on every request.
#[derive(Default)]
pub struct Uses {
    seen: Mutex<HashMap<String, Seen>>,
}

/// When a password's use was last written, by which way in, from which device.
type Seen = (Instant, Via, Option<String>);

impl Uses {
    /// Whether this use should be written now: the first, one a minute after the last
    /// written, or one from another way in or another device.
    pub fn due(&self, key_sha256: &str, via: Via, device: Option<&str>) -> bool {
        let mut seen = self.seen.lock().expect("device password uses");
        let now = Instant::now();
        let due = match seen.get(key_sha256) {
            Some((at, was, dev)) => {
                now.duration_since(*at) >= TOUCH_EVERY
                    || *was != via
                    || (device.is_some() && dev.as_deref() != device)
            }
            None => true,
        };
        if due {
            if seen.len() > 100_000 {
                seen.clear();
            }
            seen.insert(key_sha256.to_owned(), (now, via, device.map(str::to_owned)));
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_four_groups_from_the_alphabet() {
        let p = generate();
        assert_eq!(p.len(), 23);
        let groups: Vec<&str> = p.split('-').collect();
        assert_eq!(groups.len(), 4);
        for g in groups {
            assert_eq!(g.len(), 5);
            assert!(g.bytes().all(|b| ALPHABET.contains(&b)), "{g}");
        }
        assert_ne!(generate(), generate());
    }

    #[test]
    fn the_password_and_its_md5_key_find_the_same_row() {
        let p = "abcde-fghjk-mnpqr-stuvw";
        let stored = key_sha256(p);
        assert!(candidates(p).contains(&stored));
        assert!(candidates(&md5_hex(p)).contains(&stored));
        assert!(!candidates("abcde-fghjk-mnpqr-stuvx").contains(&stored));
        // Upper-case hex is not KOReader's key: it counts as a password only.
        assert_eq!(candidates(&md5_hex(p).to_uppercase()).len(), 1);
    }

    #[test]
    fn labels_are_checked() {
        assert_eq!(valid_label("  Kobo Libra ").unwrap(), "Kobo Libra");
        assert!(valid_label(" ").is_err());
        assert!(valid_label("a\nb").is_err());
        assert!(valid_label(&"x".repeat(101)).is_err());
    }

    #[test]
    fn uses_are_written_once_a_minute_unless_something_changed() {
        let uses = Uses::default();
        assert!(uses.due("k", Via::Kosync, Some("Kobo")));
        assert!(!uses.due("k", Via::Kosync, Some("Kobo")));
        assert!(!uses.due("k", Via::Kosync, None));
        assert!(uses.due("k", Via::Opds, None));
        assert!(uses.due("k", Via::Kosync, Some("Phone")));
        assert!(uses.due("other", Via::Kosync, None));
    }
}
