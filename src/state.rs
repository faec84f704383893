//! What the HTTP handlers share: the configuration, the pool, the caches, and the narrow
//! contexts the domain's background work and services are handed. Built once by `serve` (and
//! the tests' app builder), cloned into every worker.

use std::sync::Arc;

use crate::error::Error;
use crate::{
    api, auth, cloud, config::Config, db, hardcover, http, library, opds, reading, secret,
    settings, web,
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: db::DbPool,
    pub verifier: Arc<auth::Verifier>,
    pub last_used: Arc<api::caller::LastUsed>,
    /// One lock per reader around WebDAV's check-and-replace of a file.
    pub dav_locks: Arc<cloud::space::Locks>,
    /// Device passwords used lately (their "last used" is written once a minute).
    pub device_uses: Arc<auth::device_passwords::Uses>,
    pub jobs: Arc<reading::jobs::Jobs>,
    pub rules: Arc<reading::state::RulesCache>,
    /// KoSync reports waiting to be written, group-committed (`reading::batch`).
    pub reports: Arc<reading::batch::Writer>,
    pub opds_cache: Arc<opds::pages::CatalogCache>,
    /// The web app's memory: whether set-up is done, when sessions were last written.
    pub web: Arc<web::WebState>,
    /// The web app's pages of the library, kept per library version.
    pub web_library: Arc<web::LibraryCache>,
    /// Readers' statistics, kept while their reading and the library are unchanged.
    pub stats: Arc<reading::stats_cache::StatsCache>,
    /// Failed logins, for every face's scope.
    pub throttle: Arc<http::throttle::Throttle>,
    /// Hardcover's client and everything its lookups and syncs need.
    pub hardcover: hardcover::Context,
    /// The job that renders PDFs' and DjVus' first pages as covers (woken by new books).
    pub page_covers: library::page_covers::Context,
    /// bcrypt jobs at once: one per core. More only share the cores, and starve the short
    /// database work of other requests of CPU (64 logins at once timed out others' queries).
    bcrypt_slots: Arc<tokio::sync::Semaphore>,
    /// The server secret (LIBRIS_SECRET_KEY, else `<data dir>/secret`).
    secret: [u8; 32],
}

impl AppState {
    /// Reads (or makes) the server secret now, so that a missing or unwritable data dir stops
    /// the start, not the first request that signs a link.
    pub fn new(config: Config, pool: db::DbPool) -> Result<AppState, Error> {
        crate::telemetry::install();
        let secret = secret::of(&config)?;
        let config = Arc::new(config);
        let hardcover = hardcover::Context::new(pool.clone(), config.clone(), &secret);
        let rules = Arc::new(reading::state::RulesCache::new(config.rules_cache));
        let reports = Arc::new(reading::batch::Writer::new(
            pool.clone(),
            rules.clone(),
            report_writers(config.db_pool_size),
        ));
        Ok(AppState {
            page_covers: library::page_covers::Context::new(pool.clone(), config.data_dir.clone()),
            rules,
            reports,
            opds_cache: Arc::new(opds::pages::CatalogCache::new(config.db_pool_size)),
            hardcover,
            throttle: Arc::new(
                http::throttle::Throttle::new(config.auth_failures_per_minute, config.trust_proxy)
                    .with_shared(
                        Arc::new(auth::login_failures::InDatabase(pool.clone())),
                        secret::derive(&secret, "login throttle fingerprints"),
                    ),
            ),
            bcrypt_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            secret,
            config,
            pool,
            verifier: Arc::new(auth::Verifier::new()),
            last_used: Arc::new(Default::default()),
            device_uses: Arc::new(Default::default()),
            dav_locks: Arc::new(Default::default()),
            web: Arc::new(Default::default()),
            web_library: Arc::new(Default::default()),
            stats: Arc::new(Default::default()),
            jobs: Arc::new(Default::default()),
        })
    }

