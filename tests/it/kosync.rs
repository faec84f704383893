//! The KoSync protocol, including every case of the official server's own test suite.

use serde_json::json;

use crate::common::{TestApp, KEY};

const OTHER: &str = "0d107d09f5bbe40cade3de5c71e9e9b7"; // md5("letmein")

fn report(document: &str, percentage: f64, device: &str) -> serde_json::Value {
    json!({ "document": document, "progress": "/body/p[1]", "percentage": percentage, "device": device })
}

// --- the official suite: create -------------------------------------------------------

#[actix_web::test]
async fn create_new_user_then_duplicate() {
    let app = TestApp::start();
    let r = app.create_user("ann", KEY).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body, json!({ "username": "ann" }));
    assert_eq!(r.content_type, "application/json");
    assert_eq!(app.create_user("ann", OTHER).await.error(), (402, 2002));
    assert_eq!(app.db.count("SELECT count(*) FROM service_credentials"), 1);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM api_keys WHERE label = 'kosync:ann' AND NOT is_admin"),
        1
    );
}

#[actix_web::test]
async fn create_validates_fields() {
    let app = TestApp::start();
    for body in [
        json!({ "username": "", "password": KEY }),
        json!({ "username": "a:b", "password": KEY }),
        json!({ "username": 5, "password": KEY }),
        json!({ "username": "x".repeat(256), "password": KEY }),
        json!({ "username": "ann", "password": "" }),
        json!({ "username": "ann", "password": 5 }),
        json!({ "username": "ann" }),
    ] {
        let r = app
            .call("POST", "/users/create", None, Some(&body.to_string()))
            .await;
        assert_eq!(r.error(), (403, 2003), "{body}");
    }
    let r = app.call("POST", "/users/create", None, None).await;
    assert_eq!(r.error(), (403, 2003));
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 0);
    // A unicode name is fine.
    assert_eq!(app.create_user("zoë 读者", KEY).await.status, 201);
}

#[actix_web::test]
async fn registration_off_refuses_before_validation() {
    let app = TestApp::builder().registration(false).start();
    assert_eq!(app.create_user("ann", KEY).await.error(), (402, 2005));
    let r = app
        .call("POST", "/users/create", None, Some("{not json"))
        .await;
    assert_eq!(r.error(), (402, 2005));
    assert_eq!(r.body["message"], "User registration is disabled.");
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 0);
}

// --- auth -------------------------------------------------------------------------------

#[actix_web::test]
async fn auth_empty_wrong_and_right_key() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    assert_eq!(app.auth("ann", "").await.error(), (401, 2001));
    assert_eq!(app.auth("ann", OTHER).await.error(), (401, 2001));
    assert_eq!(app.auth("nobody", KEY).await.error(), (401, 2001));
    assert_eq!(
        app.call("GET", "/users/auth", None, None).await.error(),
        (401, 2001)
    );
    let r = app.auth("ann", KEY).await;
    assert_eq!((r.status, r.body), (200, json!({ "authorized": "OK" })));
    // Other clients send the plain password.
    assert_eq!(app.auth("ann", "password").await.status, 200);
}

// --- sync -------------------------------------------------------------------------------

#[actix_web::test]
async fn sync_wrong_key_put_get_unknown_and_other_device() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    assert_eq!(
        app.put_progress("ann", OTHER, report("doc1", 0.3, "kobo"))
            .await
            .error(),
        (401, 2001)
    );
    assert_eq!(
        app.get_progress("ann", OTHER, "doc1").await.error(),
        (401, 2001)
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        0
    );

    let r = app
        .put_progress("ann", KEY, report("doc1", 0.3, "kobo"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["document"], "doc1");
    let ts = r.body["timestamp"].as_i64().expect("a numeric timestamp");
    assert!((ts - chrono::Utc::now().timestamp()).abs() < 5);

    assert_eq!(
        app.get_progress("ann", KEY, "unknown").await.body,
        json!({})
    );
    assert_eq!(
        app.get_progress("nobody", KEY, "doc1").await.error(),
        (401, 2001)
    );
    assert_eq!(
        app.get_progress("ann", KEY, "a:b").await.error(),
        (403, 2004)
    );
    assert_eq!(
        app.get_progress("ann", OTHER, "a:b").await.error(),
        (401, 2001)
    );

    let r = app.get_progress("ann", KEY, "doc1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["document"], "doc1");
    assert_eq!(r.body["percentage"], json!(0.3));
    assert_eq!(r.body["progress"], "/body/p[1]");
    assert_eq!(r.body["device"], "kobo");
    assert_eq!(r.body["timestamp"], json!(ts));
    assert!(
        r.body.get("device_id").is_none(),
        "no device_id when none was sent: {}",
        r.body
    );

    // A later report with a lower percentage from another device wins.
    app.put_progress("ann", KEY, report("doc1", 0.1, "phone"))
        .await;
    let r = app.get_progress("ann", KEY, "doc1").await;
    assert_eq!(
        (r.body["device"].as_str(), r.body["percentage"].as_f64()),
        (Some("phone"), Some(0.1))
    );
}

#[actix_web::test]
async fn readers_do_not_see_each_others_progress() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    app.create_user("bob", KEY).await;
    app.put_progress("ann", KEY, report("doc1", 0.3, "kobo"))
        .await;
    assert_eq!(app.get_progress("bob", KEY, "doc1").await.body, json!({}));
}

