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
    // A lookup asked for now says it is Hardcover that is away, not the database.
    let book = crate::library::upload_one(&app, &admin, "lighthouse-epub2.epub").await;
    let r = look_up(&app, &admin, &book).await;
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert_eq!(r.body["error"], "upstream_unavailable", "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().starts_with("Hardcover"));
}

#[actix_web::test]
async fn a_token_sealed_under_the_passphrase_as_hashed_before_argon2_still_opens_and_is_sealed_anew(
) {
    use libris::hardcover::token;
    use libris::secret;
    let passphrase = "a passphrase of sixteen+ characters";
    let fake = FakeHardcover::start();
    let app = TestApp::builder()
        .hardcover_url(&fake.url)
        .secret_key(passphrase)
        .start();
    let admin = app.admin_key().await;
    let (id, reader) = app.reader_key(&admin, "ann").await;
    let id: uuid::Uuid = id.parse().unwrap();
    // Stored by a libris that derived the secret from the passphrase with one SHA-256.
    let legacy = secret::derive(&secret::legacy_from_passphrase(passphrase), token::PURPOSE);
    let current = secret::derive(&secret::from_passphrase(passphrase), token::PURPOSE);
    let mut conn = app.db.conn();
    libris::auth::credentials::set(
        &mut conn,
        "hardcover",
        id,
        "ann-hc",
        &token::seal(&legacy, id, GOOD_TOKEN),
    )
    .unwrap();
    let stored = || {
        use diesel::prelude::*;
        use libris::db::schema::service_credentials as sc;
        sc::table
            .filter(sc::service.eq("hardcover"))
            .select(sc::password_hash)
            .first::<String>(&mut app.db.conn())
            .unwrap()
    };
    let r = app
        .api("GET", "/api/hardcover/status", Some(&reader), None)
        .await;
    assert_eq!(r.body["token"], "valid", "{:?}", r.body);
    let now = stored();
    assert_eq!(
        token::open(&current, id, &now).as_deref(),
        Some(GOOD_TOKEN),
        "sealed again under the Argon2id-derived key"
    );
    assert_eq!(token::open(&legacy, id, &now), None);
    let r = app
        .api("GET", "/api/hardcover/status", Some(&reader), None)
        .await;
    assert_eq!(r.body["token"], "valid", "{:?}", r.body);
    assert_eq!(stored(), now, "sealed again once");
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 40, 40]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn store_token(app: &TestApp, key: &str) {
    let r = app
        .api(
            "PUT",
            "/api/credentials/hardcover",
            Some(key),
            Some(json!({ "token": GOOD_TOKEN })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// An admin asks Hardcover about a book now.
async fn look_up(app: &TestApp, admin: &str, book: &str) -> crate::common::Resp {
    app.api(
        "POST",
        &format!("/api/books/{book}/hardcover/lookup"),
        Some(admin),
        None,
    )
    .await
}

/// An admin edits the book, then asks Hardcover about it again.
async fn edit_and_look_up(
    app: &TestApp,
    admin: &str,
    book: &str,
    edit: Value,
) -> crate::common::Resp {
    let path = format!("/api/books/{book}");
    let r = app.api("PATCH", &path, Some(admin), Some(edit)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = look_up(app, admin, book).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r
}

fn hit(fake: &FakeHardcover, id: i64, title: &str, isbns: &[&str]) -> Value {
    json!({ "document": {
        "id": id.to_string(), "title": title, "author_names": ["Virginia Woolf"],
        "isbns": isbns, "release_year": 1927, "pages": 209,
        "description": "The Ramsays at Skye.",
        "image": { "url": fake.image_url() },
        "featured_series": null, "series_names": []
    }})
}

#[actix_web::test]
async fn a_book_in_review_gets_a_hardcover_proposal_and_approval_takes_its_fields_and_cover() {
    let fake = FakeHardcover::start();
    let app = TestApp::builder()
        .hardcover_url(&fake.url)
        .allow_private_cover_urls()
        .start();
    let admin = app.admin_key().await;
    let book = crate::library::upload_one(&app, &admin, "lighthouse-epub2.epub").await;

    // No reader has a token yet: nothing is asked, nothing is marked looked up.
    assert_eq!(
        libris::hardcover::metadata::pass(&app.state.hardcover)
            .await
            .unwrap(),
        0
    );
    assert!(fake.requests().is_empty());
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM books WHERE hardcover_searched_at IS NOT NULL"),
        0
    );

    store_token(&app, &admin).await;
    // The book carries ISBN 9780306406157.
    fake.with(|d| {
        d.hits = vec![
            hit(&fake, 301, "To the Lighthouse: A Study", &["9999999999999"]),
            hit(
                &fake,
                302,
                "To the Lighthouse",
                &["9780306406157", "0306406152"],
            ),
        ];
        d.editions = vec![json!({ "id": 3020, "book_id": 302, "pages": 209,
            "isbn_13": "9780306406157", "isbn_10": "0306406152",
            "release_date": "1989-12-27", "publisher": { "name": "Harcourt" } })];
        d.image = Some(("image/png".into(), png(40, 60)));
    });
    assert_eq!(
        libris::hardcover::metadata::pass(&app.state.hardcover)
            .await
            .unwrap(),
        1
    );
    let asked = fake.requests();
    assert_eq!(asked.len(), 2, "a search, then the hit's edition");
    assert!(asked[0].body["query"].as_str().unwrap().contains("search("));
    assert_eq!(
        asked[0].body["variables"]["q"], "9780306406157",
        "the ISBN is searched"
    );
    assert_eq!(
        asked[1].body["variables"]["isbns"],
        json!(["9780306406157", "0306406152"])
    );
    // Looked up once: a second pass asks nothing.
    assert_eq!(
        libris::hardcover::metadata::pass(&app.state.hardcover)
            .await
            .unwrap(),
        0
    );
    assert_eq!(fake.requests().len(), 2);

    let r = app
        .api("GET", &format!("/api/books/{book}"), Some(&admin), None)
        .await;
    let candidate = r.body["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"] == "hardcover")
        .cloned()
        .unwrap_or_else(|| panic!("{:?}", r.body));
    let n = &candidate["normalized"];
    assert_eq!(
        n["title"], "To the Lighthouse",
        "the hit carrying the ISBN beats the first"
    );
    assert_eq!(
        (&n["hardcover_book_id"], &n["hardcover_edition_id"]),
        (&json!(302), &json!(3020))
    );
    assert_eq!(
        (&n["publisher"], &n["isbn_13"]),
        (&json!("Harcourt"), &json!("9780306406157"))
    );
    assert_eq!(n["cover_url"], fake.image_url());
    assert!(
        candidate["confidence"].as_f64().unwrap() >= 0.85,
        "ISBN agreement: {candidate}"
    );
    let raw = app.db.count(&format!(
        "SELECT count(*) FROM book_metadata_candidates WHERE book_id = '{book}' \
         AND source = 'hardcover' AND raw_response->'search'->'hits' IS NOT NULL"
    ));
    assert_eq!(raw, 1, "what Hardcover answered is kept");

    // Without ISBNs an admin's new lookup searches "title author"; the first hit wins, with
    // less confidence.
    let r = edit_and_look_up(&app, &admin, &book, json!({ "isbn_13": "", "isbn_10": "" })).await;
    let q = fake.requests()[2].body["variables"]["q"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(q, "The Lighthouse Keeper Jane Doe", "title and author");
    let candidate = r.body["candidate"].clone();
    assert_eq!(candidate["normalized"]["hardcover_book_id"], 301);
    assert!(
        candidate["confidence"].as_f64().unwrap() < 0.7,
        "{candidate}"
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM book_metadata_candidates WHERE book_id = '{book}' AND source = 'hardcover'"
        )),
        1,
        "the new proposal replaces the old"
    );
    // Approve with the first proposal again.
    let r = edit_and_look_up(&app, &admin, &book, json!({ "isbn_13": "9780306406157" })).await;
    let candidate = r.body["candidate"].clone();
    assert_eq!(candidate["normalized"]["hardcover_book_id"], 302);
    let id = candidate["id"].as_str().unwrap();

    let r = app
        .api(
            "POST",
            &format!("/api/books/{book}/approve"),
            Some(&admin),
            Some(json!({ "fields": {
                "title": { "candidate": id },
                "publisher": { "candidate": id },
                "cover": { "candidate": id },
            }})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["title"], "To the Lighthouse");
    assert_eq!(r.body["publisher"], "Harcourt");
    let (cover_path, cover_url, hc_book, hc_edition): (
        Option<String>,
        Option<String>,
        Option<i32>,
        Option<i32>,
    ) = diesel::RunQueryDsl::get_result(
        diesel::QueryDsl::select(
            diesel::QueryDsl::find(
                libris::db::schema::books::table,
                uuid::Uuid::parse_str(&book).unwrap(),
            ),
            (
                libris::db::schema::books::cover_path,
                libris::db::schema::books::cover_url,
                libris::db::schema::books::hardcover_book_id,
                libris::db::schema::books::hardcover_edition_id,
            ),
        ),
        &mut app.db.conn(),
    )
    .unwrap();
    assert_eq!(cover_url.as_deref(), Some(fake.image_url().as_str()));
    assert_eq!(
        (hc_book, hc_edition),
        (Some(302), Some(3020)),
        "taking its fields links the book"
    );
    let stored = std::fs::read(app.data.path().join(cover_path.unwrap())).unwrap();
    assert_eq!(stored, png(40, 60), "the fetched cover, byte for byte");
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM book_metadata_candidates WHERE id = '{id}' \
             AND selected_fields = ARRAY['cover', 'publisher', 'title']"
        )),
        1
    );
}

