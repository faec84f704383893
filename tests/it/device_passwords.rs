//! Device passwords through HTTP: made on the connect page (shown once), each opens KoSync
//! (md5 key or plain, under the KoSync username), OPDS Basic and WebDAV (under any of the
//! reader's usernames) and records its last use; revoked, it is refused at once everywhere while the
//! reader's own logins keep working; bad labels change nothing.

use serde_json::json;

use crate::common::{basic, TestApp, KEY};
use crate::web_library::browser;
use libris::auth::md5_hex;

const DOC: &str = "0123456789abcdef0123456789abcdef";

/// The password shown once on the page a creation answered.
fn shown(html: &str) -> String {
    let start = html
        .find("id=\"new-device-password\">")
        .unwrap_or_else(|| panic!("no password shown: {html}"))
        + "id=\"new-device-password\">".len();
    html[start..start + 23].to_owned()
}

async fn opds_status(app: &TestApp, user: &str, password: &str) -> u16 {
    let auth = basic(user, password);
    app.raw("GET", "/opds", None, &[("authorization", &auth)])
        .await
        .status
}

async fn put(app: &TestApp, key: &str, percentage: f64) -> u16 {
    let body = json!({ "document": DOC, "progress": "/body/p[1]", "percentage": percentage,
        "device": "Kobo Libra", "device_id": "KOBO-1" });
    app.put_progress("ann", key, body).await.status
}

#[actix_web::test]
async fn a_device_password_opens_kosync_and_opds_until_it_is_revoked() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, key) = app.reader_key(&admin, "Ann").await;
    app.set_credential(&key, "kosync", "ann", KEY).await;
    app.set_credential(&key, "opds", "ann-opds", "opds secret")
        .await;
    let mut w = browser(&app, &key, "ann-web").await;
    w.get("/connect").await;

    let page = w
        .post("/connect/device-passwords", &[("label", " Kobo Libra ")])
        .await;
    assert_eq!(page.status, 201, "{}", page.html);
    let password = shown(&page.html);
    assert!(page.has("shown only this once"));
    // Never stored as given.
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM device_passwords WHERE key_sha256 = '{}' AND label = 'Kobo Libra'",
            libris::auth::device_passwords::key_sha256(&password)
        )),
        1
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM device_passwords WHERE key_sha256 LIKE '%{password}%'"
        )),
        0
    );
    // The list no longer shows it.
    let listed = w.get("/connect").await;
    assert!(listed.has("Kobo Libra") && !listed.has(&password));

    // KoSync: KOReader's md5 key, or the password itself, under the KoSync username only.
    let md5 = md5_hex(&password);
    assert_eq!(app.auth("ann", &md5).await.status, 200);
    assert_eq!(app.auth("ann", &password).await.status, 200);
    assert_eq!(app.auth("ann-web", &md5).await.status, 401);
    assert_eq!(put(&app, &md5, 0.25).await, 200);
    assert_eq!(put(&app, &md5, 0.5).await, 200, "the cached verification");
    let got = app.get_progress("ann", &password, DOC).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["percentage"], 0.5);
    // A device password changes no account.
    let changed = app
        .call(
            "PUT",
            "/users/password",
            Some(("ann", &md5)),
            Some(r#"{"password":"x"}"#),
        )
        .await;
    assert_eq!(changed.status, 401);
    let deleted = app
        .call("DELETE", "/users/me", Some(("ann", &md5)), None)
        .await;
    assert_eq!(deleted.status, 401);

    // OPDS: Basic under any of the reader's usernames.
    assert_eq!(opds_status(&app, "ann-opds", &password).await, 200);
    assert_eq!(opds_status(&app, "ann-web", &password).await, 200);
    assert_eq!(opds_status(&app, "ann", &password).await, 200);
    assert_eq!(opds_status(&app, "somebody", &password).await, 401);
    // WebDAV: the same.
    let dav = |password: String| {
        let app = &app;
        async move {
            let auth = basic("ann-opds", &password);
            app.send(
                "PROPFIND",
                "/dav/",
                &[("authorization", &auth), ("depth", "0")],
                vec![],
            )
            .await
            .status
        }
    };
    assert_eq!(dav(password.clone()).await, 207);

    // Its last use, and the device that used it, are recorded (off the request's path).
    let mut listed = json!(null);
    for _ in 0..50 {
        listed = app
            .api("GET", "/api/device-passwords", Some(&key), None)
            .await
            .body;
        if listed[0]["last_device_id"] == "KOBO-1" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(listed[0]["label"], "Kobo Libra", "{listed}");
    assert_eq!(listed[0]["last_device"], "Kobo Libra", "{listed}");
    assert!(listed[0]["last_used_at"].is_string(), "{listed}");
    let devices = w.get("/devices").await;
    assert!(
        devices.has("the device password <strong>Kobo Libra</strong>"),
        "{}",
        devices.html
    );

    // Another reader cannot revoke it.
    let (_, other) = app.reader_key(&admin, "Bob").await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let refused = app
        .api(
            "DELETE",
            &format!("/api/device-passwords/{id}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(refused.status, 404);

    let revoked = w
        .post(&format!("/connect/device-passwords/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, 303);
    // Refused at once, cached verification or not; the reader's own logins still work.
    assert_eq!(put(&app, &md5, 0.75).await, 401);
    assert_eq!(app.auth("ann", &md5).await.status, 401);
    assert_eq!(app.get_progress("ann", &md5, DOC).await.status, 401);
    assert_eq!(opds_status(&app, "ann-opds", &password).await, 401);
    assert_eq!(dav(password.clone()).await, 401);
    assert_eq!(put(&app, KEY, 0.75).await, 200);
    assert_eq!(opds_status(&app, "ann-opds", "opds secret").await, 200);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress WHERE percentage = 0.75"),
        1,
        "only the login's report was written"
    );
}

#[actix_web::test]
async fn bad_labels_get_errors_beside_the_field_and_change_nothing() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let mut w = browser(&app, &admin, "boss").await;
    w.get("/connect").await;
    let empty = w
        .post("/connect/device-passwords", &[("label", "   ")])
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.has("id=\"f-label-error\""), "{}", empty.html);
    let made = w
        .post("/connect/device-passwords", &[("label", "Phone")])
        .await;
    assert_eq!(made.status, 201);
    let twice = w
        .post("/connect/device-passwords", &[("label", "Phone")])
        .await;
    assert_eq!(twice.status, 422);
    assert!(twice.has("already have a password with this name"));
    assert!(!twice.has("id=\"new-device-password\""));
    let long = app
        .api(
            "POST",
            "/api/device-passwords",
            Some(&admin),
            Some(json!({ "label": "x".repeat(101) })),
        )
        .await;
    assert_eq!(long.status, 400, "{:?}", long.body);
    assert_eq!(app.db.count("SELECT count(*) FROM device_passwords"), 1);
    let bad_id = app
        .api(
            "DELETE",
            "/api/device-passwords/not-a-uuid",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(bad_id.status, 404);
}
