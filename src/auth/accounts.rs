//! KoSync accounts: a reader (API key) with a kosync credential, made by `/users/create`
//! and gone with `DELETE /users/me`.

use diesel::prelude::*;
use uuid::Uuid;

use super::{credentials, keys, Service};
use crate::db::schema::{api_keys, service_credentials};
use crate::error::Error;
use crate::reading;

const SERVICE: &str = "kosync";

fn label_for(username: &str) -> String {
    format!("kosync:{username}")
}

/// `/users/create`: a new non-admin reader and its credential, or nothing at all.
pub fn create(conn: &mut PgConnection, username: &str, password_hash: &str) -> Result<(), Error> {
    conn.transaction(|conn| {
        let (key, _raw) = keys::create(conn, &label_for(username), false)?;
        credentials::set(
            conn,
            Service::Kosync.as_str(),
            key.id,
            username,
            password_hash,
        )
    })
}

/// `DELETE /users/me`: forgets the reader's KoSync credential and all its reading data. A
/// reader that exists only because of `/users/create` goes entirely.
pub fn delete(conn: &mut PgConnection, key_id: Uuid, username: &str) -> Result<(), Error> {
    conn.transaction(|conn| {
        reading::store::forget_reader(conn, key_id)?;
        credentials::delete(conn, SERVICE, key_id)?;
        let others: i64 = service_credentials::table
            .filter(service_credentials::api_key_id.eq(key_id))
            .count()
            .get_result(conn)?;
        let (is_admin, label): (bool, String) = api_keys::table
            .find(key_id)
            .select((api_keys::is_admin, api_keys::label))
            .first(conn)?;
        if others == 0 && !is_admin && label == label_for(username) {
            keys::revoke(conn, key_id)?;
        }
        Ok(())
    })
}

/// `PUT /users/password`: `new_key` is what the client will send as x-auth-key from now on.
pub fn set_password(conn: &mut PgConnection, key_id: Uuid, new_key: &str) -> Result<(), Error> {
    let hash = credentials::hash_secret(new_key)?;
    let updated = diesel::update(
        service_credentials::table.filter(
            service_credentials::service
                .eq(SERVICE)
                .and(service_credentials::api_key_id.eq(key_id)),
        ),
    )
    .set(service_credentials::password_hash.eq(hash))
    .execute(conn)?;
    match updated {
        0 => Err(Error::Unauthorized),
        _ => Ok(()),
    }
}
