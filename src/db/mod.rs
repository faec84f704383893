//! The connection pool, migrations, and the one way handlers reach the database.

pub mod advisory;
pub mod cached;
pub mod models;
pub mod schema;
pub mod schema_doc;

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use tokio::sync::Semaphore;

use crate::error::Error;
use crate::telemetry;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The connection pool, behind a fair queue.
///
/// r2d2 hands a returned connection to whichever thread asks first, so under sustained
/// overload a waiting request can lose again and again until it times out. Requests first
/// take a permit from a FIFO semaphore sized like the pool: they are served in arrival order,
/// and no more blocking threads wait on the database than it has connections.
#[derive(Clone)]
pub struct DbPool {
    pool: r2d2::Pool<Manager>,
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl DbPool {
    /// Connections open and idle.
    pub fn state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// How long a request waits for a connection before it is refused as unavailable.
    pub fn wait(&self) -> Duration {
        self.wait
    }
}

/// A pooled PostgreSQL connection that remembers when the server went away under it, so
/// the pool drops it instead of handing it out again. This replaces r2d2's test-on-checkout,
/// which would cost every request an extra round trip.
pub struct Conn {
    pg: PgConnection,
    broken: bool,
}

impl Deref for Conn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.pg
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.pg
    }
}

impl Conn {
    /// Marks the connection for disposal when `err` says the link to the server is lost.
    pub fn note(&mut self, err: &Error) {
        if let Error::Database(e) = err {
            if is_connection_loss(e) {
                self.broken = true;
            }
        }
    }

    /// Whether the link to the server is lost (a noted error said so, or libpq knows): what
    /// the pool checks before it takes a connection back.
    pub fn is_broken(&mut self) -> bool {
        use diesel::r2d2::R2D2Connection;
        self.broken || self.pg.is_broken()
    }
}

/// Whether `e` says the link to the server is lost.
pub fn is_connection_loss(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => true,
            // 57P01 admin_shutdown and friends arrive as Unknown; the socket is gone after them.
            _ => info.message().contains("terminating connection"),
        },
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

pub struct Manager {
    url: String,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<Conn, Self::Error> {
        PgConnection::establish(&self.url).map(|pg| Conn { pg, broken: false })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// A pool that connects lazily: building it never fails, and requests made while the
/// database is down fail after `wait` instead of hanging.
pub fn pool(url: &str, size: u32, wait: Duration) -> DbPool {
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(2))
        .test_on_check_out(false)
        .connection_timeout(wait)
        .idle_timeout(Some(Duration::from_secs(600)))
        .error_handler(Box::new(PoolErrorLog))
        .build_unchecked(Manager {
            url: url.to_owned(),
        });
    DbPool {
        pool,
        permits: Arc::new(Semaphore::new(size as usize)),
        wait,
    }
}

#[derive(Debug)]
struct PoolErrorLog;

impl r2d2::HandleError<diesel::ConnectionError> for PoolErrorLog {
    fn handle_error(&self, error: diesel::ConnectionError) {
        log::warn!("database connection failed: {}", error.to_string().trim());
    }
}

/// Runs blocking database work on actix's blocking pool with a pooled connection.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, Error>
where
    F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    let started = Instant::now();
    let permit = tokio::time::timeout(pool.wait, pool.permits.clone().acquire_owned())
        .await
        .map_err(|_| {
            metrics::counter!(telemetry::DB_TIMEOUTS).increment(1);
            Error::Unavailable("no database connection became free in time".into())
        })?
        .map_err(|_| Error::Internal("the database queue is closed".into()))?;
    // The whole wait, queue and checkout together, stays within `wait`.
    let left = pool
        .wait
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(10));
    let r2d2_pool = pool.pool.clone();
    actix_web::web::block(move || {
        let _permit = permit;
        let mut conn = r2d2_pool.get_timeout(left).inspect_err(|_| {
            metrics::counter!(telemetry::DB_TIMEOUTS).increment(1);
        })?;
        metrics::histogram!(telemetry::DB_WAIT).record(started.elapsed().as_secs_f64());
        let result = work(&mut conn);
        if let Err(e) = &result {
            if matches!(e, Error::Database(_)) {
                metrics::counter!(telemetry::DB_ERRORS).increment(1);
            }
            conn.note(e);
        }
        result
    })
    .await?
}

/// The server's version (`SELECT current_setting('server_version')`): the readiness check's
/// round trip.
pub fn server_version(conn: &mut PgConnection) -> Result<String, Error> {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        server_version: String,
    }
    use diesel::RunQueryDsl;
    let v: Version =
        diesel::sql_query("SELECT current_setting('server_version') AS server_version")
            .get_result(conn)?;
    Ok(v.server_version)
}

/// Connects to the database, retrying with backoff until `wait` has passed.
pub fn connect_with_retry(
    url: &str,
    wait: Duration,
) -> Result<PgConnection, diesel::ConnectionError> {
    let deadline = Instant::now() + wait;
    let mut delay = Duration::from_millis(100);
    loop {
        match PgConnection::establish(url) {
            Ok(conn) => return Ok(conn),
            Err(e) if Instant::now() + delay >= deadline => return Err(e),
            Err(e) => {
                log::warn!(
                    "database not reachable yet ({}); retrying in {:?}",
                    e.to_string().trim(),
                    delay
                );
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Applies pending migrations, then `after` with the versions just applied, both under an
/// advisory lock, so that two instances starting at once neither race each other nor run
/// `after` twice. `after` is where a domain fills what a migration added (the app's
/// `migrate` passes reading's).
pub fn migrate_with(
    conn: &mut PgConnection,
    after: impl FnOnce(&mut PgConnection, &[String]) -> Result<(), String>,
) -> Result<Vec<String>, String> {
    const LOCK: i64 = 0x6c69_6272_6973; // "libris"
    conn.batch_execute(&format!("SELECT pg_advisory_lock({LOCK})"))
        .map_err(|e| e.to_string())?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(|v| v.to_string()).collect())
        .map_err(|e| e.to_string())
        .and_then(|versions: Vec<String>| {
            after(conn, &versions)?;
            Ok(versions)
        });
    let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK})"));
    let applied = applied?;
    unlocked.map_err(|e| e.to_string())?;
    Ok(applied)
}
