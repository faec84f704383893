//! The web app's reading pages through HTTP: the shelves, a book's timeline of sittings, and
//! devices and sync health with the documents that matched no book (link one to a book,
//! forget one); who may see and do what, and what bad input changes (nothing).

use serde_json::json;

use crate::common::web::WebClient;
use crate::common::{next_second, TestApp, KEY};
use crate::web_library::{browser, library, reader};

/// lighthouse-epub3.epub's partial MD5: KOReader's document id of that file.
const LIGHTHOUSE_DOC: &str = "ad4a15989655682cda3695b7784ef3d0";
/// A document of no book in the library.
const STRAY: &str = "0123456789abcdef0123456789abcdef";
const OTHER_STRAY: &str = "fedcba9876543210fedcba9876543210";

async fn report(
    app: &TestApp,
    document: &str,
    percentage: f64,
    device: &str,
    extra: serde_json::Value,
) {
    let mut body = json!({ "document": document, "progress": format!("/body/p[{}]", (percentage * 100.0) as i64),
        "percentage": percentage, "device": device, "device_id": format!("{device}-ID") });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = app.put_progress("boss", KEY, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// The api key id of the KoSync user "boss" (the admin).
fn boss_key(app: &TestApp) -> uuid::Uuid {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    diesel::sql_query("SELECT api_key_id AS id FROM service_credentials WHERE username = 'boss' AND service = 'kosync'")
        .get_result::<Key>(&mut app.db.conn())
        .unwrap()
        .id
}

fn count(app: &TestApp, sql: &str) -> i64 {
    app.db.count(sql)
}

/// The library's three books (Lighthouse, Interlude, Birds), the admin's KoSync login "boss"
/// and a browser signed in as the admin.
async fn setup(app: &TestApp) -> (String, Vec<String>, WebClient<'_>) {
    let (admin, ids) = library(
        app,
        &[
            "lighthouse-epub3.epub",
            "series-fractional-1.5.epub",
            "multi-author-epub3.epub",
        ],
        &[],
    )
    .await;
    app.set_credential(&admin, "kosync", "boss", KEY).await;
    let w = browser(app, &admin, "boss").await;
    (admin, ids, w)
}

#[actix_web::test]
async fn the_shelves_hold_each_book_once_by_its_effective_status() {
    let app = TestApp::start();
    let (admin, ids, mut w) = setup(&app).await;
    report(&app, LIGHTHOUSE_DOC, 0.42, "Kobo Libra", json!({})).await;
    // Interlude finished by hand.
    w.get(&format!("/books/{}", ids[1])).await;
    let set = w
        .post(
            &format!("/books/{}/status", ids[1]),
            &[
                ("status", "finished"),
                ("started_at", "2026-10-01"),
                ("finished_at", "2026-11-01"),
                ("paused_at", ""),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.html);

    let shelves = w.get("/reading").await;
    assert_eq!(shelves.status, 200);
    assert!(shelves.has("Continue reading"));
    let continuing = &shelves.html[..shelves.html.find("aria-label=\"Shelves\"").unwrap()];
    assert!(
        continuing.contains("The Lighthouse Keeper") && continuing.contains("value=\"42\""),
        "{continuing}"
    );
    assert!(
        continuing.contains("on Kobo Libra") && continuing.contains("just now"),
        "{continuing}"
    );
    assert!(
        shelves.has("Reading <span class=\"count\">1</span>"),
        "{}",
        shelves.html
    );
    assert!(shelves.has("Finished <span class=\"count\">1</span>"));
    assert!(shelves.has("Unread <span class=\"count\">1</span>"));
    assert!(shelves.has("aria-current=\"page\">Reading"));

    let finished = w.get("/reading?shelf=finished").await;
    let shelf = &finished.html[finished.html.find("id=\"shelf-h\"").unwrap()..];
    assert!(
        shelf.contains("Interlude at the Lighthouse") && !shelf.contains("The Lighthouse Keeper")
    );
    let unread = w.get("/reading?shelf=unread").await;
    let shelf = &unread.html[unread.html.find("id=\"shelf-h\"").unwrap()..];
    assert!(
        shelf.contains("Collected Field Notes on Coastal Birds"),
        "{shelf}"
    );
    assert!(!shelf.contains("Interlude") && !shelf.contains("The Lighthouse Keeper"));
    let paused = w.get("/reading?shelf=paused").await;
    assert!(paused.has("No paused book"));

    // Nobody else's reading: a new reader has every book unread and nothing in progress.
    let mut ann = reader(&app, &admin).await;
    let theirs = ann.get("/reading").await;
    assert!(
        theirs.has("Nothing in progress") && theirs.has("Unread <span class=\"count\">3</span>"),
        "{}",
        theirs.html
    );
    assert!(!theirs.has("Kobo Libra"));

    for bad in [
        "/reading?shelf=wishlist",
        "/reading?page=0",
        "/reading?page=9",
        "/reading?page=x",
    ] {
        let page = w.get(bad).await;
        assert!(
            page.status == 404 || page.status == 400,
            "{bad}: {}",
            page.status
        );
    }
    let signed_out = WebClient::new(&app).get("/reading").await;
    assert_eq!(signed_out.status, 303, "sign in first");
}

#[actix_web::test]
async fn a_book_shows_its_reading_sitting_by_sitting() {
    let app = TestApp::start();
    let (_, ids, mut w) = setup(&app).await;
    report(&app, LIGHTHOUSE_DOC, 0.10, "Kobo Libra", json!({})).await;
    report(&app, LIGHTHOUSE_DOC, 0.15, "Boox", json!({})).await;
    let page = w.get(&format!("/books/{}", ids[0])).await;
    assert!(page.has("sitting by sitting"), "{}", page.html);
    assert!(
        page.has("Kobo Libra, Boox") && page.has("10% → 15%") && page.has("(2 reports)"),
        "{}",
        page.html
    );
    assert!(page.has("/body/p[15]"), "each report's position");
    let other = w.get(&format!("/books/{}", ids[1])).await;
    assert!(!other.has("sitting by sitting"), "no reading, no timeline");
}

#[actix_web::test]
async fn an_unmatched_document_is_shown_linked_by_hand_and_counts_for_its_book() {
    let app = TestApp::start();
    let (admin, ids, mut w) = setup(&app).await;
    let birds = &ids[2];
    report(&app, LIGHTHOUSE_DOC, 0.3, "Kobo Libra", json!({})).await;
    report(
        &app,
        STRAY,
        0.25,
        "Kobo Libra",
        json!({ "metadata": { "title": "Field Notes", "authors": ["Someone <b>Else</b>"] } }),
    )
    .await;
    report(
        &app,
        STRAY,
        0.5,
        "Kobo Libra",
        json!({ "metadata": { "title": "Field Notes", "authors": ["Someone <b>Else</b>"] } }),
    )
    .await;
    report(&app, OTHER_STRAY, 0.9, "Boox", json!({})).await;

    let page = w.get("/devices").await;
    assert_eq!(page.status, 200);
    assert!(
        page.has("Kobo Libra") && page.has("Kobo Libra-ID") && page.has("Boox"),
        "{}",
        page.html
    );
    assert!(page.has("1 by content, 1 matched no book"), "{}", page.html);
    assert!(page.has(STRAY) && page.has(OTHER_STRAY));
    assert!(
        page.has("KOReader said: Field Notes · Someone &lt;b&gt;Else&lt;/b&gt;"),
        "escaped: {}",
        page.html
    );

    // The picker searches by what KOReader said, and links.
    let link = format!("/devices/link?document={STRAY}");
    let picker = w.get(&link).await;
    assert_eq!(picker.status, 200);
    assert!(
        picker.has("value=\"Field Notes\"") && picker.has("Collected Field Notes on Coastal Birds"),
        "{}",
        picker.html
    );
    let history_before = count(&app, &format!("SELECT count(*) FROM reading_progress_history WHERE document = '{STRAY}' AND book_id IS NULL"));
    assert_eq!(history_before, 2);

    // A reader cannot link the admin's document, nor see their devices.
    let mut ann = reader(&app, &admin).await;
    assert_eq!(ann.get(&link).await.status, 404);
    ann.get("/devices").await;
    let hers = ann
        .post("/devices/link", &[("document", STRAY), ("book", birds)])
        .await;
    assert_eq!(hers.status, 404);
    let boss_key = boss_key(&app);
    assert_eq!(
        ann.get(&format!("/readers/{boss_key}/devices"))
            .await
            .status,
        403
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM document_links WHERE source = 'manual'"
        ),
        0
    );

    // Bad input: an unknown book, a book id that is not one, no CSRF token: nothing changes.
    w.get("/devices").await;
    let unknown = w
        .post(
            "/devices/link",
            &[
                ("document", STRAY),
                ("book", "00000000-0000-0000-0000-000000000000"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 404);
    let garbage = w
        .post("/devices/link", &[("document", STRAY), ("book", "birds")])
        .await;
    assert_eq!(garbage.status, 404);
    let forged = w
        .post_raw("/devices/link", &[("document", STRAY), ("book", birds)])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM document_links WHERE source = 'manual'"
        ),
        0
    );

    let linked = w
        .post("/devices/link", &[("document", STRAY), ("book", birds)])
        .await;
    assert_eq!(linked.status, 303, "{}", linked.html);
    assert_eq!(linked.location(), "/devices?done=linked");
    assert_eq!(count(&app, &format!("SELECT count(*) FROM reading_progress_history WHERE document = '{STRAY}' AND book_id = '{birds}'")), 2);
    assert_eq!(count(&app, &format!("SELECT count(*) FROM reading_aggregate WHERE book_id = '{birds}' AND max_percentage = 0.5")), 1);
    let after = w.get("/devices?done=linked").await;
    assert!(after.has("The document is linked"));
    assert!(after.has("1 by content, 1 by hand"), "{}", after.html);
    assert!(!after.has(STRAY), "no longer unmatched");
    let shelves = w.get("/reading").await;
    assert!(
        shelves.has("Collected Field Notes on Coastal Birds") && shelves.has("value=\"50\""),
        "{}",
        shelves.html
    );

    // Forget the other one: its rows go; forgetting it again is 404.
    let forgot = w
        .post("/devices/forget", &[("document", OTHER_STRAY)])
        .await;
    assert_eq!(forgot.status, 303);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM reading_progress_history WHERE document = '{OTHER_STRAY}'"
            )
        ),
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM reading_progress WHERE document = '{OTHER_STRAY}'")
        ),
        0
    );
    assert_eq!(
        w.post("/devices/forget", &[("document", OTHER_STRAY)])
            .await
            .status,
        404
    );
    // A matched document is not forgotten from here.
    assert_eq!(
        w.post("/devices/forget", &[("document", LIGHTHOUSE_DOC)])
            .await
            .status,
        404
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM reading_progress WHERE document = '{LIGHTHOUSE_DOC}'")
        ),
        1
    );
}

