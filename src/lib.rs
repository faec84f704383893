//! libris: KOReader progress sync and an OPDS catalog on PostgreSQL.

pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod hardcover;
pub mod kosync;
pub mod library;
pub mod opds;
pub mod reading;
pub mod secret;
pub mod settings;
pub mod slow_body;

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::Logger;
use actix_web::{web, App};

pub use config::Config;

/// How long a request waits for a database connection before it is answered with an error
/// (KoSync 502, REST 503) instead of hanging while the database is away.
pub const DB_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything a request handler may need, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: db::DbPool,
    pub verifier: Arc<auth::Verifier>,
    pub last_used: Arc<api::caller::LastUsed>,
    pub jobs: Arc<reading::jobs::Jobs>,
    pub rules: Arc<reading::state::RulesCache>,
    pub opds_cache: Arc<opds::pages::CatalogCache>,
    pub hardcover: Arc<hardcover::Hardcover>,
    pub throttle: Arc<auth::throttle::Throttle>,
    /// bcrypt jobs at once: one per core. More only share the cores, and starve the short
    /// database work of other requests of CPU (64 logins at once timed out others' queries).
    bcrypt_slots: Arc<tokio::sync::Semaphore>,
    /// The server secret (LIBRIS_SECRET_KEY, else `<data dir>/secret`), read or made on first
    /// use.
    secret: Arc<std::sync::OnceLock<[u8; 32]>>,
}

impl AppState {
    pub fn new(config: Config, pool: db::DbPool) -> AppState {
        AppState {
            rules: Arc::new(reading::state::RulesCache::new(config.rules_cache)),
            opds_cache: Arc::default(),
            hardcover: Arc::new(hardcover::Hardcover::new(
                &config.hardcover_url,
                config.hardcover_pace,
            )),
            throttle: Arc::new(auth::throttle::Throttle::new(
                config.auth_failures_per_minute,
            )),
            bcrypt_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            secret: Arc::default(),
            config: Arc::new(config),
            pool,
            verifier: Arc::new(auth::Verifier::new()),
            last_used: Arc::new(Default::default()),
            jobs: Arc::new(Default::default()),
        }
    }
}

impl AppState {
    /// The key for `purpose`, derived from the server secret.
    /// Runs bcrypt work (hashing or verifying) on the blocking pool, waiting for a free core
    /// first; no database connection is held meanwhile.
    pub async fn bcrypt<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, error::Error> {
        let _slot = self
            .bcrypt_slots
            .acquire()
            .await
            .map_err(|_| error::Error::Internal("the bcrypt slots are closed".into()))?;
        Ok(web::block(work).await?)
    }

    pub fn key(&self, purpose: &str) -> Result<[u8; 32], error::Error> {
        if let Some(secret) = self.secret.get() {
            return Ok(secret::derive(secret, purpose));
        }
        let loaded = match &self.config.secret_key {
            Some(passphrase) => secret::from_passphrase(&passphrase.0),
            None => secret::load_or_create(&self.config.data_dir)?,
        };
        Ok(secret::derive(self.secret.get_or_init(|| loaded), purpose))
    }
}

/// The whole HTTP application; `serve` and the tests both build it here.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .wrap(actix_web::middleware::from_fn(slow_body::middleware))
        .wrap(actix_web::middleware::from_fn(auth::throttle::middleware))
        // One line per request. Paths and statuses only: never headers, where keys travel.
        .wrap(
            Logger::new("%{method}xi %U %s %Dms")
                .custom_request_replace("method", |req| req.method().to_string()),
        )
        .service(api::scope())
        .service(opds::scope())
        .service(
            web::scope("/kosync")
                .configure(kosync::routes)
                .default_service(web::to(kosync::no_route)),
        )
        .configure(kosync::routes)
        .default_service(web::to(kosync::no_route))
}