#[actix_web::test]
async fn put_validation() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    let cases = [
        (
            json!({ "progress": "p", "percentage": 0.5, "device": "d" }),
            2004,
        ),
        (
            json!({ "document": "", "progress": "p", "percentage": 0.5, "device": "d" }),
            2004,
        ),
        (
            json!({ "document": "a:b", "progress": "p", "percentage": 0.5, "device": "d" }),
            2004,
        ),
        (
            json!({ "document": "d".repeat(513), "progress": "p", "percentage": 0.5, "device": "d" }),
            2004,
        ),
        (
            json!({ "document": "doc", "progress": "p", "device": "d" }),
            2003,
        ),
        (
            json!({ "document": "doc", "progress": "p", "percentage": -0.1, "device": "d" }),
            2003,
        ),
        (
            json!({ "document": "doc", "progress": "p", "percentage": "half", "device": "d" }),
            2003,
        ),
        (
            json!({ "document": "doc", "percentage": 0.5, "device": "d" }),
            2003,
        ),
        (
            json!({ "document": "doc", "progress": "p", "percentage": 0.5 }),
            2003,
        ),
        (
            json!({ "document": "doc", "progress": "p".repeat(4097), "percentage": 0.5, "device": "d" }),
            2003,
        ),
        (
            json!({ "document": "doc", "progress": "p", "percentage": 0.5, "device": "d".repeat(256) }),
            2003,
        ),
    ];
    for (body, code) in cases {
        assert_eq!(
            app.put_progress("ann", KEY, body.clone()).await.error(),
            (403, code),
            "{body}"
        );
    }
    let r = app
        .call("PUT", "/syncs/progress", Some(("ann", KEY)), None)
        .await;
    assert_eq!(r.error(), (403, 2003));
    assert_eq!(app.db.count("SELECT count(*) FROM reading_progress"), 0);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        0
    );
}

#[actix_web::test]
async fn body_errors_use_the_protocol_codes() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    let r = app
        .call(
            "PUT",
            "/syncs/progress",
            Some(("ann", KEY)),
            Some("{\"document\": "),
        )
        .await;
    assert_eq!(r.error(), (400, 103));
    assert_eq!(r.body["message"], "Could not parse JSON in body.");
    let r = app
        .call("PUT", "/syncs/progress", Some(("ann", KEY)), Some("[1, 2]"))
        .await;
    assert_eq!(r.error(), (400, 104));
    let big = json!({ "document": "doc", "progress": "x".repeat(70_000), "percentage": 0.5, "device": "d" });
    let r = app.put_progress("ann", KEY, big).await;
    assert_eq!(r.error(), (413, 105));
    assert_eq!(r.content_type, "application/json");
    assert_eq!(app.db.count("SELECT count(*) FROM reading_progress"), 0);
}

#[actix_web::test]
async fn numbers_strings_device_id_and_metadata() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    let body = json!({
        "document": "doc", "progress": 42, "percentage": "0.5", "device": 7, "device_id": "DEV-1",
        "metadata": { "title": "Leaves", "authors": "Walt Whitman" }
    });
    assert_eq!(app.put_progress("ann", KEY, body).await.status, 200);
    let r = app.get_progress("ann", KEY, "doc").await;
    assert_eq!(r.body["progress"], "42");
    assert_eq!(r.body["device"], "7");
    assert_eq!(r.body["percentage"], json!(0.5));
    assert_eq!(r.body["device_id"], "DEV-1");
    assert!(
        r.body.get("metadata").is_none(),
        "metadata is stored, not echoed"
    );
    assert_eq!(
        app.db.count("SELECT count(*) FROM reading_progress WHERE raw_payload->'metadata'->>'title' = 'Leaves'"),
        1
    );

    // device_id is kept when a later report omits it.
    let body = json!({ "document": "doc", "progress": "p2", "percentage": 1, "device": "7" });
    app.put_progress("ann", KEY, body).await;
    let r = app.get_progress("ann", KEY, "doc").await;
    assert_eq!(r.body["device_id"], "DEV-1");
    assert_eq!(r.body["progress"], "p2");
    // Whole percentages come back without ".0".
    assert_eq!(serde_json::to_string(&r.body["percentage"]).unwrap(), "1");
}

