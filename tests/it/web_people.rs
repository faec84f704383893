//! The web app's people pages through HTTP: Readers (create one with a web login, their
//! logins, devices, revoking), Connect your devices, and Settings; who may see and post each,
//! and what hostile input does (nothing stored, no 5xx, escaped).

use serde_json::json;
use uuid::Uuid;

use crate::common::fake_hardcover::{FakeHardcover, GOOD_TOKEN};
use crate::common::web::{Page, WebClient};
use crate::common::{basic, TestApp, KEY};

const PASSWORD: &str = "ann's password";

/// The id of the key labelled `label`.
fn key_id(app: &TestApp, label: &str) -> Uuid {
    libris::auth::keys::list(&mut app.db.conn())
        .unwrap()
        .into_iter()
        .find(|k| k.label == label)
        .unwrap_or_else(|| panic!("no key {label}"))
        .id
}

fn keys(app: &TestApp) -> i64 {
    app.db.count("SELECT count(*) FROM api_keys")
}

/// Creates a reader through the Readers form, with a web login when `username` is given.
async fn create(w: &mut WebClient<'_>, label: &str, username: &str, admin: bool) -> Page {
    w.get("/readers").await;
    let mut fields = vec![
        ("label", label),
        ("username", username),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ];
    if username.is_empty() {
        fields.truncate(1);
    }
    if admin {
        fields.push(("is_admin", "true"));
    }
    w.post("/readers", &fields).await
}

/// A reader "Ann" with the web login "ann", and a browser signed in as her.
async fn ann<'a>(app: &'a TestApp, admin: &mut WebClient<'_>) -> (Uuid, WebClient<'a>) {
    let made = create(admin, "Ann", "ann", false).await;
    assert_eq!(made.status, 303, "{}", made.html);
    let id = key_id(app, "Ann");
    assert_eq!(made.location(), format!("/readers/{id}?done=created"));
    let mut w = WebClient::new(app);
    let signed = w.signin("ann", PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.html);
    (id, w)
}

/// Every id once: a label's `for` and an error's `aria-describedby` must name one element.
fn assert_unique_ids(page: &Page) {
    let mut seen = std::collections::BTreeSet::new();
    for part in page.html.split(" id=\"").skip(1) {
        let id = &part[..part.find('"').unwrap()];
        assert!(seen.insert(id.to_owned()), "id {id} twice");
    }
}

fn assert_field_error(page: &Page, field: &str) {
    assert!(
        page.has(&format!("id=\"f-{field}-error\"")),
        "no error for {field}: {}",
        page.html
    );
}

