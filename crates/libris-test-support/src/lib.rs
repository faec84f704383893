//! What libris's test targets share (`tests/it`, `tests/reliability`, `tests/opds`,
//! `tests/browser`): one database per test, cloned from a migrated template, and the real app
//! behind a real HTTP server (`TestApp`); a fake Hardcover; log capture; a TCP proxy; the OPDS
//! validators; a headless browser (`browser`, docs/testing.md).

pub mod browser;
pub mod fake_hardcover;
pub mod logs;
pub mod opds_validators;
pub mod proxy;
pub mod web;

use std::sync::OnceLock;

use diesel::pg::PgConnection;
use diesel::sql_types::BigInt;
use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};
use serde_json::Value;

use libris::{build_app, db, AppState, Config};

/// The server DATABASE_URL points at (`make test` starts one).
pub fn base_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server for the tests: run `make test`")
}

/// `url` with its database name replaced by `db`.
pub fn with_db(url: &str, db: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority = main.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match main[authority..].find('/') {
        Some(i) => &main[..authority + i],
        None => main,
    };
    format!("{base}/{db}{query}")
}

fn admin() -> PgConnection {
    PgConnection::establish(&with_db(&base_url(), "postgres")).expect("connect to the test server")
}

fn exec(conn: &mut PgConnection, sql: &str) -> diesel::QueryResult<usize> {
    sql_query(sql).execute(conn)
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Migrations change → template name changes, so a stale template is never cloned.
fn template_name() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files = walk(&dir);
    files.sort();
    let mut all = Vec::new();
    for f in files {
        all.extend(f.to_string_lossy().as_bytes());
        all.extend(std::fs::read(&f).unwrap());
    }
    format!("libris_tpl_{}", &libris::auth::sha256_hex(&all)[..12])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Creates the migrated template once per server. Test processes may run at once: an
/// advisory lock serialises them, and the template is built under another name and renamed
/// when complete, so a half-built one is never cloned.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = template_name();
        let mut conn = admin();
        exec(&mut conn, "SELECT pg_advisory_lock(7215)").unwrap();
        let exists: N = sql_query(format!(
            "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"
        ))
        .get_result(&mut conn)
        .unwrap();
        if exists.n == 0 {
            let building = format!("{name}_building");
            exec(
                &mut conn,
                &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
            )
            .unwrap();
            exec(&mut conn, &format!("CREATE DATABASE {building}")).unwrap();
            {
                let mut tpl = PgConnection::establish(&with_db(&base_url(), &building)).unwrap();
                libris::migrate(&mut tpl).expect("migrations apply to an empty database");
            }
            exec(
                &mut conn,
                &format!("ALTER DATABASE {building} RENAME TO {name}"),
            )
            .unwrap();
        }
        exec(&mut conn, "SELECT pg_advisory_unlock(7215)").unwrap();
        name
    })
}

/// A fresh database, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// Migrated: a clone of the template.
    pub fn new() -> TestDb {
        let template = template();
        TestDb::create(&format!("TEMPLATE {template}"))
    }

    /// Empty (no migrations), for the migration tests.
    pub fn empty() -> TestDb {
        TestDb::create("")
    }

    fn create(options: &str) -> TestDb {
        let name = format!("libris_test_{}", uuid::Uuid::new_v4().simple());
        exec(&mut admin(), &format!("CREATE DATABASE {name} {options}"))
            .expect("create a test database");
        TestDb {
            url: with_db(&base_url(), &name),
            name,
        }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).unwrap()
    }

    /// The value of a scalar SQL expression, e.g. `SELECT count(*) FROM …`.
    pub fn count(&self, sql: &str) -> i64 {
        sql_query(format!("SELECT ({sql})::bigint AS n"))
            .get_result::<N>(&mut self.conn())
            .unwrap()
            .n
    }
}

