//! The flows a newcomer takes, in a real browser against the real app: set up with the token
//! `libris setup-token` prints, upload two books by the file input, review one taking a
//! candidate's title, approve it, find it in the library with its cover, add a reader with
//! KoSync and OPDS logins, sign in as them and see how to connect their devices, sign out.
//! Again with JavaScript off for set-up, sign-in, review and approval. Every main page is
//! checked by axe-core (no serious or critical violation) and saved as a screenshot at 1440
//! and 390 px under target/screenshots/.

use std::path::PathBuf;
use std::str::FromStr;

use diesel::RunQueryDsl;
use libris_test_support::browser::{self, Browser};
use libris_test_support::TestApp;

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse";

/// What `libris setup-token` prints for this app's database and data dir.
fn setup_token(app: &TestApp) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_libris"))
        .arg("setup-token")
        .env("DATABASE_URL", &app.db.url)
        .env("LIBRIS_DATA_DIR", app.data.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("libris setup-token runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn fixture(name: &str) -> PathBuf {
    browser::workspace_root().join("fixtures/books").join(name)
}

/// One text value from the test's database.
fn one(app: &TestApp, sql: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let rows: Vec<Row> = diesel::sql_query(sql).load(&mut app.db.conn()).unwrap();
    rows.into_iter()
        .next()
        .unwrap_or_else(|| panic!("no row: {sql}"))
        .v
}

fn book_of(app: &TestApp, file: &str) -> String {
    one(
        app,
        &format!("SELECT book_id::text AS v FROM book_files WHERE original_name = '{file}'"),
    )
}

/// A Hardcover proposal for `book`, recorded as a lookup records one.
fn propose(app: &TestApp, book: &str, title: &str) {
    let normalized = serde_json::json!({ "title": title, "author": "Hardcover Author" });
    let proposed = libris::library::external::Proposed {
        raw: &serde_json::json!({}),
        normalized: &normalized,
        confidence: bigdecimal::BigDecimal::from_str("0.91").unwrap(),
    };
    libris::library::external::record_hardcover_lookup(
        &mut app.db.conn(),
        book.parse().unwrap(),
        Some(proposed),
    )
    .unwrap();
}

/// Checks the page with axe and saves its screenshot.
async fn look(b: &Browser, name: &str) {
    b.assert_accessible(name).await;
    b.screenshot(name).await;
}

async fn set_up(b: &Browser, app: &TestApp) {
    b.goto(&app.server.url("/")).await;
    b.wait_for_path("/setup").await;
    look(b, "setup").await;
    b.fill("Setup token", &setup_token(app)).await;
    b.fill("Your username", ADMIN).await;
    b.fill("Password", PASSWORD).await;
    b.fill("Password again", PASSWORD).await;
    b.click_button("Set up libris").await;
    b.wait_for_path("/").await;
}

async fn sign_in(b: &Browser, app: &TestApp, user: &str, password: &str) {
    b.goto(&app.server.url("/signin")).await;
    b.fill("Username", user).await;
    b.fill("Password", password).await;
    b.click_button("Sign in").await;
    b.wait_for_path("/").await;
}

async fn sign_out(b: &Browser) {
    b.click_button("Sign out").await;
    b.wait_for_path("/signin").await;
}

/// Uploads by the file input; with JavaScript the script sends each file and tells its fate
/// in place, without it the form posts and the answer page tells them.
async fn upload(b: &Browser, app: &TestApp, files: &[&str]) {
    b.goto(&app.server.url("/inbox")).await;
    for f in files {
        b.upload("Book files", &fixture(f)).await;
    }
    b.click_button("Upload").await;
    if b.javascript() {
        b.wait_for_text("Reload the queue").await;
    }
    b.wait_until("every file's outcome", async |b: &Browser| {
        b.text().await.matches("New").count() >= files.len()
    })
    .await;
}

/// Reviews `book`, taking the candidate's title by one click on it, and approves.
async fn review_and_approve(b: &Browser, app: &TestApp, book: &str, title: &str) {
    b.goto(&app.server.url(&format!("/review/{book}"))).await;
    b.wait_for_text(title).await;
    let pick = b
        .find(&format!("input[name=pick_title][data-value=\"{title}\"]"))
        .await;
    pick.click().await.unwrap();
    if b.javascript() {
        // review.js copies the chosen value into the final field.
        let typed = b.field_named("title").await;
        assert_eq!(typed.prop("value").await.unwrap().as_deref(), Some(title));
    }
    b.click_button("Approve").await;
    b.wait_until("the book leaves review", async |b: &Browser| {
        !b.path().await.starts_with(&format!("/review/{book}"))
    })
    .await;
}

#[actix_web::test]
async fn a_newcomer_sets_up_reviews_a_book_and_adds_a_reader() {
    if browser::unavailable() {
        return;
    }
    let app = TestApp::start();
    let b = Browser::open(1440, true).await;
    set_up(&b, &app).await;
    look(&b, "home-empty").await;

    upload(&b, &app, &["lighthouse-epub3.epub", "handmade-epub3.epub"]).await;
    look(&b, "inbox-uploaded").await;
    let book = book_of(&app, "lighthouse-epub3.epub");
    propose(&app, &book, "The Keeper of the Light");
    b.goto(&app.server.url("/inbox")).await;
    look(&b, "inbox").await;
    b.goto(&app.server.url(&format!("/review/{book}"))).await;
    look(&b, "review").await;
    review_and_approve(&b, &app, &book, "The Keeper of the Light").await;
    assert_eq!(
        one(
            &app,
            &format!("SELECT title || '/' || status AS v FROM books WHERE id = '{book}'")
        ),
        "The Keeper of the Light/organized"
    );

    // In the library, with its cover (a thumbnail that loaded).
    b.goto(&app.server.url("/library")).await;
    b.wait_for_text("The Keeper of the Light").await;
    let loaded = b
        .execute(
            "const img = document.querySelector(`a[href=\"/books/${arguments[0]}\"] img`);\
             return img ? new Promise(done => img.complete ? done(img.naturalWidth) \
               : img.addEventListener('load', () => done(img.naturalWidth))) : -1;",
            vec![serde_json::json!(book)],
        )
        .await;
    assert!(
        loaded.as_i64().unwrap_or(0) > 0,
        "the cover loads: {loaded}"
    );
    look(&b, "library").await;
    b.goto(&app.server.url(&format!("/books/{book}"))).await;
    look(&b, "book").await;

    // A reader with a web login, then their KoSync and OPDS logins.
    b.goto(&app.server.url("/readers")).await;
    b.fill("Name", "Ann").await;
    b.fill_named("username", "ann").await;
    b.fill_named("password", "ann's password").await;
    b.fill_named("confirm", "ann's password").await;
    b.check("An admin (sees and changes everything)", false)
        .await;
    b.click_button("Add reader").await;
    b.wait_for_text("Ann").await;
    let ann = one(
        &app,
        "SELECT id::text AS v FROM api_keys WHERE label = 'Ann'",
    );
    b.goto(&app.server.url(&format!("/readers/{ann}"))).await;
    for service in ["kosync", "opds"] {
        b.fill_named(&format!("{service}_username"), "ann").await;
        b.fill_named(&format!("{service}_password"), "ann reads")
            .await;
        b.fill_named(&format!("{service}_confirm"), "ann reads")
            .await;
        b.submit(&format!("form[action=\"/readers/{ann}/logins/{service}\"]"))
            .await;
        b.wait_until("the login is stored", async |_| {
            one(
                &app,
                &format!(
                    "SELECT count(*)::text AS v FROM service_credentials \
                     WHERE api_key_id = '{ann}' AND service = '{service}'"
                ),
            ) == "1"
        })
        .await;
    }
    look(&b, "reader").await;
    b.goto(&app.server.url("/readers")).await;
    look(&b, "readers").await;
    b.goto(&app.server.url("/settings")).await;
    look(&b, "settings").await;
    b.goto(&app.server.url("/account")).await;
    look(&b, "account").await;
    sign_out(&b).await;

    // Ann signs in and finds how to connect her devices.
    look(&b, "signin").await;
    sign_in(&b, &app, "ann", "ann's password").await;
    look(&b, "home-reader").await;
    b.click_link("Devices").await;
    b.wait_for_path("/devices").await;
    assert!(b
        .text()
        .await
        .contains("No device has synced reading progress yet."));
    b.click_link("Connect a device").await;
    b.wait_for_path("/connect").await;
    let text = b.text().await;
    assert!(
        text.contains("Progress sync") && text.contains("/opds"),
        "{text}"
    );
    assert!(b.try_find("svg").await.is_some(), "the catalog's QR code");
    look(&b, "connect").await;
    sign_out(&b).await;
    b.close().await;

    // The same pages on a phone.
    let phone = Browser::open(390, true).await;
    sign_in(&phone, &app, ADMIN, PASSWORD).await;
    for (name, path) in [
        ("home", "/".to_owned()),
        ("library", "/library".to_owned()),
        ("book", format!("/books/{book}")),
        ("inbox", "/inbox".to_owned()),
        ("readers", "/readers".to_owned()),
        ("reader", format!("/readers/{ann}")),
        ("connect", "/connect".to_owned()),
        ("settings", "/settings".to_owned()),
        ("account", "/account".to_owned()),
    ] {
        phone.goto(&app.server.url(&path)).await;
        look(&phone, name).await;
    }
    let other = book_of(&app, "handmade-epub3.epub");
    phone
        .goto(&app.server.url(&format!("/review/{other}")))
        .await;
    look(&phone, "review").await;
    sign_out(&phone).await;
    look(&phone, "signin").await;
    phone.close().await;
}

/// Without JavaScript (an e-reader's browser): set-up, sign-in, upload, review and approval
/// all work by forms alone.
#[actix_web::test]
async fn set_up_sign_in_review_and_approve_work_without_javascript() {
    if browser::unavailable() {
        return;
    }
    let app = TestApp::start();
    let b = Browser::open(390, false).await;
    set_up(&b, &app).await;
    sign_out(&b).await;
    // A wrong password is shown next to the form, what was typed kept.
    b.fill("Username", ADMIN).await;
    b.fill("Password", "not it").await;
    b.click_button("Sign in").await;
    b.wait_for_text("Wrong username or password").await;
    sign_in(&b, &app, ADMIN, PASSWORD).await;

    upload(&b, &app, &["greek-epub2.epub"]).await;
    let book = book_of(&app, "greek-epub2.epub");
    propose(&app, &book, "The Odyssey");
    review_and_approve(&b, &app, &book, "The Odyssey").await;
    assert_eq!(
        one(
            &app,
            &format!("SELECT title || '/' || status AS v FROM books WHERE id = '{book}'")
        ),
        "The Odyssey/organized"
    );
    b.goto(&app.server.url("/library")).await;
    b.wait_for_text("The Odyssey").await;
    b.screenshot("library-no-js").await;
    b.close().await;
}

/// KOReader synced a document that matched no book; its reader finds it under Devices, links
/// it to the book by a search seeded with what KOReader said, and finds the book on their
/// Reading shelf with the progress synced before the link. The reading pages pass axe at a
/// desktop's and a phone's width.
#[actix_web::test]
async fn an_unmatched_document_is_linked_from_the_devices_page_and_shelved() {
    if browser::unavailable() {
        return;
    }
    let app = TestApp::start();
    let admin = app.admin_key().await;
    for name in ["lighthouse-epub3.epub", "series-fractional-1.5.epub"] {
        let r = app
            .upload(&admin, &[(name, &std::fs::read(fixture(name)).unwrap())])
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["files"][0]["book_id"].as_str().unwrap().to_owned();
        let path = format!("/api/books/{id}/approve");
        let approved = app
            .api("POST", &path, Some(&admin), Some(serde_json::json!({})))
            .await;
        assert_eq!(approved.status, 200, "{:?}", approved.body);
    }
    app.set_credential(&admin, "web", ADMIN, PASSWORD).await;
    app.set_credential(&admin, "kosync", "boss", libris_test_support::KEY)
        .await;
    let reports = [
        // lighthouse-epub3.epub's partial MD5: matched by content.
        (
            "ad4a15989655682cda3695b7784ef3d0",
            0.42,
            serde_json::json!(null),
        ),
        (
            "0123456789abcdef0123456789abcdef",
            0.63,
            serde_json::json!({ "title": "Interlude", "authors": ["Jane Doe"] }),
        ),
    ];
    for (document, percentage, metadata) in reports {
        let r = app
            .put_progress(
                "boss",
                libris_test_support::KEY,
                serde_json::json!({ "document": document, "progress": "/body/p[3]",
                    "percentage": percentage, "device": "Kobo Libra 2",
                    "device_id": "KOBO-1", "metadata": metadata }),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let interlude = book_of(&app, "series-fractional-1.5.epub");

    let b = Browser::open(1440, true).await;
    sign_in(&b, &app, ADMIN, PASSWORD).await;
    b.click_link("Devices").await;
    b.wait_for_path("/devices").await;
    let text = b.text().await;
    assert!(
        text.contains("Kobo Libra 2") && text.contains("1 by content, 1 matched no book"),
        "{text}"
    );
    assert!(
        text.contains("KOReader said: Interlude · Jane Doe"),
        "{text}"
    );
    look(&b, "devices").await;
    b.click_link("Link to a book").await;
    b.wait_for_text("Interlude at the Lighthouse").await;
    look(&b, "devices-link").await;
    b.click_button("Link to this book: Interlude at the Lighthouse")
        .await;
    b.wait_for_text("The document is linked").await;
    assert!(b.text().await.contains("1 by content, 1 by hand"));

    b.click_link("Reading").await;
    b.wait_for_path("/reading").await;
    let shelf = b.text().await;
    assert!(
        shelf.contains("Interlude at the Lighthouse") && shelf.contains("on Kobo Libra 2"),
        "{shelf}"
    );
    let shown = b
        .find(&format!("a[href=\"/books/{interlude}\"] + span + progress"))
        .await;
    assert_eq!(shown.attr("value").await.unwrap().as_deref(), Some("63"));
    look(&b, "reading").await;
    b.goto(&app.server.url(&format!("/books/{interlude}")))
        .await;
    b.wait_for_text("sitting by sitting").await;
    look(&b, "book-reading").await;

    // A season of evenings with the Lighthouse, for the statistics' charts.
    let lighthouse = book_of(&app, "lighthouse-epub3.epub");
    diesel::sql_query(format!(
        "INSERT INTO reading_progress_history (book_id, api_key_id, document, device, progress, percentage, \"timestamp\", created_at) \
         SELECT '{lighthouse}', c.api_key_id, 'ad4a15989655682cda3695b7784ef3d0', 'Kobo Libra 2', 'p', \
                least(0.99, d / 200.0 + m / 2000.0), t, to_timestamp(t) \
         FROM service_credentials c, generate_series(1, 150) d, generate_series(0, 40, 5) m, \
              LATERAL (SELECT extract(epoch FROM date_trunc('day', now()) - make_interval(days => d) + make_interval(hours => 20, mins => m))::int8 AS t) s \
         WHERE c.username = 'boss' AND c.service = 'kosync' AND (d % 7 <> 3) AND m <= 10 + (d * 7) % 31"
    ))
    .execute(&mut app.db.conn())
    .unwrap();
    b.click_link("Statistics").await;
    b.wait_for_path("/stats").await;
    b.goto(&app.server.url("/stats?range=12m")).await;
    b.wait_for_text("Minutes read each day").await;
    assert!(b.text().await.contains("Top authors"));
    look(&b, "stats").await;
    b.cdp(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
    )
    .await;
    look(&b, "stats-dark").await;
    let year = chrono::Utc::now().format("%Y").to_string();
    b.goto(&app.server.url(&format!("/year/{year}"))).await;
    b.wait_for_text("in review").await;
    look(&b, "year-dark").await;
    b.cdp(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": "light" }] }),
    )
    .await;

    // A collection, a book added from its page, shared by a link, opened signed out, revoked.
    b.goto(&app.server.url("/collections")).await;
    b.fill("Name", "Coastal reading").await;
    b.click_button("Make the collection").await;
    b.wait_for_text("No book yet").await;
    b.goto(&app.server.url(&format!("/books/{interlude}")))
        .await;
    b.select("Collection", "Coastal reading").await;
    b.click_button("Add").await;
    b.wait_for_text("The book is added to the collection.")
        .await;
    b.goto(&app.server.url("/collections")).await;
    b.click_link("Coastal reading").await;
    b.wait_for_text("Interlude at the Lighthouse").await;
    look(&b, "collection").await;
    b.click_button("Make a share link").await;
    b.wait_for("#share-link").await;
    let link = b.find("#share-link").await.text().await.unwrap();
    let stranger = Browser::open(390, true).await;
    stranger.goto(&link).await;
    stranger.wait_for_text("Interlude at the Lighthouse").await;
    assert!(
        !stranger.text().await.contains("Kobo"),
        "no reading data on a share"
    );
    look(&stranger, "shared").await;
    b.execute("window.confirm = () => true;", vec![]).await;
    b.click_button("Revoke the link").await;
    b.wait_for_text("The share link is revoked").await;
    stranger.goto(&link).await;
    stranger.wait_for_text("Not found").await;
    stranger.close().await;
    b.close().await;

    let phone = Browser::open(390, true).await;
    sign_in(&phone, &app, ADMIN, PASSWORD).await;
    for (name, path) in [
        ("reading", "/reading"),
        ("devices", "/devices"),
        ("stats", "/stats?range=12m"),
    ] {
        phone.goto(&app.server.url(path)).await;
        look(&phone, name).await;
    }
    phone
        .cdp(
            "Emulation.setEmulatedMedia",
            serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
        )
        .await;
    look(&phone, "stats-dark").await;
    phone.close().await;
}

#[actix_web::test]
async fn a_device_password_is_made_used_for_highlights_and_revoked() {
    if browser::unavailable() {
        return;
    }
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let name = "lighthouse-epub3.epub";
    let r = app
        .upload(&admin, &[(name, &std::fs::read(fixture(name)).unwrap())])
        .await;
    let id = r.body["files"][0]["book_id"].as_str().unwrap().to_owned();
    let approved = app
        .api(
            "POST",
            &format!("/api/books/{id}/approve"),
            Some(&admin),
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(approved.status, 200);
    app.set_credential(&admin, "web", ADMIN, PASSWORD).await;

    let b = Browser::open(1440, true).await;
    sign_in(&b, &app, ADMIN, PASSWORD).await;
    b.goto(&app.server.url("/connect")).await;
    b.fill("New device password for", "Kobo Libra").await;
    b.click_button("Make a password").await;
    b.wait_for_text("shown only this once").await;
    let password = b.find("#new-device-password").await.text().await.unwrap();
    assert_eq!(password.len(), 23, "{password}");
    look(&b, "connect-device-password").await;

    // KOReader's Nextcloud export, with the device password under the web username.
    let note = "# The Lighthouse Keeper\n##### Jane Doe\n\n## Chapter 1\n### Page 5 @ 05 March 2024 02:15:30 PM\n*The lamp was lit at dusk.*\n### Page 7 @ 05 March 2024 02:20:00 PM\n++The sea kept its counsel.++\n\n---\nLovely line.\n## Chapter 2\n### Page 12 @ 06 March 2024 09:05:10 AM\n**Storms came in threes.**";
    let auth = libris_test_support::basic(ADMIN, &password);
    let export = |auth: String| {
        let app = &app;
        async move {
            let body = serde_json::json!({ "title": "Jane Doe - The Lighthouse Keeper", "content": note, "category": "KOReader" });
            app.send(
                "POST",
                "/index.php/apps/notes/api/v1/notes",
                &[
                    ("authorization", &auth),
                    ("ocs-apirequest", "true"),
                    ("content-type", "application/json"),
                ],
                body.to_string().into_bytes(),
            )
            .await
            .status
        }
    };
    assert_eq!(export(auth.clone()).await, 200);

    b.goto(&app.server.url(&format!("/books/{id}"))).await;
    b.wait_for_text("Your highlights").await;
    assert!(b.text().await.contains("Storms came in threes."));
    // connect.js shows the copy buttons.
    assert!(b
        .find("li.highlight button.copy")
        .await
        .is_displayed()
        .await
        .unwrap());
    look(&b, "book-highlights").await;
    b.select("Chapter", "Chapter 2").await;
    b.click_button("Show").await;
    b.wait_until("only chapter 2", async |b: &Browser| {
        !b.text().await.contains("The lamp was lit")
    })
    .await;
    b.goto(&app.server.url("/highlights")).await;
    b.wait_for_text("Lovely line.").await;
    look(&b, "highlights").await;
    b.goto(&app.server.url("/connect#device-passwords")).await;
    b.wait_for_text("by the Notes export").await;
    b.click_button("Revoke").await;
    b.wait_for_text("The device password is revoked").await;
    assert_eq!(export(auth).await, 401);
    b.close().await;

    let phone = Browser::open(390, true).await;
    sign_in(&phone, &app, ADMIN, PASSWORD).await;
    phone.goto(&app.server.url("/highlights")).await;
    look(&phone, "highlights").await;
    phone
        .goto(&app.server.url("/connect#device-passwords"))
        .await;
    look(&phone, "connect").await;
    phone.close().await;
}