#[actix_web::test]
async fn admins_see_a_reader_s_devices_and_bursts_are_flagged() {
    let app = TestApp::start();
    let (_, _, mut w) = setup(&app).await;
    // Three reports inside one second: what a replayed offline queue looks like.
    next_second().await;
    for p in [0.1, 0.2, 0.3] {
        report(&app, STRAY, p, "Kobo Libra", json!({})).await;
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(DISTINCT \"timestamp\") FROM reading_progress_history"
        ),
        1,
        "three local calls within the second that just began"
    );
    let page = w.get("/devices").await;
    assert!(
        page.has("Reports in bursts") && page.has("1 time."),
        "{}",
        page.html
    );
    assert!(
        page.has("<dt>Reports, last 30 days</dt><dd>3</dd>"),
        "{}",
        page.html
    );

    // An admin looks at their own devices under /readers/{id}/devices as on /devices.
    let boss_key = boss_key(&app);
    let own = w.get(&format!("/readers/{boss_key}/devices")).await;
    assert_eq!(own.status, 200);
    assert!(own.has(STRAY) && own.has("action=\"/devices/forget\""));
    assert_eq!(w.get("/readers/not-a-uuid/devices").await.status, 404);
    assert_eq!(
        w.get("/readers/00000000-0000-0000-0000-000000000000/devices")
            .await
            .status,
        404
    );
}

