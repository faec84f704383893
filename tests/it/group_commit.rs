//! KoSync reports written in batches (reading::batch): order, isolation of a failing report,
//! credentials changed while reports wait, and the aggregate against a rebuild.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use crate::common::{TestApp, TestDb, KEY};
use libris::reading::batch;
use libris::reading::derive::Rules;
use libris::reading::state;
use libris::reading::Verified;

fn body(document: &str, percentage: f64, device: &str, progress: &str) -> serde_json::Value {
    json!({ "document": document, "progress": progress, "percentage": percentage, "device": device })
}

/// A reader whose kosync login `user` has the stored hash "h".
fn kosync_reader(conn: &mut PgConnection, user: &str) {
    let (key, _) = libris::auth::keys::create(conn, user, false).unwrap();
    libris::auth::credentials::set(conn, "kosync", key.id, user, "h").unwrap();
}

/// A book whose file's KOReader hash is `document`.
fn add_book(conn: &mut PgConnection, document: &str) -> Uuid {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let book = diesel::sql_query("INSERT INTO books (title) VALUES ('A book') RETURNING id")
        .get_result::<Id>(conn)
        .unwrap()
        .id;
    use libris::library::links::{link, Source};
    link(conn, book, &[(document, Source::Content)]).unwrap();
    book
}

fn queued(document: &str, device: &str, progress: &str, hash: &str) -> Verified {
    Verified {
        username: "ann".into(),
        password_hash: hash.into(),
        report: Arc::new(libris::reading::Report {
            document: document.into(),
            progress: progress.into(),
            percentage: 0.5,
            device: device.into(),
            device_id: None,
            title: None,
            authors: None,
            raw: json!({}),
        }),
        timestamp: 1_700_000_000,
    }
}

fn progress_of(db: &TestDb, device: &str) -> String {
    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = diesel::sql_types::Text)]
        progress: String,
    }
    diesel::sql_query("SELECT progress FROM reading_progress WHERE device = $1")
        .bind::<diesel::sql_types::Text, _>(device)
        .get_result::<P>(&mut db.conn())
        .unwrap()
        .progress
}

/// One batch: the reports of one (reader, document, device) apply in arrival order, each
/// with its history row; a stale hash writes nothing for its report alone.
#[test]
fn a_batch_keeps_arrival_order_and_checks_each_hash() {
    let db = TestDb::new();
    let mut conn = db.conn();
    kosync_reader(&mut conn, "ann");
    add_book(&mut conn, "doc");
    let batch = [
        queued("doc", "kobo", "first", "h"),
        queued("doc", "boox", "other", "h"),
        queued("doc", "kobo", "second", "h"),
        queued("doc", "kobo", "stale", "old-hash"),
        queued("doc", "kobo", "third", "h"),
    ];
    let written = batch::write(&mut conn, &Rules::default(), &batch);
    assert!(!written.fell_back);
    let accepted: Vec<bool> = written
        .outcomes
        .iter()
        .map(|o| o.as_ref().unwrap().is_some())
        .collect();
    assert_eq!(accepted, [true, true, true, false, true]);
    assert_eq!(progress_of(&db, "kobo"), "third");
    assert_eq!(progress_of(&db, "boox"), "other");
    // Both devices reported in the same second: the GET gives the later arrival.
    let (_, _, latest) = libris::reading::credential_and_latest(&mut conn, "ann", "doc")
        .unwrap()
        .unwrap();
    assert_eq!(latest.unwrap().progress, "third");
    assert_eq!(db.count("SELECT count(*) FROM reading_progress_history"), 4);
    assert_eq!(db.count("SELECT count(*) FROM reading_aggregate"), 1);
}