impl Default for TestDb {
    fn default() -> TestDb {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = exec(
            &mut admin(),
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// What a test reads from a response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

impl Resp {
    /// (status, KoSync error code) of an error response.
    pub fn error(&self) -> (u16, i64) {
        (self.status, self.body["code"].as_i64().unwrap_or(-1))
    }
}

pub struct TestApp {
    pub state: AppState,
    pub server: actix_test::TestServer,
    pub db: TestDb,
    /// LIBRIS_DATA_DIR of this app, removed with it.
    pub data: tempfile::TempDir,
}

/// A response whose body is kept as bytes (downloads).
#[derive(Debug)]
pub struct RawResp {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl RawResp {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    }
}

pub struct Builder {
    config: Config,
    pool_url: Option<String>,
    db: Option<TestDb>,
    throttle_clock: Option<TestClock>,
}

/// A clock that moves only when a test moves it, for the login throttle: the minutes and
/// days of a scenario pass without waiting for them.
#[derive(Clone)]
pub struct TestClock(std::sync::Arc<std::sync::Mutex<std::time::Instant>>);

impl TestClock {
    pub fn new() -> TestClock {
        TestClock(std::sync::Arc::new(std::sync::Mutex::new(
            std::time::Instant::now(),
        )))
    }

    pub fn now(&self) -> std::time::Instant {
        *self.0.lock().unwrap()
    }

    pub fn advance(&self, by: std::time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Default for TestClock {
    fn default() -> TestClock {
        TestClock::new()
    }
}

impl Builder {
    pub fn registration(mut self, on: bool) -> Builder {
        self.config.kosync_registration = on;
        self
    }

    pub fn strict_accept(mut self, on: bool) -> Builder {
        self.config.kosync_strict_accept = on;
        self
    }

    /// Connect the app's pool through `url` (a proxy) instead of straight to the database.
    pub fn pool_url(mut self, url: String) -> Builder {
        self.pool_url = Some(url);
        self
    }

    pub fn db(mut self, db: TestDb) -> Builder {
        self.db = Some(db);
        self
    }

    /// Hardcover's GraphQL endpoint (a fake one: tests never reach the internet).
    pub fn hardcover_url(mut self, url: &str) -> Builder {
        self.config.hardcover_url = url.to_owned();
        self
    }

    /// Let approvals fetch proposed covers from the local fake Hardcover.
    pub fn allow_private_cover_urls(mut self) -> Builder {
        self.config.allow_private_cover_urls = true;
        self
    }

    /// Failed logins allowed per address and username a minute (0: no limit, the tests'
    /// default).
    pub fn auth_failures_per_minute(mut self, n: u32) -> Builder {
        self.config.auth_failures_per_minute = n;
        self
    }

    /// The login throttle reads the time from `clock`.
    pub fn throttle_clock(mut self, clock: &TestClock) -> Builder {
        self.throttle_clock = Some(clock.clone());
        self
    }

    /// How long a request body may take beyond a second per KiB.
    pub fn body_grace(mut self, grace: std::time::Duration) -> Builder {
        self.config.body_grace = grace;
        self
    }

    /// Believe X-Forwarded-* headers (LIBRIS_TRUST_PROXY).
    pub fn trust_proxy(mut self) -> Builder {
        self.config.trust_proxy = true;
        self
    }

    /// How long POST /api/hardcover/sync waits before answering 202.
    pub fn hardcover_sync_wait(mut self, wait: std::time::Duration) -> Builder {
        self.config.hardcover_sync_wait = wait;
        self
    }

    /// The server secret as a passphrase (LIBRIS_SECRET_KEY).
    pub fn secret_key(mut self, passphrase: &str) -> Builder {
        self.config.secret_key = Some(libris::config::Passphrase(passphrase.to_owned()));
        self
    }

    /// LIBRIS_PUBLIC_URL: the address clients reach libris at.
    pub fn public_url(mut self, url: &str) -> Builder {
        self.config.public_url = Some(url.to_owned());
        self
    }

    pub fn dav_quota_bytes(mut self, bytes: u64) -> Builder {
        self.config.dav_quota_bytes = bytes;
        self
    }

    pub fn max_upload_bytes(mut self, bytes: u64) -> Builder {
        self.config.max_upload_bytes = bytes;
        self
    }

    pub fn start(self) -> TestApp {
        let db = self.db.unwrap_or_default();
        let url = self.pool_url.unwrap_or_else(|| db.url.clone());
        let pool = db::pool(&url, 4, std::time::Duration::from_secs(1));
        let data = tempfile::tempdir().unwrap();
        let mut state = AppState::new(
            Config {
                database_url: url,
                data_dir: data.path().to_owned(),
                ..self.config
            },
            pool,
        )
        .expect("the app state builds");
        if let Some(clock) = self.throttle_clock {
            let throttle = state
                .throttle
                .clocked(std::sync::Arc::new(move || clock.now()));
            state.throttle = std::sync::Arc::new(throttle);
        }
        let app_state = state.clone();
        let server = actix_test::start(move || build_app(app_state.clone()));
        TestApp {
            state,
            server,
            db,
            data,
        }
    }
}

/// md5("password"): what KOReader sends as x-auth-key.
pub const KEY: &str = "5f4dcc3b5aa765d61d8327deb882cf99";

/// An `Authorization` value for HTTP Basic, as OPDS apps send it.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

impl TestApp {
    /// Registration on, lenient Accept.
    pub fn builder() -> Builder {
        logs::install();
        let mut config = Config::for_database("");
        config.kosync_registration = true;
        // Long enough to serve reports from the cache, short enough for the rebuild's
        // second pass not to slow the tests.
        config.rules_cache = std::time::Duration::from_millis(200);
        // Nothing listens there: a test that forgets its fake Hardcover fails fast, offline.
        config.hardcover_url = "http://127.0.0.1:9/v1/graphql".into();
        // Hardcover's one request a second per token would make each sync test take
        // seconds; the pacing itself is unit-tested.
        config.hardcover_pace = std::time::Duration::from_millis(1);
        // Tests try many wrong credentials on purpose; the limit has its own test.
        config.auth_failures_per_minute = 0;
        Builder {
            config,
            pool_url: None,
            db: None,
            throttle_clock: None,
        }
    }

    pub fn start() -> TestApp {
        TestApp::builder().start()
    }

    /// An app whose pool reaches its database through a [`proxy::Proxy`], up: the test can
    /// take the database away and bring it back.
    pub fn behind_proxy() -> (TestApp, proxy::Proxy) {
        let db = TestDb::new();
        let proxy = proxy::Proxy::start(&db.url);
        let app = TestApp::builder()
            .pool_url(proxy.url(&db.url))
            .db(db)
            .start();
        (app, proxy)
    }

    /// Sends a request; `auth` is (x-auth-user, x-auth-key).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        body: Option<&str>,
    ) -> Resp {
        self.call_with(method, path, auth, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.server.request(method, self.server.url(path));
        if let Some((user, key)) = auth {
            req = req
                .insert_header(("x-auth-user", user))
                .insert_header(("x-auth-key", key));
        }
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let sent = match body {
            Some(b) => {
                req.insert_header(("content-type", "application/json"))
                    .send_body(b.to_owned())
                    .await
            }
            None => req.send().await,
        };
        let mut resp = sent.expect("the request reaches the server");
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = resp.body().limit(1 << 20).await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON body")
        };
        Resp {
            status: resp.status().as_u16(),
            content_type,
            body,
        }
    }

    /// A REST call with `Authorization: Bearer <key>` and an optional JSON body.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let bearer = key.map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| vec![("authorization", b)])
            .unwrap_or_default();
        self.call_with(
            method,
            path,
            None,
            body.map(|b| b.to_string()).as_deref(),
            &headers,
        )
        .await
    }

    /// A request whose response body is kept as bytes.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
    ) -> RawResp {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.server.request(method, self.server.url(path));
        if let Some(k) = key {
            req = req.insert_header(("authorization", format!("Bearer {k}")));
        }
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let mut resp = req.send().await.expect("the request reaches the server");
        let body = resp.body().limit(64 << 20).await.unwrap().to_vec();
        RawResp {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body,
        }
    }

    /// Any method (PROPFIND, MKCOL…) with headers and a raw body; the answer's body as bytes.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> RawResp {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.server.request(method, self.server.url(path));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let mut resp = req
            .send_body(body)
            .await
            .expect("the request reaches the server");
        let body = resp.body().limit(256 << 20).await.unwrap().to_vec();
        RawResp {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body,
        }
    }

    /// Uploads files as multipart/form-data.
    pub async fn upload(&self, key: &str, files: &[(&str, &[u8])]) -> Resp {
        let boundary = "libris-test-boundary-7d1f";
        let mut body = Vec::new();
        for (name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut resp = self
            .server
            .post("/api/uploads")
            .insert_header(("authorization", format!("Bearer {key}")))
            .insert_header((
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .send_body(body)
            .await
            .expect("the request reaches the server");
        let bytes = resp.body().limit(1 << 20).await.unwrap();
        Resp {
            status: resp.status().as_u16(),
            content_type: String::new(),
            body: if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap()
            },
        }
    }

    /// The first admin key, made through setup.
    pub async fn admin_key(&self) -> String {
        let token = self.state.setup_token();
        let r = self
            .api(
                "POST",
                "/api/auth/setup",
                None,
                Some(serde_json::json!({ "setup_token": token })),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["key"].as_str().unwrap().to_owned()
    }

    /// A reader (non-admin) key: (id, key).
    pub async fn reader_key(&self, admin: &str, label: &str) -> (String, String) {
        let r = self
            .api(
                "POST",
                "/api/keys",
                Some(admin),
                Some(serde_json::json!({ "label": label })),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        (
            r.body["id"].as_str().unwrap().to_owned(),
            r.body["key"].as_str().unwrap().to_owned(),
        )
    }

    /// Sets the caller's credential for a service through the API.
    pub async fn set_credential(&self, key: &str, service: &str, username: &str, password: &str) {
        let r = self
            .api(
                "PUT",
                &format!("/api/credentials/{service}"),
                Some(key),
                Some(serde_json::json!({ "username": username, "password": password })),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }

    pub async fn create_user(&self, user: &str, key: &str) -> Resp {
        let body = serde_json::json!({ "username": user, "password": key }).to_string();
        self.call("POST", "/users/create", None, Some(&body)).await
    }

    pub async fn auth(&self, user: &str, key: &str) -> Resp {
        self.call("GET", "/users/auth", Some((user, key)), None)
            .await
    }

    pub async fn put_progress(&self, user: &str, key: &str, body: Value) -> Resp {
        self.call(
            "PUT",
            "/syncs/progress",
            Some((user, key)),
            Some(&body.to_string()),
        )
        .await
    }

    pub async fn get_progress(&self, user: &str, key: &str, document: &str) -> Resp {
        self.call(
            "GET",
            &format!("/syncs/progress/{document}"),
            Some((user, key)),
            None,
        )
        .await
    }
}

/// The files libris stored under `dir` (a data dir), recursively (none when it does not
/// exist): books, covers, staging. The server secret, made at start, is not one of them.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == "secret") && p.parent() == Some(dir) {
                continue;
            }
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// An OpenAPI path template with `id` in every parameter: `/api/keys/{id}` → `/api/keys/<id>`.
pub fn fill_path(template: &str, id: &str) -> String {
    template
        .split('/')
        .map(|part| if part.starts_with('{') { id } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

/// Waits until the wall clock's second changes: KoSync reports are timed in seconds, and
/// within one second the highest percentage is the newest (reading::derive's tie rule), so a
/// test whose reader goes back a page waits for the next second first.
pub async fn next_second() {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let second = now();
    while now() == second {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
