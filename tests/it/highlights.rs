//! Highlights from stock KOReader through HTTP: the Nextcloud Notes API as the Exporter's
//! Nextcloud target calls it (list by category, create, update the same note), JSON exports
//! uploaded over WebDAV, re-exports that update instead of adding, linking (by the file's
//! name, by title and authors, by hand), and the pages and API that show them.
//!
//! The samples are what KOReader's own templates write: the Markdown of
//! plugins/exporter.koplugin/template/md.lua with the Markdown target's default formats
//! (italic for lighten, ++ for underscore, bold for invert), and the JSON of
//! target/json.lua ("version": "json/1.0.0").

use serde_json::{json, Value};

use crate::common::{basic, RawResp, TestApp};
use crate::web_library::{browser, library};

const API: &str = "/index.php/apps/notes/api/v1";

/// A note's content as the Nextcloud target sends it for The Lighthouse Keeper.
fn lighthouse_note(extra: &str) -> String {
    format!(
        "# The Lighthouse Keeper\n##### Jane Doe\n\n## Chapter 1\n### Page 5 @ 05 March 2024 02:15:30 PM\n*The lamp was lit at dusk.*\n### Page 7 @ 05 March 2024 02:20:00 PM\n++The sea kept its counsel.++\n\n---\nLovely line.\n## Chapter 2\n### Page 12 @ 06 March 2024 09:05:10 AM\n**Storms came in threes.**{extra}"
    )
}

async fn notes(
    app: &TestApp,
    auth: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let headers = [
        ("authorization", auth),
        ("ocs-apirequest", "true"),
        ("content-type", "application/json"),
    ];
    // KOReader sends its JSON null even on a GET.
    let body = body.map_or_else(|| b"null".to_vec(), |b| b.to_string().into_bytes());
    let r: RawResp = app
        .send(method, &format!("{API}{path}"), &headers, body)
        .await;
    let value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, value)
}

/// A reader with a device password: (key, Basic header).
async fn reader(app: &TestApp, admin: &str) -> (String, String) {
    let (_, key) = app.reader_key(admin, "Ann").await;
    app.set_credential(&key, "opds", "ann", "opds secret").await;
    let made = app
        .api(
            "POST",
            "/api/device-passwords",
            Some(&key),
            Some(json!({ "label": "Kobo" })),
        )
        .await;
    let password = made.body["password"].as_str().unwrap().to_owned();
    (key, basic("ann", &password))
}

