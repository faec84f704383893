//! The web app's accounts: the first admin made by set-up together with their web login, a
//! reader made with theirs, and a changed web password (which ends the other sessions).

use diesel::prelude::*;
use uuid::Uuid;

use super::keys::{self, ApiKey};
use super::{credentials, sessions, Service};
use crate::error::Error;

/// A web login to store: the username and the bcrypt hash of the password.
pub struct Login<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
}

/// The first admin and their web login, only while no key exists (as `keys::setup`), in one
/// transaction: a taken username or a lost race leaves nothing behind.
pub fn setup(conn: &mut PgConnection, label: &str, login: Login) -> Result<ApiKey, Error> {
    conn.transaction(|conn| {
        let (key, _raw) = keys::setup(conn, label)?;
        set_login(conn, key.id, login)?;
        Ok(key)
    })
}

/// A reader (or admin) made by an admin, with a web login when one is given.
pub fn create_reader(
    conn: &mut PgConnection,
    label: &str,
    is_admin: bool,
    login: Option<Login>,
) -> Result<ApiKey, Error> {
    conn.transaction(|conn| {
        let (key, _raw) = keys::create(conn, label, is_admin)?;
        if let Some(login) = login {
            set_login(conn, key.id, login)?;
        }
        Ok(key)
    })
}

fn set_login(conn: &mut PgConnection, key_id: Uuid, login: Login) -> Result<(), Error> {
    credentials::set(
        conn,
        Service::Web.as_str(),
        key_id,
        login.username,
        login.password_hash,
    )
}

/// Sets a reader's web login and ends their sessions but `keep` (the one changing it): a
/// password changed because it leaked must not leave a thief signed in.
pub fn change_login(
    conn: &mut PgConnection,
    key_id: Uuid,
    login: Login,
    keep: Option<Uuid>,
) -> Result<(), Error> {
    conn.transaction(|conn| {
        set_login(conn, key_id, login)?;
        match keep {
            Some(id) => sessions::revoke_others(conn, key_id, id)?,
            None => sessions::revoke_all(conn, key_id)?,
        };
        Ok(())
    })
}

/// Sets a reader's login for `service` (its password already hashed). A web login goes
/// through [`change_login`], so a new web password ends the reader's other sessions (all of
/// them when `keep` is `None`); KoSync and OPDS logins are stored as they are.
pub fn set_service_login(
    conn: &mut PgConnection,
    service: Service,
    key_id: Uuid,
    login: Login,
    keep: Option<Uuid>,
) -> Result<(), Error> {
    keys::find(conn, key_id)?;
    match service {
        Service::Web => change_login(conn, key_id, login, keep),
        other => credentials::set(
            conn,
            other.as_str(),
            key_id,
            login.username,
            login.password_hash,
        ),
    }
}

/// Removes a reader's login for `service` (`kosync`, `opds`, `web` or `hardcover`). Without
/// a web login nobody can sign in as them again, so their sessions end with it.
pub fn remove_service_login(
    conn: &mut PgConnection,
    service: &str,
    key_id: Uuid,
) -> Result<(), Error> {
    conn.transaction(|conn| {
        credentials::delete(conn, service, key_id)?;
        if service == Service::Web.as_str() {
            sessions::revoke_all(conn, key_id)?;
        }
        Ok(())
    })
}
