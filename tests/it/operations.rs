//! What operators run libris with: `/metrics` (an admin key, the Prometheus text format,
//! counts that move with what happened), login limits shared by two instances on one
//! database, and background jobs that run in one instance at a time.

use std::time::Duration;

use libris::db::advisory::{Job, Locks};

use crate::common::{TestApp, KEY};

/// The value of the sample `name{labels}` in a Prometheus text exposition (0 if absent).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, value)| value.parse::<f64>().unwrap())
        .sum()
}

async fn metrics(app: &TestApp, key: &str) -> String {
    let r = app.raw("GET", "/metrics", Some(key), &[]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.header("content-type")
            .starts_with("text/plain; version=0.0.4"),
        "{}",
        r.header("content-type")
    );
    String::from_utf8(r.body).unwrap()
}

#[actix_web::test]
async fn metrics_take_an_admin_key_and_count_what_happened() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    assert_eq!(app.raw("GET", "/metrics", None, &[]).await.status, 401);
    let r = app.raw("GET", "/metrics", Some(&reader), &[]).await;
    assert_eq!(r.status, 403, "a reader's key is not enough");
    let wrong = app.raw("GET", "/metrics", Some("not-a-key"), &[]).await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.header("content-type").contains("json"),
        "the API's errors"
    );

    // The recorder is one per process and tests run in parallel: compare before and after.
    let before = metrics(&app, &admin).await;
    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    for n in 0..3 {
        let body = serde_json::json!({
            "document": format!("{n:032x}"), "progress": "/body/p[1]",
            "percentage": 0.5, "device": "Kobo", "device_id": "K1",
        });
        assert_eq!(app.put_progress("ann", KEY, body).await.status, 200);
    }
    assert_eq!(app.auth("ann", "wrong").await.status, 401);
    let after = metrics(&app, &admin).await;
    let delta = |name, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    assert!(
        delta(
            "libris_http_requests_total",
            &[("family", "kosync"), ("status", "200")]
        ) >= 3.0,
        "{after}"
    );
    assert!(
        delta(
            "libris_http_requests_total",
            &[("family", "kosync"), ("status", "401")]
        ) >= 1.0
    );
    assert!(
        delta("libris_kosync_reports_written_total", &[]) >= 3.0,
        "{after}"
    );
    assert!(
        delta(
            "libris_http_request_duration_seconds_count",
            &[("family", "kosync")]
        ) >= 4.0
    );
    assert!(delta("libris_db_wait_seconds_count", &[]) >= 3.0);
    assert!(
        sample(
            &after,
            "libris_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ) == 1.0
    );
    assert!(after.contains("# TYPE libris_http_request_duration_seconds histogram"));
    assert!(after.contains("libris_db_connections{state=\"idle\"}"));

    // An upload is an ingest; a browse of the catalog looks in its cache.
    let epub = crate::library::fixture("lighthouse-epub2.epub");
    assert_eq!(app.upload(&admin, &[("one.epub", &epub)]).await.status, 201);
    let again = app.upload(&admin, &[("again.epub", &epub)]).await;
    assert_eq!(
        again.body["files"][0]["outcome"], "duplicate",
        "{:?}",
        again.body
    );
    let opds = app.raw("GET", "/opds/new", Some(&admin), &[]).await;
    assert_eq!(opds.status, 200);
    let last = metrics(&app, &admin).await;
    let grew =
        |name, labels: &[(&str, &str)]| sample(&last, name, labels) - sample(&after, name, labels);
    assert!(
        grew("libris_ingest_files_total", &[("outcome", "created")]) >= 1.0,
        "{last}"
    );
    assert!(grew("libris_ingest_files_total", &[("outcome", "duplicate")]) >= 1.0);
    assert!(grew("libris_catalog_cache_lookups_total", &[]) >= 1.0);
    assert!(
        grew(
            "libris_http_requests_total",
            &[("family", "opds"), ("status", "200")]
        ) >= 1.0
    );
}

#[test]
fn docs_operations_md_lists_every_metric() {
    let docs = std::fs::read_to_string("docs/operations.md").unwrap();
    for (name, kind) in libris::telemetry::ALL {
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("docs/operations.md has no row for {name}"));
        assert!(row.contains(kind), "{name} is a {kind}: {row}");
    }
}

