//! The command line: each command in its own file, `main.rs` only parses and dispatches.

mod aggregates;
mod backup;
mod credentials;
mod hardcover;
mod import;
mod keys;
mod restore;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use diesel::pg::PgConnection;

use crate::config::parse_bind;
use crate::{db, reading, Config};

#[derive(Parser)]
#[command(
    name = "libris",
    version,
    about = "KOReader progress sync (KoSync) and OPDS catalog server on PostgreSQL"
)]
#[command(
    after_help = "Settings come from the environment (DATABASE_URL, LIBRIS_*); without DATABASE_URL, from the data dir's libris.env, which `serve` writes. See README.md."
)]
pub struct Cli {
    /// The data dir [env: LIBRIS_DATA_DIR, default ./data]. Its libris.env (written by
    /// `serve`) names the database when DATABASE_URL is unset.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations and serve HTTP until SIGTERM or SIGINT.
    Serve {
        /// Address to listen on [env: LIBRIS_BIND, default 127.0.0.1:8080].
        #[arg(long, value_parser = parse_bind)]
        bind: Option<std::net::SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the one-time token that claims a new server (its first admin), while it has none.
    SetupToken,
    /// Manage API keys (a key is the identity of a reader or an administrator).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage a reader's username and password for a service (KoSync, OPDS).
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
    /// Import ebook files or folders (recursively) into the library.
    Import {
        /// Organize the books at once instead of leaving them for review.
        #[arg(long)]
        approve: bool,
        /// Books imported at once [default: four per CPU core, at most 32].
        #[arg(long)]
        jobs: Option<usize>,
        /// Files and folders to import.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Write one archive of the database and the data dir (books, covers, WebDAV spaces, the
    /// server secret), consistent while the server serves.
    Backup {
        /// The archive to write, or a folder to write `libris-YYYYMMDD-HHMMSS.tar.gz` (UTC) in.
        target: PathBuf,
        /// With a folder: then remove all but the newest N `libris-*.tar.gz` there.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        keep: Option<u32>,
    },
    /// Restore an archive of `backup` into an empty database and an empty data dir, after
    /// checking every checksum in it.
    Restore {
        /// The archive.
        archive: PathBuf,
    },
    /// Check the data dir (LIBRIS_DATA_DIR) against the database and repair what an
    /// interrupted process left (`serve` does it at start-up).
    Check,
    /// Write N synthetic EPUBs with covers into DIR (used by `make bench-ingest`).
    #[command(hide = true)]
    BenchEpubs {
        #[arg(long)]
        count: u64,
        dir: PathBuf,
    },
    /// Write a calibre-shaped library of N books into DIR (used by `make bench-calibre`).
    #[command(hide = true)]
    BenchCalibre {
        #[arg(long)]
        count: u64,
        /// Without cover.jpg files.
        #[arg(long)]
        no_covers: bool,
        dir: PathBuf,
    },
    /// Reading aggregates.
    #[command(subcommand)]
    Aggregates(aggregates::AggregatesCommand),
    /// Hardcover (hardcover.app).
    #[command(subcommand)]
    Hardcover(hardcover::HardcoverCommand),
    /// Print a pgbench script doing exactly the SQL of one KoSync request (used by `make bench-kosync`).
    #[command(hide = true)]
    BenchSql {
        #[arg(value_parser = ["put", "get"])]
        request: String,
        /// The kosync username to run as.
        #[arg(long)]
        username: String,
        /// Its stored password hash (service_credentials.password_hash).
        #[arg(long)]
        password_hash: String,
        /// Reports per statement (put), as the group commit writes them under load.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
        batch: u16,
    },
}

/// Runs `cli` with `config` (from the environment); the process's exit code.
pub fn run(cli: Cli, mut config: Config) -> ExitCode {
    config.data_dir = cli.data_dir.unwrap_or(config.data_dir);
    if config.database_url.is_empty() {
        match crate::config::remembered_database(&config.data_dir) {
            Some(url) => config.database_url = url,
            None => {
                eprintln!(
                    "libris: DATABASE_URL is not set, and the data dir {} names no database \
                     (its {} is written by `libris serve`). Set DATABASE_URL \
                     (e.g. postgresql://user@host/libris), run `make run` once, or point \
                     --data-dir at a server's data dir.",
                    config.data_dir.display(),
                    crate::config::REMEMBERED
                );
                return ExitCode::from(2);
            }
        }
    }
    let result = match cli.command {
        Command::Serve { bind } => {
            config.bind = bind.unwrap_or(config.bind);
            serve::run(config)
        }
        Command::Migrate => connect(&config).map(|_| ()),
        Command::SetupToken => {
            connect(&config).and_then(|mut conn| keys::setup_token(&mut conn, &config))
        }
        Command::Keys(cmd) => connect(&config).and_then(|mut conn| keys::run(&mut conn, cmd)),
        Command::Credentials(cmd) => {
            connect(&config).and_then(|mut conn| credentials::run(&mut conn, cmd))
        }
        Command::Aggregates(cmd) => {
            connect(&config).and_then(|mut conn| aggregates::run(&mut conn, cmd))
        }
        Command::Import {
            approve,
            jobs,
            paths,
        } => import::run(&config, approve, jobs, &paths),
        Command::Backup { target, keep } => backup::run(&config, &target, keep),
        Command::Restore { archive } => restore::run(&config, &archive),
        Command::Check => connect(&config).and_then(|mut conn| serve::check(&mut conn, &config)),
        Command::Hardcover(hardcover::HardcoverCommand::Sync { key_id }) => {
            hardcover::sync(config, key_id)
        }
        Command::BenchEpubs { count, dir } => import::bench_epubs(count, &dir),
        Command::BenchCalibre {
            count,
            no_covers,
            dir,
        } => crate::library::sample::write_calibre_library(&dir, count, !no_covers)
            .map_err(|e| format!("{}: {e}", dir.display())),
        Command::BenchSql {
            request,
            username,
            password_hash,
            batch,
        } => {
            print!(
                "{}",
                reading::sql::pgbench_script(&request, &username, &password_hash, batch.into())
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("libris: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Connects (waiting up to LIBRIS_DB_WAIT for the database) and applies pending migrations.
fn connect(config: &Config) -> Result<PgConnection, String> {
    let mut conn = db::connect_with_retry(&config.database_url, config.db_wait).map_err(|e| {
        format!(
            "database unreachable after {} s: {}",
            config.db_wait.as_secs(),
            e.to_string().trim()
        )
    })?;
    let applied = crate::migrate(&mut conn).map_err(|e| format!("migration failed: {e}"))?;
    for version in applied {
        log::info!("applied migration {version}");
    }
    Ok(conn)
}
