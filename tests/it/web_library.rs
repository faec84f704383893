//! The web app's library through HTTP: home, the library (search, filters, sorts, paging),
//! author and series pages, a book's page with the manual status form, admins' edit, cover
//! and delete, covers and downloads; who may see what, CSRF, escaping.

use diesel::prelude::*;
use serde_json::json;

use crate::common::web::WebClient;
use crate::common::{TestApp, KEY};
use crate::library::fixture;

const LIGHTHOUSE: &str = "The Lighthouse Keeper";
const INTERLUDE: &str = "Interlude at the Lighthouse";
const BIRDS: &str = "Collected Field Notes on Coastal Birds";
const CHINESE: &str = "红楼梦（节选）";
const BARE: &str = "A Book Without a Cover";

/// lighthouse-epub3, series-fractional-1.5, multi-author-epub3, chinese, no-cover-epub3.
const FIXTURES: [&str; 5] = [
    "lighthouse-epub3.epub",
    "series-fractional-1.5.epub",
    "multi-author-epub3.epub",
    "chinese.epub",
    "no-cover-epub3.epub",
];

/// An admin key, and each fixture uploaded (approved unless `review`): their book ids.
pub async fn library(app: &TestApp, names: &[&str], review: &[&str]) -> (String, Vec<String>) {
    let admin = app.admin_key().await;
    let mut ids = vec![];
    for name in names.iter().chain(review) {
        let r = app.upload(&admin, &[(name, &fixture(name))]).await;
        assert_eq!(r.status, 201, "{name}: {:?}", r.body);
        let id = r.body["files"][0]["book_id"].as_str().unwrap().to_owned();
        if names.contains(name) {
            let r = app
                .api(
                    "POST",
                    &format!("/api/books/{id}/approve"),
                    Some(&admin),
                    Some(json!({})),
                )
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
        ids.push(id);
    }
    (admin, ids)
}

pub async fn browser<'a>(app: &'a TestApp, key: &str, user: &str) -> WebClient<'a> {
    app.set_credential(key, "web", user, "correct horse").await;
    let mut w = WebClient::new(app);
    let page = w.signin(user, "correct horse").await;
    assert_eq!(page.status, 303, "{}", page.html);
    w
}

pub async fn reader<'a>(app: &'a TestApp, admin: &str) -> WebClient<'a> {
    let (_, key) = app.reader_key(admin, "Ann").await;
    browser(app, &key, "ann").await
}

/// Where each title is on the page (panics when one is missing).
fn positions(html: &str, titles: &[&str]) -> Vec<usize> {
    titles
        .iter()
        .map(|t| html.find(t).unwrap_or_else(|| panic!("{t} missing")))
        .collect()
}

fn in_order(html: &str, titles: &[&str]) -> bool {
    positions(html, titles).windows(2).all(|w| w[0] < w[1])
}

fn count(app: &TestApp, sql: &str) -> i64 {
    app.db.count(sql)
}

