//! Readers as an admin sees them: each key with the logins it has (never a hash).

use std::collections::HashMap;

use diesel::prelude::*;
use uuid::Uuid;

use super::credentials::{self, CredentialView};
use super::keys::{self, ApiKey};
use crate::error::Error;

/// The Hardcover token's service name (a stored credential, not a login).
const HARDCOVER: &str = "hardcover";

pub struct Reader {
    pub key: ApiKey,
    /// By service: kosync, opds, web (and hardcover, whose "username" is only a label).
    pub logins: Vec<CredentialView>,
}

impl Reader {
    /// The username of the reader's login for `service`, if they have one.
    pub fn username(&self, service: &str) -> Option<&str> {
        self.logins
            .iter()
            .find(|c| c.service == service)
            .map(|c| c.username.as_str())
    }

    pub fn has_hardcover(&self) -> bool {
        self.username(HARDCOVER).is_some()
    }
}

/// Every reader, oldest first, with their logins: two queries, whatever the count.
pub fn list(conn: &mut PgConnection) -> Result<Vec<Reader>, Error> {
    let mut by_key: HashMap<Uuid, Vec<CredentialView>> = HashMap::new();
    for (id, login) in credentials::list_all(conn)? {
        by_key.entry(id).or_default().push(login);
    }
    Ok(keys::list(conn)?
        .into_iter()
        .map(|key| Reader {
            logins: by_key.remove(&key.id).unwrap_or_default(),
            key,
        })
        .collect())
}

/// One reader and their logins.
pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<Reader, Error> {
    Ok(Reader {
        key: keys::find(conn, id)?,
        logins: credentials::list(conn, id)?,
    })
}