#[actix_web::test]
async fn the_nextcloud_target_exports_highlights_into_libris() {
    let app = TestApp::start();
    let (admin, ids) = library(
        &app,
        &["lighthouse-epub3.epub", "multi-author-epub3.epub"],
        &[],
    )
    .await;
    let (key, auth) = reader(&app, &admin).await;

    assert_eq!(
        notes(&app, "Basic eDp5", "GET", "/notes?category=KOReader", None)
            .await
            .0,
        401
    );
    let (status, listed) = notes(&app, &auth, "GET", "/notes?category=KOReader", None).await;
    assert_eq!((status, listed), (200, json!([])));

    // The first export: POST, answered 200 (KOReader takes nothing else as success).
    let (status, created) = notes(
        &app,
        &auth,
        "POST",
        "/notes",
        Some(json!({ "title": "Jane Doe - The Lighthouse Keeper", "content": lighthouse_note(""), "category": "KOReader" })),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["title"], "Jane Doe - The Lighthouse Keeper");
    assert!(created["etag"].is_string() && created["modified"].is_i64());
    let highlights = app
        .api(
            "GET",
            &format!("/api/books/{}/highlights", ids[0]),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(highlights.status, 200);
    let list = highlights.body.as_array().unwrap();
    assert_eq!(list.len(), 3, "{}", highlights.body);
    assert_eq!(list[0]["text"], "The lamp was lit at dusk.");
    assert_eq!(list[0]["drawer"], "lighten");
    assert_eq!(list[1]["note"], "Lovely line.");
    assert_eq!(list[2]["chapter"], "Chapter 2");
    assert_eq!(list[0]["highlighted_at"], "2024-03-05T14:15:30Z");

    // The next export finds its note by title in the category's list and PUTs it.
    let (_, listed) = notes(&app, &auth, "GET", "/notes?category=KOReader", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert_eq!(
        notes(&app, &auth, "GET", "/notes?category=Other", None)
            .await
            .1,
        json!([])
    );
    let more = lighthouse_note(
        "\n### Page 20 @ 07 March 2024 08:00:00 PM\n*A fourth.*\n\n---\nAdded later.",
    )
    .replace("Lovely line.", "Lovely line, still.");
    let (status, updated) = notes(
        &app,
        &auth,
        "PUT",
        &format!("/notes/{id}"),
        Some(json!({ "title": "Jane Doe - The Lighthouse Keeper", "content": more, "category": "KOReader" })),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_ne!(updated["etag"], created["etag"]);
    let list = app
        .api(
            "GET",
            &format!("/api/books/{}/highlights", ids[0]),
            Some(&key),
            None,
        )
        .await
        .body;
    assert_eq!(
        list.as_array().unwrap().len(),
        4,
        "a re-export updates, never doubles: {list}"
    );
    assert_eq!(list[1]["note"], "Lovely line, still.");
    assert_eq!(app.db.count("SELECT count(*) FROM export_notes"), 1);

    // Searching, and a chapter.
    let found = app
        .api("GET", "/api/highlights?q=STORMS", Some(&key), None)
        .await
        .body;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let chapter = app
        .api(
            "GET",
            &format!("/api/books/{}/highlights?chapter=Chapter%201", ids[0]),
            Some(&key),
            None,
        )
        .await
        .body;
    assert_eq!(chapter.as_array().unwrap().len(), 2);

    // A book libris does not know by its title: listed to be linked by hand.
    let stray = "# A Book Elsewhere\n##### Someone\n\n### Page 1 @ 01 January 2025 10:00:00 AM\nStray line.";
    let (status, _) = notes(&app, &auth, "POST", "/notes", Some(json!({ "title": "Someone - A Book Elsewhere", "content": stray, "category": "KOReader" }))).await;
    assert_eq!(status, 200);
    let unlinked = app
        .api("GET", "/api/highlights/unlinked", Some(&key), None)
        .await
        .body;
    assert_eq!(
        unlinked,
        json!([{ "title": "A Book Elsewhere", "authors": "Someone", "highlights": 1 }])
    );

    // Bad input: clear errors, nothing stored.
    let (status, body) = notes(&app, &auth, "POST", "/notes", Some(json!({ "content": 5 }))).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("content"),
        "{body}"
    );
    let json = ("content-type", "application/json");
    let bad = app
        .send(
            "POST",
            &format!("{API}/notes"),
            &[("authorization", &auth), json],
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(bad.status, 400);
    // A page elsewhere cannot write with a browser's remembered login: a form's body is not
    // JSON, and a cross-site fetch says where it comes from.
    let form = app
        .send(
            "POST",
            &format!("{API}/notes"),
            &[("authorization", &auth), ("content-type", "text/plain")],
            br#"{"content":"x"}"#.to_vec(),
        )
        .await;
    assert_eq!(form.status, 415);
    let cross = app
        .send(
            "POST",
            &format!("{API}/notes"),
            &[
                ("authorization", &auth),
                json,
                ("sec-fetch-site", "cross-site"),
            ],
            br#"{"content":"x"}"#.to_vec(),
        )
        .await;
    assert_eq!(cross.status, 403);
    assert_eq!(
        notes(
            &app,
            &auth,
            "PUT",
            "/notes/999999",
            Some(json!({ "content": "x" }))
        )
        .await
        .0,
        404
    );
    assert_eq!(notes(&app, &auth, "GET", "/notes/abc", None).await.0, 404);
    assert_eq!(app.db.count("SELECT count(*) FROM export_notes"), 2);
    // Another reader sees none of it.
    let (_, bob) = app.reader_key(&admin, "Bob").await;
    app.set_credential(&bob, "opds", "bob", "bob secret").await;
    let bob_auth = basic("bob", "bob secret");
    assert_eq!(
        notes(&app, &bob_auth, "GET", "/notes", None).await.1,
        json!([])
    );
    assert_eq!(
        notes(&app, &bob_auth, "GET", &format!("/notes/{id}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        notes(&app, &bob_auth, "DELETE", &format!("/notes/{id}"), None)
            .await
            .0,
        404
    );

    // The pages: the book's panel, searched; the Markdown export; linking by hand.
    let mut w = browser(&app, &key, "ann-web").await;
    w.get("/highlights").await;
    let page = w.get(&format!("/books/{}", ids[0])).await;
    assert!(
        page.has("Your highlights") && page.has("The lamp was lit at dusk."),
        "{}",
        page.html
    );
    let searched = w.get(&format!("/books/{}?hq=fourth", ids[0])).await;
    assert!(searched.has("A fourth.") && !searched.has("The lamp was lit"));
    let md = w.get(&format!("/books/{}/highlights.md", ids[0])).await;
    assert_eq!(md.status, 200);
    assert!(md.header("content-type").starts_with("text/markdown"));
    let text = md.html.clone();
    assert!(text.starts_with("# The Lighthouse Keeper\n##### Jane Doe\n\n## Chapter 1\n### Page 5 @ 05 March 2024 02:15:30 PM\nThe lamp was lit at dusk.\n"), "{text}");
    assert!(text.contains("\n---\nLovely line, still."));
    let all = w.get("/highlights").await;
    assert!(all.has("A Book Elsewhere") && all.has("Link to a book"));
    let form = w
        .get("/highlights/link?title=A%20Book%20Elsewhere&authors=Someone&q=birds")
        .await;
    assert!(
        form.has("Collected Field Notes on Coastal Birds"),
        "{}",
        form.html
    );
    let linked = w
        .post(
            "/highlights/link",
            &[
                ("title", "A Book Elsewhere"),
                ("authors", "Someone"),
                ("book", &ids[1]),
            ],
        )
        .await;
    assert_eq!(linked.status, 303);
    assert_eq!(
        app.api("GET", "/api/highlights/unlinked", Some(&key), None)
            .await
            .body,
        json!([])
    );
    let birds = app
        .api(
            "GET",
            &format!("/api/books/{}/highlights", ids[1]),
            Some(&key),
            None,
        )
        .await
        .body;
    assert_eq!(birds[0]["text"], "Stray line.");
    let missing = w.get("/highlights/link?title=Nothing&authors=").await;
    assert_eq!(missing.status, 404);
}

#[actix_web::test]
async fn json_exports_uploaded_over_webdav_become_highlights() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &["lighthouse-epub3.epub"], &[]).await;
    let (key, auth) = reader(&app, &admin).await;
    // Exported with a different title: the file's name finds the book.
    let export = json!({
        "title": "Lighthouse (my copy)", "author": "J. Doe",
        "file": "/mnt/onboard/Books/lighthouse-epub3.epub", "number_of_pages": 120,
        "created_on": 1709719200, "version": "json/1.0.0",
        "entries": [
            { "sort": "highlight", "page": 5, "time": 1709648130, "text": "The lamp was lit at dusk.", "chapter": "Chapter 1", "drawer": "lighten", "color": "yellow", "pn_xp": "/body/p[3]" },
            { "sort": "highlight", "page": 7, "time": 1709648400, "text": "The sea kept its counsel.", "note": "Lovely line.", "chapter": "Chapter 1", "drawer": "underscore", "color": "yellow" }
        ]
    });
    let put = |body: Vec<u8>, name: &'static str| {
        let auth = auth.clone();
        let app = &app;
        async move {
            app.send(
                "PUT",
                &format!("/dav/{name}"),
                &[("authorization", &auth)],
                body,
            )
            .await
        }
    };
    let r = put(
        export.to_string().into_bytes(),
        "2024-03-06%20Jane%20Doe%20-%20Lighthouse.json",
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let list = app
        .api(
            "GET",
            &format!("/api/books/{}/highlights", ids[0]),
            Some(&key),
            None,
        )
        .await
        .body;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list[1]["color"], "yellow");
    assert_eq!(list[0]["source"], "json");
    // Several books in one export, one of them again: nothing doubles.
    let all = json!({ "created_on": 1709719300, "version": "json/1.0.0", "documents": [export] });
    assert_eq!(
        put(all.to_string().into_bytes(), "all-books.json")
            .await
            .status,
        201
    );
    assert_eq!(app.db.count("SELECT count(*) FROM annotations"), 2);
    // A broken export is refused whole; any other JSON is a plain file.
    let broken = json!({ "version": "json/1.0.0", "documents": [{ "entries": [] }] });
    let r = put(broken.to_string().into_bytes(), "broken.json").await;
    assert_eq!(r.status, 422);
    assert!(String::from_utf8_lossy(&r.body).contains("cannot be read"));
    assert_eq!(
        put(b"{\"vocabulary\": []}".to_vec(), "other.json")
            .await
            .status,
        201
    );
    assert_eq!(app.db.count("SELECT count(*) FROM annotations"), 2);
}