#[actix_web::test]
async fn who_may_see_which_page() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &FIXTURES[..1], &["no-cover-epub3.epub"]).await;
    let (book, in_review) = (&ids[0], &ids[1]);
    let file = app
        .api("GET", &format!("/api/books/{book}"), Some(&admin), None)
        .await
        .body["files"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pages = [
        "/".to_owned(),
        "/library".to_owned(),
        "/library?view=list".to_owned(),
        "/authors/Jane%20Doe".to_owned(),
        "/series/Coastal%20Tales".to_owned(),
        format!("/books/{book}"),
        format!("/books/{book}/thumbnail"),
        format!("/books/{book}/cover"),
        format!("/books/{book}/files/{file}"),
    ];
    let admin_pages = [
        format!("/books/{book}/edit"),
        format!("/books/{book}/delete"),
    ];

    let mut nobody = WebClient::new(&app);
    for path in pages.iter().chain(&admin_pages) {
        let page = nobody.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location().starts_with("/signin?next="), "{path}");
    }

    let mut ann = reader(&app, &admin).await;
    for path in &pages {
        assert_eq!(ann.get(path).await.status, 200, "{path}");
    }
    for path in &admin_pages {
        let page = ann.get(path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.has("Not allowed"), "{path}");
    }
    // A book in review is not there for a reader, whatever they ask of it.
    for path in [
        format!("/books/{in_review}"),
        format!("/books/{in_review}/thumbnail"),
        format!("/books/{in_review}/cover"),
    ] {
        assert_eq!(ann.get(&path).await.status, 404, "{path}");
    }
    ann.get(&format!("/books/{book}")).await;
    let edit = ann
        .post(&format!("/books/{book}/edit"), &[("title", "Mine now")])
        .await;
    assert_eq!(edit.status, 403);
    let delete = ann.post(&format!("/books/{book}/delete"), &[]).await;
    assert_eq!(delete.status, 403);
    let status = ann
        .post(
            &format!("/books/{in_review}/status"),
            &[("status", "reading")],
        )
        .await;
    assert_eq!(status.status, 404);
    assert_eq!(count(&app, "SELECT count(*) FROM books"), 2);
    assert_eq!(
        count(&app, "SELECT count(*) FROM books WHERE title = 'Mine now'"),
        0
    );
    // Not an id: a missing book, not a 500.
    assert_eq!(ann.get("/books/not-an-id").await.status, 404);

    let mut boss = browser(&app, &admin, "boss").await;
    for path in pages.iter().chain(&admin_pages) {
        assert_eq!(boss.get(path).await.status, 200, "{path}");
    }
    let review = boss.get(&format!("/books/{in_review}")).await;
    assert_eq!(review.status, 200);
    assert!(review.has("In review"), "{}", review.html);
}

#[actix_web::test]
async fn the_library_searches_filters_sorts_and_pages() {
    let app = TestApp::start();
    let (admin, _) = library(&app, &FIXTURES, &[]).await;
    let mut w = browser(&app, &admin, "boss").await;

    let all = w.get("/library").await;
    assert_eq!(all.status, 200);
    assert!(all.has("5 books"), "{}", all.html);
    // Thumbnails load lazily, laid out before they arrive; a book without a cover has none.
    assert!(all.has("loading=\"lazy\"") && all.has("width=\"200\" height=\"300\""));
    assert_eq!(all.html.matches("class=\"cover\" src=").count(), 4);

    // The last word is a prefix; every word must match.
    let found = w.get("/library?q=lighthouse+kee").await;
    assert!(
        found.has(LIGHTHOUSE) && !found.has(INTERLUDE),
        "{}",
        found.html
    );
    assert!(found.has("1 book"));
    let found = w.get("/library?q=Lightho").await;
    assert!(found.has(LIGHTHOUSE) && found.has(INTERLUDE) && !found.has(BIRDS));
    // Nothing searchable is no search; hostile input is text.
    let odd = w
        .get("/library?q=%27%29%3B+DROP+TABLE+books%3B+--%3A*")
        .await;
    assert_eq!(odd.status, 200);
    assert_eq!(count(&app, "SELECT count(*) FROM books"), 5);

    // Sorts change the order.
    let by_title = w.get("/library?sort=title").await;
    assert!(in_order(&by_title.html, &[BIRDS, INTERLUDE]), "by title");
    let published = w.get("/library?sort=published").await;
    assert!(
        in_order(
            &published.html,
            &[BARE, INTERLUDE, LIGHTHOUSE, BIRDS, CHINESE]
        ),
        "newest published first"
    );
    let added = w.get("/library?sort=added").await;
    assert!(
        in_order(&added.html, &[BARE, CHINESE, BIRDS, INTERLUDE, LIGHTHOUSE]),
        "newest added first"
    );
    let listed = w.get("/library?sort=published&view=list").await;
    assert!(listed.has("<table class=\"list\""));
    assert!(in_order(&listed.html, &[INTERLUDE, BIRDS]));

    // Filters narrow, show as chips that drop them, and keep the sort.
    let zh = w.get("/library?language=zh&sort=published").await;
    assert!(zh.has(CHINESE) && !zh.has(LIGHTHOUSE), "{}", zh.html);
    assert!(
        zh.has("href=\"/library?sort=published\""),
        "the chip drops it"
    );
    let jane = w.get("/library?author=Jane+Doe&sort=published").await;
    assert!(in_order(&jane.html, &[INTERLUDE, LIGHTHOUSE]) && !jane.has(BIRDS));
    let jane = w.get("/library?author=Jane+Doe&sort=title").await;
    assert!(in_order(&jane.html, &[INTERLUDE, LIGHTHOUSE]));
    let author_page = w.get("/authors/Jane%20Doe?sort=published").await;
    assert!(in_order(&author_page.html, &[INTERLUDE, LIGHTHOUSE]) && !author_page.has(BIRDS));
    // A series by position: 1 before 1.5, whatever the title says.
    let series = w.get("/series/Coastal%20Tales").await;
    assert!(
        in_order(&series.html, &[LIGHTHOUSE, INTERLUDE]),
        "{}",
        series.html
    );
    let epub = w.get("/library?format=epub").await;
    assert!(epub.has("5 books"));
    let pdf = w.get("/library?format=pdf").await;
    assert!(pdf.has("0 books") && pdf.has("No book matches"));
    let genre = w.get("/library?genre=Birds").await;
    assert!(genre.has(BIRDS) && !genre.has(LIGHTHOUSE), "{}", genre.html);
    // Nothing anyone types is a 500; a page that is not one is 404.
    for path in [
        "/library?sort=%00&view=%ff&language=%3Cscript%3E",
        "/library?q=&author=&page=1",
        "/library?author=x&author=y",
        "/authors/%3Cb%3E",
    ] {
        let page = w.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.has("<b>") && !page.has("<script>"), "{path}");
    }
    for path in ["/library?page=0", "/library?page=abc", "/library?page=2"] {
        assert_eq!(w.get(path).await.status, 404, "{path}");
    }
}