/// Reports of the reader "boss" written as KoSync would have over past days: (days ago, hour,
/// minute, percentage) of `book` under `document`; then the aggregates rebuilt.
fn past_reports(app: &TestApp, book: &str, document: &str, reports: &[(i64, u32, u32, f64)]) {
    use diesel::prelude::*;
    let key = boss_key(app);
    let mut conn = app.db.conn();
    let today = chrono::Utc::now().date_naive();
    for (ago, hour, minute, percentage) in reports {
        let at = (today - chrono::Duration::days(*ago))
            .and_hms_opt(*hour, *minute, 0)
            .unwrap()
            .and_utc();
        diesel::sql_query(
            "INSERT INTO reading_progress_history (book_id, api_key_id, document, device, progress, percentage, \"timestamp\", created_at) \
             VALUES ($1::uuid, $2, $3, 'Kobo', 'p', $4, $5, to_timestamp($5))",
        )
        .bind::<diesel::sql_types::Text, _>(book)
        .bind::<diesel::sql_types::Uuid, _>(key)
        .bind::<diesel::sql_types::Text, _>(document)
        .bind::<diesel::sql_types::Numeric, _>(bigdecimal::BigDecimal::try_from(*percentage).unwrap())
        .bind::<diesel::sql_types::BigInt, _>(at.timestamp())
        .execute(&mut conn)
        .unwrap();
    }
    let rules = libris::reading::state::rules(&mut conn).unwrap();
    libris::reading::state::rebuild(&mut conn, &rules, Some(key), None).unwrap();
}