/// A KoSync login from a client address (the apps trust the proxy header).
async fn kosync_login(app: &TestApp, key: &str) -> u16 {
    app.raw(
        "GET",
        "/users/auth",
        None,
        &[
            ("x-forwarded-for", "10.0.0.9"),
            ("x-auth-user", "ann"),
            ("x-auth-key", key),
            ("accept", "application/vnd.koreader.v1+json"),
        ],
    )
    .await
    .status
}

#[actix_web::test]
async fn two_instances_on_one_database_hold_one_login_limit() {
    let first = TestApp::builder()
        .auth_failures_per_minute(3)
        .trust_proxy()
        .secret_key("one household, two instances")
        .start();
    let second = TestApp::builder()
        .pool_url(first.db.url.clone())
        .auth_failures_per_minute(3)
        .trust_proxy()
        .secret_key("one household, two instances")
        .start();
    assert_eq!(first.create_user("ann", KEY).await.status, 201);
    assert_eq!(kosync_login(&second, KEY).await, 200, "the same accounts");
    // Three guesses through the first instance use up the minute's failures...
    for n in 0..3 {
        assert_eq!(kosync_login(&first, &format!("{:032x}", n + 1)).await, 401);
    }
    assert_eq!(
        kosync_login(&first, "ffffffffffffffffffffffffffffffff").await,
        429
    );
    // ...and the second, which saw none of them, learns the count with its first failure.
    assert_eq!(
        kosync_login(&second, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee").await,
        401
    );
    for _ in 0..3 {
        assert_eq!(
            kosync_login(&second, "dddddddddddddddddddddddddddddddd").await,
            429
        );
    }
    let rows = first
        .db
        .count("SELECT count(*) FROM login_failures WHERE failures >= 3");
    assert_eq!(rows, 3, "the address, the username and the pair");
    // A repeated wrong key counted once, in both: the shared fingerprints agree.
    let seen = first
        .db
        .count("SELECT cardinality(seen) FROM login_failures WHERE key = 'user kosync ann'");
    assert_eq!(seen, 4);
}

#[actix_web::test]
async fn a_background_job_runs_in_one_instance_at_a_time() {
    let app = TestApp::start();
    let (one, two) = (Locks::new(&app.db.url), Locks::new(&app.db.url));
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let (finish, finished) = tokio::sync::oneshot::channel::<()>();
    let long_turn = actix_web::rt::spawn({
        let one = one.clone();
        async move {
            one.turn(Job::Inbox, async move {
                let _ = started.send(());
                let _ = finished.await;
                Ok(1)
            })
            .await
        }
    });
    running.await.unwrap();
    let other = two.turn(Job::Inbox, async { Ok(2) }).await;
    assert!(
        other.is_none(),
        "the second instance leaves the turn to the first"
    );
    let another_job = two.turn(Job::PageCovers, async { Ok(3) }).await;
    assert_eq!(another_job.unwrap().unwrap(), 3, "other jobs are free");
    finish.send(()).unwrap();
    assert_eq!(long_turn.await.unwrap().unwrap().unwrap(), 1);
    let after = two.turn(Job::Inbox, async { Ok(4) }).await;
    assert_eq!(after.unwrap().unwrap(), 4, "free once the first is done");
    // A turn dropped halfway (its task cancelled) lets go of its lock.
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let dying = actix_web::rt::spawn({
        let one = one.clone();
        async move {
            one.turn(Job::Inbox, async move {
                let _ = started.send(());
                std::future::pending::<()>().await;
                Ok(())
            })
            .await
        }
    });
    running.await.unwrap();
    assert!(two.turn(Job::Inbox, async { Ok(5) }).await.is_none());
    dying.abort();
    let mut freed = None;
    for _ in 0..50 {
        freed = two.turn(Job::Inbox, async { Ok(6) }).await;
        if freed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(freed.unwrap().unwrap(), 6);
    // A process that dies lets go too: its connection's locks end with it.
    let holder = Locks::new(&app.db.url);
    assert!(holder.try_lock(Job::Inbox.key()).await.unwrap());
    assert!(two.turn(Job::Inbox, async { Ok(7) }).await.is_none());
    drop(holder);
    let mut freed = None;
    for _ in 0..50 {
        freed = two.turn(Job::Inbox, async { Ok(8) }).await;
        if freed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(freed.unwrap().unwrap(), 8);
}
