//! The WebDAV space through HTTP, as KOReader's Cloud storage and common clients use it:
//! every method and header rule (ETag, If-Match races, If-None-Match), confinement to the
//! reader's own space, limits; and statistics.sqlite3, read and stored as page events
//! (idempotently, hostile files refused whole), served back byte for byte.
//!
//! The statistics files are made with the CREATE statements of KOReader's Statistics plugin
//! (plugins/statistics.koplugin/main.lua, schema 20221111), as the plugin itself makes them.

use std::path::Path;

use serde_json::json;

use crate::common::{basic, RawResp, TestApp};
use crate::web_library::library;

const LIGHTHOUSE_DOC: &str = "ad4a15989655682cda3695b7784ef3d0";
const STRAY: &str = "0123456789abcdef0123456789abcdef";

/// KOReader's statistics schema, as the plugin creates it.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS book (id integer PRIMARY KEY autoincrement, title text, authors text, notes integer, last_open integer, highlights integer, pages integer, series text, language text, md5 text, total_read_time integer, total_read_pages integer);
    CREATE UNIQUE INDEX IF NOT EXISTS book_title_authors_md5 ON book(title, authors, md5);
    CREATE TABLE IF NOT EXISTS page_stat_data (id_book integer, page integer NOT NULL DEFAULT 0, start_time integer NOT NULL DEFAULT 0, duration integer NOT NULL DEFAULT 0, total_pages integer NOT NULL DEFAULT 0, UNIQUE (id_book, page, start_time), FOREIGN KEY(id_book) REFERENCES book(id));
    CREATE INDEX IF NOT EXISTS page_stat_data_start_time ON page_stat_data(start_time);
    CREATE TABLE IF NOT EXISTS numbers (number INTEGER PRIMARY KEY);
    PRAGMA user_version=20221111;";