#[actix_web::test]
async fn statistics_are_charts_with_words_and_numbers_for_the_range_asked() {
    let app = TestApp::start();
    let (admin, ids, mut w) = setup(&app).await;
    // Two sittings of 30 and 10 minutes yesterday, one of 20 minutes three days ago, on the
    // Lighthouse (Jane Doe); finished yesterday.
    past_reports(
        &app,
        &ids[0],
        LIGHTHOUSE_DOC,
        &[
            (3, 9, 0, 0.1),
            (3, 9, 20, 0.3),
            (1, 20, 0, 0.5),
            (1, 20, 15, 0.6),
            (1, 20, 30, 0.8),
            (1, 22, 0, 0.9),
            (1, 22, 10, 0.99),
        ],
    );
    let page = w.get("/stats?range=30d").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.has("<title id=\"calendar-t\">Minutes read each day</title>"));
    assert!(page.has("2 of 30 days with reading"), "{}", page.html);
    assert!(page.has("the most in a day: 40 minutes"), "{}", page.html);
    // The calendar: a cell a day and five in the legend.
    let calendar = &page.html
        [page.html.find("id=\"calendar-t\"").unwrap()..page.html.find("id=\"daily-h\"").unwrap()];
    assert_eq!(calendar.matches("<rect").count(), 30 + 5);
    assert!(
        page.has("1.0</strong>hours read") && page.has("3</strong>sittings"),
        "{}",
        page.html
    );
    assert!(page.has("1</strong>books finished"));
    assert!(page.has("<polyline class=\"avg\""), "the 7-day average");
    assert!(page.has("1 books finished; the most in"), "{}", page.html);
    assert!(
        page.has("<td>2–3 days</td>") || page.has(">2–3 days</th>"),
        "the histogram's table"
    );
    assert!(page.has("First: Jane Doe (60 minutes)."), "{}", page.html);
    assert!(
        page.has("The library's growth") && page.has("3 books added"),
        "admins see the library grow"
    );

    for range in [
        "",
        "?range=year",
        "?range=12m",
        "?range=all",
        &format!("?range={}", chrono::Utc::now().format("%Y")),
    ] {
        let p = w.get(&format!("/stats{range}")).await;
        assert_eq!(p.status, 200, "{range}");
        assert!(p.has("Minutes read each day"), "{range}");
    }
    for bad in ["?range=2999", "?range=%3Cscript%3E", "?range=7d"] {
        let p = w.get(&format!("/stats{bad}")).await;
        assert_eq!(p.status, 404, "{bad}");
        assert!(!p.has("<script>"), "{bad}");
    }

    // Another reader: their own numbers (none), no library growth.
    let mut ann = reader(&app, &admin).await;
    let theirs = ann.get("/stats?range=30d").await;
    assert_eq!(theirs.status, 200);
    assert!(
        theirs.has("0 of 30 days with reading") && theirs.has("No book finished in this range.")
    );
    assert!(!theirs.has("Jane Doe") && !theirs.has("The library's growth"));
}

