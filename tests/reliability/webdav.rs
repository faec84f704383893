//! The WebDAV space under faults and hostile input:
//! - kill -9 of libris while big files and statistics.sqlite3 are being uploaded, several
//!   times: after each restart the file served is one of the versions sent, whole (never half
//!   of one), the page events stored are all of an upload's or none of them, and no temporary
//!   upload is left in the space;
//! - 1,000 hostile requests (methods, paths that try to leave the space, broken headers and
//!   bodies): none is answered 5xx, nothing is written outside the reader's space, another
//!   reader's files are untouched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::common::{basic, files_under, TestApp, TestDb};
use crate::process::{first_admin, ready, start};
use crate::Figures;

const CYCLES: usize = 4;
const BIG: usize = 8 << 20;
const EVENTS: i64 = 100_000;

/// KOReader's statistics schema with `EVENTS` page turns of one book.
fn statistics_file(dir: &Path) -> Vec<u8> {
    let path = dir.join("stats.sqlite3");
    let _ = std::fs::remove_file(&path);
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(&format!(
        "CREATE TABLE book (id integer PRIMARY KEY autoincrement, title text, authors text, notes integer, last_open integer, highlights integer, pages integer, series text, language text, md5 text, total_read_time integer, total_read_pages integer);
         CREATE TABLE page_stat_data (id_book integer, page integer NOT NULL DEFAULT 0, start_time integer NOT NULL DEFAULT 0, duration integer NOT NULL DEFAULT 0, total_pages integer NOT NULL DEFAULT 0, UNIQUE (id_book, page, start_time));
         INSERT INTO book (title, authors, md5, pages) VALUES ('Crash', 'Test', 'ad4a15989655682cda3695b7784ef3d0', 500);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS})
         INSERT INTO page_stat_data SELECT 1, i % 500, 1700000000 + i * 30, 25, 500 FROM n;"
    ))
    .unwrap();
    drop(c);
    std::fs::read(path).unwrap()
}