/// A document tied to no book: the first report whose metadata names one organized book links
/// them, and the reports after it in the same batch resolve through that link, as one by one.
#[test]
fn a_metadata_link_made_in_a_batch_serves_the_reports_after_it() {
    let db = TestDb::new();
    let mut conn = db.conn();
    kosync_reader(&mut conn, "ann");
    diesel::sql_query(
        "INSERT INTO books (title, author, status) VALUES ('The Hobbit', 'J. R. R. Tolkien', 'organized')",
    )
    .execute(&mut conn)
    .unwrap();
    let with_metadata = |progress: &str| {
        let mut q = queued("unlinked", "kobo", progress, "h");
        let r = Arc::make_mut(&mut q.report);
        r.title = Some("the hobbit".into());
        r.authors = Some("J.R.R. Tolkien".into());
        q
    };
    let batch = [
        queued("unlinked", "sony", "before", "h"),
        queued("unlinked", "boox", "before", "h"),
        with_metadata("named"),
        queued("unlinked", "boox", "after", "h"),
    ];
    let written = batch::write(&mut conn, &Rules::default(), &batch);
    assert!(!written.fell_back);
    let books: Vec<Option<Uuid>> = written
        .outcomes
        .iter()
        .map(|o| o.as_ref().unwrap().unwrap().book_id)
        .collect();
    // sony reported before the link and never since: no book, as one by one. boox's first
    // report shares its current row with its second, which found the book: its history row
    // takes the book the current row ends with, so history and aggregate agree.
    assert!(books[0].is_none(), "{books:?}");
    assert!(books[2].is_some(), "{books:?}");
    assert!(books[1] == books[2] && books[3] == books[2], "{books:?}");
    assert_eq!(
        db.count("SELECT count(*) FROM document_links WHERE document = 'unlinked' AND source = 'metadata'"),
        1
    );
    assert_eq!(
        db.count("SELECT count(*) FROM reading_progress WHERE book_id IS NOT NULL"),
        2
    );
    assert_eq!(
        db.count("SELECT count(*) FROM reading_progress_history WHERE book_id IS NULL"),
        1
    );
    assert_eq!(db.count("SELECT count(*) FROM reading_aggregate"), 1);
}

/// The same reports, with equal seconds, repeated devices and a document of no book, written
/// for one reader in batches and for another one at a time: the same current rows, history and
/// aggregates.
#[test]
fn batches_and_one_at_a_time_agree() {
    let seed: u64 = rand::rng().random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let db = TestDb::new();
    let mut conn = db.conn();
    for user in ["ann", "bob"] {
        kosync_reader(&mut conn, user);
    }
    for d in 0..3 {
        add_book(&mut conn, &format!("doc-{d}"));
    }
    let reports: Vec<Verified> = (0..120)
        .map(|n| {
            let mut q = queued(
                &format!("doc-{}", rng.random_range(0..4)),
                &format!("dev-{}", rng.random_range(0..3)),
                &format!("p{n}"),
                "h",
            );
            q.timestamp = 1_700_000_000 + rng.random_range(0..6) * 86_400 * 20;
            let r = Arc::make_mut(&mut q.report);
            r.percentage = match rng.random_range(0..4) {
                0 => 0.0,
                1 => 1.0,
                _ => f64::from(rng.random_range(0..=10_000)) / 10_000.0,
            };
            if rng.random_range(0..3) == 0 {
                r.device_id = Some(format!("id-{n}"));
            }
            q
        })
        .collect();
    let rules = Rules::default();
    let mut rest = &reports[..];
    while !rest.is_empty() {
        let n = rng.random_range(1..=rest.len().min(batch::MAX_BATCH));
        let written = batch::write(&mut conn, &rules, &rest[..n]);
        assert!(!written.fell_back, "seed {seed}");
        assert!(written.outcomes.iter().all(|o| matches!(o, Ok(Some(_)))));
        rest = &rest[n..];
    }
    for r in &reports {
        let bob = Verified {
            username: "bob".into(),
            ..r.clone()
        };
        batch::write(&mut conn, &rules, &[bob]).outcomes[0]
            .as_ref()
            .unwrap()
            .unwrap();
    }
    #[derive(QueryableByName)]
    struct Rows {
        #[diesel(sql_type = diesel::sql_types::Text)]
        rows: String,
    }
    let of = |conn: &mut PgConnection, user: &str, query: &str| -> String {
        diesel::sql_query(query)
            .bind::<diesel::sql_types::Text, _>(user)
            .get_result::<Rows>(conn)
            .unwrap()
            .rows
    };
    let key = "(SELECT api_key_id FROM service_credentials WHERE username = $1)";
    for query in [
        format!("SELECT coalesce(string_agg(format('%s %s %s %s %s %s %s', document, device, device_id, progress, \
            percentage, \"timestamp\", book_id), E'\\n' ORDER BY document, device), '') AS rows \
            FROM reading_progress WHERE api_key_id = {key}"),
        format!("SELECT coalesce(string_agg(format('%s %s %s %s %s', document, device, progress, \
            percentage, book_id), E'\\n' ORDER BY created_at), '') AS rows \
            FROM reading_progress_history WHERE api_key_id = {key}"),
        format!("SELECT coalesce(string_agg(format('%s %s %s %s %s %s %s %s', book_id, started_at, finished_at, \
            last_read_at, paused_at, percentage, max_percentage, derived_status), E'\\n' ORDER BY book_id), '') AS rows \
            FROM reading_aggregate WHERE api_key_id = {key}"),
    ] {
        let (ann, bob) = (of(&mut conn, "ann", &query), of(&mut conn, "bob", &query));
        assert!(!ann.is_empty());
        assert_eq!(ann, bob, "seed {seed}: {query}");
    }
}

