//! Abuse and secrets: failed logins limited per address and per username in each
//! protocol's own error format, without locking out a household (a stale key repeated counts
//! once; an address where an account signed in is still checked), and no secret in any log
//! line.

use std::time::Duration;

use crate::common::{basic, TestApp, TestClock, KEY};

const WRONG: &str = "0123456789abcdef0123456789abcdef";

/// A new wrong key each time `n` differs.
fn guess(n: usize) -> String {
    format!("{:032x}", n + 1)
}

/// A KoSync auth from `addr` (through a trusted proxy): (status, Retry-After, body).
async fn kosync_auth(app: &TestApp, addr: &str, user: &str, key: &str) -> (u16, String, String) {
    let r = app
        .raw(
            "GET",
            "/users/auth",
            None,
            &[
                ("x-forwarded-for", addr),
                ("x-auth-user", user),
                ("x-auth-key", key),
                ("accept", "application/vnd.koreader.v1+json"),
            ],
        )
        .await;
    (
        r.status,
        r.header("retry-after"),
        String::from_utf8_lossy(&r.body).into_owned(),
    )
}

/// The status of a KoSync auth from `addr`.
async fn status(app: &TestApp, addr: &str, user: &str, key: &str) -> u16 {
    kosync_auth(app, addr, user, key).await.0
}

/// A server allowing 3 failed logins a minute, behind a trusted proxy, its throttle on
/// `clock`, with the KoSync accounts ann and bob.
async fn ann_and_bob(clock: &TestClock) -> TestApp {
    let app = TestApp::builder()
        .auth_failures_per_minute(3)
        .trust_proxy()
        .throttle_clock(clock)
        .start();
    for user in ["ann", "bob"] {
        assert_eq!(app.create_user(user, KEY).await.status, 201);
    }
    app
}