#[actix_web::test]
async fn ids_with_dashes_and_dots_round_trip() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    for doc in [
        "my-book.epub",
        "a.b-c_d",
        "0123456789abcdef0123456789abcdef",
    ] {
        assert_eq!(
            app.put_progress("ann", KEY, report(doc, 0.2, "kobo"))
                .await
                .status,
            200
        );
        let r = app.get_progress("ann", KEY, doc).await;
        assert_eq!(r.body["document"], doc, "{doc}");
    }
    // A percent-encoded path is decoded: "é" stored, "%C3%A9" asked for.
    app.put_progress("ann", KEY, report("café", 0.4, "kobo"))
        .await;
    assert_eq!(
        app.get_progress("ann", KEY, "caf%C3%A9").await.body["percentage"],
        json!(0.4)
    );
    // Reserved characters travel encoded and come back decoded.
    for (stored, asked) in [("a/b", "a%2Fb"), ("100%", "100%25"), ("a b+c", "a%20b%2Bc")] {
        app.put_progress("ann", KEY, report(stored, 0.6, "kobo"))
            .await;
        let r = app.get_progress("ann", KEY, asked).await;
        assert_eq!(r.body["document"], stored, "{asked}");
    }
}

#[actix_web::test]
async fn kosync_prefix_behaves_like_the_root() {
    let app = TestApp::start();
    let r = app
        .call(
            "POST",
            "/kosync/users/create",
            None,
            Some(&json!({"username": "ann", "password": KEY}).to_string()),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        app.call("GET", "/kosync/users/auth", Some(("ann", KEY)), None)
            .await
            .status,
        200
    );
    let body = report("doc", 0.25, "kobo").to_string();
    assert_eq!(
        app.call(
            "PUT",
            "/kosync/syncs/progress",
            Some(("ann", KEY)),
            Some(&body)
        )
        .await
        .status,
        200
    );
    let r = app
        .call(
            "GET",
            "/kosync/syncs/progress/doc",
            Some(("ann", KEY)),
            None,
        )
        .await;
    assert_eq!(r.body["percentage"], json!(0.25));
    assert_eq!(
        app.call("GET", "/kosync/healthcheck", None, None)
            .await
            .body,
        json!({ "state": "OK" })
    );
    assert_eq!(
        app.call("GET", "/healthcheck", None, None).await.body,
        json!({ "state": "OK" })
    );
}

#[actix_web::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = TestApp::start();
    let r = app.call("GET", "/nope", None, None).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (404, "application/json")
    );
    let r = app.call("POST", "/healthcheck", None, None).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (405, "application/json")
    );
    let r = app
        .call("DELETE", "/kosync/syncs/progress", None, None)
        .await;
    assert_eq!(r.status, 405);
}

// --- Accept -------------------------------------------------------------------------------

#[actix_web::test]
async fn accept_is_lenient_by_default_and_official_when_strict() {
    let lenient = TestApp::start();
    assert_eq!(
        lenient.call("GET", "/healthcheck", None, None).await.status,
        200
    );

    let app = TestApp::builder().strict_accept(true).start();
    assert_eq!(
        app.call("GET", "/healthcheck", None, None).await.error(),
        (412, 100)
    );
    let with = |accept: &'static str| [("accept", accept)];
    let r = app
        .call_with("GET", "/healthcheck", None, None, &with("application/json"))
        .await;
    assert_eq!(r.error(), (412, 101));
    let r = app
        .call_with(
            "GET",
            "/healthcheck",
            None,
            None,
            &with("application/vnd.koreader.v2+json"),
        )
        .await;
    assert_eq!(r.error(), (412, 102));
    let r = app
        .call_with(
            "GET",
            "/healthcheck",
            None,
            None,
            &with("application/vnd.koreader.v1+json"),
        )
        .await;
    assert_eq!(r.status, 200);
    let body = json!({"username": "ann", "password": KEY}).to_string();
    let r = app
        .call_with(
            "POST",
            "/users/create",
            None,
            Some(&body),
            &with("application/vnd.koreader.v1+json"),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.content_type, "application/json", "never the vendor type");
}

// --- delete ---------------------------------------------------------------------------------