#[actix_web::test]
async fn pages_follow_each_other_in_every_order() {
    use libris::db::models::BookStatus;
    use libris::db::schema::books;
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let rows: Vec<_> = (0..100)
        .map(|i| {
            (
                books::title.eq(format!("Book {i:03}")),
                books::author.eq(format!("Writer {:03}", 99 - i)),
                books::status.eq(BookStatus::Organized),
            )
        })
        .collect();
    diesel::insert_into(books::table)
        .values(&rows)
        .execute(&mut app.db.conn())
        .unwrap();
    let mut w = browser(&app, &admin, "boss").await;
    let first = w.get("/library").await;
    assert!(
        first.has("100 books") && first.has("Page 1 of 3"),
        "{}",
        first.html
    );
    assert!(first.has("Book 000") && first.has("Book 047") && !first.has("Book 048"));
    assert!(first.has("href=\"/library?page=2\""));
    let second = w.get("/library?page=2").await;
    assert!(second.has("Book 048") && second.has("Book 095") && !second.has("Book 047"));
    let third = w.get("/library?page=3").await;
    assert!(third.has("Book 099") && !third.has("Book 095"));
    assert_eq!(w.get("/library?page=4").await.status, 404);
    // By author (a list made whole, then sliced): Writer 000 wrote Book 099.
    let by_author = w.get("/library?sort=author&page=1").await;
    assert!(in_order(&by_author.html, &["Book 099", "Book 098"]));
    assert!(!by_author.has("Book 051"));
    let by_author = w.get("/library?sort=author&page=3").await;
    assert!(by_author.has("Book 000") && !by_author.has("Book 004"));
    // A change shows at once: the library's version moved.
    diesel::update(books::table.filter(books::title.eq("Book 000")))
        .set(books::title.eq("Aardvark"))
        .execute(&mut app.db.conn())
        .unwrap();
    let first = w.get("/library").await;
    assert!(in_order(&first.html, &["Aardvark", "Book 001"]));
    // The HTML of a full page stays small.
    assert!(first.html.len() < 60_000, "{} bytes", first.html.len());
}