#[actix_web::test]
async fn readers_and_settings_are_for_admins_and_connect_for_everyone() {
    let app = TestApp::start();
    let mut admin = app.web_admin().await;
    let (ann_id, mut reader) = ann(&app, &mut admin).await;
    let admin_id = key_id(&app, "admin");

    let mut nobody = WebClient::new(&app);
    for path in [
        "/readers".to_owned(),
        format!("/readers/{ann_id}"),
        format!("/readers/{ann_id}/revoke"),
        "/settings".to_owned(),
        "/connect".to_owned(),
    ] {
        let page = nobody.get(&path).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location().starts_with("/signin?next="), "{path}");
        let page = admin.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_unique_ids(&page);
    }

    for path in [
        "/readers".to_owned(),
        format!("/readers/{admin_id}"),
        format!("/readers/{ann_id}"),
        format!("/readers/{admin_id}/revoke"),
        "/settings".to_owned(),
    ] {
        let page = reader.get(&path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.has("for the library"), "{}", page.html);
    }
    let connect = reader.get("/connect").await;
    assert_eq!(connect.status, 200);
    assert!(connect.has("Connect your devices"));
    // Readers is not in a reader's navigation.
    assert!(!connect.has("href=\"/readers\""));

    // With a good CSRF token (from their own page), a reader still cannot post an admin's forms.
    let before = app.db.count("SELECT count(*) FROM service_credentials");
    for (path, fields) in [
        (
            format!("/readers/{admin_id}/logins/kosync"),
            vec![
                ("kosync_username", "stolen"),
                ("kosync_password", "x"),
                ("kosync_confirm", "x"),
            ],
        ),
        (
            format!("/readers/{ann_id}/logins/web"),
            vec![
                ("web_username", "ann2"),
                ("web_password", "long enough"),
                ("web_confirm", "long enough"),
            ],
        ),
        (format!("/readers/{admin_id}/logins/web/remove"), vec![]),
        (format!("/readers/{admin_id}/revoke"), vec![]),
        ("/readers".to_owned(), vec![("label", "mine")]),
        ("/settings".to_owned(), vec![("opds.page_size", "7")]),
    ] {
        let page = reader.post(&path, &fields).await;
        assert_eq!(page.status, 403, "{path}");
    }
    assert_eq!(
        app.db.count("SELECT count(*) FROM service_credentials"),
        before
    );
    assert_eq!(keys(&app), 2);
    assert_eq!(app.db.count("SELECT count(*) FROM app_settings"), 0);

    // An unknown reader or service is the 404 page, not a 500.
    for path in [
        "/readers/not-a-uuid".to_owned(),
        format!("/readers/{}", Uuid::new_v4()),
        format!("/readers/{}/revoke", Uuid::new_v4()),
    ] {
        assert_eq!(admin.get(&path).await.status, 404, "{path}");
    }
    admin.get("/readers").await;
    let page = admin
        .post(&format!("/readers/{ann_id}/logins/hardcover"), &[])
        .await;
    assert_eq!(page.status, 404);
    let page = reader.post("/connect/logins/web", &[]).await;
    assert_eq!(page.status, 404, "the web password is the account page's");
}

#[actix_web::test]
async fn an_admin_creates_a_reader_who_signs_in() {
    let app = TestApp::start();
    let mut admin = app.web_admin().await;
    let (id, mut reader) = ann(&app, &mut admin).await;
    assert_eq!(keys(&app), 2);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM api_keys WHERE id = '{id}' AND NOT is_admin"
        )),
        1
    );
    let home = reader.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.has("Ann"));

    let list = admin.get("/readers").await;
    assert!(
        list.has(&format!("href=\"/readers/{id}\"")),
        "{}",
        list.html
    );
    assert!(list.has("<code>ann</code>"));
    let page = admin.get(&format!("/readers/{id}?done=created")).await;
    assert!(page.has("The reader is created."));

    // A reader without a web login, and an admin.
    let made = create(&mut admin, "Bea", "", true).await;
    assert_eq!(made.status, 303, "{}", made.html);
    assert_eq!(
        app.db.count(
            "SELECT count(*) FROM api_keys k WHERE label = 'Bea' AND is_admin \
             AND NOT EXISTS (SELECT 1 FROM service_credentials c WHERE c.api_key_id = k.id)"
        ),
        1
    );
}

