//! The web inbox and review: who may see them, uploads by form and by script (each file's
//! fate, CSRF before any file), the review table with a Hardcover candidate, approving with a
//! picked value or refusing a wrong one, deleting, merging another format, escaping.

use std::str::FromStr;

use serde_json::json;

use crate::common::web::{Page, WebClient};
use crate::common::{files_under, TestApp};
use crate::library::fixture;

const EPUB: &str = "lighthouse-epub2.epub";
const PDF: &str = "lighthouse.pdf";
const OTHER: &str = "handmade-epub3.epub";

/// An admin and a reader, both signed in on the web.
async fn people(app: &TestApp) -> (WebClient<'_>, WebClient<'_>) {
    let key = app.admin_key().await;
    app.set_credential(&key, "web", "admin", "correct horse")
        .await;
    let (_, reader) = app.reader_key(&key, "ann").await;
    app.set_credential(&reader, "web", "ann", "reader password")
        .await;
    let mut admin = WebClient::new(app);
    assert_eq!(admin.signin("admin", "correct horse").await.status, 303);
    let mut ann = WebClient::new(app);
    assert_eq!(ann.signin("ann", "reader password").await.status, 303);
    (admin, ann)
}

fn one(app: &TestApp, sql: &str) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        v: Option<String>,
    }
    let rows: Vec<Row> = diesel::sql_query(sql).load(&mut app.db.conn()).unwrap();
    rows.into_iter()
        .next()
        .and_then(|r| r.v)
        .unwrap_or_default()
}

fn exec(app: &TestApp, sql: &str) {
    use diesel::RunQueryDsl;
    diesel::sql_query(sql).execute(&mut app.db.conn()).unwrap();
}

async fn upload(w: &mut WebClient<'_>, names: &[&str]) -> Page {
    w.get("/inbox").await;
    let files: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (*n, fixture(n))).collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let page = w.post_files("/inbox/upload", &[], &refs).await;
    assert_eq!(page.status, 200, "{}", page.html);
    page
}

fn book_of(app: &TestApp, file: &str) -> String {
    one(
        app,
        &format!("SELECT book_id::text AS v FROM book_files WHERE original_name = '{file}'"),
    )
}

/// A Hardcover proposal for the book, recorded as a lookup would record it.
fn propose(app: &TestApp, book: &str, normalized: serde_json::Value) -> String {
    let proposed = libris::library::external::Proposed {
        raw: &json!({}),
        normalized: &normalized,
        confidence: bigdecimal::BigDecimal::from_str("0.87").unwrap(),
    };
    let id = libris::library::external::record_hardcover_lookup(
        &mut app.db.conn(),
        book.parse().unwrap(),
        Some(proposed),
    )
    .unwrap()
    .unwrap();
    id.to_string()
}

#[actix_web::test]
async fn the_inbox_and_review_are_for_admins() {
    let app = TestApp::start();
    let (mut admin, mut ann) = people(&app).await;
    upload(&mut admin, &[EPUB]).await;
    let id = book_of(&app, EPUB);
    let pages = ["/inbox".to_owned(), format!("/review/{id}")];
    let forms = [
        "/inbox/upload".to_owned(),
        format!("/review/{id}/approve"),
        format!("/review/{id}/lookup"),
        format!("/review/{id}/delete"),
        format!("/review/{id}/merge"),
    ];
    let mut stranger = WebClient::new(&app);
    for path in &pages {
        let page = stranger.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location().starts_with("/signin"), "{path}");
    }
    for path in &forms {
        let page = stranger.post_raw(path, &[]).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location().starts_with("/signin"), "{path}");
    }
    ann.get("/account").await;
    for path in &pages {
        let page = ann.get(path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.has("for the library"), "{path}: {}", page.html);
    }
    for path in &forms {
        ann.get("/account").await;
        let page = ann.post(path, &[("confirm", "yes")]).await;
        assert_eq!(page.status, 403, "{path}");
    }
    let bad = ann
        .post_files("/inbox/upload", &[], &[(OTHER, &fixture(OTHER))])
        .await;
    assert_eq!(bad.status, 403);
    for path in &pages {
        let page = admin.get(path).await;
        assert_eq!(page.status, 200, "{path}");
    }
    // Nothing the reader sent changed anything.
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 1);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM books WHERE status = 'review'"),
        1
    );
    // Nonsense ids are the 404 page.
    assert_eq!(admin.get("/review/not-a-book").await.status, 404);
    let missing = admin
        .get("/review/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(missing.status, 404);
}