#[actix_web::test]
async fn a_title_with_markup_is_text() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &FIXTURES[..1], &[]).await;
    let book = &ids[0];
    let r = app
        .api(
            "PATCH",
            &format!("/api/books/{book}"),
            Some(&admin),
            Some(json!({ "title": "<script>alert(1)</script>", "author": "<b>Bold</b>" })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut w = reader(&app, &admin).await;
    for path in [
        "/".to_owned(),
        "/library".to_owned(),
        "/library?view=list".to_owned(),
        format!("/books/{book}"),
    ] {
        let page = w.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.has("<script>alert(1)"), "{path}");
        assert!(page.has("&lt;script&gt;alert(1)&lt;/script&gt;"), "{path}");
        assert!(!page.has("<b>Bold"), "{path}");
    }
}

#[actix_web::test]
async fn the_book_page_shows_files_neighbours_reading_and_documents() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &FIXTURES[..2], &[]).await;
    let (first, second) = (&ids[0], &ids[1]);
    // Read on a KOReader: lighthouse-epub3's partial MD5.
    app.set_credential(&admin, "kosync", "boss", KEY).await;
    let r = app
        .put_progress(
            "boss",
            KEY,
            json!({ "document": "ad4a15989655682cda3695b7784ef3d0", "progress": "p",
                    "percentage": 0.42, "device": "Kobo Libra" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut w = browser(&app, &admin, "boss").await;
    let page = w.get(&format!("/books/{first}")).await;
    assert_eq!(page.status, 200);
    assert!(page.has("Jane Doe") && page.has("href=\"/authors/Jane%20Doe\""));
    assert!(page.has("href=\"/series/Coastal%20Tales\""));
    assert!(page.has("EPUB") && page.has(" KB"), "the file and its size");
    assert!(page.has(&format!("href=\"/books/{first}/files/")));
    assert!(
        page.has(&format!("rel=\"next\" href=\"/books/{second}\"")),
        "the next in the series"
    );
    assert!(
        page.has("Kobo Libra") && page.has("value=\"42\""),
        "{}",
        page.html
    );
    assert!(
        page.has("ad4a15989655682cda3695b7784ef3d0"),
        "the linked document"
    );
    assert!(page.has("<strong>Reading</strong>"));
    let next = w.get(&format!("/books/{second}")).await;
    assert!(next.has(&format!("rel=\"prev\" href=\"/books/{first}\"")));

    // Home: continue reading with the progress, recently added, the inbox for admins.
    let home = w.get("/").await;
    assert!(
        home.has("Continue reading") && home.has("value=\"42\""),
        "{}",
        home.html
    );
    assert!(home.has("Recently added") && home.has(INTERLUDE));
    assert!(home.has("No book waits for review"));
    app.upload(&admin, &[("chinese.epub", &fixture("chinese.epub"))])
        .await;
    let home = w.get("/").await;
    assert!(home.has("1 book waits") && home.has("href=\"/inbox\""));
    let mut ann = reader(&app, &admin).await;
    let theirs = ann.get("/").await;
    assert!(
        !theirs.has("waits for review") && !theirs.has("href=\"/inbox\""),
        "no inbox"
    );
    assert!(theirs.has("Nothing in progress"), "their own reading only");
}

#[actix_web::test]
async fn covers_and_files_are_served_to_sessions_and_cached_by_version() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &FIXTURES[..1], &[]).await;
    let book = &ids[0];
    let mut w = reader(&app, &admin).await;
    let page = w.get(&format!("/books/{book}")).await;
    let at = page
        .html
        .find(&format!("/books/{book}/thumbnail?v="))
        .unwrap();
    let url: String = page.html[at..].chars().take_while(|c| *c != '"').collect();
    let thumb = w.get(&url).await;
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), "image/jpeg");
    assert_eq!(
        thumb.header("cache-control"),
        "private, max-age=31536000, immutable"
    );
    let stale = w.get(&format!("/books/{book}/thumbnail?v=1")).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.header("cache-control"), "private, no-cache");
    let cover = w.get(&url.replace("thumbnail", "cover")).await;
    assert_eq!(cover.status, 200);
    assert!(cover.header("content-type").starts_with("image/"));

    let at = page.html.find(&format!("/books/{book}/files/")).unwrap();
    let file_url: String = page.html[at..].chars().take_while(|c| *c != '"').collect();
    let file = w.get(&file_url).await;
    assert_eq!(file.status, 200);
    assert!(file.header("content-disposition").contains("attachment"));
    assert_eq!(file.header("content-type"), "application/epub+zip");
    let wrong = w
        .get(&format!("/books/{book}/files/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(wrong.status, 404);
}

#[actix_web::test]
async fn the_edit_form_validates_as_the_api_does_and_stores_nothing_wrong() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &FIXTURES[..1], &[]).await;
    let book = &ids[0];
    let mut w = browser(&app, &admin, "boss").await;
    let form = w.get(&format!("/books/{book}/edit")).await;
    assert_eq!(form.status, 200);
    assert!(
        form.has("value=\"The Lighthouse Keeper\""),
        "the stored values"
    );
    let path = format!("/books/{book}/edit");
    for (field, value, error) in [
        ("published_year", "99999", "must be from 1 to"),
        ("published_year", "nineteen", "Not a number"),
        ("isbn_13", "9780000000001", "not a valid ISBN-13"),
        ("isbn_10", "12345", "not a valid ISBN-10"),
        ("language", "not a language!", "not a BCP 47 language tag"),
        ("page_count", "-3", "must be from 1 to 100000"),
        ("series_index", "NaN", "must be a number from 0 to 100000"),
    ] {
        let page = w
            .post(&path, &[("title", "Changed Title"), (field, value)])
            .await;
        assert_eq!(page.status, 422, "{field}={value}");
        let at = page
            .html
            .find(&format!("id=\"f-{field}-error\""))
            .unwrap_or_else(|| panic!("{field}: no error next to it\n{}", page.html));
        assert!(page.html[at..].contains(error), "{field}: {error}");
        assert!(page.has("value=\"Changed Title\""), "the values are kept");
        assert!(
            page.has(&format!("value=\"{value}\"")),
            "{field}: the value is kept"
        );
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM books WHERE title = 'Changed Title'"
        ),
        0,
        "nothing stored"
    );
    // Hostile text is stored as text, or refused next to its field: never a 500.
    let long = "x".repeat(2000);
    for (field, value) in [
        ("title", long.as_str()),
        ("author", "\u{0}"),
        ("genres", "<script>, a,a"),
        ("description", "'); DROP TABLE books; --"),
    ] {
        let page = w.post(&path, &[(field, value)]).await;
        assert!(
            page.status == 303 || page.status == 422,
            "{field}: {}",
            page.status
        );
    }
    assert_eq!(count(&app, "SELECT count(*) FROM books"), 1);

    let ok = w
        .post(
            &path,
            &[
                ("title", "A New Title"),
                ("author", "Jane Doe & John Roe"),
                ("published_year", "2001"),
                ("isbn_13", "978-3-16-148410-0"),
                ("genres", "Sea, Fiction"),
                ("description", "One.\n\nTwo."),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    assert_eq!(ok.location(), format!("/books/{book}?done=edited"));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM books WHERE title = 'A New Title' AND published_year = 2001 \
             AND isbn_13 = '9783161484100' AND genres = '{Sea,Fiction}'"
        ),
        1
    );
    let shown = w.get(&format!("/books/{book}?done=edited")).await;
    assert!(shown.has("The book is saved") && shown.has("href=\"/authors/John%20Roe\""));
    // Without the token nothing changes.
    let forged = w.post_raw(&path, &[("title", "Forged")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        count(&app, "SELECT count(*) FROM books WHERE title = 'Forged'"),
        0
    );
}

