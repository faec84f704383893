//! PostgreSQL restarted (fast mode) twice under KoSync load: every report answered 200 is in
//! the history afterwards, reports during the outage get 502/2000 within the client's timeout
//! (never a hang), and libris serves again soon after the database is back, without a restart.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use crate::common::{TestApp, KEY};
use crate::Figures;

const CLIENTS: usize = 32;
/// What a KOReader-like client waits before it gives up.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
const DOWN_FOR: Duration = Duration::from_secs(3);

struct Sent {
    at: Instant,
    progress: String,
    /// None: no answer within the client's timeout.
    status: Option<u16>,
    code: Option<u64>,
}

fn pg(command: &str, cluster: &str) {
    let status = std::process::Command::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg.sh"),
    )
    .args([command, cluster])
    .stdout(std::process::Stdio::null())
    .status()
    .expect("scripts/pg.sh runs");
    assert!(status.success(), "pg.sh {command} {cluster}");
}

pub async fn run(figures: &mut Figures) {
    let Some(cluster) = std::env::var("RELIABILITY_CLUSTER")
        .ok()
        .filter(|c| !c.is_empty())
    else {
        figures.row(
            "database restarts: skipped (DATABASE_URL was given; no cluster of ours to restart)",
            0.0,
            "",
            true,
        );
        return;
    };
    let seconds: u64 = std::env::var("RELIABILITY_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let app = TestApp::start();
    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    let client = awc::Client::builder().timeout(CLIENT_TIMEOUT).finish();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let sent: Rc<RefCell<Vec<Sent>>> = Rc::default();
    let clients = (0..CLIENTS).map(|c| {
        let (app, client, sent) = (&app, &client, sent.clone());
        async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let progress = format!("c{c}-{n}");
                let at = Instant::now();
                let resp = client
                    .put(app.server.url("/syncs/progress"))
                    .insert_header(("x-auth-user", "ann"))
                    .insert_header(("x-auth-key", KEY))
                    .insert_header(("content-type", "application/json"))
                    .send_body(
                        json!({ "document": format!("doc-{c}"), "progress": progress,
                                "percentage": 0.5, "device": format!("dev-{c}") })
                        .to_string(),
                    )
                    .await;
                let (status, code) = match resp {
                    Ok(mut r) => {
                        let body = r.body().await.unwrap_or_default();
                        let code = serde_json::from_slice::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v["code"].as_u64());
                        (Some(r.status().as_u16()), code)
                    }
                    Err(_) => (None, None),
                };
                let failed = status != Some(200);
                sent.borrow_mut().push(Sent {
                    at,
                    progress,
                    status,
                    code,
                });
                if failed {
                    // A client that failed waits a little, as KOReader does.
                    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    let restarts = {
        let cluster = cluster.clone();
        async move {
            let mut back = vec![];
            for fraction in [0.25, 0.6] {
                let at = started + Duration::from_secs_f64(seconds as f64 * fraction);
                actix_web::rt::time::sleep_until(at.into()).await;
                let c = cluster.clone();
                actix_web::rt::task::spawn_blocking(move || pg("stop", &c))
                    .await
                    .unwrap();
                actix_web::rt::time::sleep(DOWN_FOR).await;
                let c = cluster.clone();
                actix_web::rt::task::spawn_blocking(move || pg("start", &c))
                    .await
                    .unwrap();
                back.push(Instant::now());
            }
            back
        }
    };
    let (_, back) = tokio::join!(join_all(clients), restarts);

    let sent = sent.borrow();
    let ok: Vec<&Sent> = sent.iter().filter(|s| s.status == Some(200)).collect();
    let hung = sent.iter().filter(|s| s.status.is_none()).count();
    let outage = sent
        .iter()
        .filter(|s| s.status.is_some_and(|st| st != 200))
        .count();
    let wrong_error = sent
        .iter()
        .filter(|s| {
            s.status.is_some_and(|st| st != 200) && !(s.status == Some(502) && s.code == Some(2000))
        })
        .count();
    // Every acknowledged report is in the history.
    let progresses: Vec<String> = ok.iter().map(|s| s.progress.clone()).collect();
    let mut conn = app.db.conn();
    let kept = diesel::RunQueryDsl::get_result::<crate::Count>(
        diesel::sql_query(
            "SELECT count(DISTINCT progress) AS n FROM reading_progress_history WHERE progress = ANY($1)",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&progresses),
        &mut conn,
    )
    .unwrap()
    .n;
    let lost = ok.len() as i64 - kept;
    // Recovery: from the database being back to the first acknowledged report sent after.
    let recovery: Vec<f64> = back
        .iter()
        .map(|b| {
            ok.iter()
                .filter(|s| s.at >= *b)
                .map(|s| s.at.duration_since(*b).as_secs_f64())
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let worst = recovery.iter().copied().fold(0.0, f64::max);
    figures.row(
        &format!("{CLIENTS} clients PUT for {seconds} s, PostgreSQL restarted twice: reports sent"),
        sent.len() as f64,
        "",
        !sent.is_empty(),
    );
    figures.row("  acknowledged (200)", ok.len() as f64, "", !ok.is_empty());
    figures.row(
        "  acknowledged but missing from the history",
        lost as f64,
        "0",
        lost == 0,
    );
    figures.row("  refused during the outages", outage as f64, "", true);
    figures.row(
        "  refused other than 502/2000",
        wrong_error as f64,
        "0",
        wrong_error == 0,
    );
    figures.row(
        "  no answer within 10 s (hangs)",
        hung as f64,
        "0",
        hung == 0,
    );
    figures.row(
        "  seconds from the database back to serving (worst)",
        (worst * 100.0).round() / 100.0,
        "<= 5",
        worst <= 5.0,
    );
}
