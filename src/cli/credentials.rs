//! `libris credentials`: a reader's username and password for a service.

use std::io::Read;

use clap::Subcommand;
use diesel::pg::PgConnection;
use uuid::Uuid;

use crate::auth::{credentials, keys, Service};

#[derive(Subcommand)]
pub enum CredentialsCommand {
    /// Set (or replace) the reader's username and password for a service.
    Set {
        service: Service,
        /// The reader's API key id (see `libris keys list`).
        #[arg(long)]
        key_id: Uuid,
        #[arg(long)]
        username: String,
        /// The password; `-` reads it from standard input (keeps it out of `ps`).
        #[arg(long)]
        password: String,
    },
    /// Remove the reader's credential for a service.
    Delete {
        service: Service,
        #[arg(long)]
        key_id: Uuid,
    },
}

pub fn run(conn: &mut PgConnection, cmd: CredentialsCommand) -> Result<(), String> {
    match cmd {
        CredentialsCommand::Set {
            service,
            key_id,
            username,
            password,
        } => {
            let password = if password == "-" {
                read_password()?
            } else {
                password
            };
            if password.is_empty() {
                return Err("the password must not be empty".into());
            }
            keys::find(conn, key_id).map_err(|e| e.to_string())?;
            let hash = service
                .hash_password(&password)
                .map_err(|e| e.to_string())?;
            credentials::set(conn, service.as_str(), key_id, &username, &hash)
                .map_err(|e| e.to_string())?;
            println!(
                "{} credential set for {username:?} (key {key_id})",
                service.as_str()
            );
        }
        CredentialsCommand::Delete { service, key_id } => {
            credentials::delete(conn, service.as_str(), key_id).map_err(|e| e.to_string())?;
            println!("{} credential deleted (key {key_id})", service.as_str());
        }
    }
    Ok(())
}

fn read_password() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("reading the password: {e}"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}
