//! Reading state: the KoSync write path, the rebuild and the pure rules agree; the sweep;
//! the manual override and the reading list.

use chrono::{DateTime, TimeZone, Utc};
use diesel::prelude::*;
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::common::{TestApp, TestDb, KEY};
use libris::db::models::ReadingStatus;
use libris::reading::derive::{self, Report as Row, Rules};
use libris::reading::state::{self, aggregate_of};

/// started, finished, last read, paused, derived and effective status.
type Compared = (
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    ReadingStatus,
    ReadingStatus,
);

/// A reader "ann" (kosync password "password") and an organized book linked to `doc`.
fn reader_and_book(db: &TestDb, doc: &str) -> (Uuid, Uuid, String) {
    let mut conn = db.conn();
    let (key, _) = libris::auth::keys::create(&mut conn, "ann", false).unwrap();
    let hash = bcrypt::hash(KEY, 4).unwrap();
    libris::auth::credentials::set(&mut conn, "kosync", key.id, "ann", &hash).unwrap();
    let book: Uuid = diesel::insert_into(libris::db::schema::books::table)
        .values((
            libris::db::schema::books::title.eq("A book"),
            libris::db::schema::books::status.eq(libris::db::models::BookStatus::Organized),
        ))
        .returning(libris::db::schema::books::id)
        .get_result(&mut conn)
        .unwrap();
    libris::library::links::link(
        &mut conn,
        book,
        &[(doc, libris::library::links::Source::Content)],
    )
    .unwrap();
    (key.id, book, hash)
}

fn report(doc: &str, pct: f64) -> libris::reading::Report {
    libris::reading::Report {
        document: doc.into(),
        progress: "p".into(),
        percentage: pct,
        device: "kobo".into(),
        device_id: None,
        title: None,
        authors: None,
        raw: json!({}),
    }
}

fn stored(db: &TestDb, key: Uuid, book: Uuid) -> Compared {
    let row = aggregate_of(&mut db.conn(), key, book)
        .unwrap()
        .expect("an aggregate");
    (
        row.started_at,
        row.finished_at,
        row.last_read_at,
        row.paused_at,
        row.derived_status,
        row.status,
    )
}

