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
}
