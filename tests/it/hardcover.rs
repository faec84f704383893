//! Hardcover: the reader's token stored sealed and never shown, and the client's dealings
//! with Hardcover (against a local fake that records every request).

use serde_json::{json, Value};

use crate::common::fake_hardcover::{FakeHardcover, GOOD_TOKEN};
use crate::common::TestApp;

fn start() -> (FakeHardcover, TestApp) {
    let fake = FakeHardcover::start();
    let app = TestApp::builder().hardcover_url(&fake.url).start();
    (fake, app)
}

#[actix_web::test]
async fn the_token_is_kept_sealed_never_shown_and_checked_with_hardcover() {
    let (fake, app) = start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    let mut seen: Vec<Value> = vec![];

    let r = app
        .api("GET", "/api/hardcover/status", Some(&reader), None)
        .await;
    assert_eq!((r.status, r.body["token"].as_str()), (200, Some("missing")));
    assert!(fake.requests().is_empty(), "nothing to ask Hardcover");

    for bad in [
        json!({ "token": "  " }),
        json!({ "token": "Bearer " }),
        json!({ "tokn": "x" }),
    ] {
        let r = app
            .api(
                "PUT",
                "/api/credentials/hardcover",
                Some(&reader),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}");
    }
    // Pasted as Hardcover's settings page shows it.
    let r = app
        .api(
            "PUT",
            "/api/credentials/hardcover",
            Some(&reader),
            Some(json!({ "token": format!("Bearer {GOOD_TOKEN}") })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    seen.push(r.body.clone());
    let stored = app.db.count(
        "SELECT count(*) FROM service_credentials WHERE service = 'hardcover' \
         AND password_hash LIKE 'xchacha20poly1305:%'",
    );
    assert_eq!(stored, 1);
    let plain = app.db.count(&format!(
        "SELECT count(*) FROM service_credentials WHERE password_hash LIKE '%{GOOD_TOKEN}%'"
    ));
    assert_eq!(plain, 0, "never stored in the clear");

    let r = app
        .api("GET", "/api/credentials", Some(&reader), None)
        .await;
    assert!(r
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["service"] == "hardcover"));
    seen.push(r.body.clone());

    let r = app
        .api("GET", "/api/hardcover/status", Some(&reader), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token"], "valid", "{:?}", r.body);
    assert_eq!(r.body["account"], json!({ "id": 4242, "username": "ada" }));
    seen.push(r.body.clone());
    let asked = fake.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].authorization, format!("Bearer {GOOD_TOKEN}"));
    assert!(asked[0].body["query"].as_str().unwrap().contains("me"));

    // Hardcover says slow down once: libris waits as told and asks again.
    fake.script(vec![(429, vec![("retry-after", "1".into())], json!({}))]);
    let r = app
        .api("GET", "/api/hardcover/status", Some(&reader), None)
        .await;
    assert_eq!(r.body["token"], "valid", "{:?}", r.body);
    assert_eq!(
        fake.requests().len(),
        3,
        "the refused request and its retry"
    );

    // A token Hardcover does not know.
    let r = app
        .api(
            "PUT",
            "/api/credentials/hardcover",
            Some(&reader),
            Some(json!({ "token": "hc-token-revoked", "label": "ann's" })),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .api("GET", "/api/hardcover/status", Some(&reader), None)
        .await;
    assert_eq!(r.body["token"], "invalid", "{:?}", r.body);
    assert!(r.body["message"].as_str().is_some());
    seen.push(r.body.clone());

    for body in &seen {
        let text = body.to_string();
        assert!(
            !text.contains(GOOD_TOKEN) && !text.contains("hc-token-revoked"),
            "{text}"
        );
    }

    let r = app
        .api("DELETE", "/api/credentials/hardcover", Some(&reader), None)
        .await;
    assert_eq!(r.status, 204);
    let r = app
        .api("GET", "/api/hardcover/status", Some(&reader), None)
        .await;
    assert_eq!(r.body["token"], "missing");
}

#[actix_web::test]
async fn a_sealed_token_opens_only_for_its_reader_and_an_unreachable_hardcover_is_said() {
    let (fake, app) = start();
    let admin = app.admin_key().await;
    let (_, ann) = app.reader_key(&admin, "ann").await;
    let (bob_id, bob) = app.reader_key(&admin, "bob").await;
    let r = app
        .api(
            "PUT",
            "/api/credentials/hardcover",
            Some(&ann),
            Some(json!({ "token": GOOD_TOKEN })),
        )
        .await;
    assert_eq!(r.status, 200);
    // Someone with database access copies ann's sealed token into bob's row.
    let copied = diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO service_credentials (service, api_key_id, username, password_hash) \
             SELECT 'hardcover', '{bob_id}', 'bob', password_hash FROM service_credentials \
             WHERE service = 'hardcover'"
        )),
        &mut app.db.conn(),
    )
    .unwrap();
    assert_eq!(copied, 1);
    let r = app
        .api("GET", "/api/hardcover/status", Some(&bob), None)
        .await;
    assert_eq!(r.body["token"], "unreadable", "{:?}", r.body);
    assert!(
        fake.requests().is_empty(),
        "nothing sent for an unreadable token"
    );

    drop(fake);
    let r = app
        .api("GET", "/api/hardcover/status", Some(&ann), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token"], "unreachable", "{:?}", r.body);
}