#[actix_web::test]
async fn goals_are_set_checked_and_shown_with_their_progress() {
    let app = TestApp::start();
    let (admin, ids, mut w) = setup(&app).await;
    // A book finished yesterday counts for this year (and this month, unless today is the 1st).
    past_reports(
        &app,
        &ids[0],
        LIGHTHOUSE_DOC,
        &[(1, 20, 0, 0.2), (1, 20, 15, 0.6), (1, 20, 30, 0.99)],
    );

    // Over the API: set, read with progress, refuse what is not a goal.
    let r = app
        .api(
            "PUT",
            "/api/goals/books_per_year",
            Some(&admin),
            Some(json!({ "target": 24 })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["target"], 24);
    for (path, body, status) in [
        ("/api/goals/books_per_year", json!({ "target": 0 }), 400),
        ("/api/goals/books_per_month", json!({ "target": 32 }), 400),
        ("/api/goals/minutes_per_day", json!({ "target": "30" }), 400),
        (
            "/api/goals/minutes_per_day",
            json!({ "target": 30, "x": 1 }),
            400,
        ),
        ("/api/goals/pages_per_day", json!({ "target": 30 }), 404),
    ] {
        let r = app.api("PUT", path, Some(&admin), Some(body)).await;
        assert_eq!(r.status, status, "{path}: {:?}", r.body);
    }
    let listed = app.api("GET", "/api/goals", Some(&admin), None).await;
    assert_eq!(listed.status, 200);
    let goals = listed.body.as_array().unwrap();
    assert_eq!(goals.len(), 1, "the refused ones stored nothing: {goals:?}");
    let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let this_year = chrono::Utc::now().format("%Y").to_string();
    let expected_done = if yesterday.format("%Y").to_string() == this_year {
        1.0
    } else {
        0.0
    };
    assert_eq!(goals[0]["kind"], "books_per_year");
    assert_eq!(goals[0]["period"], this_year.as_str());
    assert_eq!(goals[0]["done"], expected_done);

    // On the web: the statistics page shows it, a bad target is an error next to its field.
    let page = w.get("/stats").await;
    assert!(
        page.has(&format!("of 24 books in {this_year}")),
        "{}",
        page.html
    );
    let refused = w
        .post(
            "/stats/goals",
            &[("kind", "minutes_per_day"), ("target", "lots")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.has("id=\"f-target-minutes_per_day-error\""),
        "{}",
        refused.html
    );
    assert!(refused.has("value=\"lots\""), "what was typed is kept");
    let too_many = w
        .post(
            "/stats/goals",
            &[("kind", "minutes_per_day"), ("target", "5000")],
        )
        .await;
    assert_eq!(too_many.status, 422);
    assert!(too_many.has("from 1 to 1440"), "{}", too_many.html);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM reading_goals WHERE kind = 'minutes_per_day'"
        ),
        0
    );
    let set = w
        .post(
            "/stats/goals",
            &[("kind", "minutes_per_day"), ("target", "30")],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.html);
    let home = w.get("/").await;
    assert!(
        home.has("Your goals") && home.has("of 30 minutes today"),
        "{}",
        home.html
    );

    // Nobody else's: another reader has no goals and cannot remove the admin's.
    let mut ann = reader(&app, &admin).await;
    assert!(!ann.get("/").await.has("Your goals"));
    ann.get("/stats").await;
    ann.post("/stats/goals/remove", &[("kind", "minutes_per_day")])
        .await;
    assert_eq!(count(&app, "SELECT count(*) FROM reading_goals"), 2);
    let removed = w
        .post("/stats/goals/remove", &[("kind", "minutes_per_day")])
        .await;
    assert_eq!(removed.status, 303);
    assert_eq!(count(&app, "SELECT count(*) FROM reading_goals"), 1);
    let r = app
        .api("DELETE", "/api/goals/books_per_year", Some(&admin), None)
        .await;
    assert_eq!(r.status, 204);
    let r = app
        .api("DELETE", "/api/goals/books_per_year", Some(&admin), None)
        .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn a_year_in_review_is_the_reader_s_own_and_only_for_years_with_reading() {
    let app = TestApp::start();
    let (admin, ids, mut w) = setup(&app).await;
    past_reports(
        &app,
        &ids[0],
        LIGHTHOUSE_DOC,
        &[(1, 20, 0, 0.2), (1, 20, 15, 0.6), (1, 20, 30, 0.99)],
    );
    let year = (chrono::Utc::now().date_naive() - chrono::Duration::days(1))
        .format("%Y")
        .to_string();
    let page = w.get(&format!("/year/{year}")).await;
    assert_eq!(page.status, 200);
    assert!(page.has(&format!("{year} in review")));
    assert!(page.has("1</strong>books finished"), "{}", page.html);
    assert!(page.has("The Lighthouse Keeper") && page.has("Finished "));
    assert!(
        page.has("<dt>Top authors</dt><dd>Jane Doe</dd>"),
        "{}",
        page.html
    );
    assert!(page.has("<title id=\"months-t\">Minutes read each month</title>"));
    // This year always; a past year without reading, a future one, not a year: 404.
    let this_year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(w.get(&format!("/year/{this_year}")).await.status, 200);
    for bad in ["2001", "2999", "twenty", "-1"] {
        assert_eq!(w.get(&format!("/year/{bad}")).await.status, 404, "{bad}");
    }
    // Private: another reader's page of the same year holds none of it.
    let mut ann = reader(&app, &admin).await;
    let theirs = ann.get(&format!("/year/{this_year}")).await;
    assert!(!theirs.has("The Lighthouse Keeper") && theirs.has("0</strong>books finished"));
}

/// One text value from the test's database.
fn text(app: &TestApp, sql: &str) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    diesel::sql_query(sql)
        .get_result::<Row>(&mut app.db.conn())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .v
}