fn expected(history: &[Row], rules: &Rules) -> Compared {
    let mut sorted = history.to_vec();
    sorted.sort_by_key(|r| r.timestamp);
    let d = derive::derive(&sorted, rules, Utc::now());
    let e = derive::effective(&d, None, None);
    (
        d.started_at,
        d.finished_at,
        d.last_read_at,
        d.paused_at,
        d.status,
        e.status,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Reports in any arrival order, folded in by the KoSync statement one at a time, give
    /// what the rebuild gives and what the pure rules give on the sorted history.
    #[test]
    fn the_write_path_the_rebuild_and_the_rules_agree(
        // Distinct timestamps (seconds within ~3 years back), percentages to 4 decimals.
        rows in prop::collection::btree_map(0i64..100_000_000, 0u32..=10_000, 1..25),
        shuffle in any::<u64>(),
        threshold in 5_000u32..=10_000,
        days in 1i64..400,
    ) {
        let db = TestDb::new();
        let (key, book, hash) = reader_and_book(&db, "doc");
        let now = Utc::now().timestamp();
        let mut history: Vec<Row> = rows
            .iter()
            .map(|(ago, pct)| Row { timestamp: Utc.timestamp_opt(now - ago, 0).unwrap(), percentage: *pct as f64 / 10_000.0 })
            .collect();
        // A deterministic shuffle: arrival order differs from time order.
        let mut s = shuffle | 1;
        for i in (1..history.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            history.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let rules = Rules { finished_threshold: threshold as f64 / 10_000.0, paused_after_days: days };
        let mut conn = db.conn();
        diesel::sql_query(format!(
            "INSERT INTO app_settings (key, value) VALUES ('reading.finished_threshold', '{}'), ('reading.paused_after_days', '{}')",
            rules.finished_threshold, days
        )).execute(&mut conn).unwrap();
        for row in &history {
            libris::reading::record(&mut conn, &rules, "ann", &hash, &report("doc", row.percentage), row.timestamp.timestamp()).unwrap().unwrap();
        }
        let want = expected(&history, &rules);
        prop_assert_eq!(stored(&db, key, book), want, "incremental");
        diesel::sql_query("UPDATE reading_aggregate SET started_at = NULL, finished_at = NULL, last_read_at = NULL, derived_status = 'unread'").execute(&mut conn).unwrap();
        let stored_rules = state::rules(&mut conn).unwrap();
        prop_assert_eq!(stored_rules, rules);
        let rebuilt = state::rebuild(&mut conn, &stored_rules, None, None).unwrap();
        prop_assert_eq!(rebuilt.scanned, 1);
        prop_assert_eq!(stored(&db, key, book), want, "rebuild");
        let again = state::rebuild(&mut conn, &rules, None, None).unwrap();
        prop_assert_eq!(again.changed, 0, "idempotent");
    }
}

#[actix_web::test]
async fn the_put_path_keeps_position_and_status() {
    let app = TestApp::start();
    let (key, book, _) = reader_and_book(&app.db, "doc");
    // The phone got to 60%; a second later the reader picks up the kobo's older position
    // (within one second the highest percentage would win: reading::derive's tie rule).
    for (pct, device) in [(0.6, "phone"), (0.2, "kobo"), (0.4, "kobo")] {
        if device == "kobo" && pct == 0.2 {
            libris_test_support::next_second().await;
        }
        let r = app
            .put_progress(
                "ann",
                KEY,
                json!({ "document": "doc", "progress": "p", "percentage": pct, "device": device }),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let row = aggregate_of(&mut app.db.conn(), key, book)
        .unwrap()
        .unwrap();
    assert_eq!(row.status, ReadingStatus::Reading);
    assert!(row.started_at.is_some() && row.finished_at.is_none());
    assert_eq!(
        app.db
            .count("SELECT (percentage * 10)::int FROM reading_aggregate"),
        4,
        "the newest report, whichever device"
    );
    assert_eq!(
        app.db
            .count("SELECT (max_percentage * 10)::int FROM reading_aggregate"),
        6
    );
    app.put_progress(
        "ann",
        KEY,
        json!({ "document": "doc", "progress": "p", "percentage": 0.95, "device": "kobo" }),
    )
    .await;
    let row = aggregate_of(&mut app.db.conn(), key, book)
        .unwrap()
        .unwrap();
    assert_eq!(
        row.status,
        ReadingStatus::Finished,
        "exactly the threshold is finished"
    );
}

#[actix_web::test]
async fn the_sweep_pauses_what_was_left_alone() {
    let db = TestDb::new();
    let (key, book, hash) = reader_and_book(&db, "doc");
    let mut conn = db.conn();
    // A minute short of ten days: the sweep runs a moment later, still within the window.
    let ten_days_ago = Utc::now().timestamp() - 10 * 86_400 + 60;
    record_at(&mut conn, &hash, 0.3, ten_days_ago);
    assert_eq!(
        aggregate_of(&mut conn, key, book).unwrap().unwrap().status,
        ReadingStatus::Reading
    );
    let rules = Rules {
        finished_threshold: 0.95,
        paused_after_days: 10,
    };
    assert_eq!(
        state::sweep(&mut conn, &rules).unwrap(),
        0,
        "within 10 days is still reading"
    );
    let rules = Rules {
        finished_threshold: 0.95,
        paused_after_days: 9,
    };
    assert_eq!(state::sweep(&mut conn, &rules).unwrap(), 1);
    let row = aggregate_of(&mut conn, key, book).unwrap().unwrap();
    assert_eq!(
        (row.derived_status, row.status),
        (ReadingStatus::Paused, ReadingStatus::Paused)
    );
    assert_eq!(
        row.paused_at.unwrap().timestamp(),
        ten_days_ago + 9 * 86_400
    );
    assert_eq!(
        state::sweep(&mut conn, &rules).unwrap(),
        0,
        "set-based and idempotent"
    );
    // A new report resumes reading.
    record_at(&mut conn, &hash, 0.35, Utc::now().timestamp());
    assert_eq!(
        aggregate_of(&mut conn, key, book).unwrap().unwrap().status,
        ReadingStatus::Reading
    );
}

#[actix_web::test]
async fn manual_status_overrides_and_clears() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let r = app
        .api(
            "PUT",
            "/api/credentials/kosync",
            Some(&admin),
            Some(json!({ "username": "ann", "password": "password" })),
        )
        .await;
    assert_eq!(r.status, 200);
    let books: Vec<Uuid> = (0..2)
        .map(|i| {
            diesel::insert_into(libris::db::schema::books::table)
                .values((
                    libris::db::schema::books::title.eq(format!("Book {i}")),
                    libris::db::schema::books::status.eq(libris::db::models::BookStatus::Organized),
                ))
                .returning(libris::db::schema::books::id)
                .get_result(&mut app.db.conn())
                .unwrap()
        })
        .collect();
    libris::library::links::link(
        &mut app.db.conn(),
        books[0],
        &[("doc", libris::library::links::Source::Manual)],
    )
    .unwrap();
    app.put_progress(
        "ann",
        KEY,
        json!({ "document": "doc", "progress": "p", "percentage": 0.5, "device": "kobo" }),
    )
    .await;
    let path = format!("/api/books/{}/reading-status", books[0]);
    let r = app
        .api("PATCH", &path, Some(&admin), Some(json!({ "status": "finished", "started_at": "2024-01-01T00:00:00Z", "finished_at": "2024-02-01T00:00:00Z", "paused_at": "2024-01-15T00:00:00Z" })))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "finished");
    assert_eq!(r.body["derived_status"], "reading");
    assert_eq!(r.body["finished_at"], "2024-02-01T00:00:00Z");
    assert!(
        r.body["paused_at"].is_null(),
        "finished keeps started and finished only"
    );
    for (body, field) in [
        (
            json!({ "status": "reading", "started_at": "2999-01-01T00:00:00Z" }),
            "started_at",
        ),
        (
            json!({ "status": "finished", "started_at": "2024-02-01T00:00:00Z", "finished_at": "2024-01-01T00:00:00Z" }),
            "finished_at",
        ),
    ] {
        let r = app.api("PATCH", &path, Some(&admin), Some(body)).await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (400, Some(field)),
            "{:?}",
            r.body
        );
    }
    let r = app
        .api(
            "PATCH",
            &format!("/api/books/{}/reading-status", books[1]),
            Some(&admin),
            Some(json!({ "status": "paused" })),
        )
        .await;
    assert_eq!(r.status, 200);
    let list = app.api("GET", "/api/reading", Some(&admin), None).await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body["counts"],
        json!({ "unread": 0, "reading": 0, "finished": 1, "paused": 1 })
    );
    let paused = app
        .api("GET", "/api/reading?status=paused", Some(&admin), None)
        .await;
    assert_eq!(paused.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(paused.body["items"][0]["book"]["id"], books[1].to_string());
    let r = app.api("DELETE", &path, Some(&admin), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "reading", "the history decides again");
    assert!(r.body["manual_status"].is_null());
    let detail = app
        .api(
            "GET",
            &format!("/api/books/{}", books[0]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(detail.body["reading"]["status"], "reading");
    let missing = app
        .api(
            "PATCH",
            &format!("/api/books/{}/reading-status", Uuid::new_v4()),
            Some(&admin),
            Some(json!({ "status": "reading" })),
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[actix_web::test]
async fn changing_the_rules_rebuilds_in_the_background() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (key, book, _) = reader_and_book(&app.db, "doc");
    app.put_progress(
        "ann",
        KEY,
        json!({ "document": "doc", "progress": "p", "percentage": 0.9, "device": "kobo" }),
    )
    .await;
    assert_eq!(
        aggregate_of(&mut app.db.conn(), key, book)
            .unwrap()
            .unwrap()
            .status,
        ReadingStatus::Reading
    );
    let r = app
        .api(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({ "reading.finished_threshold": 0.85 })),
        )
        .await;
    assert_eq!(r.status, 200);
    let mut finished = false;
    for _ in 0..100 {
        let health = app.api("GET", "/api/health", None, None).await;
        let job = &health.body["jobs"]["reading_rebuild"];
        if job["running"] == false && job["finished_at"].is_string() {
            assert_eq!(job["changed"], 1, "{job:?}");
            finished = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(finished, "the rebuild ran");
    assert_eq!(
        aggregate_of(&mut app.db.conn(), key, book)
            .unwrap()
            .unwrap()
            .status,
        ReadingStatus::Finished
    );
    // The next report is judged by the new rules at once, though the server caches them.
    let second: Uuid = diesel::insert_into(libris::db::schema::books::table)
        .values(libris::db::schema::books::title.eq("Another"))
        .returning(libris::db::schema::books::id)
        .get_result(&mut app.db.conn())
        .unwrap();
    libris::library::links::link(
        &mut app.db.conn(),
        second,
        &[("doc2", libris::library::links::Source::Content)],
    )
    .unwrap();
    let r = app
        .put_progress(
            "ann",
            KEY,
            json!({ "document": "doc2", "progress": "p", "percentage": 0.86, "device": "kobo" }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        aggregate_of(&mut app.db.conn(), key, second)
            .unwrap()
            .unwrap()
            .status,
        ReadingStatus::Finished
    );
}

#[actix_web::test]
async fn progress_per_device_history_and_forgetting() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (key, book, _) = reader_and_book(&app.db, "doc");
    // The reader's own API key: give "ann" one through the admin.
    let r = app
        .api(
            "POST",
            "/api/keys",
            Some(&admin),
            Some(json!({ "label": "other" })),
        )
        .await;
    assert_eq!(r.status, 201);
    for (pct, device) in [(0.1, "kobo"), (0.2, "phone"), (0.3, "kobo")] {
        app.put_progress(
            "ann",
            KEY,
            json!({ "document": "doc", "progress": "p", "percentage": pct, "device": device }),
        )
        .await;
    }
    // Progress belongs to its reader: the admin sees none of ann's.
    let r = app
        .api(
            "GET",
            &format!("/api/books/{book}/progress"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["history"]["total"], 0);
    // ann's view, through a key of ann's own.
    let ann_key = {
        let (row, raw) = libris::auth::keys::create(&mut app.db.conn(), "ann-api", false).unwrap();
        diesel::sql_query(format!(
            "UPDATE service_credentials SET api_key_id = '{}' WHERE api_key_id = '{key}'",
            row.id
        ))
        .execute(&mut app.db.conn())
        .unwrap();
        diesel::sql_query(format!(
            "UPDATE reading_progress SET api_key_id = '{}'",
            row.id
        ))
        .execute(&mut app.db.conn())
        .unwrap();
        diesel::sql_query(format!(
            "UPDATE reading_progress_history SET api_key_id = '{}'",
            row.id
        ))
        .execute(&mut app.db.conn())
        .unwrap();
        diesel::sql_query(format!(
            "UPDATE reading_aggregate SET api_key_id = '{}'",
            row.id
        ))
        .execute(&mut app.db.conn())
        .unwrap();
        raw
    };
    let r = app
        .api(
            "GET",
            &format!("/api/books/{book}/progress?limit=2"),
            Some(&ann_key),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let devices = r.body["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["device"], "kobo");
    assert_eq!(devices[0]["percentage"], 0.3);
    assert_eq!(r.body["history"]["total"], 3);
    assert_eq!(r.body["history"]["items"].as_array().unwrap().len(), 2);
    let r = app
        .api(
            "GET",
            &format!("/api/books/{book}/progress?limit=0"),
            Some(&ann_key),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .api(
            "DELETE",
            &format!("/api/books/{book}/progress"),
            Some(&ann_key),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(app.db.count("SELECT count(*) FROM reading_progress"), 0);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        0
    );
    assert_eq!(app.db.count("SELECT count(*) FROM reading_aggregate"), 0);
}

#[actix_web::test]
async fn stats_count_sessions_days_and_streaks() {
    let app = TestApp::start();
    let (key, _book, hash) = reader_and_book(&app.db, "doc");
    let raw = {
        let (row, raw) = libris::auth::keys::create(&mut app.db.conn(), "ann-api", false).unwrap();
        diesel::sql_query(format!(
            "UPDATE service_credentials SET api_key_id = '{}' WHERE api_key_id = '{key}'",
            row.id
        ))
        .execute(&mut app.db.conn())
        .unwrap();
        raw
    };
    let now = Utc::now().timestamp();
    let mut conn = app.db.conn();
    // Today: two reports 10 minutes apart (one session), then one an hour later (another).
    // Yesterday: one report. So the current streak is 2 days.
    for (at, pct) in [
        (now - 86_400, 0.1),
        (now - 3_600 - 600, 0.2),
        (now - 3_600, 0.3),
        (now, 0.35),
    ] {
        record_at(&mut conn, &hash, pct, at);
    }
    let r = app.api("GET", "/api/stats", Some(&raw), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let sessions = r.body["sessions"].as_array().unwrap();
    assert!(sessions.len() >= 3, "{sessions:?}");
    assert!(r.body["current_streak"].as_u64().unwrap() >= 1);
    assert!(
        r.body["longest_streak"].as_u64().unwrap() >= r.body["current_streak"].as_u64().unwrap()
    );
    assert!(!r.body["per_day"].as_array().unwrap().is_empty());
    let bad = app
        .api(
            "GET",
            "/api/stats?from=2026-02-01&to=2026-01-01",
            Some(&raw),
            None,
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (400, Some("from"))
    );
    let bad = app
        .api("GET", "/api/stats?from=yesterday", Some(&raw), None)
        .await;
    assert_eq!(bad.status, 400);
}

/// Records a report of "ann" for "doc" at `at`, under the rules as stored (as the server's
/// cache reads them).
fn record_at(conn: &mut diesel::PgConnection, hash: &str, pct: f64, at: i64) {
    let rules = state::rules(conn).unwrap();
    libris::reading::record(conn, &rules, "ann", hash, &report("doc", pct), at)
        .unwrap()
        .unwrap();
}