/// A report the database refuses fails alone: the batch is written again report by report.
#[test]
fn a_failing_report_fails_alone() {
    let db = TestDb::new();
    let mut conn = db.conn();
    kosync_reader(&mut conn, "ann");
    diesel::sql_query(
        "ALTER TABLE reading_progress_history ADD CONSTRAINT test_refuse CHECK (document <> 'poison') NOT VALID",
    )
    .execute(&mut conn)
    .unwrap();
    let batch = [
        queued("a", "kobo", "p", "h"),
        queued("poison", "kobo", "p", "h"),
        queued("b", "kobo", "p", "h"),
    ];
    let written = batch::write(&mut conn, &Rules::default(), &batch);
    assert!(written.fell_back);
    assert!(matches!(written.outcomes[0], Ok(Some(_))));
    assert!(written.outcomes[1].is_err());
    assert!(matches!(written.outcomes[2], Ok(Some(_))));
    assert_eq!(db.count("SELECT count(*) FROM reading_progress_history"), 2);
    assert_eq!(db.count("SELECT count(*) FROM reading_progress"), 2);
}

/// Through HTTP, many at once: the refused report gets 502/2000, the others 200.
#[actix_web::test]
async fn one_refused_report_among_concurrent_ones() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    app.auth("ann", KEY).await;
    diesel::sql_query(
        "ALTER TABLE reading_progress_history ADD CONSTRAINT test_refuse CHECK (document <> 'poison') NOT VALID",
    )
    .execute(&mut app.db.conn())
    .unwrap();
    let puts = (0..24).map(|i| {
        let app = &app;
        let doc = if i == 11 {
            "poison".to_string()
        } else {
            format!("doc-{i}")
        };
        async move {
            let r = app
                .put_progress("ann", KEY, body(&doc, 0.5, "kobo", "p"))
                .await;
            (doc, r.status)
        }
    });
    for (doc, status) in futures_util::future::join_all(puts).await {
        assert_eq!(status, if doc == "poison" { 502 } else { 200 }, "{doc}");
    }
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        23
    );
    let health = app.api("GET", "/api/health", None, None).await;
    println!("{}", health.body["kosync"]["report_batches"]);
}

/// Many devices report one document at once, each its reports one after another: one current
/// row per device (its last report), one history row per report, in the device's order; the
/// batch sizes show in /api/health.
#[actix_web::test]
async fn concurrent_devices_on_one_document() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    app.auth("ann", KEY).await;
    add_book(&mut app.db.conn(), "shared");
    const DEVICES: usize = 12;
    const EACH: usize = 8;
    let devices = (0..DEVICES).map(|d| {
        let app = &app;
        async move {
            for i in 0..EACH {
                let r = app
                    .put_progress(
                        "ann",
                        KEY,
                        body(
                            "shared",
                            i as f64 / 10.0,
                            &format!("dev-{d}"),
                            &format!("p{i}"),
                        ),
                    )
                    .await;
                assert_eq!(r.status, 200, "{:?}", r.body);
            }
        }
    });
    futures_util::future::join_all(devices).await;
    assert_eq!(
        app.db.count("SELECT count(*) FROM reading_progress"),
        DEVICES as i64
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        (DEVICES * EACH) as i64
    );
    #[derive(QueryableByName)]
    struct H {
        #[diesel(sql_type = diesel::sql_types::Text)]
        device: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        progress: String,
    }
    let history: Vec<H> = diesel::sql_query(
        "SELECT device, progress FROM reading_progress_history ORDER BY device, created_at",
    )
    .load(&mut app.db.conn())
    .unwrap();
    for d in 0..DEVICES {
        let device = format!("dev-{d}");
        let seen: Vec<&str> = history
            .iter()
            .filter(|h| h.device == device)
            .map(|h| h.progress.as_str())
            .collect();
        let want: Vec<String> = (0..EACH).map(|i| format!("p{i}")).collect();
        assert_eq!(seen, want, "{device}");
        assert_eq!(progress_of(&app.db, &device), format!("p{}", EACH - 1));
    }
    let health = app.api("GET", "/api/health", None, None).await;
    let stats = &health.body["kosync"]["report_batches"];
    println!("{stats}");
    let reports = stats["reports"].as_u64().unwrap();
    assert!(reports >= (DEVICES * EACH) as u64, "{stats}");
    let sizes: u64 = stats["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["batches"].as_u64().unwrap())
        .sum();
    assert_eq!(sizes, stats["batches"].as_u64().unwrap(), "{stats}");
}

