//! API keys: 32 random bytes in hex. Stored as SHA-256: with 256 bits of entropy a slow
//! hash buys nothing, and a lookup stays a single index probe.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rand::RngCore;
use uuid::Uuid;

use super::sha256_hex;
use crate::db::schema::api_keys;
use crate::error::Error;

pub const PREFIX_LEN: usize = 8;

pub struct NewKey {
    pub raw: String,
    pub prefix: String,
    pub hash: String,
}

pub fn generate() -> NewKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let raw = hex::encode(bytes);
    NewKey {
        prefix: raw[..PREFIX_LEN].to_owned(),
        hash: sha256_hex(raw.as_bytes()),
        raw,
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: Uuid,
    pub key_prefix: String,
    pub label: String,
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Creates a key and returns its row and the raw key (shown once, never stored).
pub fn create(
    conn: &mut PgConnection,
    label: &str,
    is_admin: bool,
) -> Result<(ApiKey, String), Error> {
    let key = generate();
    let row = diesel::insert_into(api_keys::table)
        .values((
            api_keys::key_prefix.eq(&key.prefix),
            api_keys::key_hash.eq(&key.hash),
            api_keys::label.eq(label),
            api_keys::is_admin.eq(is_admin),
        ))
        .returning(ApiKey::as_returning())
        .get_result(conn)?;
    Ok((row, key.raw))
}

/// A key's label as stored: trimmed, 1–200 characters, no control characters (a NUL would
/// fail in PostgreSQL, a line break would break the log lines that name the key).
pub fn valid_label(label: &str) -> Result<String, Error> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 200 {
        return Err(Error::invalid("label", "must be 1–200 characters"));
    }
    if label.chars().any(char::is_control) {
        return Err(Error::invalid("label", "must not hold control characters"));
    }
    Ok(label.to_owned())
}

pub fn list(conn: &mut PgConnection) -> Result<Vec<ApiKey>, Error> {
    Ok(api_keys::table
        .select(ApiKey::as_select())
        .order((api_keys::created_at, api_keys::id))
        .load(conn)?)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<ApiKey, Error> {
    api_keys::table
        .find(id)
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("no API key {id}")))
}

/// The key with this SHA-256 (of the raw key), if any: its id and whether it is an admin's.
pub fn by_hash(conn: &mut PgConnection, hash: &str) -> Result<Option<(Uuid, bool)>, Error> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(hash))
        .select((api_keys::id, api_keys::is_admin))
        .first(conn)
        .optional()?)
}

/// Notes that the key was just used (`last_used_at`; callers throttle how often).
pub fn touch(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
    diesel::update(api_keys::table.find(id))
        .set(api_keys::last_used_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// Serialises key creation and deletion, so that "the first key" and "the last admin key"
/// stay true under concurrent calls.
const KEYS_LOCK: i64 = 0x6c69_6b65_7973; // "likeys"

fn lock(conn: &mut PgConnection) -> Result<(), Error> {
    diesel::sql_query(format!("SELECT pg_advisory_xact_lock({KEYS_LOCK})")).execute(conn)?;
    Ok(())
}

/// Whether any key exists (once one does, setup is done).
pub fn any(conn: &mut PgConnection) -> Result<bool, Error> {
    Ok(
        diesel::select(diesel::dsl::exists(api_keys::table.select(api_keys::id)))
            .get_result(conn)?,
    )
}

/// Creates the first admin key, only while no key exists: exactly one of several concurrent
/// calls wins, the others are a conflict.
pub fn setup(conn: &mut PgConnection, label: &str) -> Result<(ApiKey, String), Error> {
    conn.transaction(|conn| {
        lock(conn)?;
        let existing: i64 = api_keys::table.count().get_result(conn)?;
        if existing > 0 {
            return Err(Error::Conflict(
                "setup is done: an API key already exists".into(),
            ));
        }
        create(conn, label, true)
    })
}

/// Revokes a key, unless it is the last admin key (a conflict).
pub fn remove(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
    conn.transaction(|conn| {
        lock(conn)?;
        let target = find(conn, id)?;
        if target.is_admin {
            let admins: i64 = api_keys::table
                .filter(api_keys::is_admin)
                .count()
                .get_result(conn)?;
            if admins <= 1 {
                return Err(Error::Conflict(
                    "the last admin key cannot be deleted".into(),
                ));
            }
        }
        revoke(conn, id)
    })
}

/// Deletes a key and, by the schema's cascades, everything the reader owns except history.
pub fn revoke(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
    match diesel::delete(api_keys::table.find(id)).execute(conn)? {
        0 => Err(Error::NotFound(format!("no API key {id}"))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_hex_chars_with_prefix_and_sha256() {
        let k = generate();
        assert_eq!(k.raw.len(), 64);
        assert!(k.raw.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(k.prefix, &k.raw[..8]);
        assert_eq!(k.hash, sha256_hex(k.raw.as_bytes()));
        assert_ne!(generate().raw, k.raw);
    }

    #[test]
    fn labels_are_trimmed_and_bounded() {
        assert_eq!(valid_label("  Ann ").unwrap(), "Ann");
        assert_eq!(valid_label(&"é".repeat(200)).unwrap().chars().count(), 200);
        for bad in ["", "   ", "a\0b", "a\nb"] {
            assert!(valid_label(bad).is_err(), "{bad:?}");
        }
        assert!(valid_label(&"x".repeat(201)).is_err());
    }
}
