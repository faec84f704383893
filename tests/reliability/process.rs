//! libris as a separate process (the release binary of this build), for the parts that kill
//! it or measure its memory.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestDb;

pub struct Server {
    pub child: Child,
    pub url: String,
    database_url: String,
    data: std::path::PathBuf,
    /// What [`start_with`] added (the server secret, say).
    settings: Vec<(String, String)>,
}

impl Server {
    /// What `libris setup-token` prints for this server's database and data dir.
    pub fn setup_token(&self) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_libris"))
            .arg("setup-token")
            .env("DATABASE_URL", &self.database_url)
            .env("LIBRIS_DATA_DIR", &self.data)
            .envs(self.settings.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("libris setup-token runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

pub fn start(db: &TestDb, data: &Path, log: &Path) -> Server {
    start_with(db, data, log, &[])
}

/// [`start`] with more settings (later ones win).
pub fn start_with(db: &TestDb, data: &Path, log: &Path, settings: &[(&str, &str)]) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_libris"))
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("LIBRIS_BIND", format!("127.0.0.1:{port}"))
        .env("LIBRIS_DATA_DIR", data)
        .env("LIBRIS_KOSYNC_REGISTRATION", "true")
        .env("LIBRIS_AUTH_FAILURES_PER_MINUTE", "0")
        .env("LIBRIS_HARDCOVER_SYNC_AT", "off")
        .env("RUST_LOG", "warn")
        .envs(settings.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the libris binary starts");
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        database_url: db.url.clone(),
        data: data.to_owned(),
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

pub async fn ready(client: &awc::Client, server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = client
            .get(format!("{}/healthcheck", server.url))
            .send()
            .await
        {
            if r.status() == 200 {
                return;
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("libris did not answer within 60 s of its start");
}

pub fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "libris-crash-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/epub+zip\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The first admin key of a fresh server, through setup.
pub async fn first_admin(client: &awc::Client, server: &Server) -> String {
    let mut r = client
        .post(format!("{}/api/auth/setup", server.url))
        .send_json(&serde_json::json!({ "setup_token": server.setup_token() }))
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&r.body().await.unwrap()).unwrap();
    body["key"].as_str().expect("setup gives a key").to_owned()
}

/// The KoSync reader ann (password `KEY`), registered through `server`.
pub async fn kosync_reader(client: &awc::Client, server: &Server) {
    let r = client
        .post(format!("{}/users/create", server.url))
        .insert_header(("accept", "application/vnd.koreader.v1+json"))
        .send_json(&serde_json::json!({ "username": "ann", "password": crate::common::KEY }))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// ann's KoSync report of `progress` in `document` from `device`, to the server at `url`:
/// its status, or why it never got one (the server killed or restarting).
pub async fn put_progress(
    client: &awc::Client,
    url: &str,
    document: &str,
    progress: &str,
    percentage: f64,
    device: &str,
) -> Result<awc::http::StatusCode, awc::error::SendRequestError> {
    client
        .put(format!("{url}/syncs/progress"))
        .insert_header(("x-auth-user", "ann"))
        .insert_header(("x-auth-key", crate::common::KEY))
        .insert_header(("accept", "application/vnd.koreader.v1+json"))
        .send_json(
            &serde_json::json!({ "document": document, "progress": progress,
            "percentage": percentage, "device": device }),
        )
        .await
        .map(|r| r.status())
}