/// Reports keep coming under the old key while the password changes: once the change has
/// answered, no report under the old key is accepted; the new key works.
#[actix_web::test]
async fn a_password_change_during_load() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    app.auth("ann", KEY).await;
    let new_key = "0123456789abcdef0123456789abcdef";
    let changed = AtomicBool::new(false);
    let loops = (0..8).map(|d| {
        let (app, changed) = (&app, &changed);
        async move {
            let mut after = 0;
            let mut accepted_before = 0;
            while after < 4 {
                let sent_after_change = changed.load(Ordering::SeqCst);
                let r = app
                    .put_progress("ann", KEY, body("doc", 0.5, &format!("dev-{d}"), "p"))
                    .await;
                if sent_after_change {
                    assert_eq!(r.status, 401, "a report under the old key after the change");
                    after += 1;
                } else if r.status == 200 {
                    accepted_before += 1;
                }
            }
            accepted_before
        }
    });
    let change = async {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(150)).await;
        let r = app
            .call(
                "PUT",
                "/users/password",
                Some(("ann", KEY)),
                Some(&json!({ "password": new_key }).to_string()),
            )
            .await;
        assert_eq!(r.status, 200);
        changed.store(true, Ordering::SeqCst);
    };
    let (accepted, ()) =
        futures_util::future::join(futures_util::future::join_all(loops), change).await;
    assert!(accepted.iter().sum::<usize>() > 0, "{accepted:?}");
    let r = app
        .put_progress("ann", new_key, body("doc", 0.6, "kobo", "p"))
        .await;
    assert_eq!(r.status, 200);
}

#[derive(Debug, PartialEq, QueryableByName)]
struct Aggregate {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    api_key_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    book_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    values: String,
}

/// Every derived value of every aggregate, as text, in key order.
fn aggregates(conn: &mut PgConnection) -> Vec<Aggregate> {
    diesel::sql_query(
        "SELECT api_key_id, book_id, format('%s | %s | %s | %s | %s | %s | %s', started_at, \
            finished_at, last_read_at, paused_at, percentage, max_percentage, derived_status) AS values \
         FROM reading_aggregate ORDER BY 1, 2",
    )
    .load(conn)
    .unwrap()
}

/// A randomized concurrent load (two readers, several devices, documents of three books and
/// one of none): the aggregates the batches folded equal a rebuild from history.
#[actix_web::test]
async fn aggregates_equal_a_rebuild_after_a_random_concurrent_load() {
    let seed: u64 = rand::rng().random();
    println!("seed {seed}");
    let app = TestApp::start();
    for user in ["ann", "bob"] {
        app.create_user(user, KEY).await;
        app.auth(user, KEY).await;
    }
    for d in 0..3 {
        add_book(&mut app.db.conn(), &format!("doc-{d}"));
    }
    let streams = (0..8u64).map(|s| {
        let app = &app;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ s);
        let user = if s % 2 == 0 { "ann" } else { "bob" };
        let device = format!("dev-{}", s / 2);
        async move {
            for _ in 0..12 {
                let doc = format!("doc-{}", rng.random_range(0..4));
                let pct = match rng.random_range(0..4) {
                    0 => 0.0,
                    1 => 1.0,
                    _ => rng.random_range(0..=10_000) as f64 / 10_000.0,
                };
                let r = app
                    .put_progress(user, KEY, body(&doc, pct, &device, "p"))
                    .await;
                assert_eq!(r.status, 200, "seed {seed}: {:?}", r.body);
            }
        }
    });
    futures_util::future::join_all(streams).await;
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        96
    );
    let mut conn = app.db.conn();
    let folded = aggregates(&mut conn);
    assert!(!folded.is_empty());
    diesel::sql_query(
        "UPDATE reading_aggregate SET started_at = NULL, finished_at = NULL, last_read_at = NULL, \
            percentage = NULL, max_percentage = NULL, paused_at = NULL, derived_status = 'unread'",
    )
    .execute(&mut conn)
    .unwrap();
    let rules = state::rules(&mut conn).unwrap();
    state::rebuild(&mut conn, &rules, None, None).unwrap();
    assert_eq!(aggregates(&mut conn), folded, "seed {seed}");
}