async fn put(
    client: &awc::Client,
    url: &str,
    auth: &str,
    path: &str,
    body: Vec<u8>,
) -> Option<u16> {
    client
        .put(format!("{url}{path}"))
        .insert_header(("authorization", auth))
        .send_body(body)
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

pub async fn run(figures: &mut Figures) {
    crash(figures).await;
    hostile(figures).await;
}

async fn crash(figures: &mut Figures) {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().with_extension("dav.log");
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let stats = statistics_file(data.path());
    let mut server = start(&db, data.path(), &log);
    ready(&client, &server).await;
    let admin = first_admin(&client, &server).await;
    let mut r = client
        .post(format!("{}/api/device-passwords", server.url))
        .insert_header(("authorization", format!("Bearer {admin}")))
        .send_json(&serde_json::json!({ "label": "crash" }))
        .await
        .unwrap();
    let made: serde_json::Value = serde_json::from_slice(&r.body().await.unwrap()).unwrap();
    // An API key's owner has no username; the password opens with any of theirs: give one.
    let r = client
        .put(format!("{}/api/credentials/opds", server.url))
        .insert_header(("authorization", format!("Bearer {admin}")))
        .send_json(&serde_json::json!({ "username": "crash", "password": "crash password" }))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let auth = basic("crash", made["password"].as_str().unwrap());
    let mkcol = client
        .request(
            awc::http::Method::from_bytes(b"MKCOL").unwrap(),
            format!("{}/dav/KOReader", server.url),
        )
        .insert_header(("authorization", auth.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(mkcol.status(), 201);

    let mut crashes = 0;
    let (mut half_files, mut half_ingests, mut left, mut served) = (0, 0, 0, 0);
    for cycle in 0..CYCLES {
        if cycle > 0 {
            server = start(&db, data.path(), &log);
            ready(&client, &server).await;
        }
        let url = server.url.clone();
        let big = async {
            for v in 0u8.. {
                let body = vec![b'a' + (cycle as u8 * 7 + v) % 26; BIG];
                if put(&client, &url, &auth, "/dav/KOReader/big.bin", body)
                    .await
                    .is_none()
                {
                    break;
                }
            }
        };
        let ingest = async {
            loop {
                // Each upload is ingested anew after a forget, so every cycle has one in flight.
                if put(
                    &client,
                    &url,
                    &auth,
                    "/dav/KOReader/statistics.sqlite3",
                    stats.clone(),
                )
                .await
                .is_none()
                {
                    break;
                }
                let mut conn = db.conn();
                use diesel::RunQueryDsl;
                diesel::sql_query("DELETE FROM reading_page_events")
                    .execute(&mut conn)
                    .unwrap();
            }
        };
        let child = &mut server.child;
        let killer = async move {
            let after = Duration::from_millis(400 + rand::random::<u64>() % 1200);
            actix_web::rt::time::sleep(after).await;
            child.kill().expect("kill -9");
            child.wait().unwrap();
        };
        tokio::join!(big, ingest, killer);
        crashes += 1;

        // Restarted, what is served is whole, and the ingest all or nothing.
        server = start(&db, data.path(), &log);
        ready(&client, &server).await;
        let mut r = client
            .get(format!("{}/dav/KOReader/big.bin", server.url))
            .insert_header(("authorization", auth.as_str()))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            served += 1;
            let body = r.body().limit(BIG * 2).await.unwrap();
            if body.len() != BIG || body.iter().any(|b| *b != body[0]) {
                half_files += 1;
            }
        }
        let events = db.count("SELECT count(*) FROM reading_page_events");
        if events != 0 && events != EVENTS {
            half_ingests += 1;
        }
        left += files_under(&data.path().join("dav"))
            .iter()
            .filter(|p| p.to_string_lossy().contains(".libris-"))
            .count();
        server.child.kill().unwrap();
        server.child.wait().unwrap();
    }
    figures.row(
        &format!("kill -9 during WebDAV PUTs of {} MB files and ingests of {EVENTS} page events: crashes", BIG >> 20),
        crashes as f64,
        &format!("{CYCLES}"),
        crashes == CYCLES,
    );
    figures.row("  restarts serving the file", served as f64, "", served > 0);
    figures.row(
        "  files served half-written",
        half_files as f64,
        "0",
        half_files == 0,
    );
    figures.row(
        "  ingests stored in part",
        half_ingests as f64,
        "0",
        half_ingests == 0,
    );
    figures.row(
        "  temporary uploads left after a restart",
        left as f64,
        "0",
        left == 0,
    );
    let _ = std::fs::remove_file(&log);
}

/// Paths that try to leave the space, or break the parser.
fn hostile_paths() -> Vec<String> {
    let mut paths: Vec<String> = [
        "/dav/../secret",
        "/dav/..%2f..%2fsecret",
        "/dav/%2e%2e/%2e%2e/secret",
        "/dav/KOReader/%2e%2e%2f%2e%2e%2fescape",
        "/dav/%2fetc%2fpasswd",
        "/dav/a%00b",
        "/dav/a%5C..%5Cb",
        "/dav/.libris-put-1",
        "/dav/KOReader/.libris-put-x",
        "/dav//double//slash",
        "/dav/%ff%fe",
        "/dav/%",
        "/dav/%zz",
        "/dav/\u{202e}txt",
        "/dav/KOReader/statistics.sqlite3",
        "/dav/KOReader/x.json",
        "/dav/",
        "/dav",
        "/dav/./x",
        "/dav/KOReader/..",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    paths.push(format!("/dav/{}", "a/".repeat(40)));
    paths.push(format!("/dav/{}", "x".repeat(300)));
    paths.push(format!("/dav/{}", "%2e%2e/".repeat(20)));
    paths
}

async fn hostile(figures: &mut Figures) {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let made = |key: String, user: &'static str| {
        let app = &app;
        async move {
            app.set_credential(&key, "opds", user, "hostile password")
                .await;
            basic(user, "hostile password")
        }
    };
    let (_, ann) = app.reader_key(&admin, "Ann").await;
    let (_, bob) = app.reader_key(&admin, "Bob").await;
    let ann = made(ann, "ann").await;
    let bob = made(bob, "bob").await;
    app.send("MKCOL", "/dav/KOReader", &[("authorization", &ann)], vec![])
        .await;
    let put = app
        .send(
            "PUT",
            "/dav/mine.txt",
            &[("authorization", &bob)],
            b"bob's".to_vec(),
        )
        .await;
    assert_eq!(put.status, 201);
    let data: PathBuf = app.state.config.data_dir.clone();
    let outside = |data: &Path| -> Vec<PathBuf> {
        files_under(data)
            .into_iter()
            .filter(|p| !p.starts_with(data.join("dav")))
            .collect()
    };
    let before = outside(&data);

    let methods = [
        "PROPFIND",
        "GET",
        "HEAD",
        "PUT",
        "MKCOL",
        "DELETE",
        "OPTIONS",
        "MOVE",
        "COPY",
        "LOCK",
        "PROPPATCH",
        "POST",
    ];
    let paths = hostile_paths();
    let headers: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("depth", "infinity".into())],
        vec![("depth", "-1".into())],
        vec![("depth", "1".into())],
        vec![("if-match", "\"nope\"".into())],
        vec![("if-match", "*".into())],
        vec![("if-none-match", "*".into())],
        vec![("if-match", "W/\"x\", \"y\",,,".into())],
        vec![("destination", "http://evil.example/dav/x".into())],
        vec![("content-type", "application/xml".into())],
    ];
    let bodies: Vec<Vec<u8>> = vec![
        vec![],
        b"<?xml version=\"1.0\"?><a:propfind xmlns:a=\"DAV:\"><a:allprop/></a:propfind>".to_vec(),
        b"<a:propfind".to_vec(),
        b"<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]><x>&b;</x>"
            .to_vec(),
        b"SQLite format 3\0garbage".to_vec(),
        br#"{"version": "json/1.0.0", "entries": "no"}"#.to_vec(),
        vec![0xff; 4096],
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let (mut server_errors, mut sent) = (0, 0);
    while sent < 1_000 {
        let method = methods[rng.random_range(0..methods.len())];
        let path = &paths[rng.random_range(0..paths.len())];
        let extra = &headers[rng.random_range(0..headers.len())];
        let body = bodies[rng.random_range(0..bodies.len())].clone();
        let who = if rng.random_bool(0.9) {
            ann.as_str()
        } else {
            "Basic Og=="
        };
        let mut all: Vec<(&str, &str)> = vec![("authorization", who)];
        all.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
        // A path the HTTP client itself refuses is no request to the server.
        if path.contains('\u{202e}') || path.contains("%zz") {
            continue;
        }
        let r = app.send(method, path, &all, body).await;
        sent += 1;
        if r.status >= 500 {
            server_errors += 1;
            eprintln!("{method} {path} {extra:?}: {}", r.status);
        }
    }
    let after = outside(&data);
    let escaped = after.iter().filter(|p| !before.contains(p)).count();
    let bobs = std::fs::read(libris::cloud::space::root(&data, bob_id(&app)).join("mine.txt"))
        .unwrap_or_default();
    figures.row(
        "hostile WebDAV requests",
        sent as f64,
        ">= 900",
        sent >= 900,
    );
    figures.row(
        "  answered 5xx",
        server_errors as f64,
        "0",
        server_errors == 0,
    );
    figures.row(
        "  files written outside the reader's space",
        escaped as f64,
        "0",
        escaped == 0,
    );
    figures.row(
        "  another reader's file changed",
        f64::from(u8::from(bobs != b"bob's")),
        "0",
        bobs == b"bob's",
    );
}

fn bob_id(app: &TestApp) -> uuid::Uuid {
    use diesel::prelude::*;
    use libris::db::schema::service_credentials as sc;
    sc::table
        .filter(sc::service.eq("opds").and(sc::username.eq("bob")))
        .select(sc::api_key_id)
        .first(&mut app.db.conn())
        .unwrap()
}
