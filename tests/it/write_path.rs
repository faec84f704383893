//! The progress write path: current row, history, book resolution, aggregate, atomicity.

use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::common::{TestApp, TestDb, KEY};
use libris::reading::derive::Rules;

fn report(document: &str, percentage: f64, device: &str) -> serde_json::Value {
    json!({ "document": document, "progress": "p", "percentage": percentage, "device": device })
}

/// A book with one file whose KOReader hash is `content_hash` (and `original`).
fn add_book(db: &TestDb, content_hash: &str, original: &str) -> Uuid {
    let book: Uuid = diesel::sql_query("INSERT INTO books (title) VALUES ('A book') RETURNING id")
        .get_result::<Id>(&mut db.conn())
        .unwrap()
        .id;
    diesel::sql_query(format!(
        "INSERT INTO book_files (book_id, format, original_name, content_hash, original_content_hash) \
         VALUES ('{book}', 'epub', 'a.epub', '{content_hash}', '{original}')"
    ))
    .execute(&mut db.conn())
    .unwrap();
    use libris::library::links::{link, Source};
    link(
        &mut db.conn(),
        book,
        &[(content_hash, Source::Content), (original, Source::Content)],
    )
    .unwrap();
    book
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

#[actix_web::test]
async fn each_put_adds_exactly_one_history_row() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    for i in 1..=5 {
        app.put_progress("ann", KEY, report("doc", i as f64 / 10.0, "kobo"))
            .await;
        assert_eq!(
            app.db
                .count("SELECT count(*) FROM reading_progress_history"),
            i
        );
        assert_eq!(app.db.count("SELECT count(*) FROM reading_progress"), 1);
    }
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history WHERE api_key_id IS NULL"),
        0
    );
}

#[actix_web::test]
async fn twenty_concurrent_puts() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    app.auth("ann", KEY).await; // warm the cache
    let puts = (0..20).map(|i| {
        let body = report("shared-doc", i as f64 / 20.0, &format!("device-{}", i % 4));
        let app = &app;
        async move { app.put_progress("ann", KEY, body).await.status }
    });
    let statuses = futures_util::future::join_all(puts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        20
    );
    assert_eq!(app.db.count("SELECT count(*) FROM reading_progress"), 4);
    assert_eq!(
        app.db
            .count("SELECT count(DISTINCT device) FROM reading_progress"),
        4
    );
}

#[actix_web::test]
async fn reports_link_to_the_book_by_content_or_original_hash() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    let book = add_book(&app.db, "hash-now", "hash-first");
    app.put_progress("ann", KEY, report("hash-now", 0.1, "kobo"))
        .await;
    app.put_progress("ann", KEY, report("hash-first", 0.2, "kobo"))
        .await;
    app.put_progress("ann", KEY, report("unrelated", 0.2, "kobo"))
        .await;
    let linked = format!("SELECT count(*) FROM reading_progress_history WHERE book_id = '{book}'");
    assert_eq!(app.db.count(&linked), 2);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress WHERE book_id IS NULL"),
        1
    );
}

#[actix_web::test]
async fn an_ambiguous_document_links_to_no_book() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    add_book(&app.db, "same-hash", "same-hash");
    add_book(&app.db, "same-hash", "same-hash");
    assert_eq!(
        app.put_progress("ann", KEY, report("same-hash", 0.1, "kobo"))
            .await
            .status,
        200
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress WHERE book_id IS NULL"),
        1
    );
    assert_eq!(app.db.count("SELECT count(*) FROM reading_aggregate"), 0);
}