#[actix_web::test]
async fn a_new_cover_is_stored_and_a_bad_one_refused_next_to_its_field() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &["no-cover-epub3.epub"], &[]).await;
    let book = &ids[0];
    let mut w = browser(&app, &admin, "boss").await;
    let path = format!("/books/{book}/cover");
    w.get(&format!("/books/{book}/edit")).await;
    let bad = w
        .post_files(&path, &[], &[("cover.jpg", b"not an image at all")])
        .await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.has("Not a cover libris can use"), "{}", bad.html);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM books WHERE cover_path IS NOT NULL"
        ),
        0
    );
    // Without the token: refused, nothing stored.
    let token = w.csrf.take();
    let forged = w
        .post_files(
            &path,
            &[],
            &[("cover.png", &fixture("broken-png-disguised.epub"))],
        )
        .await;
    assert_eq!(forged.status, 403);
    w.csrf = token;
    let before = count(
        &app,
        "SELECT (extract(epoch FROM updated_at) * 1000000)::bigint FROM books",
    );
    let good = w
        .post_files(
            &path,
            &[],
            &[("cover.png", &fixture("broken-png-disguised.epub"))],
        )
        .await;
    assert_eq!(good.status, 303, "{}", good.html);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM books WHERE cover_path LIKE 'covers/%.png'"
        ),
        1
    );
    assert_eq!(good.location(), format!("/books/{book}?done=cover"));
    let page = w.get(&good.location()).await;
    assert!(page.has("The cover is replaced"));
    assert!(!page.has(&format!("thumbnail?v={before}")), "a new address");
    let at = page
        .html
        .find(&format!("/books/{book}/thumbnail?v="))
        .unwrap();
    let url: String = page.html[at..].chars().take_while(|c| *c != '"').collect();
    assert_eq!(w.get(&url).await.status, 200);
}