#[actix_web::test]
async fn each_uploaded_file_is_told_its_fate() {
    let app = TestApp::start();
    let (mut w, _) = people(&app).await;
    let page = upload(&mut w, &[EPUB, OTHER]).await;
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 2);
    let (epub, other) = (book_of(&app, EPUB), book_of(&app, OTHER));
    assert!(page.has("The Lighthouse Keeper"), "{}", page.html);
    assert!(page.has("Der handgezeichnete Atlas"), "{}", page.html);
    assert!(page.has(&format!("href=\"/review/{epub}\"")));
    assert!(page.has(&format!("href=\"/review/{other}\"")));
    assert_eq!(page.html.matches("New: ").count(), 2, "{}", page.html);
    // And both wait in the queue below, with their format and cover.
    let inbox = w.get("/inbox").await;
    assert!(inbox.has("EPUB"));
    assert!(
        inbox.has(&format!("/books/{epub}/thumbnail")),
        "{}",
        inbox.html
    );

    // The same bytes again: a duplicate, linked to the book it is.
    let again = upload(&mut w, &[EPUB]).await;
    assert!(again.has("Duplicate of"), "{}", again.html);
    assert!(again.has(&format!("href=\"/review/{epub}\"")));
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 2);

    // A file libris does not take, and a damaged one: refused, saying why, nothing stored.
    w.get("/inbox").await;
    let refused = w
        .post_files(
            "/inbox/upload",
            &[],
            &[
                ("setup.exe", b"MZ\x90\x00 not a book at all"),
                (
                    "broken-zip-not-epub.epub",
                    &fixture("broken-zip-not-epub.epub"),
                ),
            ],
        )
        .await;
    assert_eq!(refused.status, 200);
    assert!(refused.has("Refused, unsupported type"), "{}", refused.html);
    assert!(refused.has("Refused, unreadable"), "{}", refused.html);
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 2);

    // An upload with no file is a form error.
    w.get("/inbox").await;
    let none = w.post_files("/inbox/upload", &[], &[]).await;
    assert_eq!(none.status, 422);
    assert!(none.has("Choose at least one file"));
}

#[actix_web::test]
async fn the_script_uploads_one_file_a_request_and_reads_json() {
    let app = TestApp::start();
    let (mut w, _) = people(&app).await;
    w.get("/inbox").await;
    let token = w.csrf.clone().unwrap();
    let boundary = "b0undary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{EPUB}\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&fixture(EPUB));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ctype = format!("multipart/form-data; boundary={boundary}");
    let page = w
        .send_with(
            "POST",
            "/inbox/upload",
            Some((ctype.clone(), body.clone())),
            &[("x-csrf-token", &token), ("accept", "application/json")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    let answer: serde_json::Value = serde_json::from_str(&page.html).unwrap();
    assert_eq!(answer["files"][0]["kind"], "new", "{answer}");
    assert_eq!(answer["files"][0]["name"], EPUB);
    let id = book_of(&app, EPUB);
    assert_eq!(
        answer["files"][0]["parts"][1]["href"],
        format!("/review/{id}")
    );
    // A wrong header token, and no first field: refused, nothing read.
    let refused = w
        .send_with(
            "POST",
            "/inbox/upload",
            Some((ctype, body)),
            &[("x-csrf-token", "0123"), ("accept", "application/json")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 1);
}

#[actix_web::test]
async fn an_upload_without_its_token_stores_nothing() {
    let app = TestApp::start();
    let (mut w, _) = people(&app).await;
    w.get("/inbox").await;
    let good = w.csrf.clone().unwrap();
    // No token at all (an empty first field).
    w.csrf = None;
    let page = w
        .post_files("/inbox/upload", &[], &[(EPUB, &fixture(EPUB))])
        .await;
    assert_eq!(page.status, 403);
    // The token after the file: refused before the file is read.
    let boundary = "b0undary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{EPUB}\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&fixture(EPUB));
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{good}\r\n--{boundary}--\r\n"
        )
        .as_bytes(),
    );
    let ctype = format!("multipart/form-data; boundary={boundary}");
    let late = w
        .send_with("POST", "/inbox/upload", Some((ctype, body)), &[])
        .await;
    assert_eq!(late.status, 403);
    // Another session's token.
    let mut other = WebClient::new(&app);
    other.signin("admin", "correct horse").await;
    other.get("/inbox").await;
    w.csrf = other.csrf.clone();
    let foreign = w
        .post_files("/inbox/upload", &[], &[(EPUB, &fixture(EPUB))])
        .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 0);
    assert_eq!(app.db.count("SELECT count(*) FROM upload_registry"), 0);
    let stored: Vec<_> = files_under(app.data.path())
        .into_iter()
        .filter(|p| !p.ends_with("secret"))
        .collect();
    assert!(stored.is_empty(), "{stored:?}");
}

