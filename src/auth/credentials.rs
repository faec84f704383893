//! Per-service usernames and password hashes (service_credentials).

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use uuid::Uuid;

use super::{md5_hex, valid_username};
use crate::db::schema::service_credentials as sc;
use crate::error::Error;

/// bcrypt's work factor: ~50–100 ms a verification on a small server. The verifier's cache
/// keeps warm requests from paying it.
pub const BCRYPT_COST: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    Kosync,
    Opds,
    /// The web app's sign-in.
    Web,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Kosync => "kosync",
            Service::Opds => "opds",
            Service::Web => "web",
        }
    }

    /// A service named in a path: kosync, opds or web (the Hardcover token is not a login).
    pub fn parse(name: &str) -> Result<Service, Error> {
        match name {
            "kosync" => Ok(Service::Kosync),
            "opds" => Ok(Service::Opds),
            "web" => Ok(Service::Web),
            _ => Err(Error::invalid("service", "must be kosync, opds or web")),
        }
    }

    /// What gets bcrypt-hashed: KOReader only ever sends md5_hex(password) as its key, so
    /// for KoSync the stored hash is over that.
    pub fn hash_password(self, password: &str) -> Result<String, Error> {
        let secret = match self {
            Service::Kosync => md5_hex(password),
            Service::Opds | Service::Web => password.to_owned(),
        };
        hash_secret(&secret)
    }
}

impl Service {
    /// The rules a new password must meet: 1–1024 bytes without NUL (bcrypt would end it
    /// there: "a\0b" and "a" would be one password); a web login's at least 8 characters,
    /// since anyone who reaches the server's address can try it in a browser.
    pub fn check_password(self, password: &str) -> Result<(), Error> {
        let min = if self == Service::Web { 8 } else { 1 };
        if password.chars().count() < min || password.len() > 1024 {
            let what = if min > 1 {
                "must be 8 characters or more (at most 1024 bytes)"
            } else {
                "must be 1–1024 bytes"
            };
            return Err(Error::invalid("password", what));
        }
        if password.contains('\0') {
            return Err(Error::invalid("password", "must not hold NUL characters"));
        }
        Ok(())
    }
}

/// A new username's rule (see [`valid_username`]), as a field error.
pub fn check_username(username: &str) -> Result<(), Error> {
    if valid_username(username) {
        Ok(())
    } else {
        Err(Error::invalid(
            "username",
            "must be 1–255 characters without ':'",
        ))
    }
}

/// A login about to be set for `service`: the username's rule, then the password's. Checked
/// before the (slow) hashing; `set` checks the username again.
pub fn check_new(service: Service, username: &str, password: &str) -> Result<(), Error> {
    check_username(username)?;
    service.check_password(password)
}

pub fn hash_secret(secret: &str) -> Result<String, Error> {
    bcrypt::hash(secret, BCRYPT_COST).map_err(|e| Error::Internal(format!("bcrypt: {e}")))
}

/// The credential behind a username, if any: (reader's key id, stored hash).
pub fn lookup(
    conn: &mut PgConnection,
    service: &str,
    username: &str,
) -> Result<Option<(Uuid, String)>, Error> {
    Ok(sc::table
        .filter(sc::service.eq(service).and(sc::username.eq(username)))
        .select((sc::api_key_id, sc::password_hash))
        .first(conn)
        .optional()?)
}

/// One of a reader's credentials, as listed to them (never the hash).
#[derive(Debug, serde::Serialize, utoipa::ToSchema, Queryable)]
pub struct CredentialView {
    pub service: String,
    pub username: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Every reader's credentials, by reader and service (for the list of readers).
pub fn list_all(conn: &mut PgConnection) -> Result<Vec<(Uuid, CredentialView)>, Error> {
    Ok(sc::table
        .select((
            sc::api_key_id,
            (sc::service, sc::username, sc::created_at, sc::updated_at),
        ))
        .order((sc::api_key_id, sc::service))
        .load::<(Uuid, CredentialView)>(conn)?)
}

/// A reader's credentials, by service.
pub fn list(conn: &mut PgConnection, key_id: Uuid) -> Result<Vec<CredentialView>, Error> {
    Ok(sc::table
        .filter(sc::api_key_id.eq(key_id))
        .select((sc::service, sc::username, sc::created_at, sc::updated_at))
        .order(sc::service)
        .load::<CredentialView>(conn)?)
}

/// The stored hash (or sealed token) of a reader's credential for a service, if any.
pub fn stored(
    conn: &mut PgConnection,
    service: &str,
    key_id: Uuid,
) -> Result<Option<String>, Error> {
    Ok(sc::table
        .filter(sc::service.eq(service).and(sc::api_key_id.eq(key_id)))
        .select(sc::password_hash)
        .first(conn)
        .optional()?)
}

/// Sets (inserts or replaces) a reader's credential for a service.
pub fn set(
    conn: &mut PgConnection,
    service: &str,
    key_id: Uuid,
    username: &str,
    password_hash: &str,
) -> Result<(), Error> {
    check_username(username)?;
    diesel::insert_into(sc::table)
        .values((
            sc::service.eq(service),
            sc::api_key_id.eq(key_id),
            sc::username.eq(username),
            sc::password_hash.eq(password_hash),
        ))
        .on_conflict((sc::service, sc::api_key_id))
        .do_update()
        .set((
            sc::username.eq(username),
            sc::password_hash.eq(password_hash),
        ))
        .execute(conn)
        .map_err(|e| username_taken(e, service, username))?;
    Ok(())
}

/// Replaces the stored secret (a hash, or a sealed token) of a reader's credential, only if it
/// is still `old`: a value stored meanwhile is left alone. The number of rows changed.
pub fn replace_secret(
    conn: &mut PgConnection,
    service: &str,
    key_id: Uuid,
    old: &str,
    new: &str,
) -> Result<usize, Error> {
    Ok(diesel::update(
        sc::table
            .filter(sc::service.eq(service))
            .filter(sc::api_key_id.eq(key_id))
            .filter(sc::password_hash.eq(old)),
    )
    .set(sc::password_hash.eq(new))
    .execute(conn)?)
}

pub fn delete(conn: &mut PgConnection, service: &str, key_id: Uuid) -> Result<(), Error> {
    match diesel::delete(sc::table.filter(sc::service.eq(service).and(sc::api_key_id.eq(key_id))))
        .execute(conn)?
    {
        0 => Err(Error::NotFound(format!(
            "no {service} credential for key {key_id}"
        ))),
        _ => Ok(()),
    }
}

/// Maps the unique violation on (service, username) to a conflict the caller can report.
pub fn username_taken(e: DieselError, service: &str, username: &str) -> Error {
    match &e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("service_credentials_service_username_key") =>
        {
            Error::Conflict(format!(
                "the {service} username {username:?} is already taken"
            ))
        }
        _ => e.into(),
    }
}