#[actix_web::test]
async fn a_proposed_cover_on_a_private_address_or_not_an_image_is_refused_and_nothing_changes() {
    let (fake, app) = start();
    let admin = app.admin_key().await;
    let book = crate::library::upload_one(&app, &admin, "lighthouse-epub2.epub").await;
    store_token(&app, &admin).await;
    fake.with(|d| {
        d.hits = vec![hit(&fake, 301, "To the Lighthouse", &[])];
        d.image = Some(("image/png".into(), png(10, 10)));
    });
    let r = look_up(&app, &admin, &book).await;
    let id = r.body["candidate"]["id"].as_str().unwrap().to_owned();
    let before = app
        .api("GET", &format!("/api/books/{book}"), Some(&admin), None)
        .await
        .body;
    let r = app
        .api(
            "POST",
            &format!("/api/books/{book}/approve"),
            Some(&admin),
            Some(
                json!({ "fields": { "title": { "candidate": id }, "cover": { "candidate": id } } }),
            ),
        )
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(
        r.body["message"].as_str().unwrap().contains("private"),
        "{:?}",
        r.body
    );
    assert!(
        fake.requests().iter().all(|r| !r.body.is_null()),
        "the image was never requested"
    );
    let after = app
        .api("GET", &format!("/api/books/{book}"), Some(&admin), None)
        .await
        .body;
    assert_eq!(after, before, "still in review, unchanged");
    assert_eq!(after["status"], "review");
}