#[actix_web::test]
async fn a_new_reader_s_errors_sit_next_to_their_fields_and_make_nothing() {
    let app = TestApp::start();
    let mut admin = app.web_admin().await;
    admin.get("/readers").await;
    let long = "x".repeat(10_000);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        // The setup's admin holds the web username "admin".
        (
            vec![
                ("label", "Bob"),
                ("username", "admin"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            "username",
        ),
        (vec![("label", "")], "label"),
        (vec![("label", "   ")], "label"),
        (vec![("label", &long)], "label"),
        (vec![("label", "a\0b")], "label"),
        (
            vec![
                ("label", "Bob"),
                ("username", "bob:x"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            "username",
        ),
        (
            vec![
                ("label", "Bob"),
                ("username", "bob\0"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            "username",
        ),
        (
            vec![
                ("label", "Bob"),
                ("username", &long),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            "username",
        ),
        (
            vec![
                ("label", "Bob"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            "username",
        ),
        (
            vec![
                ("label", "Bob"),
                ("username", "bob"),
                ("password", "short"),
                ("confirm", "short"),
            ],
            "password",
        ),
        (
            vec![
                ("label", "Bob"),
                ("username", "bob"),
                ("password", &long),
                ("confirm", &long),
            ],
            "password",
        ),
        (
            vec![
                ("label", "Bob"),
                ("username", "bob"),
                ("password", "long enough\0"),
                ("confirm", "long enough\0"),
            ],
            "password",
        ),
        (
            vec![
                ("label", "Bob"),
                ("username", "bob"),
                ("password", PASSWORD),
                ("confirm", "something else"),
            ],
            "confirm",
        ),
    ];
    for (fields, field) in cases {
        let page = admin.post("/readers", &fields).await;
        assert_eq!(page.status, 422, "{field}: {fields:?}");
        assert_field_error(&page, field);
        // What was typed is kept, never a password.
        if fields[0].1 == "Bob" {
            assert!(page.has("value=\"Bob\""), "{}", page.html);
        }
        assert!(!page.has(PASSWORD));
        assert_eq!(keys(&app), 1, "{field}: {fields:?}");
    }
    let taken = admin
        .post(
            "/readers",
            &[
                ("label", "Bob"),
                ("username", "admin"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert!(taken.has("already taken"), "{}", taken.html);
    assert_eq!(app.db.count("SELECT count(*) FROM service_credentials"), 1);

    // Without the CSRF token: 403, nothing made.
    let forged = admin.post_raw("/readers", &[("label", "Forged")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(keys(&app), 1);

    // A hostile name is a name like any other, shown as text.
    let made = create(&mut admin, "<script>alert(1)</script>", "", false).await;
    assert_eq!(made.status, 303);
    for path in ["/readers".to_owned(), made.location()] {
        let page = admin.get(&path).await;
        assert!(page.has("&lt;script&gt;alert(1)&lt;/script&gt;"), "{path}");
        assert!(!page.has("<script>alert(1)"), "{path}");
    }
}

#[actix_web::test]
async fn an_admin_sets_and_removes_a_reader_s_logins() {
    let app = TestApp::start();
    let mut admin = app.web_admin().await;
    let (id, mut reader) = ann(&app, &mut admin).await;
    let page = format!("/readers/{id}");
    admin.get(&page).await;

    // KoSync: KOReader signs in with md5(password) as its key.
    let set = admin
        .post(
            &format!("{page}/logins/kosync"),
            &[
                ("kosync_username", "ann-k"),
                ("kosync_password", "password"),
                ("kosync_confirm", "password"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.html);
    assert_eq!(set.location(), format!("{page}?done=login"));
    assert_eq!(app.auth("ann-k", KEY).await.status, 200);
    // OPDS: HTTP Basic.
    admin.get(&page).await;
    let set = admin
        .post(
            &format!("{page}/logins/opds"),
            &[
                ("opds_username", "ann-o"),
                ("opds_password", "open sesame"),
                ("opds_confirm", "open sesame"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.html);
    let opds = app
        .raw(
            "GET",
            "/opds",
            None,
            &[("authorization", &basic("ann-o", "open sesame"))],
        )
        .await;
    assert_eq!(opds.status, 200);
    let shown = admin.get(&page).await;
    assert!(shown.has("<code>ann-k</code>") && shown.has("<code>ann-o</code>"));
    assert!(!shown.has("open sesame"));

    // Field errors stay in their own form; a taken username goes next to it.
    let taken = admin
        .post(
            &format!("{page}/logins/web"),
            &[
                ("web_username", "admin"),
                ("web_password", "long enough"),
                ("web_confirm", "long enough"),
            ],
        )
        .await;
    assert_eq!(taken.status, 422);
    assert_field_error(&taken, "web_username");
    assert!(taken.has("already taken"));
    assert!(!taken.has("id=\"f-kosync_username-error\""));
    for (field, value) in [
        ("kosync_username", "a\0b"),
        ("kosync_username", ""),
        ("kosync_password", ""),
    ] {
        let mut fields = vec![
            ("kosync_username", "ann-k2"),
            ("kosync_password", "pw"),
            ("kosync_confirm", "pw"),
        ];
        for f in fields.iter_mut() {
            if f.0 == field {
                f.1 = value;
            }
        }
        let page = admin.post(&format!("{page}/logins/kosync"), &fields).await;
        assert_eq!(page.status, 422, "{field}={value:?}");
        assert_field_error(&page, field);
    }
    assert_eq!(app.auth("ann-k", KEY).await.status, 200, "unchanged");

    // Removing the KoSync login: KOReader is refused; without a token nothing is removed.
    let forged = admin
        .post_raw(&format!("{page}/logins/kosync/remove"), &[])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.auth("ann-k", KEY).await.status, 200);
    let removed = admin
        .post(&format!("{page}/logins/kosync/remove"), &[])
        .await;
    assert_eq!(removed.status, 303);
    assert_eq!(app.auth("ann-k", KEY).await.status, 401);

    // A new web password from an admin, then the web login removed: the reader is signed out.
    assert_eq!(reader.get("/connect").await.status, 200);
    admin.get(&page).await;
    let set = admin
        .post(
            &format!("{page}/logins/web"),
            &[
                ("web_username", "ann"),
                ("web_password", "a new password"),
                ("web_confirm", "a new password"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.html);
    assert_eq!(reader.get("/connect").await.status, 303, "signed out");
    assert_eq!(reader.signin("ann", "a new password").await.status, 303);
    assert_eq!(reader.get("/connect").await.status, 200);
    admin.get(&page).await;
    let removed = admin.post(&format!("{page}/logins/web/remove"), &[]).await;
    assert_eq!(removed.status, 303);
    assert_eq!(reader.get("/connect").await.status, 303);
    assert_eq!(reader.signin("ann", "a new password").await.status, 401);

    // An admin does not remove the web login they are signed in with.
    let admin_id = key_id(&app, "admin");
    admin.get(&format!("/readers/{admin_id}")).await;
    let own = admin
        .post(&format!("/readers/{admin_id}/logins/web/remove"), &[])
        .await;
    assert_eq!(own.status, 409);
    assert_eq!(admin.get("/readers").await.status, 200);
}

#[actix_web::test]
async fn revoking_a_reader_ends_their_session_and_the_last_admin_stays() {
    let app = TestApp::start();
    let mut admin = app.web_admin().await;
    let (id, mut reader) = ann(&app, &mut admin).await;
    assert_eq!(reader.get("/connect").await.status, 200);

    let confirm = admin.get(&format!("/readers/{id}/revoke")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.has("Yes, revoke Ann"));
    let forged = admin.post_raw(&format!("/readers/{id}/revoke"), &[]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(keys(&app), 2);

    let done = admin.post(&format!("/readers/{id}/revoke"), &[]).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location(), "/readers?done=revoked");
    assert_eq!(keys(&app), 1);
    let gone = reader.get("/connect").await;
    assert_eq!(gone.status, 303);
    assert!(
        gone.location().starts_with("/signin"),
        "{}",
        gone.location()
    );
    assert_eq!(admin.get(&format!("/readers/{id}")).await.status, 404);

    // The last admin: an error on the page, the key stays.
    let admin_id = key_id(&app, "admin");
    admin.get(&format!("/readers/{admin_id}/revoke")).await;
    let refused = admin
        .post(&format!("/readers/{admin_id}/revoke"), &[])
        .await;
    assert_eq!(refused.status, 409);
    assert!(refused.has("role=\"alert\""), "{}", refused.html);
    assert!(refused.has("last admin"), "{}", refused.html);
    assert_eq!(keys(&app), 1);
    assert_eq!(admin.get("/readers").await.status, 200);
}

#[actix_web::test]
async fn a_reader_s_devices_come_from_their_kosync_reports() {
    let app = TestApp::start();
    let mut admin = app.web_admin().await;
    let (id, _reader) = ann(&app, &mut admin).await;
    let page = format!("/readers/{id}");
    assert!(admin.get(&page).await.has("No device has sent"));
    admin.get(&page).await;
    admin
        .post(
            &format!("{page}/logins/kosync"),
            &[
                ("kosync_username", "ann-k"),
                ("kosync_password", "password"),
                ("kosync_confirm", "password"),
            ],
        )
        .await;
    let report = |document: &str, device: &str, device_id: &str| {
        json!({
            "document": document,
            "progress": "/body/DocFragment[3]",
            "percentage": 0.25,
            "device": device,
            "device_id": device_id,
        })
    };
    for (document, device, device_id) in [
        ("0123456789abcdef0123456789abcdef", "Kobo <Libra>", "KOBO-1"),
        ("fedcba9876543210fedcba9876543210", "Kobo <Libra>", "KOBO-1"),
        ("0123456789abcdef0123456789abcdef", "Boox", "BOOX-2"),
    ] {
        let r = app
            .put_progress("ann-k", KEY, report(document, device, device_id))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let shown = admin.get(&page).await;
    assert!(shown.has("Kobo &lt;Libra&gt;"), "{}", shown.html);
    assert!(shown.has("KOBO-1") && shown.has("BOOX-2"));

    // The domain's answer: grouped by device, newest first, documents counted.
    let devices = libris::reading::devices::of_reader(&mut app.db.conn(), id).unwrap();
    let summary: Vec<(&str, Option<&str>, i64)> = devices
        .iter()
        .map(|d| (d.device.as_str(), d.device_id.as_deref(), d.books))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Boox", Some("BOOX-2"), 1),
            ("Kobo <Libra>", Some("KOBO-1"), 2)
        ]
    );
    let other = libris::reading::devices::of_reader(&mut app.db.conn(), Uuid::new_v4());
    assert!(other.unwrap().is_empty());
}

#[actix_web::test]
async fn the_connect_page_shows_the_addresses_and_sets_the_reader_s_own_logins() {
    let app = TestApp::builder()
        .public_url("https://books.example.org/lib")
        .start();
    let mut admin = app.web_admin().await;
    let (ann_id, mut reader) = ann(&app, &mut admin).await;
    let page = reader.get("/connect").await;
    assert_eq!(page.status, 200);
    assert!(page.has("<code>https://books.example.org/lib</code>"));
    assert!(page.has("data-copy=\"https://books.example.org/lib/opds\""));
    assert!(page.has("data-copy=\"https://books.example.org/lib/opds/v2\""));
    assert!(
        page.has("<svg class=\"qr-code\" role=\"img\""),
        "{}",
        page.html
    );
    assert!(!page.has("<?xml"));
    assert!(page.has("Custom sync server") && page.has("Register / Login"));
    assert!(page.has("Thorium") && page.has("Moon+ Reader") && page.has("Chunky"));
    assert!(page.has("/static/connect."));

    // Their own KoSync login, then KOReader signs in with it.
    let set = reader
        .post(
            "/connect/logins/kosync",
            &[
                ("kosync_username", "ann-k"),
                ("kosync_password", "password"),
                ("kosync_confirm", "password"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.html);
    assert_eq!(set.location(), "/connect?done=login#kosync");
    assert_eq!(app.auth("ann-k", KEY).await.status, 200);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM service_credentials WHERE api_key_id = '{ann_id}' \
             AND service = 'kosync'"
        )),
        1
    );
    let page = reader.get("/connect").await;
    assert!(page.has("<code>ann-k</code>"));

    // A taken username, hostile input, no token: errors, nothing stored.
    let before = app.db.count("SELECT count(*) FROM service_credentials");
    admin.get("/connect").await;
    let taken = admin
        .post(
            "/connect/logins/kosync",
            &[
                ("kosync_username", "ann-k"),
                ("kosync_password", "pw"),
                ("kosync_confirm", "pw"),
            ],
        )
        .await;
    assert_eq!(taken.status, 422);
    assert_field_error(&taken, "kosync_username");
    let long = "y".repeat(5_000);
    for (username, password) in [
        ("<script>x</script>\0", "pw"),
        (long.as_str(), "pw"),
        ("fine", long.as_str()),
        ("fine", "p\0w"),
    ] {
        let page = reader
            .post(
                "/connect/logins/opds",
                &[
                    ("opds_username", username),
                    ("opds_password", password),
                    ("opds_confirm", password),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{username:.20}");
        assert!(!page.has("<script>x"));
    }
    let forged = reader
        .post_raw(
            "/connect/logins/opds",
            &[
                ("opds_username", "forged"),
                ("opds_password", "pw"),
                ("opds_confirm", "pw"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        app.db.count("SELECT count(*) FROM service_credentials"),
        before
    );

    // Removing their own KoSync login.
    reader.get("/connect").await;
    let removed = reader.post("/connect/logins/kosync/remove", &[]).await;
    assert_eq!(removed.status, 303);
    assert_eq!(app.auth("ann-k", KEY).await.status, 401);
}

#[actix_web::test]
async fn without_a_public_url_the_connect_page_uses_the_request_s_address() {
    let app = TestApp::start();
    let mut admin = app.web_admin().await;
    let page = admin.get("/connect").await;
    let base = app.server.url("").trim_end_matches('/').to_owned();
    assert!(page.has(&format!("data-copy=\"{base}/opds\"")), "{base}");
    // A hostile Host header does not reach the page.
    let hostile = admin
        .send_with(
            "GET",
            "/connect",
            None,
            &[("host", "evil\"><script>alert(1)</script>")],
        )
        .await;
    assert!(hostile.status < 500);
    assert!(!hostile.has("<script>alert(1)"));
}

#[actix_web::test]
async fn the_hardcover_token_is_stored_checked_and_synced_from_the_connect_page() {
    let fake = FakeHardcover::start();
    let app = TestApp::builder().hardcover_url(&fake.url).start();
    let mut admin = app.web_admin().await;
    let (_, mut reader) = ann(&app, &mut admin).await;
    let page = reader.get("/connect").await;
    assert!(page.has("none stored"));
    let hardcover = || {
        app.db
            .count("SELECT count(*) FROM service_credentials WHERE service = 'hardcover'")
    };

    // Sync without a token: refused on the page.
    let refused = reader.post("/connect/hardcover/sync", &[]).await;
    assert_eq!(refused.status, 409);
    assert!(refused.has("Not synced"), "{}", refused.html);

    let long = "z".repeat(10_000);
    for bad in ["", "   ", "Bearer ", long.as_str(), "to\0ken"] {
        let page = reader
            .post("/connect/hardcover/token", &[("token", bad)])
            .await;
        assert_eq!(page.status, 422, "{bad:.20}");
        assert_field_error(&page, "token");
    }
    assert_eq!(hardcover(), 0);
    let stored = reader
        .post(
            "/connect/hardcover/token",
            &[("token", &format!("Bearer {GOOD_TOKEN}"))],
        )
        .await;
    assert_eq!(stored.status, 303, "{}", stored.html);
    assert_eq!(hardcover(), 1);
    let page = reader.get("/connect").await;
    assert!(page.has("stored") && !page.has(GOOD_TOKEN));
    assert!(
        fake.requests().is_empty(),
        "a page view asks Hardcover nothing"
    );

    let checked = reader.get("/connect?check=hardcover").await;
    assert!(
        checked.has("works, for Hardcover account"),
        "{}",
        checked.html
    );
    assert!(checked.has("ada"));

    let synced = reader.post("/connect/hardcover/sync", &[]).await;
    assert_eq!(synced.status, 303, "{}", synced.html);
    assert_eq!(synced.location(), "/connect?done=synced#hardcover");
    let page = reader.get("/connect?done=synced").await;
    assert!(page.has("Your last syncs"), "{}", page.html);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM hardcover_sync_runs WHERE finished_at IS NOT NULL AND trigger = 'web'"),
        1
    );

    let removed = reader.post("/connect/hardcover/remove", &[]).await;
    assert_eq!(removed.status, 303);
    assert_eq!(hardcover(), 0);
}

/// Every setting's form value as the page shows it now.
fn settings_form(page: &Page) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for key in [
        "kosync.registration",
        "reading.finished_threshold",
        "reading.paused_after_days",
        "opds.page_size",
        "opds.anonymous",
        "hardcover.metadata_enabled",
        "hardcover.sync_enabled",
    ] {
        let tag_at = page
            .html
            .find(&format!("name=\"{key}\""))
            .unwrap_or_else(|| panic!("no input {key}"));
        let start = page.html[..tag_at].rfind("<input").unwrap();
        let end = tag_at + page.html[tag_at..].find('>').unwrap();
        let tag = &page.html[start..end];
        if tag.contains("type=\"checkbox\"") {
            if tag.contains(" checked") {
                out.push((key.to_owned(), "true".to_owned()));
            }
        } else {
            let v = tag.split("value=\"").nth(1).unwrap();
            out.push((key.to_owned(), v[..v.find('"').unwrap()].to_owned()));
        }
    }
    out
}

#[actix_web::test]
async fn settings_are_validated_as_the_api_does_and_stored_all_or_nothing() {
    let app = TestApp::start();
    let mut admin = app.web_admin().await;
    let page = admin.get("/settings").await;
    assert_eq!(page.status, 200);
    assert!(page.has(env!("CARGO_PKG_VERSION")));
    assert!(page.has("writable"), "{}", page.html);
    assert!(page.has("ok: PostgreSQL"));
    let current = settings_form(&page);
    assert!(current.contains(&("opds.page_size".into(), "50".into())));
    let stored = || app.db.count("SELECT count(*) FROM app_settings");

    let long = "9".repeat(5_000);
    for (key, bad) in [
        ("opds.page_size", "0"),
        ("opds.page_size", "2.5"),
        ("opds.page_size", long.as_str()),
        ("opds.page_size", "<script>alert(1)</script>"),
        ("reading.finished_threshold", "NaN"),
        ("reading.finished_threshold", "1e309"),
        ("reading.finished_threshold", "0.2"),
        ("reading.paused_after_days", "\0"),
        ("opds.anonymous", "maybe"),
    ] {
        let mut fields: Vec<(&str, &str)> = current
            .iter()
            .filter(|(k, _)| k != key)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // A good change beside the bad one is not stored either.
        if key != "reading.paused_after_days" {
            fields.retain(|(k, _)| *k != "reading.paused_after_days");
            fields.push(("reading.paused_after_days", "9"));
        }
        fields.push((key, bad));
        let page = admin.post("/settings", &fields).await;
        assert_eq!(page.status, 422, "{key}={bad:.20}");
        assert_field_error(&page, key);
        assert!(page.has("Nothing was saved"));
        assert!(!page.has("<script>alert(1)"));
        if key == "opds.page_size" && bad == "0" {
            assert!(page.has("value=\"0\""), "the typed value is kept");
            assert!(page.has("value=\"9\""));
        }
        assert_eq!(stored(), 0, "{key}={bad:.20}");
    }
    let forged = admin
        .post_raw("/settings", &[("opds.page_size", "25")])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(stored(), 0);

    let mut fields: Vec<(&str, &str)> = current
        .iter()
        .filter(|(k, _)| k != "opds.page_size")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    fields.push(("opds.page_size", "25"));
    let saved = admin.post("/settings", &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert_eq!(saved.location(), "/settings?done=saved");
    // Only what changed is stored.
    assert_eq!(stored(), 1);
    assert_eq!(
        app.db.count(
            "SELECT count(*) FROM app_settings WHERE key = 'opds.page_size' AND value = '25'::jsonb"
        ),
        1
    );
    let page = admin.get("/settings?done=saved").await;
    assert!(page.has("The settings are saved."));
    assert!(settings_form(&page).contains(&("opds.page_size".into(), "25".into())));

    // A checkbox left unticked turns its setting off.
    let form = settings_form(&page);
    let fields: Vec<(&str, &str)> = form
        .iter()
        .filter(|(k, _)| k != "hardcover.sync_enabled")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(admin.post("/settings", &fields).await.status, 303);
    let config = libris::config::Config::for_database("");
    let now = libris::settings::load(&mut app.db.conn(), &config).unwrap();
    assert!(!now.hardcover_sync_enabled);
    assert_eq!(now.opds_page_size, 25);
}
