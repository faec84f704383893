//! The `libris` command line, run as a process.

use std::process::{Command, Output};

use serde_json::json;

use crate::common::{TestApp, TestDb};

fn libris(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_libris"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap()
        .trim()
}

#[actix_web::test]
async fn keys_and_credentials_make_a_reader_that_can_sync() {
    let db = TestDb::new();
    let out = libris(&db.url, &["keys", "create", "--label", "Ann"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let (id, key) = (
        field(&text, "id:").to_owned(),
        field(&text, "key:").to_owned(),
    );
    assert_eq!(key.len(), 64);
    let hash = libris::auth::sha256_hex(key.as_bytes());
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM api_keys WHERE key_hash = '{hash}' AND NOT is_admin"
        )),
        1
    );

    let list = stdout(&libris(&db.url, &["keys", "list"]));
    assert!(
        list.contains(&id) && list.contains("Ann") && !list.contains(&key),
        "{list}"
    );

    let out = libris(
        &db.url,
        &[
            "credentials",
            "set",
            "kosync",
            "--key-id",
            &id,
            "--username",
            "ann",
            "--password",
            "secret",
        ],
    );
    assert!(out.status.success(), "{out:?}");

    let app = TestApp::builder().registration(false).db(db).start();
    let md5 = libris::auth::md5_hex("secret");
    assert_eq!(app.auth("ann", &md5).await.status, 200);
    let r = app
        .put_progress(
            "ann",
            &md5,
            json!({"document": "d", "progress": "p", "percentage": 0.5, "device": "k"}),
        )
        .await;
    assert_eq!(r.status, 200);

    // A second reader cannot take the username.
    let other = stdout(&libris(
        &app.db.url,
        &["keys", "create", "--label", "Bob", "--admin"],
    ));
    let other_id = field(&other, "id:");
    let out = libris(
        &app.db.url,
        &[
            "credentials",
            "set",
            "kosync",
            "--key-id",
            other_id,
            "--username",
            "ann",
            "--password",
            "x",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already taken"));

    let out = libris(
        &app.db.url,
        &["credentials", "delete", "kosync", "--key-id", &id],
    );
    assert!(out.status.success());
    assert_eq!(app.auth("ann", &md5).await.status, 401);

    assert!(libris(&app.db.url, &["keys", "revoke", &id])
        .status
        .success());
    assert!(
        !libris(&app.db.url, &["keys", "revoke", &id])
            .status
            .success(),
        "revoking twice fails"
    );
    assert_eq!(app.db.count("SELECT count(*) FROM reading_progress"), 0);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history WHERE api_key_id IS NULL"),
        1
    );
}

#[test]
fn a_bad_setting_is_named_with_exit_code_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_libris"))
        .args(["migrate"])
        .env("DATABASE_URL", "postgresql:///nowhere")
        .env("LIBRIS_BIND", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("LIBRIS_BIND"), "{err}");
}