#[actix_web::test]
async fn collections_are_made_ordered_and_shared_by_a_link_that_opens_only_them() {
    let app = TestApp::start();
    let (admin, ids, mut w) = setup(&app).await;
    w.get("/collections").await;
    // A name is required and at most 200 characters: errors beside the field, nothing stored.
    for bad in ["", "   ", &"x".repeat(201)] {
        let page = w
            .post("/collections", &[("name", bad), ("description", "d")])
            .await;
        assert_eq!(page.status, 422, "{bad:?}");
        assert!(page.has("id=\"f-name-error\""), "{}", page.html);
    }
    assert_eq!(count(&app, "SELECT count(*) FROM collections"), 0);
    let made = w
        .post(
            "/collections",
            &[("name", "Sea <stories>"), ("description", "For the summer")],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let id = made
        .location()
        .trim_start_matches("/collections/")
        .to_owned();

    // Added from each book's page, in order; moved; one removed.
    for book in &ids {
        let page = w.get(&format!("/books/{book}")).await;
        assert!(page.has("Add to a collection") && page.has("Sea &lt;stories&gt;"));
        let added = w
            .post("/collections/add", &[("collection", &id), ("book", book)])
            .await;
        assert_eq!(added.status, 303, "{}", added.html);
    }
    let again = w
        .post(
            "/collections/add",
            &[("collection", &id), ("book", &ids[0])],
        )
        .await;
    assert_eq!(again.status, 303, "adding twice changes nothing");
    let order = |app: &TestApp| {
        text(app, &format!(
        "SELECT string_agg(b.title, ' | ' ORDER BY cb.position) AS v FROM collection_books cb JOIN books b ON b.id = cb.book_id WHERE cb.collection_id = '{id}'"))
    };
    assert_eq!(order(&app), "The Lighthouse Keeper | Interlude at the Lighthouse | Collected Field Notes on Coastal Birds");
    w.get(&format!("/collections/{id}")).await;
    let moved = w
        .post(&format!("/collections/{id}/books/{}/down", ids[0]), &[])
        .await;
    assert_eq!(moved.status, 303);
    assert_eq!(order(&app), "Interlude at the Lighthouse | The Lighthouse Keeper | Collected Field Notes on Coastal Birds");
    w.post(&format!("/collections/{id}/books/{}/remove", ids[2]), &[])
        .await;
    assert_eq!(
        order(&app),
        "Interlude at the Lighthouse | The Lighthouse Keeper"
    );
    let page = w.get(&format!("/collections/{id}")).await;
    assert!(page.has("Sea &lt;stories&gt;") && page.has("For the summer"));

    // Another reader sees nothing of it and changes nothing.
    let mut ann = reader(&app, &admin).await;
    assert_eq!(ann.get(&format!("/collections/{id}")).await.status, 404);
    ann.get("/collections").await;
    let theirs = ann
        .post(
            "/collections/add",
            &[("collection", &id), ("book", &ids[2])],
        )
        .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(
        ann.post(&format!("/collections/{id}/delete"), &[])
            .await
            .status,
        404
    );
    assert_eq!(count(&app, "SELECT count(*) FROM collection_books"), 2);

    // Shared by a link: shown once, it opens the collection signed out, and only it.
    let bad_end = w
        .post(
            &format!("/collections/{id}/share"),
            &[("expires_on", "yesterday")],
        )
        .await;
    assert_eq!(bad_end.status, 422);
    assert!(bad_end.has("id=\"f-expires_on-error\""));
    let shared = w
        .post(&format!("/collections/{id}/share"), &[("expires_on", "")])
        .await;
    assert_eq!(shared.status, 200, "{}", shared.html);
    let link = shared
        .html
        .split("<code id=\"share-link\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let path = &link[link.find("/s/").unwrap()..];
    let token = path.trim_start_matches("/s/").to_owned();
    assert_eq!(token.len(), 64, "{link}");
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM collection_shares WHERE token_hash = '{token}'")
        ),
        0,
        "stored hashed"
    );
    let mut stranger = WebClient::new(&app);
    let open = stranger.get(path).await;
    assert_eq!(open.status, 200);
    assert!(open.has("Interlude at the Lighthouse") && open.has("The Lighthouse Keeper"));
    assert!(
        !open.has("Collected Field Notes") && !open.has("Kobo") && !open.has("%"),
        "no other book, no reading"
    );
    assert_eq!(
        open.header("referrer-policy"),
        "same-origin",
        "the link never leaves the site"
    );
    assert_eq!(open.header("cache-control"), "private, no-store");
    let file = |book: &str| {
        text(
            &app,
            &format!("SELECT id::text AS v FROM book_files WHERE book_id = '{book}' LIMIT 1"),
        )
    };
    let download = stranger
        .get(&format!("{path}/books/{}/files/{}", ids[1], file(&ids[1])))
        .await;
    assert_eq!(download.status, 200);
    assert_eq!(
        stranger
            .get(&format!("{path}/books/{}/thumbnail", ids[1]))
            .await
            .status,
        200
    );
    // The same collection as a feed: downloads through the share, nothing that needs a login.
    let feed = app.raw("GET", &format!("{path}/opds"), None, &[]).await;
    assert_eq!(feed.status, 200);
    let xml = String::from_utf8(feed.body.to_vec()).unwrap();
    crate::opds_validators::validate_atom_feed("it-shared.xml", &xml);
    let href = format!("{path}/books/{}/files/{}", ids[1], file(&ids[1]));
    assert!(xml.contains(&href), "{xml}");
    assert!(
        !xml.contains("/opds/books/") && !xml.contains("/opds/search"),
        "{xml}"
    );
    assert!(!xml.contains(&ids[2]));
    // The token opens no other book, collection, page or API.
    assert_eq!(
        stranger
            .get(&format!("{path}/books/{}/files/{}", ids[2], file(&ids[2])))
            .await
            .status,
        404
    );
    assert_eq!(
        stranger
            .get(&format!("{path}/books/{}/thumbnail", ids[2]))
            .await
            .status,
        404
    );
    let forged = format!("/s/{}", "0".repeat(64));
    assert_eq!(stranger.get(&forged).await.status, 404);
    assert_eq!(
        stranger.get(&format!("/books/{}", ids[1])).await.status,
        303,
        "sign in first"
    );
    let api = app.api("GET", "/api/books", Some(&token), None).await;
    assert_eq!(api.status, 401);

    // Ended or revoked: every address of it is a 404 at once.
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE collection_shares SET expires_at = now() - interval '1 second'"),
        &mut app.db.conn(),
    )
    .unwrap();
    assert_eq!(stranger.get(path).await.status, 404);
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE collection_shares SET expires_at = NULL"),
        &mut app.db.conn(),
    )
    .unwrap();
    assert_eq!(stranger.get(path).await.status, 200);
    w.get(&format!("/collections/{id}")).await;
    let revoked = w.post(&format!("/collections/{id}/unshare"), &[]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(stranger.get(path).await.status, 404);
    assert_eq!(
        app.raw("GET", &format!("{path}/opds"), None, &[])
            .await
            .status,
        404
    );
    assert_eq!(
        stranger
            .get(&format!("{path}/books/{}/files/{}", ids[1], file(&ids[1])))
            .await
            .status,
        404
    );

    // Library-wide: every reader sees it, only admins change it.
    w.get("/collections").await;
    let wide = w
        .post(
            "/collections",
            &[
                ("name", "Staff picks"),
                ("description", ""),
                ("library_wide", "true"),
            ],
        )
        .await;
    let wide_id = wide
        .location()
        .trim_start_matches("/collections/")
        .to_owned();
    let seen = ann.get("/collections").await;
    assert!(seen.has("Staff picks") && !seen.has("Sea &lt;stories&gt;"));
    ann.get(&format!("/collections/{wide_id}")).await;
    assert_eq!(
        ann.post(
            "/collections/add",
            &[("collection", &wide_id), ("book", &ids[0])]
        )
        .await
        .status,
        403
    );
    let not_admin = ann
        .post(
            "/collections",
            &[("name", "Mine too"), ("library_wide", "true")],
        )
        .await;
    assert_eq!(
        not_admin.status, 422,
        "a reader's library-wide collection is refused"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM collections WHERE api_key_id IS NULL"
        ),
        1
    );
}