/// Sets up a reader "ann" (KoSync and Hardcover) and three organized books: A (ISBN-13 of
/// Hardcover edition 101 of book 1001), B (ISBN-10 of edition 102 of book 1002), C (an
/// ISBN Hardcover does not know). A is linked to KoSync document "doc-a".
async fn library_with_isbns(app: &TestApp) -> (String, Vec<uuid::Uuid>) {
    let admin = app.admin_key().await;
    let (_, ann) = app.reader_key(&admin, "ann").await;
    app.set_credential(&ann, "kosync", "ann", "password").await;
    store_token(app, &ann).await;
    let mut conn = app.db.conn();
    let books: Vec<uuid::Uuid> = [
        ("A", Some("9780000000011"), None),
        ("B", None, Some("0000000022")),
        ("C", Some("9780000000099"), None),
    ]
    .into_iter()
    .map(|(title, i13, i10): (&str, Option<&str>, Option<&str>)| {
        use libris::db::schema::books as b;
        diesel::RunQueryDsl::get_result(
            diesel::insert_into(b::table)
                .values((
                    diesel::ExpressionMethods::eq(b::title, title),
                    diesel::ExpressionMethods::eq(b::isbn_13, i13),
                    diesel::ExpressionMethods::eq(b::isbn_10, i10),
                    diesel::ExpressionMethods::eq(
                        b::status,
                        libris::db::models::BookStatus::Organized,
                    ),
                ))
                .returning(b::id),
            &mut conn,
        )
        .unwrap()
    })
    .collect();
    libris::library::links::link(
        &mut conn,
        books[0],
        &[("doc-a", libris::library::links::Source::Manual)],
    )
    .unwrap();
    (ann, books)
}