#[test]
fn an_unreachable_database_is_waited_for_then_reported() {
    let dir = std::env::temp_dir().join(format!("libris-no-db-{}", std::process::id()));
    let url = format!("postgresql:///x?host={}", dir.display());
    let out = Command::new(env!("CARGO_BIN_EXE_libris"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", &url)
        .env("LIBRIS_DB_WAIT", "1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("retrying in"),
        "it retries before giving up: {err}"
    );
    assert!(err.contains("database unreachable after 1 s"), "{err}");
}

/// `serve` logs one line per request without secrets, and SIGTERM ends it cleanly with 0.
#[test]
fn serve_logs_requests_and_stops_on_sigterm() {
    use std::io::Read;
    let db = TestDb::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_libris"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "info")
        .env(
            "LIBRIS_DATA_DIR",
            std::env::temp_dir().join(format!("libris-data-{port}")),
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let secret = "f00dfeedf00dfeedf00dfeedf00dfeed";
    let request = format!(
        "GET /users/auth HTTP/1.1\r\nHost: x\r\nx-auth-user: ann\r\nx-auth-key: {secret}\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            s.write_all(request.as_bytes()).unwrap();
            s.read_to_string(&mut answer).unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    let (code, log) = stop(child);
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("GET /users/auth 401"),
        "one line per request: {log}"
    );
    assert!(!log.contains(secret), "the key must never be logged: {log}");
}

/// SIGTERM to a `serve` whose stderr is piped: its exit code and its log.
fn stop(mut child: std::process::Child) -> (Option<i32>, String) {
    use std::io::Read;
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let code = child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    (code.code(), log)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A request's whole answer, once `port` listens.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            s.write_all(request.as_bytes()).unwrap();
            let mut answer = String::new();
            s.read_to_string(&mut answer).unwrap();
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("nothing listens on {port}");
}

/// LIBRIS_LOG_FORMAT=json: every line of the log is one JSON object. LIBRIS_METRICS_BIND:
/// `/metrics` without a key there, and only `/metrics`; the main address still asks a key.
#[test]
fn json_logs_and_a_metrics_listener_of_its_own() {
    let db = TestDb::new();
    let (port, metrics_port) = (free_port(), free_port());
    let data = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_libris"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "info")
        .env("LIBRIS_LOG_FORMAT", "json")
        .env("LIBRIS_METRICS_BIND", format!("127.0.0.1:{metrics_port}"))
        .env("LIBRIS_DATA_DIR", data.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(http_get(port, "/healthcheck").starts_with("HTTP/1.1 200"));
    let metrics = http_get(metrics_port, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("libris_http_requests_total{family=\"kosync\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(http_get(metrics_port, "/api/health").starts_with("HTTP/1.1 404"));
    assert!(http_get(port, "/metrics").starts_with("HTTP/1.1 401"));
    let (code, log) = stop(child);
    assert_eq!(code, Some(0), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines
        .iter()
        .all(|l| l["ts"].is_string() && l["level"].is_string()));
    assert!(
        lines.iter().any(|l| l["msg"]
            .as_str()
            .unwrap()
            .starts_with("GET /healthcheck 200")),
        "{log}"
    );
}

#[actix_web::test]
async fn import_ingests_a_folder_and_reports_what_failed() {
    let db = TestDb::new();
    let source = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let books = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/books");
    let nested = source.path().join("shelf/deeper");
    std::fs::create_dir_all(&nested).unwrap();
    for (name, dir) in [
        ("lighthouse-epub2.epub", source.path()),
        ("lighthouse.fb2", nested.as_path()),
        ("comic-with-comicinfo.cbz", nested.as_path()),
        ("broken-no-container.epub", source.path()),
    ] {
        std::fs::copy(books.join(name), dir.join(name)).unwrap();
    }
    std::fs::write(source.path().join(".hidden.epub"), b"skipped").unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["import"];
        args.extend_from_slice(extra);
        let source = source.path().to_str().unwrap().to_owned();
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.push(source);
        Command::new(env!("CARGO_BIN_EXE_libris"))
            .args(&all)
            .env("DATABASE_URL", &db.url)
            .env("LIBRIS_DATA_DIR", data.path())
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let out = run(&["--approve"]);
    assert_eq!(out.status.code(), Some(1), "a file failed: {out:?}");
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "3 books added (3 files), 0 formats added to books already here, 0 duplicates, \
             1 skipped, 1 failed\n"
        ),
        "{text}"
    );
    assert!(text.contains("skipped: 1 (hidden)"), "{text}");
    assert!(text.contains("broken-no-container.epub"), "{text}");
    assert_eq!(
        db.count("SELECT count(*) FROM books WHERE status = 'organized'"),
        3
    );
    assert!(data
        .path()
        .join("library/Jane Doe/The Lighthouse Keeper/lighthouse-epub2.epub")
        .exists());
    assert!(
        source.path().join("lighthouse-epub2.epub").exists(),
        "sources stay"
    );
    // Again: everything known is a duplicate.
    let out = run(&[]);
    assert!(
        stdout(&out).starts_with(
            "0 books added (0 files), 0 formats added to books already here, 3 duplicates"
        ),
        "{out:?}"
    );
    assert_eq!(db.count("SELECT count(*) FROM books"), 3);
    // `libris check`: refused while another process uses the data dir; then a copy cut
    // short is removed, the report is JSON.
    let partial = data.path().join("library/Jane Doe/x.epub.part");
    std::fs::write(&partial, b"half").unwrap();
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_libris"))
            .arg("check")
            .env("DATABASE_URL", &db.url)
            .env("LIBRIS_DATA_DIR", data.path())
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let serving = libris::library::check::lock_shared(data.path()).unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("another libris process"));
    assert!(partial.exists());
    drop(serving);
    let out = check();
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["removed"], 1, "{report}");
    assert_eq!(report["missing"], json!([]));
    assert!(!partial.exists());
}

#[actix_web::test]
async fn hardcover_sync_runs_each_readers_sync_and_reports_it() {
    let db = TestDb::new();
    let fake = crate::common::fake_hardcover::FakeHardcover::start();
    let passphrase = "a passphrase of sixteen+ characters";
    let mut conn = db.conn();
    let (key, _) = libris::auth::keys::create(&mut conn, "ann", false).unwrap();
    let seal_key = libris::secret::derive(
        &libris::secret::from_passphrase(passphrase),
        libris::hardcover::token::PURPOSE,
    );
    let sealed = libris::hardcover::token::seal(
        &seal_key,
        key.id,
        crate::common::fake_hardcover::GOOD_TOKEN,
    );
    libris::auth::credentials::set(&mut conn, "hardcover", key.id, "ann-hc", &sealed).unwrap();
    // A book already linked, finished by hand.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "WITH b AS (INSERT INTO books (status, title, hardcover_book_id) \
             VALUES ('organized', 'Linked', 555) RETURNING id) \
             INSERT INTO reading_aggregate (api_key_id, book_id, manual_status) \
             SELECT '{}', id, 'finished' FROM b",
            key.id
        )),
        &mut conn,
    )
    .unwrap();

    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_libris"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("LIBRIS_SECRET_KEY", passphrase)
            .env("LIBRIS_HARDCOVER_URL", &fake.url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["hardcover", "sync", "--key-id", &key.id.to_string()]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{}: linked 0, pulled 0, pushed 1, unchanged 0, failed 0",
            key.id
        )),
        "{text}"
    );
    let shelf = fake.with(|d| d.user_books.clone());
    assert_eq!(
        (&shelf[0]["book_id"], &shelf[0]["status_id"]),
        (&json!(555), &json!(3))
    );
    assert_eq!(
        db.count("SELECT count(*) FROM hardcover_sync_runs WHERE trigger = 'cli' AND pushed = 1"),
        1
    );
    // Another reader's id has no token: said, exit 1.
    let out = run(&[
        "hardcover",
        "sync",
        "--key-id",
        &uuid::Uuid::new_v4().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Hardcover token"));
}

/// `libris setup-token` prints the token a fresh server's set-up asks for (the same each time,
/// from the data dir's secret), and refuses once a key exists.
#[actix_web::test]
async fn setup_token_is_printed_until_setup_is_done() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let token = |db: &TestDb| {
        Command::new(env!("CARGO_BIN_EXE_libris"))
            .arg("setup-token")
            .env("DATABASE_URL", &db.url)
            .env("LIBRIS_DATA_DIR", data.path())
            .output()
            .unwrap()
    };
    let first = token(&db);
    assert!(first.status.success(), "{first:?}");
    let printed = stdout(&first).trim().to_owned();
    assert_eq!(printed.len(), 24, "{printed}");
    assert_eq!(stdout(&token(&db)).trim(), printed);
    let secret = libris::secret::load_or_create(data.path()).unwrap();
    assert!(libris::secret::is_setup_token(&secret, &printed));

    assert!(
        libris(&db.url, &["keys", "create", "--label", "me", "--admin"])
            .status
            .success()
    );
    let done = token(&db);
    assert!(!done.status.success());
    assert!(
        String::from_utf8_lossy(&done.stderr).contains("setup is done"),
        "{done:?}"
    );
}

