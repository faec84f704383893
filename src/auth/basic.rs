//! Who an HTTP Basic credential is, for the faces that take one (OPDS, WebDAV, the Notes
//! API): an API key as the password (any username, for apps that only know Basic), a device
//! password under any of the reader's usernames, or the login of the face's service
//! (bcrypt, behind the verified-credential cache). The database part is [`look_up`]; the
//! bcrypt part, [`Found::Verify`], runs where the face runs bcrypt (off the connection).

use uuid::Uuid;

use super::device_passwords::{self, Opened};
use super::{credentials, keys, sha256_hex, Verifier};
use crate::error::Error;

/// The usernames a device password may be presented under.
const DEVICE_USERNAMES: [&str; 3] = ["kosync", "opds", "web"];

#[derive(Debug)]
pub enum Found {
    /// An API key.
    Key(Uuid),
    /// A device password (its use is to be recorded).
    Device(Opened),
    /// The service's login, verified before.
    Login(Uuid),
    /// The service's login (or nobody: verified against a dummy hash all the same), to verify.
    Verify {
        cache_name: String,
        password: String,
        stored: Option<(Uuid, String)>,
    },
}

impl Found {
    /// The reader, once verified. For [`Found::Verify`] this is bcrypt: run it off the
    /// connection.
    pub fn verify(self, verifier: &Verifier) -> Option<Uuid> {
        match self {
            Found::Key(id) | Found::Login(id) => Some(id),
            Found::Device(opened) => Some(opened.api_key_id),
            Found::Verify {
                cache_name,
                password,
                stored,
            } => {
                let hash = stored.as_ref().map(|(_, h)| h.as_str());
                let ok = verifier.verify_password(&cache_name, hash, &password);
                stored.filter(|_| ok).map(|(id, _)| id)
            }
        }
    }

    /// Whether verifying costs bcrypt.
    pub fn needs_bcrypt(&self) -> bool {
        matches!(self, Found::Verify { .. })
    }
}

/// The owner of an API key presented raw.
pub fn key_owner(conn: &mut diesel::PgConnection, raw: &str) -> Result<Option<Uuid>, Error> {
    Ok(keys::by_hash(conn, &sha256_hex(raw.as_bytes()))?.map(|(id, _)| id))
}

/// What the database says about `user:password` for `service`'s login, before any bcrypt.
pub fn look_up(
    conn: &mut diesel::PgConnection,
    verifier: &Verifier,
    service: &str,
    user: &str,
    password: &str,
) -> Result<Found, Error> {
    if let Some(id) = key_owner(conn, password)? {
        return Ok(Found::Key(id));
    }
    if let Some(opened) = device_passwords::find(conn, &DEVICE_USERNAMES, user, password)? {
        return Ok(Found::Device(opened));
    }
    let cache_name = format!("{service}\0{user}");
    let stored = credentials::lookup(conn, service, user)?;
    Ok(match stored {
        Some((id, hash)) if verifier.is_cached(&cache_name, &hash, password) => Found::Login(id),
        stored => Found::Verify {
            cache_name,
            password: password.to_owned(),
            stored,
        },
    })
}