    /// Runs bcrypt work (hashing or verifying) on the blocking pool, waiting for a free core
    /// first; no database connection is held meanwhile.
    pub async fn bcrypt<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let _slot = self
            .bcrypt_slots
            .acquire()
            .await
            .map_err(|_| Error::Internal("the bcrypt slots are closed".into()))?;
        Ok(actix_web::web::block(work).await?)
    }

    /// Records that a device password opened a request (at most once a minute per password,
    /// unless the way in or the device changed), off the request's path.
    pub fn device_used(
        &self,
        key_sha256: &str,
        via: auth::device_passwords::Via,
        device: Option<(String, Option<String>)>,
    ) {
        if !self.device_uses.due(
            key_sha256,
            via,
            device.as_ref().map(|(name, _)| name.as_str()),
        ) {
            return;
        }
        let (pool, key) = (self.pool.clone(), key_sha256.to_owned());
        actix_web::rt::spawn(async move {
            let written = db::run(&pool, move |conn| {
                let device = device.as_ref().map(|(n, id)| (n.as_str(), id.as_deref()));
                auth::device_passwords::touch(conn, &key, via, device)
            })
            .await;
            if let Err(e) = written {
                log::warn!("a device password's last use was not written: {e}");
            }
        });
    }

    /// The reader an HTTP Basic `Authorization` header names, for the faces that take nothing
    /// else (WebDAV, the Notes API): a device password (its use recorded as `via`), an API key
    /// as the password, or the reader's OPDS login (bcrypt off the connection). `None`: no,
    /// or wrong, credentials; told to the login throttle as a sign-in when they are right.
    pub async fn basic_login(
        &self,
        req: &actix_web::HttpRequest,
        via: auth::device_passwords::Via,
    ) -> Result<Option<uuid::Uuid>, Error> {
        let Some((user, password)) = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, rest)| scheme.eq_ignore_ascii_case("basic") && rest.len() <= 2048)
            .and_then(|(_, rest)| http::basic::decode(rest))
            .filter(|(_, password)| !password.is_empty())
        else {
            return Ok(None);
        };
        let verifier = self.verifier.clone();
        let found = db::run(&self.pool, move |conn| {
            auth::basic::look_up(conn, &verifier, "opds", &user, &password)
        })
        .await?;
        if let auth::basic::Found::Device(opened) = &found {
            self.device_used(&opened.key_sha256, via, None);
        }
        let verifier = self.verifier.clone();
        let reader = if found.needs_bcrypt() {
            self.bcrypt(move || found.verify(&verifier)).await?
        } else {
            found.verify(&verifier)
        };
        if reader.is_some() {
            http::throttle::signed_in(req);
        }
        Ok(reader)
    }

    /// The one-time token that claims a server without keys (see `secret::setup_token`).
    pub fn setup_token(&self) -> String {
        secret::setup_token(&self.secret)
    }

    pub fn is_setup_token(&self, given: &str) -> bool {
        secret::is_setup_token(&self.secret, given)
    }

    /// The key for `purpose`, derived from the server secret.
    pub fn key(&self, purpose: &str) -> [u8; 32] {
        secret::derive(&self.secret, purpose)
    }

    /// Stores settings already validated (all or nothing) and answers every setting's
    /// effective value. When the reading rules changed, this process takes them up at once
    /// and every aggregate is rebuilt in the background.
    pub async fn change_settings(
        &self,
        values: Vec<(String, serde_json::Value)>,
    ) -> Result<settings::Settings, Error> {
        let rules_changed = settings::changes_reading_rules(&values);
        let config = self.config.clone();
        let (current, rules) = db::run(&self.pool, move |conn| {
            settings::store(conn, &values)?;
            Ok((settings::load(conn, &config)?, reading::state::rules(conn)?))
        })
        .await?;
        if rules_changed {
            self.rules.set(rules);
            reading::jobs::spawn_rebuild(
                self.jobs.clone(),
                self.pool.clone(),
                self.rules.lifetime(),
            );
        }
        Ok(current)
    }

    /// What the inbox watcher needs: where files go, the size limit, and a nudge for
    /// Hardcover's lookups and the page covers when books arrive.
    pub fn inbox(&self) -> library::inbox::Context {
        let client = self.hardcover.client.clone();
        let page_covers = self.page_covers.clone();
        library::inbox::Context {
            pool: self.pool.clone(),
            data_dir: self.config.data_dir.clone(),
            max_upload_bytes: self.config.max_upload_bytes,
            imported: Arc::new(move || {
                client.wake_lookups();
                page_covers.wake();
            }),
        }
    }
}

/// Batches of KoSync reports in flight at once: one per two cores (measured on two: a second
/// writer halves the batches and costs the database more than it overlaps), at most half the
/// pool, so that each commit carries the reports that arrived meanwhile and connections remain
/// for everything else.
fn report_writers(pool_size: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores / 2).min(pool_size as usize / 2).clamp(1, 4)
}