/// ann reads "doc-a" to `percentage` on her Kobo, then syncs.
async fn read_then_sync(app: &TestApp, ann: &str, percentage: f64) -> crate::common::Resp {
    let put = app
        .put_progress(
            "ann",
            crate::common::KEY,
            json!({ "document": "doc-a", "progress": "p", "percentage": percentage, "device": "kobo" }),
        )
        .await;
    assert_eq!(put.status, 200);
    app.api("POST", "/api/hardcover/sync", Some(ann), None)
        .await
}

fn ops(fake: &FakeHardcover, from: usize) -> Vec<(String, Value)> {
    fake.mutations().into_iter().skip(from).collect()
}

#[actix_web::test]
async fn sync_links_by_isbn_pulls_statuses_and_pushes_only_what_changed() {
    let (fake, app) = start();
    let (ann, books) = library_with_isbns(&app).await;
    fake.with(|d| {
        d.editions = vec![
            json!({ "id": 101, "book_id": 1001, "pages": 300, "isbn_13": "9780000000011", "isbn_10": null }),
            json!({ "id": 102, "book_id": 1002, "pages": 120, "isbn_13": null, "isbn_10": "0000000022" }),
        ];
        // ann did not finish B on Hardcover.
        d.user_books = vec![json!({ "id": 77, "book_id": 1002, "status_id": 5, "edition_id": 102,
            "edition": { "pages": 120 }, "user_book_reads": [] })];
    });
    let r = read_then_sync(&app, &ann, 0.5).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (
            &r.body["linked"],
            &r.body["pulled"],
            &r.body["pushed"],
            &r.body["failed"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(0)),
        "{:?}",
        r.body
    );
    let linked = app.db.count(
        "SELECT count(*) FROM books WHERE (title, hardcover_book_id, hardcover_edition_id, page_count) \
         IN (('A', 1001, 101, 300), ('B', 1002, 102, 120))",
    );
    assert_eq!(
        linked, 2,
        "linked by ISBN-13 and by ISBN-10, pages filled in"
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM books WHERE title = 'C' AND hardcover_book_id IS NULL"),
        1
    );
    // Pull: did not finish → paused, as the external status only.
    let b = books[1];
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_aggregate WHERE book_id = '{b}' AND external_status = 'paused' \
             AND external_status_synced_at IS NOT NULL AND status = 'paused' AND manual_status IS NULL"
        )),
        1
    );
    // Push: A, reading at 50 % of 300 pages. B's status came from Hardcover: never sent back.
    let sent = ops(&fake, 0);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, "insert_user_book");
    assert_eq!(
        sent[0].1["object"],
        json!({ "book_id": 1001, "status_id": 2, "edition_id": 101 })
    );
    assert_eq!(sent[1].0, "insert_user_book_read");
    assert_eq!(sent[1].1["read"]["progress_pages"], 150);
    assert!(sent[1].1["read"]["started_at"].as_str().is_some());
    assert!(
        sent.iter()
            .all(|(_, v)| v.to_string().find("1002").is_none()),
        "B never pushed"
    );

    // Nothing changed: nothing sent.
    let r = app
        .api("POST", "/api/hardcover/sync", Some(&ann), None)
        .await;
    assert_eq!(
        (&r.body["pushed"], &r.body["unchanged"]),
        (&json!(0), &json!(1)),
        "{:?}",
        r.body
    );
    assert_eq!(ops(&fake, 2).len(), 0);

    // Progress moved: only the read is updated, the status is the same.
    let r = read_then_sync(&app, &ann, 0.8).await;
    assert_eq!(r.body["pushed"], 1, "{:?}", r.body);
    let sent = ops(&fake, 2);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "update_user_book_read");
    assert_eq!(sent[0].1["read"]["progress_pages"], 240);

    // Finished in libris: the status and the read's finish date go.
    let r = read_then_sync(&app, &ann, 1.0).await;
    assert_eq!(r.body["pushed"], 1, "{:?}", r.body);
    let sent = ops(&fake, 3);
    assert_eq!(
        sent.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["update_user_book", "update_user_book_read"]
    );
    assert_eq!(sent[0].1["object"]["status_id"], 3);
    assert!(sent[1].1["read"]["finished_at"].as_str().is_some());
    let shelf = fake.with(|d| d.user_books.clone());
    let a = shelf.iter().find(|u| u["book_id"] == 1001).unwrap();
    assert_eq!(a["status_id"], 3);

    // A later report of the finished book moves the pages of the same read: no second read.
    libris_test_support::next_second().await;
    let r = read_then_sync(&app, &ann, 0.97).await;
    assert_eq!(r.body["pushed"], 1, "{:?}", r.body);
    let sent = ops(&fake, 5);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "update_user_book_read");
    assert_eq!(sent[0].1["read"]["progress_pages"], 291);
    let shelf = fake.with(|d| d.user_books.clone());
    let a = shelf.iter().find(|u| u["book_id"] == 1001).unwrap();
    assert_eq!(a["user_book_reads"].as_array().unwrap().len(), 1);

    // Marked finished on Hardcover later: pulled as the external status, and the status
    // libris shows; still nothing sent for it.
    fake.with(|d| {
        d.user_books
            .iter_mut()
            .find(|u| u["book_id"] == 1002)
            .unwrap()["status_id"] = json!(3)
    });
    let r = app
        .api("POST", "/api/hardcover/sync", Some(&ann), None)
        .await;
    assert_eq!(r.body["pushed"], 0, "{:?}", r.body);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_aggregate WHERE book_id = '{b}' AND external_status = 'finished' AND status = 'finished'"
        )),
        1
    );
    assert_eq!(ops(&fake, 6).len(), 0);

    let r = app.api("GET", "/api/hardcover/log", Some(&ann), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["runs"].as_array().unwrap().len(), 6);
    assert_eq!(r.body["runs"][0]["trigger"], "api");
    let logged = &r.body["books"][0];
    assert_eq!(
        (&logged["title"], &logged["last_status"]),
        (&json!("A"), &json!("finished"))
    );
    assert_eq!(logged["last_progress"], 0.97);
    let r = app
        .api("GET", "/api/hardcover/status", Some(&ann), None)
        .await;
    assert_eq!(
        (&r.body["linked_books"], &r.body["synced_books"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(
        r.body["last_run"]["pulled"], 2,
        "A is on ann's shelf now too"
    );

    // The token never reached a log line, a response or a request body.
    let logs = crate::common::logs::captured();
    assert!(!logs.contains(GOOD_TOKEN), "a log line holds the token");
    assert!(fake
        .requests()
        .iter()
        .all(|r| !r.body.to_string().contains(GOOD_TOKEN)));
}

#[actix_web::test]
async fn a_book_failing_on_hardcover_is_recorded_and_the_run_goes_on() {
    let (fake, app) = start();
    let (ann, books) = library_with_isbns(&app).await;
    fake.with(|d| {
        d.editions = vec![
            json!({ "id": 101, "book_id": 1001, "pages": 300, "isbn_13": "9780000000011" }),
            json!({ "id": 102, "book_id": 1002, "pages": 120, "isbn_10": "0000000022" }),
        ];
        d.refuse_book = Some(1001);
    });
    // ann marks both as reading by hand: a manual status is her own and is pushed.
    for book in &books[..2] {
        let r = app
            .api(
                "PATCH",
                &format!("/api/books/{book}/reading-status"),
                Some(&ann),
                Some(json!({ "status": "reading" })),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let r = app
        .api("POST", "/api/hardcover/sync", Some(&ann), None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (&r.body["pushed"], &r.body["failed"]),
        (&json!(1), &json!(1)),
        "{:?}",
        r.body
    );
    assert_eq!(r.body["failures"][0]["title"], "A");
    assert!(r.body["failures"][0]["error"]
        .as_str()
        .unwrap()
        .contains("private"));
    assert!(r.body["error"].is_null());
    let shelf = fake.with(|d| d.user_books.clone());
    assert_eq!(shelf.len(), 1);
    assert_eq!(
        (&shelf[0]["book_id"], &shelf[0]["status_id"]),
        (&json!(1002), &json!(2))
    );
    // Not logged as sent: the next run tries A again.
    fake.with(|d| d.refuse_book = None);
    let r = app
        .api("POST", "/api/hardcover/sync", Some(&ann), None)
        .await;
    assert_eq!(
        (&r.body["pushed"], &r.body["unchanged"]),
        (&json!(1), &json!(1)),
        "{:?}",
        r.body
    );

    // A run for a reader whose token Hardcover refuses stops and says why.
    let r = app
        .api(
            "PUT",
            "/api/credentials/hardcover",
            Some(&ann),
            Some(json!({ "token": "hc-token-revoked" })),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .api("POST", "/api/hardcover/sync", Some(&ann), None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(
        r.body["error"].as_str().unwrap().contains("refused"),
        "{:?}",
        r.body
    );
    let r = app.api("GET", "/api/hardcover/log", Some(&ann), None).await;
    assert!(r.body["runs"][0]["error"].as_str().is_some());
    assert_eq!(r.body["runs"][1]["pushed"], 1);

    // A run under way elsewhere (another process, say `libris hardcover sync`): 409.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO hardcover_sync_runs (api_key_id, trigger) \
             SELECT api_key_id, 'cli' FROM service_credentials WHERE service = 'hardcover'",
        ),
        &mut app.db.conn(),
    )
    .unwrap();
    let r = app
        .api("POST", "/api/hardcover/sync", Some(&ann), None)
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("under way"));
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE hardcover_sync_runs SET finished_at = now()"),
        &mut app.db.conn(),
    )
    .unwrap();

    // Sync switched off: refused in the API's format, and no run recorded.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO app_settings (key, value) VALUES ('hardcover.sync_enabled', 'false')",
        ),
        &mut app.db.conn(),
    )
    .unwrap();
    let runs = app.db.count("SELECT count(*) FROM hardcover_sync_runs");
    let r = app
        .api("POST", "/api/hardcover/sync", Some(&ann), None)
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (409, Some("conflict")),
        "{:?}",
        r.body
    );
    assert_eq!(
        app.db.count("SELECT count(*) FROM hardcover_sync_runs"),
        runs
    );
}

