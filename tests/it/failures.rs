//! The database going away and coming back.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{TestApp, KEY};

#[actix_web::test]
async fn dead_database_gives_502_then_recovers() {
    let (app, proxy) = TestApp::behind_proxy();
    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    let put = || {
        app.put_progress(
            "ann",
            KEY,
            json!({"document": "d", "progress": "p", "percentage": 0.5, "device": "k"}),
        )
    };
    assert_eq!(put().await.status, 200);
    assert_eq!(app.call("GET", "/api/health", None, None).await.status, 200);

    proxy.down();
    let r = put().await;
    assert_eq!(r.error(), (502, 2000));
    assert_eq!(r.body["message"], "Unknown server error.");
    assert_eq!(app.get_progress("ann", KEY, "d").await.error(), (502, 2000));
    let health = app.call("GET", "/api/health", None, None).await;
    assert_eq!(health.status, 503);
    assert!(
        health.body["message"]
            .as_str()
            .unwrap()
            .contains("database"),
        "{}",
        health.body
    );
    assert_eq!(
        app.call("GET", "/healthcheck", None, None).await.status,
        200,
        "liveness does not need the database"
    );

    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = put().await;
        if r.status == 200 {
            break;
        }
        assert_eq!(r.error(), (502, 2000));
        assert!(Instant::now() < deadline, "no recovery within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.call("GET", "/api/health", None, None).await.status, 200);
    assert_eq!(
        app.get_progress("ann", KEY, "d").await.body["percentage"],
        json!(0.5)
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        2
    );
}