#[actix_web::test]
async fn review_takes_a_candidate_s_title_and_approves() {
    let app = TestApp::start();
    let (mut w, _) = people(&app).await;
    upload(&mut w, &[EPUB]).await;
    let id = book_of(&app, EPUB);
    let candidate = propose(
        &app,
        &id,
        json!({ "title": "The Lighthouse Keeper: A Novel", "author": "Jane Doe",
                "published_year": 2018, "hardcover_book_id": 42 }),
    );
    let page = w.get(&format!("/review/{id}")).await;
    assert_eq!(page.status, 200);
    // The file's values, the candidate's with its confidence, the final inputs.
    assert!(page.has("This file"));
    assert!(page.has("87%"), "{}", page.html);
    assert!(page.has("The Lighthouse Keeper: A Novel"));
    assert!(page.has("Fixture Press"));
    assert!(page.has("id=\"f-title\" name=\"title\" type=\"text\" value=\"The Lighthouse Keeper\""));
    assert!(page.has(&format!("name=\"pick_title\" value=\"{candidate}\"")));
    assert!(page.has("name=\"pick_title\" value=\"file\""));
    assert!(page.has("/static/review."));

    let done = w
        .post(
            &format!("/review/{id}/approve"),
            &[
                ("pick_title", &candidate),
                ("title", "The Lighthouse Keeper"),
                ("pick_published_year", "typed"),
                ("published_year", "2019"),
                ("cover", "keep"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.location(), "/inbox?done=approved");
    assert_eq!(
        one(
            &app,
            &format!("SELECT status::text AS v FROM books WHERE id = '{id}'")
        ),
        "organized"
    );
    assert_eq!(
        one(
            &app,
            &format!("SELECT title AS v FROM books WHERE id = '{id}'")
        ),
        "The Lighthouse Keeper: A Novel"
    );
    // Fields not sent stay as they were; the candidate's pick is recorded.
    assert_eq!(
        one(
            &app,
            &format!("SELECT publisher AS v FROM books WHERE id = '{id}'")
        ),
        "Fixture Press"
    );
    assert_eq!(
        one(
            &app,
            &format!("SELECT array_to_string(selected_fields, ',') AS v FROM book_metadata_candidates WHERE id = '{candidate}'")
        ),
        "title"
    );
    let inbox = w.get("/inbox?done=approved").await;
    assert!(inbox.has("Approved"));
    // Its review now says it left the queue.
    let after = w.get(&format!("/review/{id}")).await;
    assert!(after.has("no longer in review"));
}

#[actix_web::test]
async fn wrong_values_are_named_next_to_their_fields_and_nothing_changes() {
    let app = TestApp::start();
    let (mut w, _) = people(&app).await;
    upload(&mut w, &[EPUB]).await;
    let id = book_of(&app, EPUB);
    let before = one(
        &app,
        &format!("SELECT row_to_json(b)::text AS v FROM books b WHERE id = '{id}'"),
    );
    w.get(&format!("/review/{id}")).await;
    let page = w
        .post(
            &format!("/review/{id}/approve"),
            &[("title", "A New Title"), ("published_year", "3000")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.html);
    assert!(page.has("id=\"f-published_year-error\""), "{}", page.html);
    assert!(page.has("must be from 1 to"));
    // What was typed is kept.
    assert!(page.has("value=\"3000\""));
    assert!(page.has("value=\"A New Title\""));
    // Hostile values in every field: each named, none a 500, nothing stored.
    let hostile = "<script>alert(1)</script>";
    w.get(&format!("/review/{id}")).await;
    let page = w
        .post(
            &format!("/review/{id}/approve"),
            &[
                ("published_year", "nineteen"),
                ("page_count", "-5"),
                ("series_index", "NaN"),
                ("isbn_13", hostile),
                ("isbn_10", "x"),
                ("language", hostile),
                ("title", &"t".repeat(2000)),
                ("pick_author", "not-a-candidate"),
                ("cover", "also-not-one"),
                ("genres", hostile),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.html);
    for field in [
        "published_year",
        "page_count",
        "series_index",
        "isbn_13",
        "isbn_10",
        "language",
        "title",
        "author",
    ] {
        assert!(
            page.has(&format!("id=\"f-{field}-error\"")),
            "{field}: {}",
            page.html
        );
    }
    assert!(page.has("id=\"cover-error\""));
    assert!(!page.has(hostile));
    let after = one(
        &app,
        &format!("SELECT row_to_json(b)::text AS v FROM books b WHERE id = '{id}'"),
    );
    assert_eq!(before, after, "nothing changed");
    // Without the form's token: 403, still nothing.
    let raw = w
        .post_raw(&format!("/review/{id}/approve"), &[("title", "x")])
        .await;
    assert_eq!(raw.status, 403);
    for action in ["delete", "merge", "lookup"] {
        let raw = w
            .post_raw(&format!("/review/{id}/{action}"), &[("confirm", "yes")])
            .await;
        assert_eq!(raw.status, 403, "{action}");
    }
    assert_eq!(
        before,
        one(
            &app,
            &format!("SELECT row_to_json(b)::text AS v FROM books b WHERE id = '{id}'"),
        )
    );
}

#[actix_web::test]
async fn the_queue_leads_from_book_to_book() {
    let app = TestApp::start();
    let (mut w, _) = people(&app).await;
    upload(&mut w, &[EPUB]).await;
    upload(&mut w, &[OTHER]).await;
    let (older, newer) = (book_of(&app, EPUB), book_of(&app, OTHER));
    // Newest first: the newer's next is the older, whose previous is the newer.
    let page = w.get(&format!("/review/{newer}")).await;
    assert!(
        page.has(&format!("rel=\"next\" href=\"/review/{older}\"")),
        "{}",
        page.html
    );
    assert!(!page.has("rel=\"prev\""));
    let page = w.get(&format!("/review/{older}")).await;
    assert!(page.has(&format!("rel=\"prev\" href=\"/review/{newer}\"")));
    // Approving one goes on to the other, then back to the inbox.
    w.get(&format!("/review/{newer}")).await;
    let done = w.post(&format!("/review/{newer}/approve"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.location(), format!("/review/{older}?done=approved"));
    let next = w.get(&done.location()).await;
    assert!(next.has("Here is the next one"));
}

#[actix_web::test]
async fn delete_asks_first() {
    let app = TestApp::start();
    let (mut w, _) = people(&app).await;
    upload(&mut w, &[EPUB]).await;
    let id = book_of(&app, EPUB);
    w.get(&format!("/review/{id}")).await;
    let ask = w.post(&format!("/review/{id}/delete"), &[]).await;
    assert_eq!(ask.status, 200);
    assert!(ask.has("Delete for good"));
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 1);
    let done = w
        .post(&format!("/review/{id}/delete"), &[("confirm", "yes")])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location(), "/inbox?done=deleted");
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 0);
    assert_eq!(app.db.count("SELECT count(*) FROM book_files"), 0);
}

#[actix_web::test]
async fn another_format_is_added_to_its_book() {
    let app = TestApp::start();
    let (mut w, _) = people(&app).await;
    upload(&mut w, &[EPUB]).await;
    let epub = book_of(&app, EPUB);
    w.get(&format!("/review/{epub}")).await;
    let done = w.post(&format!("/review/{epub}/approve"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.html);

    let page = upload(&mut w, &[PDF]).await;
    let pdf = book_of(&app, PDF);
    assert_ne!(pdf, epub);
    assert!(page.has("Probably another format of"), "{}", page.html);
    assert!(page.has(&format!("href=\"/books/{epub}\"")));
    let inbox = w.get("/inbox").await;
    assert!(inbox.has("Another format of"));
    let review = w.get(&format!("/review/{pdf}")).await;
    assert!(review.has("Add as another format of"), "{}", review.html);
    let merged = w.post(&format!("/review/{pdf}/merge"), &[]).await;
    assert_eq!(merged.status, 303, "{}", merged.html);
    assert_eq!(merged.location(), "/inbox?done=merged");
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 1);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM book_files WHERE book_id = '{epub}'"
        )),
        2
    );
    // A book with nothing to merge into: a conflict page, nothing changed.
    upload(&mut w, &[OTHER]).await;
    let other = book_of(&app, OTHER);
    w.get(&format!("/review/{other}")).await;
    let refused = w.post(&format!("/review/{other}/merge"), &[]).await;
    assert_eq!(refused.status, 409);
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 2);
}