#[actix_web::test]
async fn aggregate_started_and_finished_are_set_once() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    add_book(&app.db, "book-doc", "book-doc");
    let agg = |col: &str| {
        app.db.count(&format!(
            "SELECT count(*) FROM reading_aggregate WHERE {col} IS NOT NULL"
        ))
    };

    app.put_progress("ann", KEY, report("book-doc", 0.0, "kobo"))
        .await;
    assert_eq!(app.db.count("SELECT count(*) FROM reading_aggregate"), 1);
    assert_eq!((agg("started_at"), agg("finished_at")), (0, 0));

    app.put_progress("ann", KEY, report("book-doc", 0.3, "kobo"))
        .await;
    assert_eq!((agg("started_at"), agg("finished_at")), (1, 0));
    let started = app
        .db
        .count("SELECT extract(epoch FROM started_at) FROM reading_aggregate");

    // Exactly the threshold counts as finished.
    app.put_progress("ann", KEY, report("book-doc", 0.95, "phone"))
        .await;
    assert_eq!(agg("finished_at"), 1);
    let finished = app
        .db
        .count("SELECT extract(epoch FROM finished_at) FROM reading_aggregate");

    diesel::sql_query(
        "UPDATE reading_aggregate SET started_at = started_at - interval '1 day', \
                       finished_at = finished_at - interval '1 day', manual_status = 'paused'",
    )
    .execute(&mut app.db.conn())
    .unwrap();
    app.put_progress("ann", KEY, report("book-doc", 1.0, "kobo"))
        .await;
    app.put_progress("ann", KEY, report("book-doc", 0.1, "kobo"))
        .await;
    assert_eq!(
        app.db
            .count("SELECT extract(epoch FROM started_at) FROM reading_aggregate"),
        started - 86_400
    );
    assert_eq!(
        app.db
            .count("SELECT extract(epoch FROM finished_at) FROM reading_aggregate"),
        finished - 86_400
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_aggregate WHERE manual_status = 'paused'"),
        1
    );
    assert_eq!(app.db.count("SELECT count(*) FROM reading_aggregate"), 1);
}

#[actix_web::test]
async fn just_below_the_threshold_is_not_finished() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    add_book(&app.db, "book-doc", "book-doc");
    app.put_progress("ann", KEY, report("book-doc", 0.9499, "kobo"))
        .await;
    assert_eq!(app.db.count("SELECT count(*) FROM reading_aggregate WHERE finished_at IS NULL AND started_at IS NOT NULL"), 1);
}

#[actix_web::test]
async fn a_failing_step_writes_nothing() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    add_book(&app.db, "book-doc", "book-doc");
    // Make the last step of the transaction (the aggregate) fail.
    diesel::sql_query(
        "ALTER TABLE reading_aggregate ADD CONSTRAINT test_refuse CHECK (false) NOT VALID",
    )
    .execute(&mut app.db.conn())
    .unwrap();
    let r = app
        .put_progress("ann", KEY, report("book-doc", 0.5, "kobo"))
        .await;
    assert_eq!(r.error(), (502, 2000));
    assert_eq!(app.db.count("SELECT count(*) FROM reading_progress"), 0);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        0
    );
    // The pool is still healthy afterwards.
    assert_eq!(
        app.put_progress("ann", KEY, report("other-doc", 0.5, "kobo"))
            .await
            .status,
        200
    );
}

/// The hot path's SQL is prepared once per connection, not parsed and planned per request;
/// and a report names its reader by the verified hash, so a stale one writes nothing.
#[test]
fn the_report_statement_is_prepared_once_and_checks_the_hash() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (key, _) = libris::auth::keys::create(&mut conn, "reader", false).unwrap();
    libris::auth::credentials::set(&mut conn, "kosync", key.id, "ann", "stored-hash").unwrap();
    let report = libris::reading::Report {
        title: None,
        authors: None,
        document: "doc".into(),
        progress: "p".into(),
        percentage: 0.5,
        device: "kobo".into(),
        device_id: None,
        raw: json!({}),
    };
    for ts in 1..=3 {
        let recorded = libris::reading::record(
            &mut conn,
            &Rules::default(),
            "ann",
            "stored-hash",
            &report,
            ts,
        )
        .unwrap();
        assert_eq!(
            recorded.map(|r| (r.api_key_id, r.book_id)),
            Some((key.id, None))
        );
        libris::reading::credential_and_latest(&mut conn, "nobody", "doc").unwrap();
    }
    assert_eq!(
        libris::reading::record(&mut conn, &Rules::default(), "ann", "old-hash", &report, 4)
            .unwrap(),
        None
    );
    assert_eq!(db.count("SELECT count(*) FROM reading_progress_history"), 3);
    assert_eq!(
        db.count("SELECT max(\"timestamp\") FROM reading_progress"),
        3
    );

    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let prepared: N = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_prepared_statements \
         WHERE statement LIKE '%WITH input AS (%' OR statement LIKE 'SELECT c.api_key_id%'",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(prepared.n, 2);
}

/// Far more requests than pooled connections (4 in tests): every one is served.
#[actix_web::test]
async fn sixty_four_requests_through_a_small_pool() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    app.auth("ann", KEY).await;
    let requests = (0..64).map(|i| {
        let app = &app;
        async move {
            let doc = format!("doc-{}", i % 8);
            if i % 2 == 0 {
                app.put_progress("ann", KEY, report(&doc, 0.5, "kobo"))
                    .await
                    .status
            } else {
                app.get_progress("ann", KEY, &doc).await.status
            }
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        32
    );
}
