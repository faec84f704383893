//! `libris serve` (and `libris check`): the data dir checked and locked, the background work
//! started, and HTTP served until SIGTERM or SIGINT.

use super::connect;
use crate::db::advisory;
use crate::library::check;
use crate::{background, build_app, db, AppState, Config};

/// The data dir against the database (see `crate::library::check`); `None` when another
/// libris process uses the data dir, so that the check cannot run.
pub fn check_data_dir(
    conn: &mut diesel::PgConnection,
    config: &Config,
) -> Result<Option<check::Report>, String> {
    let dir = config.data_dir.display();
    // The database's lock holds where the file's may not (a data dir on NFS shared by
    // several instances): both must be free.
    if !advisory::try_lock(conn, advisory::PLACING_FILES).map_err(|e| e.to_string())? {
        return Ok(None);
    }
    let lock = check::try_lock_exclusive(&config.data_dir)
        .map_err(|e| format!("locking {dir}/.lock: {e}"));
    let report = match lock {
        Ok(Some(lock)) => {
            check::run(conn, &config.data_dir, &lock).map_err(|e| format!("checking {dir}: {e}"))
        }
        Ok(None) => {
            advisory::unlock(conn, advisory::PLACING_FILES).map_err(|e| e.to_string())?;
            return Ok(None);
        }
        Err(e) => Err(e),
    };
    advisory::unlock(conn, advisory::PLACING_FILES).map_err(|e| e.to_string())?;
    let report = report?;
    if report.is_clean() {
        log::info!("data dir checked: files and rows agree");
    } else {
        log::warn!("data dir checked and repaired: {report:?}");
    }
    Ok(Some(report))
}

/// `libris check`: the data dir checked and repaired now, the report printed as JSON.
pub fn check(conn: &mut diesel::PgConnection, config: &Config) -> Result<(), String> {
    let report = check_data_dir(conn, config)?.ok_or_else(|| {
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
}

/// Held by the processes that place files, for as long as they run (see `check`): the data
/// dir's file lock and the database's (on a connection a thread of its own keeps).
pub struct Placing {
    _file: check::DataDirLock,
}

/// Takes both locks shared, waiting while another process checks the data dir.
pub fn lock_data_dir(config: &Config, mut conn: diesel::PgConnection) -> Result<Placing, String> {
    advisory::lock_shared(&mut conn, advisory::PLACING_FILES).map_err(|e| e.to_string())?;
    let file = check::lock_shared(&config.data_dir)
        .map_err(|e| format!("locking {}/.lock: {e}", config.data_dir.display()))?;
    let url = config.database_url.clone();
    std::thread::spawn(move || keep_placing(conn, &url));
    Ok(Placing { _file: file })
}

/// The database's lock lives as long as its connection: when PostgreSQL restarts (or a
/// firewall drops an idle connection) it is gone, and another instance's start-up check could
/// take the data dir from under this one. Looked at every 30 s, and taken again on a new
/// connection when lost.
fn keep_placing(mut conn: diesel::PgConnection, url: &str) {
    use diesel::connection::SimpleConnection;
    loop {
        std::thread::sleep(std::time::Duration::from_secs(30));
        if conn.batch_execute("SELECT 1").is_ok() {
            continue;
        }
        log::warn!("the database connection holding the data dir's lock was lost; taking it again");
        loop {
            let again = diesel::Connection::establish(url).map_err(|e| e.to_string());
            let locked = again.and_then(|mut c| {
                advisory::lock_shared(&mut c, advisory::PLACING_FILES)
                    .map(|()| c)
                    .map_err(|e| e.to_string())
            });
            match locked {
                Ok(c) => {
                    conn = c;
                    break;
                }
                Err(e) => {
                    log::debug!("data dir lock: {e}");
                    std::thread::sleep(std::time::Duration::from_secs(5));
                }
            }
        }
    }
}

pub fn run(config: Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "cannot create LIBRIS_DATA_DIR {}: {e}",
            config.data_dir.display()
        )
    })?;
    let mut conn = connect(&config)?;
    if !crate::auth::keys::any(&mut conn).map_err(|e| e.to_string())? {
        let secret = crate::secret::of(&config).map_err(|e| e.to_string())?;
        let url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.bind));
        log::warn!(
            "libris is not set up yet: open {url} and enter the setup token {} \
             (`libris setup-token` prints it too)",
            crate::secret::setup_token(&secret)
        );
    }
    if check_data_dir(&mut conn, &config)?.is_none() {
        log::warn!(
            "data dir not checked: another libris process (serve or import) uses {}",
            config.data_dir.display()
        );
    } else {
        // WebDAV uploads a crash cut off (hidden meanwhile): nobody else writes there now.
        let swept = crate::cloud::space::sweep_temporaries(&config.data_dir);
        if swept > 0 {
            log::info!("removed {swept} WebDAV uploads a stop cut off");
        }
    }
    let _lock = lock_data_dir(&config, conn)?;
    // The commands find this database from the data dir alone (config::REMEMBERED).
    if let Err(e) = crate::config::remember_database(&config.data_dir, &config.database_url) {
        log::warn!(
            "{}/{} not written ({e}): commands need DATABASE_URL",
            config.data_dir.display(),
            crate::config::REMEMBERED
        );
    }
    let pool = db::pool(
        &config.database_url,
        config.db_pool_size,
        crate::DB_CHECKOUT_TIMEOUT,
    );
    let bind = config.bind;
    let metrics_bind = config.metrics_bind;
    let workers = config.workers;
    let state = AppState::new(config, pool).map_err(|e| e.to_string())?;
    actix_web::rt::System::new().block_on(async move {
        background::start(&state);
        let metrics_state = state.clone();
        let mut server = actix_web::HttpServer::new(move || build_app(state.clone()))
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
        let served = server.run();
        match metrics_bind {
            None => served.await,
            Some(addr) => {
                let metrics = metrics_server(metrics_state, addr)?;
                log::info!("metrics at http://{addr}/metrics (no key asked there)");
                futures_util::future::try_join(served, metrics)
                    .await
                    .map(|_| ())
            }
        }
        .map_err(|e| format!("server error: {e}"))
    })
}

/// LIBRIS_METRICS_BIND's listener: `/metrics` only, without a key, one worker.
fn metrics_server(
    state: AppState,
    addr: std::net::SocketAddr,
) -> Result<actix_web::dev::Server, String> {
    use actix_web::{web, App, HttpServer};
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/metrics", web::get().to(crate::api::metrics::open))
    })
    .workers(1)
    .bind(addr)
    .map_err(|e| format!("cannot listen on {addr} (LIBRIS_METRICS_BIND): {e}"))?
    .run())
}
