//! `libris hardcover sync`: the same runs as the daily one, reported on standard output.

use std::sync::Arc;

use clap::Subcommand;
use uuid::Uuid;

use super::connect;
use crate::{db, hardcover, secret, Config};

#[derive(Subcommand)]
pub enum HardcoverCommand {
    /// Sync reading statuses with Hardcover now, for every reader with a token (`serve` does
    /// it daily at LIBRIS_HARDCOVER_SYNC_AT).
    Sync {
        /// Only this reader's.
        #[arg(long)]
        key_id: Option<Uuid>,
    },
}

pub fn sync(config: Config, key_id: Option<Uuid>) -> Result<(), String> {
    let mut conn = connect(&config)?;
    let stored = hardcover::sealed_tokens(&mut conn).map_err(|e| e.to_string())?;
    drop(conn);
    if !stored.iter().any(|(k, _)| key_id.is_none_or(|id| id == *k)) {
        return Err(no_token(key_id));
    }
    let pool = db::pool(&config.database_url, 2, crate::DB_CHECKOUT_TIMEOUT);
    // A sync needs Hardcover's context only, not a server's state; the secret exists already,
    // since tokens were sealed under it (nothing is made here).
    let secret = secret::of(&config).map_err(|e| e.to_string())?;
    let cx = hardcover::Context::new(pool, Arc::new(config), &secret);
    let results = actix_web::rt::System::new().block_on(hardcover::sync::run_all(
        &cx,
        key_id,
        hardcover::sync::Trigger::Cli,
    ));
    if results.is_empty() {
        return Err(no_token(key_id));
    }
    let mut failed = false;
    for (key, result) in results {
        match result {
            Ok(r) => {
                println!(
                    "{key}: linked {}, pulled {}, pushed {}, unchanged {}, failed {}",
                    r.linked, r.pulled, r.pushed, r.unchanged, r.failed
                );
                for f in &r.failures {
                    println!(
                        "  {} {}: {}",
                        f.book_id,
                        f.title.as_deref().unwrap_or(""),
                        f.error
                    );
                }
                if let Some(e) = r.error {
                    println!("  stopped: {e}");
                    failed = true;
                }
            }
            Err(e) => {
                println!("{key}: not synced: {e}");
                failed = true;
            }
        }
    }
    if failed {
        Err("some syncs did not complete".into())
    } else {
        Ok(())
    }
}

fn no_token(key_id: Option<Uuid>) -> String {
    match key_id {
        Some(id) => format!("key {id} has no Hardcover token stored"),
        None => "no reader has stored a Hardcover token".into(),
    }
}
