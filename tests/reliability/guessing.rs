//! Guessing against the login limits, and the households they must not lock out: 1,000
//! distinct wrong OPDS passwords, from one address and then from 1,000, are stopped while
//! the reader who signed in from home still gets in; a KoSync device pushing a stale key
//! every 10 s for 10 minutes locks out neither the account's other device nor a new account
//! on the same address. The throttle reads the time from a test clock: the minutes pass
//! without waiting for them (bcrypt still runs for every login checked).

use std::time::Duration;

use serde_json::json;

use crate::common::{basic, TestApp, TestClock, KEY};
use crate::Figures;

const GUESSES: usize = 1_000;
/// An attacker's pace: ten guesses a second.
const PACE: Duration = Duration::from_millis(100);
/// LIBRIS_AUTH_FAILURES_PER_MINUTE's default.
const LIMIT: u32 = 10;

/// A server allowing `limit` failed logins a minute, behind a trusted proxy (the tests pick
/// their addresses), its throttle on `clock`.
fn server(limit: u32, clock: &TestClock) -> TestApp {
    TestApp::builder()
        .auth_failures_per_minute(limit)
        .trust_proxy()
        .throttle_clock(clock)
        .start()
}

async fn opds(app: &TestApp, addr: &str, user: &str, password: &str) -> u16 {
    let auth = basic(user, password);
    app.raw(
        "GET",
        "/opds",
        None,
        &[("authorization", auth.as_str()), ("x-forwarded-for", addr)],
    )
    .await
    .status
}

async fn bcrypt_runs(app: &TestApp) -> u64 {
    let r = app.api("GET", "/api/health", None, None).await;
    r.body["auth"]["bcrypt_verifications"]
        .as_u64()
        .expect("the health check reports bcrypt verifications")
}

/// What a flood came to.
#[derive(Default)]
struct Flood {
    checked: u64,
    refused: u64,
    bcrypt: u64,
    /// Times the reader at home was refused the right password meanwhile.
    home_refused: u64,
}

/// `GUESSES` distinct wrong passwords for ann at `PACE`, from the address `from(i)`; ann's
/// own reader at home signs in every 100th guess.
async fn flood(app: &TestApp, clock: &TestClock, from: impl Fn(usize) -> String) -> Flood {
    let before = bcrypt_runs(app).await;
    let mut out = Flood::default();
    for i in 0..GUESSES {
        match opds(app, &from(i), "ann", &format!("guess-{i}")).await {
            401 => out.checked += 1,
            429 => out.refused += 1,
            other => panic!("a wrong password answered {other}"),
        }
        if i % 100 == 99 && opds(app, "10.1.0.1", "ann", "right-pw").await != 200 {
            out.home_refused += 1;
        }
        clock.advance(PACE);
    }
    // The reader at home was verified before the flood: its sign-ins are cached.
    out.bcrypt = bcrypt_runs(app).await - before;
    out
}

fn report(figures: &mut Figures, what: &str, flood: &Flood) {
    // Ten a minute, over the 100 s the flood lasts: two windows at most.
    let most = u64::from(LIMIT) * 2;
    figures.row(
        &format!(
            "1,000 distinct wrong OPDS passwords for one user, 10 a second, {what}: checked (401)"
        ),
        flood.checked as f64,
        &format!("≤ {most} (limit {LIMIT} a minute)"),
        flood.checked <= most && flood.checked > 0,
    );
    figures.row(
        "  refused with 429 before any bcrypt",
        flood.refused as f64,
        &format!("≥ {}", GUESSES as u64 - most),
        flood.refused >= GUESSES as u64 - most,
    );
    figures.row(
        "  bcrypt verifications during the flood",
        flood.bcrypt as f64,
        "= checked",
        flood.bcrypt == flood.checked,
    );
    figures.row(
        "  the reader who signed in from home before: refused",
        flood.home_refused as f64,
        "0",
        flood.home_refused == 0,
    );
}

async fn guessing(figures: &mut Figures) {
    let clock = TestClock::new();
    let app = server(LIMIT, &clock);
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    app.set_credential(&reader, "opds", "ann", "right-pw").await;
    assert_eq!(opds(&app, "10.1.0.1", "ann", "right-pw").await, 200);

    let one = flood(&app, &clock, |_| "10.9.0.1".to_owned()).await;
    report(figures, "from one address", &one);
    clock.advance(Duration::from_secs(61));
    let many = flood(&app, &clock, |i| {
        format!("10.20.{}.{}", i / 250, i % 250 + 1)
    })
    .await;
    report(figures, "from 1,000 addresses", &many);
}

/// A PUT /syncs/progress from `addr`.
async fn push(app: &TestApp, addr: &str, user: &str, key: &str, device: &str) -> u16 {
    let body = json!({ "document": "d1", "progress": "p", "percentage": 0.5, "device": device });
    app.call_with(
        "PUT",
        "/syncs/progress",
        Some((user, key)),
        Some(&body.to_string()),
        &[("x-forwarded-for", addr)],
    )
    .await
    .status
}

async fn stale_device(figures: &mut Figures) {
    // Stricter than the default: counted every time, six pushes a minute would lock the
    // address and the account after 50 s.
    const STRICT: u32 = 5;
    let clock = TestClock::new();
    let app = server(STRICT, &clock);
    for user in ["ann", "bob"] {
        assert_eq!(app.create_user(user, KEY).await.status, 201);
    }
    let stale = "0123456789abcdef0123456789abcdef";
    let home = "10.1.0.1";
    let (mut told_wrong, mut other_refused) = (0u32, 0u32);
    let pushes = 60u32;
    for _ in 0..pushes {
        if push(&app, home, "ann", stale, "old kobo").await == 401 {
            told_wrong += 1;
        }
        clock.advance(Duration::from_secs(5));
        if push(&app, home, "ann", KEY, "new kobo").await != 200 {
            other_refused += 1;
        }
        clock.advance(Duration::from_secs(5));
    }
    let bob = push(&app, home, "bob", KEY, "bob's phone").await;
    figures.row(
        &format!("a stale device PUTs a wrong key every 10 s for 10 min (limit {STRICT} a minute): answered 401"),
        f64::from(told_wrong),
        &format!("{pushes} (never 429)"),
        told_wrong == pushes,
    );
    figures.row(
        "  the account's other device, right key, same address: refused",
        f64::from(other_refused),
        "0",
        other_refused == 0,
    );
    figures.row(
        "  another account's first sign-in from that address afterwards",
        f64::from(bob),
        "200",
        bob == 200,
    );
}

pub async fn run(figures: &mut Figures) {
    guessing(figures).await;
    stale_device(figures).await;
}