/// A statistics database: `books` (title, authors, md5) and `events` (book id from 1, page,
/// start time, seconds), each page of 300.
pub fn statistics_file(
    dir: &Path,
    books: &[(&str, &str, &str)],
    events: &[(i64, i64, i64, i64)],
) -> Vec<u8> {
    let path = dir.join(format!("stats-{}.sqlite3", uuid::Uuid::new_v4()));
    let mut c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(SCHEMA).unwrap();
    let tx = c.transaction().unwrap();
    for (title, authors, md5) in books {
        tx.execute(
            "INSERT INTO book (title, authors, notes, last_open, highlights, pages, series, language, md5, total_read_time, total_read_pages) VALUES (?1, ?2, 0, 1764000000, 0, 300, 'N/A', 'en', ?3, 0, 0)",
            rusqlite::params![title, authors, md5],
        )
        .unwrap();
    }
    for (book, page, start, duration) in events {
        tx.execute(
            "INSERT INTO page_stat_data (id_book, page, start_time, duration, total_pages) VALUES (?1, ?2, ?3, ?4, 300)",
            rusqlite::params![book, page, start, duration],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(c);
    std::fs::read(path).unwrap()
}

/// A reader with an OPDS login "ann" and a device password: (reader key, Basic header).
async fn reader(app: &TestApp, admin: &str, name: &str) -> (String, String) {
    let (_, key) = app.reader_key(admin, name).await;
    let user = name.to_lowercase();
    app.set_credential(&key, "opds", &user, "opds secret").await;
    let made = app
        .api(
            "POST",
            "/api/device-passwords",
            Some(&key),
            Some(json!({ "label": "Kobo" })),
        )
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let password = made.body["password"].as_str().unwrap().to_owned();
    (key, basic(&user, &password))
}

struct Dav<'a> {
    app: &'a TestApp,
    auth: String,
}

impl Dav<'_> {
    async fn go(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> RawResp {
        let mut all = vec![("authorization", self.auth.as_str())];
        all.extend_from_slice(headers);
        self.app.send(method, path, &all, body.to_vec()).await
    }

    async fn propfind(&self, path: &str, depth: &str) -> (u16, String) {
        let body = br#"<?xml version="1.0"?><a:propfind xmlns:a="DAV:"><a:prop><a:resourcetype/><a:getcontentlength/><a:getlastmodified/></a:prop></a:propfind>"#;
        let r = self
            .go(
                "PROPFIND",
                path,
                &[("depth", depth), ("content-type", "application/xml")],
                body,
            )
            .await;
        (r.status, String::from_utf8(r.body).unwrap())
    }
}

#[actix_web::test]
async fn the_space_answers_every_method_as_webdav_clients_expect() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, auth) = reader(&app, &admin, "Ann").await;
    let dav = Dav { app: &app, auth };

    let options = app.send("OPTIONS", "/dav/", &[], vec![]).await;
    assert_eq!(options.status, 200);
    assert_eq!(options.header("dav"), "1");
    assert!(options.header("allow").contains("PROPFIND"));
    let anonymous = app
        .send("PROPFIND", "/dav/", &[("depth", "1")], vec![])
        .await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("www-authenticate").starts_with("Basic"));
    let wrong = app
        .send(
            "PROPFIND",
            "/dav/",
            &[("authorization", &basic("ann", "nope")), ("depth", "1")],
            vec![],
        )
        .await;
    assert_eq!(wrong.status, 401);
    // The reader's OPDS login opens it too.
    let login = app
        .send(
            "PROPFIND",
            "/dav/",
            &[
                ("authorization", &basic("ann", "opds secret")),
                ("depth", "0"),
            ],
            vec![],
        )
        .await;
    assert_eq!(login.status, 207);

    let (status, root) = dav.propfind("/dav/", "1").await;
    assert_eq!(status, 207, "{root}");
    assert!(root.contains("<d:href>/dav/</d:href>"), "{root}");
    assert!(root.contains("<d:collection/>"));

    assert_eq!(dav.go("MKCOL", "/dav/KOReader", &[], b"").await.status, 201);
    assert_eq!(dav.go("MKCOL", "/dav/KOReader", &[], b"").await.status, 405);
    assert_eq!(dav.go("MKCOL", "/dav/a/b", &[], b"").await.status, 409);
    assert_eq!(dav.go("MKCOL", "/dav/c", &[], b"<x/>").await.status, 415);

    let put = dav
        .go("PUT", "/dav/KOReader/My%20notes.txt", &[], b"hello")
        .await;
    assert_eq!(put.status, 201);
    let etag = put.header("etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let got = dav
        .go("GET", "/dav/KOReader/My%20notes.txt", &[], b"")
        .await;
    assert_eq!((got.status, got.body.as_slice()), (200, &b"hello"[..]));
    assert_eq!(got.header("etag"), etag);
    assert!(got.header("content-type").starts_with("text/plain"));
    let head = dav
        .go("HEAD", "/dav/KOReader/My%20notes.txt", &[], b"")
        .await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("content-length"), "5");
    let fresh = dav
        .go(
            "GET",
            "/dav/KOReader/My%20notes.txt",
            &[("if-none-match", &etag)],
            b"",
        )
        .await;
    assert_eq!(fresh.status, 304);
    assert_eq!(
        dav.go("GET", "/dav/KOReader/none", &[], b"").await.status,
        404
    );
    assert_eq!(
        dav.go("PUT", "/dav/missing/x.txt", &[], b"x").await.status,
        409
    );

    let (status, listed) = dav.propfind("/dav/KOReader", "1").await;
    assert_eq!(status, 207);
    assert!(
        listed.contains("<d:href>/dav/KOReader/</d:href>"),
        "{listed}"
    );
    assert!(
        listed.contains("<d:href>/dav/KOReader/My%20notes.txt</d:href>"),
        "{listed}"
    );
    assert!(listed.contains("<d:resourcetype/><d:getcontentlength>5</d:getcontentlength>"));
    assert!(listed.contains(&format!(
        "<d:getetag>{}</d:getetag>",
        etag.replace('"', "&quot;")
    )));
    let (_, alone) = dav.propfind("/dav/KOReader/", "0").await;
    assert!(!alone.contains("My%20notes.txt"), "{alone}");
    assert_eq!(dav.propfind("/dav/KOReader/", "infinity").await.0, 403);
    let bad_xml = dav
        .go("PROPFIND", "/dav/", &[("depth", "1")], b"<a:propfind")
        .await;
    assert_eq!(bad_xml.status, 400);

    // Preconditions: If-Match names the version read; If-None-Match: * only creates.
    let stale = dav
        .go(
            "PUT",
            "/dav/KOReader/My%20notes.txt",
            &[("if-match", "\"old\"")],
            b"lost",
        )
        .await;
    assert_eq!(stale.status, 412);
    let create_only = dav
        .go(
            "PUT",
            "/dav/KOReader/My%20notes.txt",
            &[("if-none-match", "*")],
            b"lost",
        )
        .await;
    assert_eq!(create_only.status, 412);
    let replaced = dav
        .go(
            "PUT",
            "/dav/KOReader/My%20notes.txt",
            &[("if-match", &etag)],
            b"hello again",
        )
        .await;
    assert_eq!(replaced.status, 204);
    let etag2 = replaced.header("etag");
    assert_ne!(etag2, etag);
    // Two uploads with the same ETag: one wins, the other is told the file changed.
    let precondition = [("if-match", etag2.as_str())];
    let (a, b) = tokio::join!(
        dav.go(
            "PUT",
            "/dav/KOReader/My%20notes.txt",
            &precondition,
            b"from A"
        ),
        dav.go(
            "PUT",
            "/dav/KOReader/My%20notes.txt",
            &precondition,
            b"from B"
        ),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [204, 412]);
    let winner = if a.status == 204 {
        &b"from A"[..]
    } else {
        &b"from B"[..]
    };
    let now = dav
        .go("GET", "/dav/KOReader/My%20notes.txt", &[], b"")
        .await;
    assert_eq!(now.body, winner);

    // Nothing outside the space, nothing of libris's own.
    for bad in [
        "/dav/..%2F..%2Fsecret",
        "/dav/KOReader/%2e%2e/%2e%2e/x",
        "/dav/.libris-put-x",
        "/dav/a%00b",
        "/dav/a%5Cb",
    ] {
        let r = dav.go("PUT", bad, &[], b"x").await;
        assert!((400..500).contains(&r.status), "{bad}: {}", r.status);
    }
    let data = app.state.config.data_dir.clone();
    assert!(!data.join("secret.txt").exists() && !data.join("dav/secret").exists());

    // Another reader sees nothing of it.
    let (_, bob) = reader(&app, &admin, "Bob").await;
    let bob = Dav {
        app: &app,
        auth: bob,
    };
    assert_eq!(bob.propfind("/dav/KOReader/", "1").await.0, 404);
    assert_eq!(
        bob.go("GET", "/dav/KOReader/My%20notes.txt", &[], b"")
            .await
            .status,
        404
    );

    // DELETE: with its precondition, then the file, then a folder with what is in it.
    let now_etag = now.header("etag");
    assert_eq!(
        dav.go(
            "DELETE",
            "/dav/KOReader/My%20notes.txt",
            &[("if-match", "\"old\"")],
            b""
        )
        .await
        .status,
        412
    );
    assert_eq!(
        dav.go(
            "DELETE",
            "/dav/KOReader/My%20notes.txt",
            &[("if-match", &now_etag)],
            b""
        )
        .await
        .status,
        204
    );
    assert_eq!(
        dav.go("GET", "/dav/KOReader/My%20notes.txt", &[], b"")
            .await
            .status,
        404
    );
    dav.go("PUT", "/dav/KOReader/other.json", &[], b"{}").await;
    assert_eq!(
        dav.go("DELETE", "/dav/KOReader", &[], b"").await.status,
        204
    );
    assert_eq!(dav.propfind("/dav/KOReader/", "0").await.0, 404);
    assert_eq!(dav.go("DELETE", "/dav/", &[], b"").await.status, 403);
    assert_eq!(dav.go("MOVE", "/dav/x", &[], b"").await.status, 405);
    // No temporary file is left behind by any of it.
    let left: Vec<_> = crate::common::files_under(&data.join("dav"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".libris-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[actix_web::test]
async fn an_upload_over_the_limit_or_the_quota_is_refused_and_leaves_nothing() {
    let app = TestApp::builder()
        .max_upload_bytes(1024)
        .dav_quota_bytes(1500)
        .start();
    let admin = app.admin_key().await;
    let (_, auth) = reader(&app, &admin, "Ann").await;
    let dav = Dav { app: &app, auth };
    let big = vec![b'x'; 4096];
    assert_eq!(dav.go("PUT", "/dav/big.bin", &[], &big).await.status, 413);
    assert_eq!(dav.go("GET", "/dav/big.bin", &[], b"").await.status, 404);
    let left = crate::common::files_under(&app.state.config.data_dir.join("dav"));
    assert!(left.is_empty(), "{left:?}");
    // The quota: 1,000 bytes fit, 1,000 more do not; replacing the file with as much does.
    let kb = vec![b'k'; 1000];
    assert_eq!(dav.go("PUT", "/dav/one.bin", &[], &kb).await.status, 201);
    let full = dav.go("PUT", "/dav/two.bin", &[], &kb).await;
    assert_eq!(full.status, 507);
    assert!(String::from_utf8_lossy(&full.body).contains("Your space is full"));
    assert_eq!(dav.go("PUT", "/dav/one.bin", &[], &kb).await.status, 204);
    assert_eq!(dav.go("GET", "/dav/two.bin", &[], b"").await.status, 404);
}

#[actix_web::test]
async fn a_readers_files_never_run_as_pages_and_go_with_the_reader() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (key, auth) = reader(&app, &admin, "Ann").await;
    let dav = Dav { app: &app, auth };
    let page = b"<html><script>alert(document.cookie)</script></html>";
    assert_eq!(dav.go("PUT", "/dav/x.html", &[], page).await.status, 201);
    assert_eq!(
        dav.go("PUT", "/dav/x.svg", &[], b"<svg/>").await.status,
        201
    );
    for file in ["/dav/x.html", "/dav/x.svg"] {
        let got = dav.go("GET", file, &[], b"").await;
        assert_eq!(got.status, 200);
        assert_eq!(
            got.header("content-type"),
            "application/octet-stream",
            "{file}"
        );
        assert_eq!(got.header("content-disposition"), "attachment");
        assert!(got.header("content-security-policy").starts_with("sandbox"));
    }
    assert_eq!(
        dav.go("PUT", "/dav/notes.txt", &[], b"hi").await.status,
        201
    );
    let text = dav.go("GET", "/dav/notes.txt", &[], b"").await;
    assert!(text.header("content-type").starts_with("text/plain"));

    // The reader is deleted: their space goes with them (the hourly sweep, and at start).
    let id: String = {
        let keys = app.api("GET", "/api/keys", Some(&key), None).await.body;
        keys[0]["id"].as_str().unwrap().to_owned()
    };
    let data = app.state.config.data_dir.clone();
    let space = libris::cloud::space::root(&data, id.parse().unwrap());
    assert!(space.join("notes.txt").is_file());
    let revoked = app
        .api("DELETE", &format!("/api/keys/{id}"), Some(&admin), None)
        .await;
    assert_eq!(revoked.status, 204);
    let removed = libris::cloud::space::remove_orphans(&mut app.db.conn(), &data).unwrap();
    assert_eq!(removed, 1);
    assert!(!space.exists());
}

#[actix_web::test]
async fn statistics_sqlite3_is_read_into_page_turns_once_and_served_back_as_sent() {
    let app = TestApp::start();
    let (admin, _) = library(
        &app,
        &["lighthouse-epub3.epub", "multi-author-epub3.epub"],
        &[],
    )
    .await;
    let (key, auth) = reader(&app, &admin, "Ann").await;
    let dav = Dav { app: &app, auth };
    let dir = tempfile::tempdir().unwrap();
    let start = chrono::Utc::now().timestamp() - 3 * 86_400;
    // The Lighthouse by its content's digest; the birds book by its title and authors only
    // (a copy with another digest); a book libris does not hold.
    let books = [
        ("The Lighthouse Keeper", "Jane Doe", LIGHTHOUSE_DOC),
        (
            "Collected Field Notes on Coastal Birds",
            "Alice Smith\nBob Jones\nCarol Nguyen\nĐặng Thị Minh",
            "11111111111111111111111111111111",
        ),
        ("Somebody Else's", "Nobody", STRAY),
    ];
    let mut events = vec![];
    for i in 0..40 {
        events.push((1, i + 1, start + i * 60, 60)); // 40 minutes of the Lighthouse
    }
    for i in 0..10 {
        events.push((2, i + 1, start + 86_400 + i * 30, 30));
    }
    events.push((3, 1, start + 2 * 86_400, 45));
    let file = statistics_file(dir.path(), &books, &events);

    assert_eq!(dav.go("MKCOL", "/dav/KOReader", &[], b"").await.status, 201);
    // KOReader's first sync: GET (404), then PUT without If-Match.
    let first = dav
        .go("GET", "/dav/KOReader/statistics.sqlite3", &[], b"")
        .await;
    assert_eq!(first.status, 404);
    let put = dav
        .go("PUT", "/dav/KOReader/statistics.sqlite3", &[], &file)
        .await;
    assert_eq!(put.status, 201, "{}", String::from_utf8_lossy(&put.body));
    assert_eq!(app.db.count("SELECT count(*) FROM reading_page_events"), 51);
    assert_eq!(app.db.count("SELECT count(*) FROM reading_stat_books"), 3);
    assert_eq!(
        app.db.count(
            "SELECT count(*) FROM document_links WHERE document = '11111111111111111111111111111111' AND source = 'metadata'"
        ),
        1,
        "linked by title and authors"
    );
    // Another device downloads exactly what was sent, with the ETag to upload against.
    let got = dav
        .go("GET", "/dav/KOReader/statistics.sqlite3", &[], b"")
        .await;
    assert_eq!(got.body, file);
    assert_eq!(got.header("etag"), put.header("etag"));
    // Its merge uploads the same events again (and one more): nothing is counted twice.
    let mut more = events.clone();
    more.push((1, 41, start + 40 * 60, 60));
    let merged = statistics_file(dir.path(), &books, &more);
    let again = dav
        .go(
            "PUT",
            "/dav/KOReader/statistics.sqlite3",
            &[("if-match", &got.header("etag"))],
            &merged,
        )
        .await;
    assert_eq!(again.status, 204);
    assert_eq!(app.db.count("SELECT count(*) FROM reading_page_events"), 52);

    // The statistics use the page turns: 41 minutes, 5 of birds and 45 seconds of the stray.
    let stats = app
        .api("GET", "/api/stats?range=all", Some(&key), None)
        .await;
    assert_eq!(stats.status, 200, "{:?}", stats.body);
    assert_eq!(stats.body["minutes_from"], "page_turns", "{}", stats.body);
    let minutes = stats.body["totals"]["minutes"].as_f64().unwrap();
    assert!((minutes - (41.0 + 5.0 + 0.75)).abs() < 0.01, "{minutes}");
    assert_eq!(stats.body["totals"]["sessions"], 3);

    // The stray document is listed with the unmatched ones of the devices page, and forgotten.
    let mut w = crate::web_library::browser(&app, &key, "ann-web").await;
    let devices = w.get("/devices").await;
    assert!(
        devices.has("KOReader statistics") && devices.has(STRAY) && devices.has("Somebody Else"),
        "{}",
        devices.html
    );
    let forgotten = w.post("/devices/forget", &[("document", STRAY)]).await;
    assert_eq!(forgotten.status, 303, "{}", forgotten.html);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_page_events WHERE document = '{STRAY}'"
        )),
        0
    );
    assert_eq!(app.db.count("SELECT count(*) FROM reading_page_events"), 51);

    // Hostile files: refused whole with the reason, nothing stored, the old file kept.
    let etag = again.header("etag");
    let junk = dav
        .go(
            "PUT",
            "/dav/KOReader/statistics.sqlite3",
            &[],
            b"this is not a database",
        )
        .await;
    assert_eq!(junk.status, 422);
    assert!(String::from_utf8_lossy(&junk.body).contains("not an SQLite database"));
    let other = dir.path().join("other.sqlite3");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (x)")
        .unwrap();
    let schema = dav
        .go(
            "PUT",
            "/dav/KOReader/statistics.sqlite3",
            &[],
            &std::fs::read(&other).unwrap(),
        )
        .await;
    assert_eq!(schema.status, 422);
    assert!(String::from_utf8_lossy(&schema.body).contains("not KOReader's statistics"));
    let mut damaged = merged.clone();
    let len = damaged.len();
    damaged[200..len].fill(0xA5);
    let corrupt = dav
        .go("PUT", "/dav/KOReader/statistics.sqlite3", &[], &damaged)
        .await;
    assert_eq!(
        corrupt.status,
        422,
        "{}",
        String::from_utf8_lossy(&corrupt.body)
    );
    let kept = dav
        .go("GET", "/dav/KOReader/statistics.sqlite3", &[], b"")
        .await;
    assert_eq!((kept.body == merged, kept.header("etag")), (true, etag));
    assert_eq!(app.db.count("SELECT count(*) FROM reading_page_events"), 51);
}

#[actix_web::test]
async fn a_million_page_events_are_refused_quickly_with_the_reason() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, auth) = reader(&app, &admin, "Ann").await;
    let dav = Dav { app: &app, auth };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.sqlite3");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(SCHEMA).unwrap();
    c.execute_batch(&format!(
        "INSERT INTO book (title, authors, md5) VALUES ('Huge', 'H', '{LIGHTHOUSE_DOC}');
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i <= 1000000)
         INSERT INTO page_stat_data (id_book, page, start_time, duration, total_pages)
         SELECT 1, i, 1700000000 + i, 10, 300 FROM n;"
    ))
    .unwrap();
    drop(c);
    let r = dav
        .go(
            "PUT",
            "/dav/statistics.sqlite3",
            &[],
            &std::fs::read(&path).unwrap(),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        String::from_utf8_lossy(&r.body).contains("1000001 page events (at most 1000000)"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(app.db.count("SELECT count(*) FROM reading_page_events"), 0);
    assert_eq!(
        dav.go("GET", "/dav/statistics.sqlite3", &[], b"")
            .await
            .status,
        404
    );
}