#[actix_web::test]
async fn collections_over_the_api_follow_the_same_rules() {
    let app = TestApp::start();
    let (admin, ids, _) = setup(&app).await;
    let (_, ann) = app.reader_key(&admin, "Ann").await;
    let made = app
        .api(
            "POST",
            "/api/collections",
            Some(&ann),
            Some(json!({ "name": "Ann's", "description": "mine" })),
        )
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    for (body, status) in [
        (json!({ "name": "" }), 400),
        (json!({ "name": "x", "library_wide": true }), 403),
        (json!({ "name": "x", "colour": "red" }), 400),
    ] {
        let r = app
            .api("POST", "/api/collections", Some(&ann), Some(body.clone()))
            .await;
        assert_eq!(r.status, status, "{body}: {:?}", r.body);
    }
    for book in &ids {
        let r = app
            .api(
                "PUT",
                &format!("/api/collections/{id}/books/{book}"),
                Some(&ann),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{:?}", r.body);
    }
    let reordered = [&ids[2], &ids[0], &ids[1]];
    let r = app
        .api(
            "PUT",
            &format!("/api/collections/{id}/order"),
            Some(&ann),
            Some(json!({ "books": reordered })),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let bad = app
        .api(
            "PUT",
            &format!("/api/collections/{id}/order"),
            Some(&ann),
            Some(json!({ "books": [&ids[0]] })),
        )
        .await;
    assert_eq!(bad.status, 400, "every book once: {:?}", bad.body);
    let shown = app
        .api("GET", &format!("/api/collections/{id}"), Some(&ann), None)
        .await;
    let order: Vec<&str> = shown.body["books"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, reordered.map(|s| s.as_str()));
    assert_eq!(shown.body["name"], "Ann's");
    // The admin does not see a reader's own collection.
    assert_eq!(
        app.api("GET", &format!("/api/collections/{id}"), Some(&admin), None)
            .await
            .status,
        404
    );
    assert_eq!(
        app.api(
            "DELETE",
            &format!("/api/collections/{id}"),
            Some(&admin),
            None
        )
        .await
        .status,
        404
    );

    let past = app
        .api(
            "POST",
            &format!("/api/collections/{id}/share"),
            Some(&ann),
            Some(json!({ "expires_at": "2001-01-01T00:00:00Z" })),
        )
        .await;
    assert_eq!(past.status, 400);
    let shared = app
        .api(
            "POST",
            &format!("/api/collections/{id}/share"),
            Some(&ann),
            Some(json!({})),
        )
        .await;
    assert_eq!(shared.status, 201, "{:?}", shared.body);
    let url = shared.body["url"].as_str().unwrap();
    let path = &url[url.find("/s/").unwrap()..];
    let mut stranger = WebClient::new(&app);
    assert_eq!(stranger.get(path).await.status, 200);
    let listed = app.api("GET", "/api/collections", Some(&ann), None).await;
    assert_eq!(listed.body[0]["books"], 3);
    assert!(listed.body[0]["shared_since"].is_string());
    assert_eq!(
        app.api(
            "DELETE",
            &format!("/api/collections/{id}/share"),
            Some(&ann),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(stranger.get(path).await.status, 404);
    assert_eq!(
        app.api(
            "DELETE",
            &format!("/api/collections/{id}/share"),
            Some(&ann),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.api(
            "DELETE",
            &format!("/api/collections/{id}"),
            Some(&ann),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM collection_books"),
        0,
        "the books' places go with it"
    );
}

#[actix_web::test]
async fn books_are_added_to_a_collection_from_a_search_on_its_page() {
    let app = TestApp::start();
    let (admin, ids, mut w) = setup(&app).await;
    w.get("/collections").await;
    let made = w
        .post("/collections", &[("name", "Birds"), ("description", "")])
        .await;
    let id = made
        .location()
        .trim_start_matches("/collections/")
        .to_owned();
    let found = w.get(&format!("/collections/{id}?q=coastal%20birds")).await;
    assert_eq!(found.status, 200);
    assert!(
        found.has("Collected Field Notes on Coastal Birds") && found.has(">Add<"),
        "{}",
        found.html
    );
    assert!(
        !found.has("Interlude at the Lighthouse"),
        "only what matches"
    );
    let added = w
        .post(
            "/collections/add",
            &[
                ("collection", &id),
                ("book", &ids[2]),
                ("q", "coastal birds"),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    assert_eq!(
        added.location(),
        format!("/collections/{id}?q=coastal%20birds")
    );
    let again = w.get(&added.location()).await;
    assert!(again.has("In the collection"), "{}", again.html);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM collection_books WHERE collection_id = '{id}'")
        ),
        1
    );
    // A reader searching another's collection page finds nothing to add to.
    let mut ann = reader(&app, &admin).await;
    assert_eq!(
        ann.get(&format!("/collections/{id}?q=birds")).await.status,
        404
    );
}

#[actix_web::test]
async fn a_reader_links_only_a_document_nobody_else_reads_and_merges_keep_collections() {
    let app = TestApp::start();
    let (admin, ids, mut w) = setup(&app).await;
    // Ann reads the same stray file on her device.
    let (_, ann_key) = app.reader_key(&admin, "Ann").await;
    app.set_credential(&ann_key, "kosync", "ann", KEY).await;
    app.set_credential(&ann_key, "web", "ann", "correct horse")
        .await;
    let body = json!({ "document": STRAY, "progress": "p", "percentage": 0.4, "device": "Boox" });
    assert_eq!(app.put_progress("ann", KEY, body).await.status, 200);
    report(&app, STRAY, 0.2, "Kobo", json!({})).await;
    let mut ann = WebClient::new(&app);
    ann.signin("ann", "correct horse").await;
    ann.get("/devices").await;
    let refused = ann
        .post("/devices/link", &[("document", STRAY), ("book", &ids[1])])
        .await;
    assert_eq!(refused.status, 403, "another reader's reading rests on it");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM document_links WHERE source = 'manual'"
        ),
        0
    );
    // The admin may.
    w.get("/devices").await;
    let linked = w
        .post("/devices/link", &[("document", STRAY), ("book", &ids[1])])
        .await;
    assert_eq!(linked.status, 303);
    assert_eq!(count(&app, &format!("SELECT count(*) FROM reading_progress WHERE document = '{STRAY}' AND book_id = '{}'", ids[1])), 2);

    // A collection keeps its place for a book merged into another; a PATCH without a
    // description keeps it.
    let made = app
        .api(
            "POST",
            "/api/collections",
            Some(&admin),
            Some(json!({ "name": "C", "description": "kept" })),
        )
        .await;
    let id = made.body["id"].as_str().unwrap().to_owned();
    for book in [&ids[2], &ids[1]] {
        app.api(
            "PUT",
            &format!("/api/collections/{id}/books/{book}"),
            Some(&admin),
            None,
        )
        .await;
    }
    let merged = app
        .api(
            "POST",
            &format!("/api/books/{}/merge", ids[0]),
            Some(&admin),
            Some(json!({ "from": [&ids[2]] })),
        )
        .await;
    assert_eq!(merged.status, 200, "{:?}", merged.body);
    let shown = app
        .api("GET", &format!("/api/collections/{id}"), Some(&admin), None)
        .await;
    let order: Vec<&str> = shown.body["books"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![ids[0].as_str(), ids[1].as_str()],
        "the merged book took its place"
    );
    let renamed = app
        .api(
            "PATCH",
            &format!("/api/collections/{id}"),
            Some(&admin),
            Some(json!({ "name": "D" })),
        )
        .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["description"], "kept");
}
