use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use diesel::pg::PgConnection;
use uuid::Uuid;

use libris::auth::{credentials, keys, Service};
use libris::config::{parse_bind, ConfigError};
use libris::{db, Config};

#[derive(Parser)]
#[command(
    name = "libris",
    version,
    about = "KOReader progress sync (KoSync) and OPDS catalog server on PostgreSQL"
)]
#[command(
    after_help = "Settings come from the environment (DATABASE_URL, LIBRIS_*); see README.md."
)]
struct Cli {
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
        /// Where files are kept [env: LIBRIS_DATA_DIR, default ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API keys (a key is the identity of a reader or an administrator).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage a reader's username and password for a service (KoSync, OPDS).
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// Import ebook files or folders (recursively) into the library.
    Import {
        /// Organize the books at once instead of leaving them for review.
        #[arg(long)]
        approve: bool,
        /// Files imported at once [default: the number of CPU cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Files and folders to import.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
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
    /// Reading aggregates.
    #[command(subcommand)]
    Aggregates(AggregatesCommand),
    /// Hardcover (hardcover.app).
    #[command(subcommand)]
    Hardcover(HardcoverCommand),
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
    },
}

#[derive(Subcommand)]
enum AggregatesCommand {
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

#[derive(Subcommand)]
enum HardcoverCommand {
    /// Sync reading statuses with Hardcover now, for every reader with a token (`serve` does
    /// it daily at LIBRIS_HARDCOVER_SYNC_AT).
    Sync {
        /// Only this reader's.
        #[arg(long)]
        key_id: Option<Uuid>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
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

#[derive(Subcommand)]
enum CredentialsCommand {
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

/// `libris hardcover sync`: the same runs as the daily one, reported on standard output.
fn hardcover_sync(config: Config, key_id: Option<Uuid>) -> Result<(), String> {
    drop(connect(&config)?);
    let pool = db::pool(&config.database_url, 2, libris::DB_CHECKOUT_TIMEOUT);
    let state = libris::AppState::new(config, pool);
    let results = actix_web::rt::System::new().block_on(libris::hardcover::sync::run_all(
        &state,
        key_id,
        libris::hardcover::sync::Trigger::Cli,
    ));
    if results.is_empty() {
        return Err(match key_id {
            Some(id) => format!("key {id} has no Hardcover token stored"),
            None => "no reader has stored a Hardcover token".into(),
        });
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return usage_error(&e),
    };
    if config.database_url.is_empty() {
        eprintln!("libris: DATABASE_URL is not set (e.g. postgresql://user@host/libris); `make run` sets one up");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Serve { bind, data_dir } => {
            config.bind = bind.unwrap_or(config.bind);
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            serve(config)
        }
        Command::Migrate => connect(&config).map(|_| ()),
        Command::Keys(cmd) => connect(&config).and_then(|mut conn| keys_command(&mut conn, cmd)),
        Command::Credentials(cmd) => {
            connect(&config).and_then(|mut conn| credentials_command(&mut conn, cmd))
        }
        Command::Aggregates(AggregatesCommand::Rebuild { key_id }) => {
            connect(&config).and_then(|mut conn| {
                let rules = libris::reading::state::rules(&mut conn).map_err(|e| e.to_string())?;
                let done = libris::reading::state::rebuild(&mut conn, &rules, key_id, None)
                    .map_err(|e| e.to_string())?;
                println!(
                    "{} reader-book pairs recomputed, {} aggregates changed",
                    done.scanned, done.changed
                );
                Ok(())
            })
        }
        Command::Aggregates(AggregatesCommand::Sweep) => connect(&config).and_then(|mut conn| {
            let rules = libris::reading::state::rules(&mut conn).map_err(|e| e.to_string())?;
            let n = libris::reading::state::sweep(&mut conn, &rules).map_err(|e| e.to_string())?;
            println!("{n} aggregates now paused");
            Ok(())
        }),
        Command::Import {
            approve,
            jobs,
            paths,
        } => import(&config, approve, jobs, &paths),
        Command::Check => connect(&config).and_then(|mut conn| {
            let report = check_data_dir(&mut conn, &config)?.ok_or_else(|| {
                format!(
                    "another libris process (serve or import) uses {}: stop it first",
                    config.data_dir.display()
                )
            })?;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
            );
            Ok(())
        }),
        Command::Hardcover(HardcoverCommand::Sync { key_id }) => hardcover_sync(config, key_id),
        Command::BenchEpubs { count, dir } => bench_epubs(count, &dir),
        Command::BenchSql {
            request,
            username,
            password_hash,
        } => {
            print!(
                "{}",
                libris::reading::sql::pgbench_script(&request, &username, &password_hash)
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

fn usage_error(e: &ConfigError) -> ExitCode {
    eprintln!("libris: {e}");
    ExitCode::from(2)
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
    let applied = db::migrate(&mut conn).map_err(|e| format!("migration failed: {e}"))?;
    for version in applied {
        log::info!("applied migration {version}");
    }
    Ok(conn)
}

/// The data dir against the database (see `libris::library::check`); `None` when another
/// libris process uses the data dir, so that the check cannot run.
fn check_data_dir(
    conn: &mut diesel::PgConnection,
    config: &Config,
) -> Result<Option<libris::library::check::Report>, String> {
    use libris::library::check;
    let dir = config.data_dir.display();
    let Some(lock) = check::try_lock_exclusive(&config.data_dir)
        .map_err(|e| format!("locking {dir}/.lock: {e}"))?
    else {
        return Ok(None);
    };
    let report =
        check::run(conn, &config.data_dir, &lock).map_err(|e| format!("checking {dir}: {e}"))?;
    if report.is_clean() {
        log::info!("data dir checked: files and rows agree");
    } else {
        log::warn!("data dir checked and repaired: {report:?}");
    }
    Ok(Some(report))
}

/// Held by the processes that place files, for as long as they run (see `check`).
fn lock_data_dir(config: &Config) -> Result<libris::library::check::DataDirLock, String> {
    libris::library::check::lock_shared(&config.data_dir)
        .map_err(|e| format!("locking {}/.lock: {e}", config.data_dir.display()))
}

fn serve(config: Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "cannot create LIBRIS_DATA_DIR {}: {e}",
            config.data_dir.display()
        )
    })?;
    if check_data_dir(&mut connect(&config)?, &config)?.is_none() {
        log::warn!(
            "data dir not checked: another libris process (serve or import) uses {}",
            config.data_dir.display()
        );
    }
    let _lock = lock_data_dir(&config)?;
    let pool = db::pool(
        &config.database_url,
        config.db_pool_size,
        libris::DB_CHECKOUT_TIMEOUT,
    );
    let bind = config.bind;
    let workers = config.workers;
    let inbox = config.inbox_dir.clone();
    let sweep = config.sweep_every;
    let hardcover_at = config.hardcover_sync_at;
    let state = libris::AppState::new(config, pool);
    // Read (or make) the server secret now, not in the first request that signs a link.
    state.key("start-up").map_err(|e| e.to_string())?;
    actix_web::rt::System::new().block_on(async move {
        if let Some(every) = sweep {
            actix_web::rt::spawn(libris::reading::jobs::sweep_forever(state.clone(), every));
        }
        if let Some(dir) = inbox {
            actix_web::rt::spawn(libris::library::inbox::watch(state.clone(), dir));
        }
        actix_web::rt::spawn(libris::hardcover::metadata::work(state.clone()));
        if let Some(at) = hardcover_at {
            actix_web::rt::spawn(libris::hardcover::schedule::daily(state.clone(), at));
        }
        let mut server = actix_web::HttpServer::new(move || libris::build_app(state.clone()))
            // Files go out as headers then chunks: with Nagle's algorithm on, the first chunk
            // waits for the client's delayed ACK of the headers (40 ms on Linux).
            .on_connect(|conn, _| {
                if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                    let _ = tcp.set_nodelay(true);
                }
            });
        if let Some(n) = workers {
            server = server.workers(n);
        }
        let server = server
            .bind(bind)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?
            .shutdown_timeout(30);
        log::info!(
            "libris {} listening on http://{bind}",
            env!("CARGO_PKG_VERSION")
        );
        // actix stops accepting on SIGTERM/SIGINT, lets in-flight requests finish, then returns.
        server.run().await.map_err(|e| format!("server error: {e}"))
    })
}

fn bench_epubs(count: u64, dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for n in 1..=count {
        libris::library::sample::write_epub(&dir.join(format!("bench-{n:05}.epub")), n)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn import(
    config: &Config,
    approve: bool,
    jobs: Option<usize>,
    paths: &[PathBuf],
) -> Result<(), String> {
    use libris::library::{import, ingest::Options};
    use std::io::IsTerminal;
    drop(connect(config)?);
    let _lock = lock_data_dir(config)?;
    let files = import::collect(paths)?;
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, 32);
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let url = config.database_url.clone();
    let connect = move || {
        diesel::Connection::establish(&url)
            .map_err(|e| format!("database: {}", e.to_string().trim()))
    };
    let options = Options {
        uploader: None,
        approve,
    };
    let summary = import::import_all(
        &files,
        jobs,
        &connect,
        &config.data_dir,
        config.max_upload_bytes,
        &options,
        &|path| {
            bar.set_message(path.display().to_string());
            bar.inc(1);
        },
    )?;
    bar.finish_and_clear();
    println!(
        "{} added, {} duplicates, {} failed ({} files)",
        summary.added,
        summary.duplicates,
        summary.failed.len(),
        files.len()
    );
    for (path, why) in &summary.failed {
        println!("failed: {}: {why}", path.display());
    }
    if summary.failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} file(s) could not be imported",
            summary.failed.len()
        ))
    }
}

fn keys_command(conn: &mut PgConnection, cmd: KeysCommand) -> Result<(), String> {
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

fn credentials_command(conn: &mut PgConnection, cmd: CredentialsCommand) -> Result<(), String> {
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
