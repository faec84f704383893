//! `libris aggregates`: reading aggregates rebuilt from history, or swept, by hand.

use clap::Subcommand;
use diesel::pg::PgConnection;
use uuid::Uuid;

use crate::reading;

#[derive(Subcommand)]
pub enum AggregatesCommand {
    /// Recompute reading aggregates from the progress history (idempotent).
    Rebuild {
        /// Only this reader's.
        #[arg(long)]
        key_id: Option<Uuid>,
    },
    /// Move reading → paused where the last report is older than reading.paused_after_days
    /// (`serve` does it every LIBRIS_SWEEP_MINUTES).
    Sweep,
}

pub fn run(conn: &mut PgConnection, cmd: AggregatesCommand) -> Result<(), String> {
    let rules = reading::state::rules(conn).map_err(|e| e.to_string())?;
    match cmd {
        AggregatesCommand::Rebuild { key_id } => {
            let done =
                reading::state::rebuild(conn, &rules, key_id, None).map_err(|e| e.to_string())?;
            println!(
                "{} reader-book pairs recomputed, {} aggregates changed",
                done.scanned, done.changed
            );
        }
        AggregatesCommand::Sweep => {
            let n = reading::state::sweep(conn, &rules).map_err(|e| e.to_string())?;
            println!("{n} aggregates now paused");
        }
    }
    Ok(())
}