#[actix_web::test]
async fn delete_account() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    app.put_progress("ann", KEY, report("doc", 0.5, "kobo"))
        .await;

    assert_eq!(
        app.call("DELETE", "/users/me", Some(("ann", OTHER)), None)
            .await
            .error(),
        (401, 2001)
    );
    assert_eq!(app.auth("ann", KEY).await.status, 200);

    let r = app
        .call("DELETE", "/users/me", Some(("ann", KEY)), None)
        .await;
    assert_eq!((r.status, r.body), (200, json!({ "deleted": true })));
    assert_eq!(app.auth("ann", KEY).await.error(), (401, 2001));
    assert_eq!(
        app.call("DELETE", "/users/me", Some(("ann", KEY)), None)
            .await
            .error(),
        (404, 2006)
    );
    for table in [
        "api_keys",
        "service_credentials",
        "reading_progress",
        "reading_progress_history",
    ] {
        assert_eq!(
            app.db.count(&format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }

    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    assert_eq!(app.get_progress("ann", KEY, "doc").await.body, json!({}));
}

#[actix_web::test]
async fn delete_keeps_a_reader_that_has_other_credentials() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    let mut conn = app.db.conn();
    let id: uuid::Uuid = {
        use diesel::prelude::*;
        use libris::db::schema::api_keys;
        api_keys::table
            .select(api_keys::id)
            .first(&mut conn)
            .unwrap()
    };
    let hash = libris::auth::Service::Opds.hash_password("pw").unwrap();
    libris::auth::credentials::set(&mut conn, "opds", id, "ann", &hash).unwrap();
    assert_eq!(
        app.call("DELETE", "/users/me", Some(("ann", KEY)), None)
            .await
            .status,
        200
    );
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 1);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM service_credentials WHERE service = 'kosync'"),
        0
    );
}

// --- password -------------------------------------------------------------------------------

#[actix_web::test]
async fn change_password() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    // Warm the cache with the old key: the change must still take effect at once.
    assert_eq!(app.auth("ann", KEY).await.status, 200);

    for body in ["{}", r#"{"password": ""}"#, r#"{"password": 12}"#] {
        let r = app
            .call("PUT", "/users/password", Some(("ann", KEY)), Some(body))
            .await;
        assert_eq!(r.error(), (403, 2003), "{body}");
    }
    let change = json!({ "password": OTHER }).to_string();
    let r = app
        .call(
            "PUT",
            "/users/password",
            Some(("ann", "wrong")),
            Some(&change),
        )
        .await;
    assert_eq!(r.error(), (401, 2001));
    assert_eq!(app.auth("ann", KEY).await.status, 200);

    let r = app
        .call("PUT", "/users/password", Some(("ann", KEY)), Some(&change))
        .await;
    assert_eq!((r.status, r.body), (200, json!({ "updated": true })));
    assert_eq!(app.auth("ann", KEY).await.error(), (401, 2001));
    assert_eq!(app.auth("ann", OTHER).await.status, 200);
}

#[actix_web::test]
async fn a_deleted_credential_fails_at_once_despite_the_cache() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    let put = || app.put_progress("ann", KEY, report("doc", 0.5, "kobo"));
    assert_eq!(app.auth("ann", KEY).await.status, 200);
    assert_eq!(put().await.status, 200);
    diesel::RunQueryDsl::execute(
        diesel::sql_query("DELETE FROM service_credentials"),
        &mut app.db.conn(),
    )
    .unwrap();
    assert_eq!(app.auth("ann", KEY).await.error(), (401, 2001));
    assert_eq!(put().await.error(), (401, 2001));
    assert_eq!(
        app.get_progress("ann", KEY, "doc").await.error(),
        (401, 2001)
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        1
    );
}

#[actix_web::test]
async fn a_changed_password_stops_warm_puts_at_once() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    let put = |key: &'static str| app.put_progress("ann", key, report("doc", 0.5, "kobo"));
    assert_eq!(put(KEY).await.status, 200);
    assert_eq!(put(KEY).await.status, 200); // warm
    let change = json!({ "password": OTHER }).to_string();
    let r = app
        .call("PUT", "/users/password", Some(("ann", KEY)), Some(&change))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(put(KEY).await.error(), (401, 2001));
    assert_eq!(put(OTHER).await.status, 200);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        3
    );
}

#[actix_web::test]
async fn warm_requests_do_no_bcrypt() {
    let app = TestApp::start();
    app.create_user("ann", KEY).await;
    app.put_progress("ann", KEY, report("doc", 0.1, "kobo"))
        .await;
    let before = app.state.verifier.stats();
    for i in 0..20 {
        assert_eq!(
            app.put_progress("ann", KEY, report("doc", i as f64 / 100.0, "kobo"))
                .await
                .status,
            200
        );
        assert_eq!(app.get_progress("ann", KEY, "doc").await.status, 200);
    }
    let after = app.state.verifier.stats();
    assert_eq!(after.bcrypt_verifications, before.bcrypt_verifications);
    assert_eq!(after.cache_hits - before.cache_hits, 40);
}