#[actix_web::test]
async fn a_long_sync_answers_202_and_goes_on_and_runs_are_kept_tidy() {
    let fake = FakeHardcover::start();
    let app = TestApp::builder()
        .hardcover_url(&fake.url)
        .hardcover_sync_wait(std::time::Duration::ZERO)
        .start();
    let (ann, _) = library_with_isbns(&app).await;
    fake.with(|d| {
        d.editions =
            vec![json!({ "id": 101, "book_id": 1001, "pages": 300, "isbn_13": "9780000000011" })];
    });
    // A run left open by a server that stopped, and more old runs than are kept.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO hardcover_sync_runs (api_key_id, trigger, started_at, heartbeat_at, finished_at) \
             SELECT api_key_id, 'schedule', now() - make_interval(days => n), \
                    now() - make_interval(days => n), \
                    CASE WHEN n > 1 THEN now() - make_interval(days => n) END \
             FROM service_credentials, generate_series(1, 150) n WHERE service = 'hardcover'",
        ),
        &mut app.db.conn(),
    )
    .unwrap();
    let r = read_then_sync(&app, &ann, 0.5).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["running"], true);
    let run_id = r.body["run_id"].as_str().unwrap().to_owned();
    // The run goes on without the request.
    let mut finished = false;
    for _ in 0..500 {
        let log = app.api("GET", "/api/hardcover/log", Some(&ann), None).await;
        let run = &log.body["runs"][0];
        assert_eq!(run["id"], run_id.as_str());
        if !run["finished_at"].is_null() {
            assert_eq!(
                (&run["linked"], &run["pushed"]),
                (&json!(1), &json!(1)),
                "{run}"
            );
            finished = true;
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(finished, "the run never finished");
    assert_eq!(
        app.db.count("SELECT count(*) FROM hardcover_sync_runs"),
        libris::hardcover::sync::KEPT_RUNS
    );
    assert_eq!(
        app.db.count(
            "SELECT count(*) FROM hardcover_sync_runs WHERE finished_at IS NOT NULL \
             AND error LIKE 'interrupted%'"
        ),
        1,
        "the run left open is closed as interrupted"
    );
}

/// `make bench-hardcover`: a reader with BENCH_BOOKS (5,000) books carrying ISBNs, a fifth of
/// them being read, a fifth finished on Hardcover. Times libris's own side of a first run
/// (link, pull, push), a run with nothing new, and one after 100 books moved, against the
/// local fake Hardcover with the pacing shortened to 1 ms: against Hardcover itself each
/// request takes its one-second turn, so a run lasts about as many seconds as it sends
/// requests, and the request counts are the figure that matters there.
#[actix_web::test]
#[ignore = "a benchmark: make bench-hardcover"]
async fn bench_hardcover_sync() {
    let n: i64 = std::env::var("BENCH_BOOKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let fake = FakeHardcover::start();
    let app = TestApp::builder()
        .hardcover_url(&fake.url)
        .hardcover_sync_wait(std::time::Duration::from_secs(3600))
        .start();
    let admin = app.admin_key().await;
    let (ann_id, ann) = app.reader_key(&admin, "ann").await;
    store_token(&app, &ann).await;
    for sql in [
        format!(
            "INSERT INTO books (title, status, isbn_13) \
             SELECT 'Book ' || g, 'organized', '978' || lpad(g::text, 10, '0') \
             FROM generate_series(1, {n}) g"
        ),
        format!(
            "INSERT INTO reading_aggregate (api_key_id, book_id, started_at, last_read_at, \
                 percentage, max_percentage, derived_status, status) \
             SELECT '{ann_id}', id, now() - interval '3 days', now() - interval '1 day', \
                 0.42, 0.42, 'reading', 'reading' \
             FROM books WHERE substr(title, 6)::int % 5 = 0"
        ),
    ] {
        diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut app.db.conn()).unwrap();
    }
    fake.with(|d| {
        d.editions = (1..=n)
            .map(|g| {
                json!({ "id": 500_000 + g, "book_id": 100_000 + g, "pages": 300,
                        "isbn_13": format!("978{g:010}") })
            })
            .collect();
        d.user_books = (1..=n)
            .filter(|g| g % 5 == 1)
            .map(|g| {
                json!({ "id": 700_000 + g, "book_id": 100_000 + g, "status_id": 3,
                        "edition_id": 500_000 + g, "edition": { "pages": 300 },
                        "user_book_reads": [{ "id": 900_000 + g, "finished_at": "2025-01-01" }] })
            })
            .collect();
    });
    let mut lines = vec![];
    for case in ["first run", "nothing new", "100 books moved"] {
        if case == "100 books moved" {
            diesel::RunQueryDsl::execute(
                diesel::sql_query(format!(
                    "UPDATE reading_aggregate SET percentage = 0.5 WHERE book_id IN \
                     (SELECT book_id FROM reading_aggregate WHERE api_key_id = '{ann_id}' \
                      AND derived_status = 'reading' ORDER BY book_id LIMIT 100)"
                )),
                &mut app.db.conn(),
            )
            .unwrap();
        }
        let before = fake.requests().len();
        let started = std::time::Instant::now();
        // Called directly: the test client gives up on a request after a few seconds.
        let report = libris::hardcover::sync::run(
            &app.state.hardcover,
            uuid::Uuid::parse_str(&ann_id).unwrap(),
            libris::hardcover::sync::Trigger::Api,
        )
        .await
        .unwrap();
        let took = started.elapsed();
        let r = serde_json::to_value(&report).unwrap();
        let sent = fake.requests().len() - before;
        lines.push(format!(
            "| {case} | {:.2} s | {sent} | {} | {} | {} | {} |",
            took.as_secs_f64(),
            r["linked"],
            r["pulled"],
            r["pushed"],
            r["unchanged"]
        ));
    }
    println!("\nHardcover sync, {n} books with ISBNs (libris's side; Hardcover's pace would add 1 s per request)\n");
    println!("| run | time | requests | linked | pulled | pushed | unchanged |\n|---|---|---|---|---|---|---|");
    for line in lines {
        println!("{line}");
    }
}