/// The database goes away in the middle of a batched load and comes back: every report that
/// was answered 200 is stored, the others got 502/2000, no answer took longer than a client
/// waits, the writer recovers, and the aggregates still equal a rebuild.
#[actix_web::test]
async fn a_database_restart_during_batched_load() {
    use std::time::{Duration, Instant};

    let (app, proxy) = TestApp::behind_proxy();
    app.create_user("ann", KEY).await;
    app.auth("ann", KEY).await;
    add_book(&mut app.db.conn(), "doc");
    let stop = AtomicBool::new(false);
    let streams = (0..16).map(|d| {
        let (app, stop) = (&app, &stop);
        async move {
            let (mut acked, mut refused, mut slowest) = (Vec::new(), 0, Duration::ZERO);
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let progress = format!("d{d}-{n}");
                let started = Instant::now();
                let r = app
                    .put_progress("ann", KEY, body("doc", 0.5, &format!("dev-{d}"), &progress))
                    .await;
                slowest = slowest.max(started.elapsed());
                if r.status == 200 {
                    acked.push(progress);
                } else {
                    assert_eq!(r.error(), (502, 2000), "{:?}", r.body);
                    refused += 1;
                    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                }
                n += 1;
            }
            (acked, refused, slowest)
        }
    });
    let outage = async {
        actix_web::rt::time::sleep(Duration::from_millis(400)).await;
        proxy.down();
        actix_web::rt::time::sleep(Duration::from_millis(600)).await;
        proxy.up();
        actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, Ordering::SeqCst);
    };
    let (results, ()) =
        futures_util::future::join(futures_util::future::join_all(streams), outage).await;
    let acked: Vec<String> = results.iter().flat_map(|r| r.0.clone()).collect();
    let refused: usize = results.iter().map(|r| r.1).sum();
    let slowest = results.iter().map(|r| r.2).max().unwrap();
    println!(
        "acked {}, refused {refused}, slowest {slowest:?}",
        acked.len()
    );
    assert!(refused > 0, "the outage refused nothing");
    assert!(
        slowest < Duration::from_secs(10),
        "an answer took {slowest:?}"
    );

    let mut conn = app.db.conn();
    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = diesel::sql_types::Text)]
        progress: String,
    }
    let stored: std::collections::HashSet<String> =
        diesel::sql_query("SELECT progress FROM reading_progress_history")
            .load::<P>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|p| p.progress)
            .collect();
    let lost: Vec<&String> = acked.iter().filter(|p| !stored.contains(*p)).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    // The writer came back.
    let last = app
        .put_progress("ann", KEY, body("doc", 0.9, "dev-after", "after"))
        .await;
    assert_eq!(last.status, 200, "{:?}", last.body);
    let folded = aggregates(&mut conn);
    let rules = state::rules(&mut conn).unwrap();
    state::rebuild(&mut conn, &rules, None, None).unwrap();
    assert_eq!(aggregates(&mut conn), folded);
}

/// A batch stuck behind a lock fails after the pool's wait (1 s in tests) instead of holding
/// every report queued behind it; once the lock goes, reports are written again.
#[actix_web::test]
async fn a_batch_stuck_behind_a_lock_fails_in_time() {
    use diesel::connection::SimpleConnection;
    use std::time::{Duration, Instant};

    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    app.auth("ann", KEY).await;
    let put = || app.put_progress("ann", KEY, body("doc", 0.5, "kobo", "p"));
    assert_eq!(put().await.status, 200);
    let mut locker = app.db.conn();
    locker
        .batch_execute("BEGIN; SELECT * FROM reading_progress FOR UPDATE")
        .unwrap();
    let started = Instant::now();
    let r = put().await;
    assert_eq!(r.error(), (502, 2000), "{:?}", r.body);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    locker.batch_execute("ROLLBACK").unwrap();
    assert_eq!(put().await.status, 200);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        2
    );
}