#[actix_web::test]
async fn failed_logins_are_limited_per_address_and_per_username() {
    let app = ann_and_bob(&TestClock::new()).await;
    // Successes are never counted. ann's reader at home signs in.
    for _ in 0..10 {
        assert_eq!(status(&app, "10.0.0.1", "ann", KEY).await, 200);
    }
    // Someone at 10.0.0.9 guesses ann's key: three new guesses are checked...
    for n in 0..3 {
        assert_eq!(status(&app, "10.0.0.9", "ann", &guess(n)).await, 401);
    }
    // ...the fourth is refused before the key is looked at, right or wrong.
    let (status_code, retry, body) = kosync_auth(&app, "10.0.0.9", "ann", &guess(3)).await;
    assert_eq!(status_code, 429, "{body}");
    let seconds: u64 = retry.parse().unwrap();
    assert!((1..=60).contains(&seconds), "{retry}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], 2007, "KoSync's own error format: {body}");
    assert_eq!(status(&app, "10.0.0.9", "ann", KEY).await, 429);
    // ann from a new address: the username is over its limit.
    assert_eq!(status(&app, "10.0.0.2", "ann", KEY).await, 429);
    // That address for anyone: over its limit.
    assert_eq!(status(&app, "10.0.0.9", "bob", KEY).await, 429);
    // Someone else elsewhere is not touched.
    assert_eq!(status(&app, "10.0.0.2", "bob", KEY).await, 200);
    // ann at home signed in there before: still checked, let in with the right key, told
    // a wrong one is wrong.
    assert_eq!(status(&app, "10.0.0.1", "ann", KEY).await, 200);
    assert_eq!(status(&app, "10.0.0.1", "ann", &guess(10)).await, 401);
    // A client cannot pick its address: only the proxy's last entry counts.
    assert_eq!(status(&app, "10.0.0.1, 10.0.0.9", "bob", KEY).await, 429);
    assert_eq!(status(&app, "10.0.0.9, 10.0.0.1", "ann", KEY).await, 200);
}

#[actix_web::test]
async fn a_stale_key_pushed_again_and_again_locks_out_no_one() {
    let app = ann_and_bob(&TestClock::new()).await;
    // A device of ann's still holds an old key and keeps pushing progress with it.
    for _ in 0..20 {
        let r = app
            .call_with(
                "PUT",
                "/syncs/progress",
                Some(("ann", WRONG)),
                Some(r#"{"document":"d1","progress":"p","percentage":0.5,"device":"old"}"#),
                &[("x-forwarded-for", "10.0.0.1")],
            )
            .await;
        assert_eq!(r.error(), (401, 2001), "told it is wrong, never to wait");
    }
    // ann's other device, bob, and ann elsewhere are not refused.
    assert_eq!(status(&app, "10.0.0.1", "ann", KEY).await, 200);
    assert_eq!(status(&app, "10.0.0.1", "bob", KEY).await, 200);
    assert_eq!(status(&app, "10.0.0.2", "ann", KEY).await, 200);
    // New secrets still count: with the stale one, two guesses reach the limit.
    for n in 0..2 {
        assert_eq!(status(&app, "10.0.0.1", "ann", &guess(n)).await, 401);
    }
    assert_eq!(
        status(&app, "10.0.0.1", "carol", KEY).await,
        429,
        "the address, for an account that never signed in there"
    );
    assert_eq!(
        status(&app, "10.0.0.3", "ann", KEY).await,
        429,
        "the username, from an address it never signed in from"
    );
    assert_eq!(
        status(&app, "10.0.0.1", "ann", KEY).await,
        429,
        "the pair itself guessed three times"
    );
    assert_eq!(status(&app, "10.0.0.1", "bob", KEY).await, 200);
    assert_eq!(status(&app, "10.0.0.2", "ann", KEY).await, 200);
}

#[actix_web::test]
async fn a_sign_in_is_trusted_for_30_days_and_nothing_else_is() {
    let clock = TestClock::new();
    let app = ann_and_bob(&clock).await;
    assert_eq!(status(&app, "10.0.0.1", "ann", KEY).await, 200);
    // A request refused before its key is checked (a body over KoSync's limit) is no
    // sign-in, whatever key it carries.
    let r = app
        .call_with(
            "PUT",
            "/syncs/progress",
            Some(("ann", KEY)),
            Some(&format!(r#"{{"document":"{}"}}"#, "d".repeat(70_000))),
            &[("x-forwarded-for", "10.0.0.5")],
        )
        .await;
    assert_eq!(r.status, 413);
    let mut guesses = 0..;
    let mut hold_ann = async || {
        for _ in 0..3 {
            let n = guesses.next().unwrap();
            assert_eq!(status(&app, "10.0.0.9", "ann", &guess(n)).await, 401);
        }
        assert_eq!(status(&app, "10.0.0.7", "ann", KEY).await, 429);
    };
    hold_ann().await;
    assert_eq!(status(&app, "10.0.0.1", "ann", KEY).await, 200);
    assert_eq!(status(&app, "10.0.0.5", "ann", KEY).await, 429);
    // A minute later the username is free again.
    clock.advance(Duration::from_secs(61));
    assert_eq!(status(&app, "10.0.0.2", "ann", KEY).await, 200);
    // Signed in (at .1, and at .2 since) 29 days ago: still trusted.
    clock.advance(Duration::from_secs(29 * 24 * 3600));
    hold_ann().await;
    assert_eq!(status(&app, "10.0.0.1", "ann", KEY).await, 200);
    assert_eq!(
        status(&app, "10.0.0.2", "ann", KEY).await,
        200,
        "that one, too"
    );
    // That sign-in renewed it; 31 days without one, it is forgotten.
    clock.advance(Duration::from_secs(31 * 24 * 3600));
    hold_ann().await;
    assert_eq!(status(&app, "10.0.0.1", "ann", KEY).await, 429);
}

#[actix_web::test]
async fn opds_and_api_logins_are_limited_in_their_own_formats() {
    let app = TestApp::builder().auth_failures_per_minute(3).start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    app.set_credential(&reader, "opds", "ann", "right-pw").await;
    let opds = async |user: &str, password: &str| {
        let auth = basic(user, password);
        app.raw("GET", "/opds", None, &[("authorization", auth.as_str())])
            .await
    };
    // Requests without credentials (an OPDS app's first look) are not failures.
    for _ in 0..5 {
        assert_eq!(app.raw("GET", "/opds", None, &[]).await.status, 401);
    }
    assert_eq!(app.raw("GET", "/opds", Some(&admin), &[]).await.status, 200);
    // KOReader sends two requests a tap: five taps with a wrong password, then the right one.
    for _ in 0..10 {
        assert_eq!(opds("ann", "wrong-pw").await.status, 401);
    }
    assert_eq!(opds("ann", "right-pw").await.status, 200);
    // Two guesses at another account make three failures from this address.
    for password in ["g1", "g2"] {
        assert_eq!(opds("carl", password).await.status, 401);
    }
    let r = opds("carl", "g3").await;
    assert_eq!(r.status, 429);
    assert!(!r.header("retry-after").is_empty());
    assert!(r.header("content-type").starts_with("text/plain"));
    // ann signed in from here: still checked.
    assert_eq!(opds("ann", "right-pw").await.status, 200);
    // The address is over its limit for the API as well, in the API's format...
    let r = app.api("GET", "/api/keys", Some(WRONG), None).await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.body["error"], "too_many_requests");
    // ...but not for a key that signed in from it; a key that never did waits.
    let r = app.api("GET", "/api/keys", Some(&admin), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let (_, fresh) = app.reader_key(&admin, "bob").await;
    let r = app.api("GET", "/api/reading", Some(&fresh), None).await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    // Routes that need no credentials still answer.
    let r = app.api("GET", "/api/health", None, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[actix_web::test]
async fn rest_answers_are_neither_cached_nor_sniffed() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    for (path, key, status) in [
        ("/api/keys", Some(admin.as_str()), 200),
        ("/api/keys", None, 401),
        ("/api/nothing-here", Some(admin.as_str()), 404),
        ("/api/health", None, 200),
    ] {
        let r = app.raw("GET", path, key, &[]).await;
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(r.header("cache-control"), "no-store", "{path}");
    }
}

#[actix_web::test]
async fn no_secret_reaches_a_log_line() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    let kosync_password = "kosync-pass-7Qw9-unique";
    let kosync_key = libris::auth::md5_hex(kosync_password);
    let opds_password = "opds-pass-3Zr8-unique";
    app.set_credential(&reader, "kosync", "ann", kosync_password)
        .await;
    app.set_credential(&reader, "opds", "ann-opds", opds_password)
        .await;
    let wrong_key = "f00dfeedf00dfeedf00dfeedf00dfeed";
    for key in [kosync_key.as_str(), wrong_key] {
        app.auth("ann", key).await;
        app.put_progress(
            "ann",
            key,
            serde_json::json!({ "document": "d1", "progress": "p", "percentage": 0.3, "device": "kobo" }),
        )
        .await;
        app.get_progress("ann", key, "d1").await;
    }
    for password in [opds_password, "opds-wrong-5Tt1-unique"] {
        let basic = basic("ann-opds", password);
        app.raw("GET", "/opds", None, &[("authorization", basic.as_str())])
            .await;
    }
    let wrong_api_key = "9".repeat(64);
    for key in [admin.as_str(), reader.as_str(), wrong_api_key.as_str()] {
        app.api("GET", "/api/keys", Some(key), None).await;
        app.raw("GET", "/opds", Some(key), &[]).await;
    }
    let logs = crate::common::logs::captured();
    assert!(logs.contains("/syncs/progress"), "the session was logged");
    for secret in [
        admin.as_str(),
        reader.as_str(),
        kosync_password,
        kosync_key.as_str(),
        wrong_key,
        opds_password,
        "opds-wrong-5Tt1-unique",
        wrong_api_key.as_str(),
    ] {
        assert!(!logs.contains(secret), "a log line holds {secret}");
    }
}

#[actix_web::test]
async fn hostile_file_paths_and_signatures_read_nothing() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let book = crate::library::upload_one(&app, &admin, "lighthouse-epub2.epub").await;
    let r = app
        .api(
            "POST",
            &format!("/api/books/{book}/approve"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let secret = std::fs::read(app.data.path().join("secret")).unwrap_or_default();
    let entry = app
        .raw("GET", &format!("/opds/books/{book}"), Some(&admin), &[])
        .await;
    let entry = String::from_utf8_lossy(&entry.body).into_owned();
    let cover = entry
        .split('"')
        .find(|s| s.contains("/opds/covers/"))
        .expect("a cover link")
        .replace("&amp;", "&");
    let cover_path = cover[cover.find("/opds/").unwrap()..].to_owned();
    assert_eq!(app.raw("GET", &cover_path, None, &[]).await.status, 200);
    // /opds/covers/{id}/{version}/{kind}/{signature}.{ext}
    let (dir, file) = cover_path.rsplit_once('/').unwrap();
    let mut tampered = file.to_owned().into_bytes();
    tampered[0] = if tampered[0] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    let (id_version, kind) = dir.rsplit_once('/').unwrap();
    let hostile = [
        format!("{dir}/{tampered}"),
        format!("{id_version}/thumbnail/{file}"),
        format!("{id_version}/..%2F..%2Fsecret/{file}"),
        format!("{dir}/..%2F..%2Fsecret"),
        format!("{dir}/%2e%2e%2f%2e%2e%2fsecret"),
        format!("{dir}/%00{file}"),
        format!("{id_version}/{kind}%00/{file}"),
        format!("/opds/books/{book}/files/%2e%2e%2f%2e%2e%2fsecret/x"),
        format!("/opds/books/{book}/files/..%2F..%2Fsecret/secret"),
        "/opds/books/%2Fetc%2Fpasswd/files/x/y".to_owned(),
        format!("/opds/books/{book}/files/%00/x"),
        "/opds/pse/..%2F..%2Fsecret/0".to_owned(),
        "/opds/pse/%2Fetc%2Fpasswd/0".to_owned(),
        format!("/api/books/{book}/files/..%2F..%2Fsecret"),
        format!("/api/books/{book}/files/%2Fetc%2Fpasswd"),
        format!("/api/books/{book}/files/%00"),
        "/api/books/%2e%2e/cover".to_owned(),
        "/api/books/..%2F..%2Fsecret/cover".to_owned(),
    ];
    for path in &hostile {
        let r = app.raw("GET", path, Some(&admin), &[]).await;
        assert!(matches!(r.status, 400 | 403 | 404), "{path}: {}", r.status);
        assert!(
            secret.is_empty() || !r.body.windows(secret.len()).any(|w| w == secret),
            "{path} served the secret"
        );
        assert!(
            !String::from_utf8_lossy(&r.body).contains("root:"),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn nul_characters_in_rest_bodies_are_client_errors() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let book = crate::library::upload_one(&app, &admin, "lighthouse-epub2.epub").await;
    for (method, path, body) in [
        (
            "PATCH",
            format!("/api/books/{book}"),
            serde_json::json!({ "title": "a\u{0}b" }),
        ),
        (
            "PATCH",
            format!("/api/books/{book}"),
            serde_json::json!({ "genres": ["a\u{0}"] }),
        ),
        (
            "POST",
            "/api/keys".to_owned(),
            serde_json::json!({ "label": "a\u{0}b" }),
        ),
        (
            "PUT",
            "/api/credentials/opds".to_owned(),
            serde_json::json!({ "username": "a\u{0}", "password": "p" }),
        ),
        (
            "PUT",
            "/api/credentials/opds".to_owned(),
            serde_json::json!({ "username": "ann", "password": "p\u{0}" }),
        ),
        (
            "PUT",
            "/api/credentials/hardcover".to_owned(),
            serde_json::json!({ "token": "t\u{0}k" }),
        ),
        (
            "POST",
            format!("/api/books/{book}/documents"),
            serde_json::json!({ "document": "d\u{0}" }),
        ),
        (
            "POST",
            format!("/api/books/{book}/approve"),
            serde_json::json!({ "fields": { "title": "t\u{0}" } }),
        ),
    ] {
        let r = app
            .api(method, &path, Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{method} {path} {body}: {:?}", r.body);
    }
    let r = app
        .api("GET", &format!("/api/books/{book}"), Some(&admin), None)
        .await;
    assert_eq!(
        r.body["status"], "review",
        "the failed approval changed nothing"
    );
}

#[actix_web::test]
async fn a_body_trickled_a_byte_at_a_time_is_cut_off() {
    use std::io::{Read, Write};
    let app = TestApp::builder()
        .body_grace(std::time::Duration::from_millis(500))
        .start();
    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    let addr = app.server.addr();
    // The trickle runs on a thread of its own: the server lives on this test's runtime.
    let trickle = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_millis(100)))
            .unwrap();
        s.write_all(
            format!(
                "PUT /syncs/progress HTTP/1.1\r\nHost: x\r\nx-auth-user: ann\r\nx-auth-key: {KEY}\r\n\
                 content-type: application/json\r\ncontent-length: 300\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .unwrap();
        let mut answer = Vec::new();
        // 300 bytes at 10 a second would take 30 s.
        for sent in 0..300 {
            let mut buf = [0u8; 1024];
            match s.read(&mut buf) {
                Ok(0) => return (sent, answer),
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    return (sent, answer);
                }
                Err(_) => {}
            }
            if s.write_all(b" ").is_err() {
                return (sent, answer);
            }
        }
        (300, answer)
    });
    let (sent, answer) = actix_web::rt::task::spawn_blocking(move || trickle.join().unwrap())
        .await
        .unwrap();
    assert!(sent < 300, "the server read the whole trickle");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "a client error or a closed connection: {answer}"
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        0
    );
}