#[actix_web::test]
async fn book_metadata_is_text_on_the_queue_and_the_review() {
    let app = TestApp::start();
    let (mut w, _) = people(&app).await;
    upload(&mut w, &[EPUB]).await;
    let id = book_of(&app, EPUB);
    let hostile = "<script>alert(1)</script>";
    exec(
        &app,
        &format!(
            "UPDATE books SET title = '{hostile}', author = '\"><img src=x>' WHERE id = '{id}'"
        ),
    );
    propose(
        &app,
        &id,
        json!({ "title": hostile, "description": "<b>bold</b>" }),
    );
    for path in ["/inbox".to_owned(), format!("/review/{id}")] {
        let page = w.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(!page.has(hostile), "{path}");
        assert!(!page.has("<img src=x>"), "{path}");
        assert!(!page.has("<b>bold"), "{path}");
        assert!(page.has("&lt;script&gt;alert(1)&lt;/script&gt;"), "{path}");
    }
}

#[actix_web::test]
async fn a_candidate_s_cover_is_shown_through_libris_and_taken_on_approval() {
    let fake = crate::common::fake_hardcover::FakeHardcover::start();
    fake.with(|d| {
        let img = image::RgbImage::from_pixel(40, 60, image::Rgb([200, 40, 40]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        d.image = Some(("image/png".into(), out.into_inner()));
    });
    let app = TestApp::builder().allow_private_cover_urls().start();
    let (mut w, _) = people(&app).await;
    upload(&mut w, &[EPUB]).await;
    let id = book_of(&app, EPUB);
    let candidate = propose(
        &app,
        &id,
        json!({ "title": "The Lighthouse Keeper", "cover_url": fake.image_url() }),
    );
    let page = w.get(&format!("/review/{id}")).await;
    let src = format!("/review/{id}/covers/{candidate}");
    assert!(page.has(&format!("src=\"{src}\"")), "{}", page.html);
    assert!(page.has(&format!("name=\"cover\" value=\"{candidate}\"")));
    let image = w.get(&src).await;
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), "image/jpeg");
    // A made-up candidate's cover is the 404 page.
    let none = w
        .get(&format!(
            "/review/{id}/covers/00000000-0000-0000-0000-000000000000"
        ))
        .await;
    assert_eq!(none.status, 404);

    w.get(&format!("/review/{id}")).await;
    let done = w
        .post(&format!("/review/{id}/approve"), &[("cover", &candidate)])
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(
        one(
            &app,
            &format!("SELECT cover_url AS v FROM books WHERE id = '{id}'")
        ),
        fake.image_url()
    );
}