#[actix_web::test]
async fn the_manual_status_is_checked_as_the_api_checks_it() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &FIXTURES[..1], &[]).await;
    let book = &ids[0];
    let mut w = reader(&app, &admin).await;
    w.get(&format!("/books/{book}")).await;
    let path = format!("/books/{book}/status");
    for (fields, field, error) in [
        (
            vec![
                ("status", "finished"),
                ("started_at", "2024-05-10"),
                ("finished_at", "2024-05-01"),
            ],
            "finished_at",
            "must not be before",
        ),
        (
            vec![("status", "reading"), ("started_at", "2999-01-01")],
            "started_at",
            "must not be in the future",
        ),
        (
            vec![("status", "reading"), ("started_at", "-5000-01-01")],
            "started_at",
            "must not be before 1900",
        ),
        (
            vec![("status", "reading"), ("started_at", "May 1st")],
            "started_at",
            "Not a date",
        ),
        (vec![("status", "done")], "status", "Choose one"),
    ] {
        let page = w.post(&path, &fields).await;
        assert_eq!(page.status, 422, "{field}");
        let at = page
            .html
            .find(&format!("id=\"f-{field}-error\""))
            .or_else(|| page.html.find("Choose one"))
            .unwrap_or_else(|| panic!("{field}: no error\n{}", page.html));
        assert!(page.html[at..].contains(error), "{field}: {error}");
        for (_, value) in &fields[1..] {
            assert!(page.has(&format!("value=\"{value}\"")), "{value} kept");
        }
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM reading_aggregate"),
        0,
        "nothing stored"
    );
    let forged = w.post_raw(&path, &[("status", "finished")]).await;
    assert_eq!(forged.status, 403);
    let ok = w
        .post(
            &path,
            &[
                ("status", "finished"),
                ("started_at", "2024-05-01"),
                ("finished_at", "2024-05-10"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM reading_aggregate WHERE manual_status = 'finished' \
             AND manual_finished_at = '2024-05-10T00:00:00Z'"
        ),
        1
    );
    let page = w.get(&format!("/books/{book}")).await;
    assert!(page.has("<strong>Finished</strong>") && page.has("set by you"));
    let cleared = w.post(&format!("/books/{book}/status/clear"), &[]).await;
    assert_eq!(cleared.status, 303);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM reading_aggregate WHERE manual_status IS NOT NULL"
        ),
        0
    );
}