/// `libris` without DATABASE_URL in its environment.
fn libris_bare(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_libris"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("LIBRIS_DATA_DIR")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[actix_web::test]
async fn commands_find_the_database_from_the_data_dir_serve_wrote() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap().to_owned();
    // Nothing to go by: a clear message, exit 2.
    let none = libris_bare(&["--data-dir", &dir, "keys", "list"]);
    assert_eq!(none.status.code(), Some(2));
    let said = String::from_utf8_lossy(&none.stderr);
    assert!(
        said.contains("names no database") && said.contains(&dir),
        "{said}"
    );

    // `serve` records its database in the data dir (0600)…
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_libris"))
        .args([
            "serve",
            "--data-dir",
            &dir,
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .env("LIBRIS_HARDCOVER_SYNC_AT", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let file = data.path().join(libris::config::REMEMBERED);
    for _ in 0..200 {
        if file.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // …and every command finds it there, with nothing exported.
    let made = libris_bare(&["--data-dir", &dir, "keys", "create", "--label", "Ann"]);
    assert!(made.status.success(), "{made:?}");
    let list = libris_bare(&["--data-dir", &dir, "keys", "list"]);
    assert!(
        list.status.success() && stdout(&list).contains("Ann"),
        "{list:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM api_keys WHERE label = 'Ann'"),
        1
    );
}
