//! KoSync reports written in batches (reading::batch): order, isolation of a failing report,
//! credentials changed while reports wait, and the aggregate against a rebuild.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use crate::common::{TestApp, TestDb, KEY};
use libris::reading::batch::{self, Queued};
use libris::reading::derive::Rules;
use libris::reading::state::{self, aggregate_of};

fn body(document: &str, percentage: f64, device: &str, progress: &str) -> serde_json::Value {
    json!({ "document": document, "progress": progress, "percentage": percentage, "device": device })
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

fn queued(document: &str, device: &str, progress: &str, hash: &str) -> Queued {
    Queued {
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
    let (key, _) = libris::auth::keys::create(&mut conn, "reader", false).unwrap();
    libris::auth::credentials::set(&mut conn, "kosync", key.id, "ann", "h").unwrap();
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
    assert_eq!(db.count("SELECT count(*) FROM reading_progress_history"), 4);
    assert_eq!(db.count("SELECT count(*) FROM reading_aggregate"), 1);
}

/// A report the database refuses fails alone: the batch is written again report by report.
#[test]
fn a_failing_report_fails_alone() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (key, _) = libris::auth::keys::create(&mut conn, "reader", false).unwrap();
    libris::auth::credentials::set(&mut conn, "kosync", key.id, "ann", "h").unwrap();
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

type Compared = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
    libris::db::models::ReadingStatus,
);

fn aggregates(conn: &mut PgConnection) -> Vec<((Uuid, Uuid), Compared)> {
    #[derive(QueryableByName)]
    struct Pair {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        api_key_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        book_id: Uuid,
    }
    let pairs: Vec<Pair> =
        diesel::sql_query("SELECT api_key_id, book_id FROM reading_aggregate ORDER BY 1, 2")
            .load(conn)
            .unwrap();
    pairs
        .into_iter()
        .map(|p| {
            let a = aggregate_of(conn, p.api_key_id, p.book_id)
                .unwrap()
                .unwrap();
            (
                (p.api_key_id, p.book_id),
                (
                    a.started_at,
                    a.finished_at,
                    a.last_read_at,
                    a.paused_at,
                    a.derived_status,
                ),
            )
        })
        .collect()
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
        "UPDATE reading_aggregate SET started_at = NULL, finished_at = NULL, last_read_at = NULL, derived_status = 'unread'",
    )
    .execute(&mut conn)
    .unwrap();
    let rules = state::rules(&mut conn).unwrap();
    state::rebuild(&mut conn, &rules, None, None).unwrap();
    assert_eq!(aggregates(&mut conn), folded, "seed {seed}");
}