#[actix_web::test]
async fn deleting_asks_first_and_needs_the_token() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &FIXTURES[..1], &[]).await;
    let book = &ids[0];
    let mut w = browser(&app, &admin, "boss").await;
    let confirm = w.get(&format!("/books/{book}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.has("Delete the book") && confirm.has(LIGHTHOUSE));
    let path = format!("/books/{book}/delete");
    let forged = w.post_raw(&path, &[]).await;
    assert_eq!(forged.status, 403);
    let wrong = w
        .post_raw(&path, &[("_csrf", "00112233445566778899aabbccddeeff")])
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(count(&app, "SELECT count(*) FROM books"), 1);
    let done = w.post(&path, &[]).await;
    assert_eq!(done.status, 303);
    assert_eq!(count(&app, "SELECT count(*) FROM books"), 0);
    assert_eq!(w.get(&format!("/books/{book}")).await.status, 404);
    let library = w.get("/library").await;
    assert!(!library.has(LIGHTHOUSE) && library.has("0 books"));
}

#[actix_web::test]
async fn the_domain_narrows_orders_and_finds_neighbours_and_problems() {
    use libris::db::models::BookStatus;
    use libris::db::schema::books;
    use libris::library::browse::{self, Narrow};
    use libris::library::catalog::List;
    let app = TestApp::start();
    let mut conn = app.db.conn();
    let make = |title: &str, series: Option<(&str, f32)>, status: BookStatus| {
        diesel::insert_into(books::table)
            .values((
                books::title.eq(title.to_owned()),
                books::author.eq("Jane Doe & John Roe"),
                books::series.eq(series.map(|s| s.0.to_owned())),
                books::series_index.eq(series.map(|s| s.1)),
                books::genres.eq(vec![Some("Sea".to_owned())]),
                books::status.eq(status),
            ))
            .returning(books::id)
            .get_result::<uuid::Uuid>(&mut app.db.conn())
            .unwrap()
    };
    let second = make("B second", Some(("Tales", 2.0)), BookStatus::Organized);
    let first = make("C first", Some(("Tales", 1.0)), BookStatus::Organized);
    let hidden = make("A hidden", Some(("Tales", 1.5)), BookStatus::Review);
    let narrow = Narrow {
        author: Some("John Roe".into()),
        ..Narrow::default()
    };
    let (total, ids) = browse::page(&mut conn, &narrow, Some(List::Title), 1, 10).unwrap();
    assert_eq!(
        (total, ids),
        (2, vec![second, first]),
        "organized only, by title"
    );
    let series = Narrow {
        series: Some("Tales".into()),
        genre: Some("Sea".into()),
        ..Narrow::default()
    };
    let (_, ids) = browse::page(&mut conn, &series, None, 1, 10).unwrap();
    assert_eq!(ids, vec![first, second], "a series by position");
    let (_, ids) = browse::page(&mut conn, &series, None, 2, 1).unwrap();
    assert_eq!(ids, vec![second], "paged");
    let book = libris::library::books::visible(&mut conn, first, true).unwrap();
    let (before, after) = browse::series_neighbours(&mut conn, &book).unwrap();
    assert!(before.is_none());
    assert_eq!(
        after.map(|b| b.id),
        Some(second),
        "the book in review is skipped"
    );
    assert_eq!(browse::in_review(&mut conn).unwrap(), 1);
    let added: Vec<_> = browse::recently_added(&mut conn, 5)
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert!(!added.contains(&hidden) && added.len() == 2);

    let (key, _) = libris::auth::keys::create(&mut conn, "ann", false).unwrap();
    diesel::sql_query(format!(
        "INSERT INTO hardcover_sync_runs (api_key_id, trigger, failed, error, finished_at) VALUES
         ('{0}', 'api', 0, NULL, now()), ('{0}', 'api', 2, NULL, now()),
         ('{0}', 'cli', 0, 'token refused', now())",
        key.id
    ))
    .execute(&mut conn)
    .unwrap();
    let problems = libris::hardcover::status::problems(&mut conn, 5).unwrap();
    assert_eq!(problems.len(), 2, "the run without a failure is none");
}
