//! `libris keys`: API keys, the identities of readers and administrators.

use clap::Subcommand;
use diesel::pg::PgConnection;
use uuid::Uuid;

use crate::auth::keys;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key; prints its id and the raw key, which is shown only this once.
    Create {
        /// A name for the key, e.g. the reader's name.
        #[arg(long)]
        label: String,
        /// Make it an administrator key.
        #[arg(long)]
        admin: bool,
    },
    /// List keys (never the keys themselves).
    List,
    /// Delete a key and everything its reader owns, except reading history.
    Revoke { id: Uuid },
}

pub fn run(conn: &mut PgConnection, cmd: KeysCommand) -> Result<(), String> {
    match cmd {
        KeysCommand::Create { label, admin } => {
            let (key, raw) = keys::create(conn, &label, admin).map_err(|e| e.to_string())?;
            println!("id: {}", key.id);
            println!("key: {raw}");
            eprintln!("Store the key now: libris keeps only its hash and cannot show it again.");
        }
        KeysCommand::List => {
            println!(
                "{:<36}  {:<8}  {:<5}  {:<20}  {:<20}  label",
                "id", "prefix", "admin", "created", "last used"
            );
            for k in keys::list(conn).map_err(|e| e.to_string())? {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "-".into())
                };
                println!(
                    "{:<36}  {:<8}  {:<5}  {:<20}  {:<20}  {}",
                    k.id,
                    k.key_prefix,
                    if k.is_admin { "yes" } else { "no" },
                    when(Some(k.created_at)),
                    when(k.last_used_at),
                    k.label
                );
            }
        }
        KeysCommand::Revoke { id } => {
            keys::revoke(conn, id).map_err(|e| e.to_string())?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// `libris setup-token`: the token the web app's set-up page and `POST /api/auth/setup` ask
/// for, while no key exists (afterwards it opens nothing, and saying so is more useful).
pub fn setup_token(conn: &mut PgConnection, config: &crate::Config) -> Result<(), String> {
    if keys::any(conn).map_err(|e| e.to_string())? {
        return Err(
            "setup is done: libris has an admin already (sign in, or `libris keys create --admin`)"
                .into(),
        );
    }
    let secret = crate::secret::of(config).map_err(|e| e.to_string())?;
    println!("{}", crate::secret::setup_token(&secret));
    Ok(())
}
