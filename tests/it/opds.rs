//! The OPDS catalog through the real HTTP stack: who may browse, what the feeds hold (every
//! feed checked by the OPDS validators), paging, search, downloads and conditional requests.

use serde_json::{json, Value};

use crate::common::{basic, RawResp, TestApp, KEY};
use crate::library::fixture;
use crate::opds_validators::{
    validate_atom_feed, validate_entry, validate_json, validate_opensearch,
};

const BOOKS: [&str; 3] = [
    "lighthouse-epub2.epub",
    "accented-emoji.epub",
    "no-cover-epub3.epub",
];

async fn get(app: &TestApp, path: &str, auth: &str, headers: &[(&str, &str)]) -> RawResp {
    let mut all = vec![("authorization", auth)];
    all.extend_from_slice(headers);
    app.raw("GET", path, None, &all).await
}

fn text(r: &RawResp) -> String {
    String::from_utf8(r.body.clone()).expect("UTF-8 body")
}

/// An admin key, and the given fixtures uploaded and approved: their book ids.
async fn library(app: &TestApp, names: &[&str]) -> (String, Vec<String>) {
    let admin = app.admin_key().await;
    let mut ids = vec![];
    for name in names {
        let r = app.upload(&admin, &[(name, &fixture(name))]).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["files"][0]["book_id"].as_str().unwrap().to_owned();
        let r = app
            .api(
                "POST",
                &format!("/api/books/{id}/approve"),
                Some(&admin),
                Some(json!({})),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        ids.push(id);
    }
    (admin, ids)
}

/// Every `<link …/>` element's attributes of an Atom document, in order.
fn links(xml: &str) -> Vec<Vec<(String, String)>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = vec![];
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Empty(e) | quick_xml::events::Event::Start(e)
                if e.local_name().as_ref() == b"link" =>
            {
                out.push(
                    e.attributes()
                        .map(|a| {
                            let a = a.unwrap();
                            (
                                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                a.unescape_value().unwrap().into_owned(),
                            )
                        })
                        .collect(),
                );
            }
            quick_xml::events::Event::Eof => return out,
            _ => {}
        }
    }
}

fn link_href(xml: &str, rel: &str) -> Option<String> {
    links(xml).into_iter().find_map(|attrs| {
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        (get("rel").as_deref() == Some(rel))
            .then(|| get("href"))
            .flatten()
    })
}

/// The first link href that `test` accepts.
fn href_where(xml: &str, test: impl Fn(&str) -> bool) -> Option<String> {
    links(xml)
        .into_iter()
        .flatten()
        .find(|(k, v)| k == "href" && test(v))
        .map(|(_, v)| v)
}

fn path_of(href: &str) -> String {
    let rest = href.split_once("://").map_or(href, |(_, r)| r);
    rest[rest.find('/').unwrap_or(rest.len())..].to_owned()
}

fn entries(xml: &str) -> usize {
    xml.matches("<entry>").count() + xml.matches("<entry ").count()
}

#[actix_web::test]
async fn a_401_tells_reader_apps_how_to_log_in() {
    let app = TestApp::start();
    let r = app.raw("GET", "/opds", None, &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        r#"Basic realm="libris", charset="UTF-8""#
    );
    assert!(
        r.header("link")
            .contains(r#"rel="http://opds-spec.org/auth/document""#),
        "{}",
        r.header("link")
    );
    assert_eq!(
        r.header("content-type"),
        "application/opds-authentication+json"
    );
    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    validate_json("authentication", "auth.json", &doc);
    for bad in [
        basic("nobody", "x"),
        "Basic !!".into(),
        "Bearer nope".into(),
        "Digest x".into(),
    ] {
        let r = get(&app, "/opds/books", &bad, &[]).await;
        assert_eq!(r.status, 401, "{bad}");
    }
}

#[actix_web::test]
async fn readers_log_in_with_their_opds_password_or_an_api_key() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    let r = app
        .api(
            "PUT",
            "/api/credentials/opds",
            Some(&reader),
            Some(json!({ "username": "ann", "password": "s3cret:pw" })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    for (auth, want) in [
        (basic("ann", "s3cret:pw"), 200),
        (basic("ann", "wrong"), 401),
        (basic("anyone", &reader), 200),
        (format!("Bearer {reader}"), 200),
        (basic("ann", "s3cret:pw"), 200),
    ] {
        assert_eq!(get(&app, "/opds", &auth, &[]).await.status, want, "{auth}");
    }
    // Anonymous browsing only when the setting allows it.
    let r = app
        .api(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({ "opds.anonymous": true })),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.raw("GET", "/opds", None, &[]).await.status, 200);
    assert_eq!(
        get(&app, "/opds", &basic("ann", "wrong"), &[]).await.status,
        401
    );
}

#[actix_web::test]
async fn feeds_validate_and_page_through_the_library() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &BOOKS).await;
    let auth = format!("Bearer {admin}");
    let r = app
        .api(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({ "opds.page_size": 2 })),
        )
        .await;
    assert_eq!(r.status, 200);

    let root = get(&app, "/opds", &auth, &[]).await;
    assert_eq!(root.status, 200);
    assert_eq!(
        root.header("content-type"),
        "application/atom+xml;profile=opds-catalog;kind=navigation"
    );
    let root_xml = text(&root);
    validate_atom_feed("it-root.xml", &root_xml);
    assert!(root_xml.starts_with("<?xml"));
    assert!(root_xml.contains(r#"<feed xmlns="http://www.w3.org/2005/Atom""#));
    let all = href_where(&root_xml, |h| h.ends_with("/opds/books")).expect("a link to All books");

    let first = get(&app, &path_of(&all), &auth, &[]).await;
    assert_eq!(first.status, 200);
    let first_xml = text(&first);
    validate_atom_feed("it-books-1.xml", &first_xml);
    assert_eq!(entries(&first_xml), 2);
    assert!(first_xml.contains("<opensearch:totalResults>3</opensearch:totalResults>"));
    assert!(link_href(&first_xml, "previous").is_none());
    let next = link_href(&first_xml, "next").expect("a next page");
    let second = get(&app, &path_of(&next), &auth, &[]).await;
    let second_xml = text(&second);
    validate_atom_feed("it-books-2.xml", &second_xml);
    assert_eq!(entries(&second_xml), 1);
    assert!(link_href(&second_xml, "next").is_none());
    assert_eq!(
        link_href(&second_xml, "last").map(|h| path_of(&h)),
        Some(path_of(&next))
    );
    assert!(second_xml.contains("<opensearch:startIndex>3</opensearch:startIndex>"));
    // Each book once across the pages, in title order.
    let titles: Vec<String> = [&first_xml, &second_xml]
        .iter()
        .flat_map(|x| {
            x.split("<entry>").skip(1).map(|e| {
                e.split("<title>")
                    .nth(1)
                    .unwrap()
                    .split("</title>")
                    .next()
                    .unwrap()
                    .to_owned()
            })
        })
        .collect();
    let mut sorted = titles.clone();
    sorted.sort_by_key(|t| t.to_lowercase());
    assert_eq!(titles, sorted);
    assert_eq!(titles.len(), 3);
    assert_eq!(
        get(&app, "/opds/books?page=3", &auth, &[]).await.status,
        404
    );
    assert_eq!(
        get(&app, "/opds/books?page=x", &auth, &[]).await.status,
        400
    );

    // The same pages in OPDS 2.0.
    let json_page = get(&app, "/opds/v2/books", &auth, &[]).await;
    assert_eq!(json_page.header("content-type"), "application/opds+json");
    let doc: Value = serde_json::from_slice(&json_page.body).unwrap();
    validate_json("feed", "it-books.json", &doc);
    assert_eq!(doc["metadata"]["numberOfItems"], 3);
    assert_eq!(doc["publications"].as_array().unwrap().len(), 2);

    // A complete entry, in both flavors.
    let entry = get(&app, &format!("/opds/books/{}", ids[0]), &auth, &[]).await;
    assert_eq!(entry.status, 200);
    assert_eq!(
        entry.header("content-type"),
        "application/atom+xml;type=entry;profile=opds-catalog"
    );
    validate_entry("it-entry.xml", &text(&entry));
    let publication = get(&app, &format!("/opds/v2/books/{}", ids[0]), &auth, &[]).await;
    validate_json(
        "publication",
        "it-publication.json",
        &serde_json::from_slice(&publication.body).unwrap(),
    );
    assert_eq!(
        get(&app, "/opds/books/not-a-uuid", &auth, &[]).await.status,
        404
    );

    let osd = get(&app, "/opds/opensearch.xml", &auth, &[]).await;
    assert_eq!(osd.status, 200);
    validate_opensearch("it-opensearch.xml", &text(&osd));
    assert!(text(&osd).contains("/opds/search?q={searchTerms}"));
}

#[actix_web::test]
async fn an_empty_library_still_has_a_valid_first_page() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let r = get(&app, "/opds/books", &format!("Bearer {admin}"), &[]).await;
    assert_eq!(r.status, 200);
    validate_atom_feed("it-empty.xml", &text(&r));
    assert_eq!(entries(&text(&r)), 0);
    assert!(text(&r).contains("<opensearch:totalResults>0</opensearch:totalResults>"));
}

#[actix_web::test]
async fn only_organized_books_are_listed() {
    let app = TestApp::start();
    let (admin, _) = library(&app, &BOOKS[..1]).await;
    // A second book stays in review.
    let r = app.upload(&admin, &[(BOOKS[1], &fixture(BOOKS[1]))]).await;
    let in_review = r.body["files"][0]["book_id"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {admin}");
    let page = text(&get(&app, "/opds/books", &auth, &[]).await);
    assert_eq!(entries(&page), 1);
    assert!(!page.contains(&in_review));
    assert_eq!(
        get(&app, &format!("/opds/books/{in_review}"), &auth, &[])
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn downloads_answer_head_range_and_conditional_requests() {
    let app = TestApp::start();
    let (admin, _) = library(&app, &BOOKS[..1]).await;
    let auth = format!("Bearer {admin}");
    let page = text(&get(&app, "/opds/books", &auth, &[]).await);
    let href = link_href(&page, "http://opds-spec.org/acquisition").expect("an acquisition link");
    assert!(href.ends_with(".epub"), "{href}");
    let attrs = links(&page)
        .into_iter()
        .find(|a| a.iter().any(|(_, v)| v == &href))
        .unwrap();
    assert!(
        attrs.contains(&("type".into(), "application/epub+zip".into())),
        "{attrs:?}"
    );
    let bytes = fixture(BOOKS[0]);
    assert!(
        attrs.contains(&("length".into(), bytes.len().to_string())),
        "{attrs:?}"
    );

    let file = get(&app, &path_of(&href), &auth, &[]).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, bytes);
    assert!(file.header("content-disposition").starts_with("attachment"));
    let head = app
        .raw("HEAD", &path_of(&href), None, &[("authorization", &auth)])
        .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let part = get(&app, &path_of(&href), &auth, &[("range", "bytes=0-9")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, bytes[..10]);
    assert_eq!(app.raw("GET", &path_of(&href), None, &[]).await.status, 401);

    // Feeds: HEAD, and 304 on the ETag or the date they carry (once the library's last
    // change is a second old, see `settle`).
    settle(&app);
    let feed = get(&app, "/opds/books", &auth, &[]).await;
    let etag = feed.header("etag");
    assert!(!etag.is_empty() && !feed.header("last-modified").is_empty());
    let head = app
        .raw("HEAD", "/opds/books", None, &[("authorization", &auth)])
        .await;
    assert_eq!((head.status, head.header("etag")), (200, etag.clone()));
    assert!(head.body.is_empty());
    let again = get(&app, "/opds/books", &auth, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let since = get(
        &app,
        "/opds/books",
        &auth,
        &[("if-modified-since", &feed.header("last-modified"))],
    )
    .await;
    assert_eq!(since.status, 304);
    // A change to the library changes the feed, and so its ETag.
    library_edit(&app, &admin, &page).await;
    let changed = get(&app, "/opds/books", &auth, &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), etag);
    assert!(text(&changed).contains("Renamed &amp; &lt;Re-titled&gt;"));
    let since = get(
        &app,
        "/opds/books",
        &auth,
        &[("if-modified-since", &feed.header("last-modified"))],
    )
    .await;
    assert_eq!(since.status, 200, "and its date");
}

/// (filename, filename* decoded) of a download's Content-Disposition.
fn download_names(r: &RawResp) -> (String, String) {
    let cd = r.header("content-disposition");
    let ascii = cd
        .split_once("filename=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name.to_owned())
        .unwrap_or_else(|| panic!("no filename: {cd}"));
    let utf8 = cd
        .split_once("filename*=UTF-8''")
        .map(|(_, rest)| rest.split(';').next().unwrap_or(""))
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| panic!("no filename*: {cd}"));
    (ascii, utf8)
}

#[actix_web::test]
async fn downloads_carry_a_transliterated_ascii_name_for_koreader() {
    let app = TestApp::start();
    // Two names of the same length in characters: an ASCII name of '_' for each would be one.
    let names = [
        (
            "夏目漱石 - 吾輩は猫である.epub",
            "夏目漱石 - 吾輩は猫である.epub",
        ),
        ("chinese.epub", "宮沢賢治 - 銀河鉄道の夜だ.epub"),
    ];
    let admin = app.admin_key().await;
    let mut got = vec![];
    for (fixture_name, name) in names {
        let r = app.upload(&admin, &[(name, &fixture(fixture_name))]).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let book = r.body["files"][0]["book_id"].as_str().unwrap().to_owned();
        let path = format!("/api/books/{book}/approve");
        let r = app.api("POST", &path, Some(&admin), Some(json!({}))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let file = r.body["files"][0]["id"].as_str().unwrap().to_owned();
        let auth = format!("Bearer {admin}");
        // KOReader's way in (the last segment is not looked at), and the REST API's.
        let opds = get(
            &app,
            &format!("/opds/books/{book}/files/{file}/x.epub"),
            &auth,
            &[],
        )
        .await;
        let api = app
            .raw(
                "GET",
                &format!("/api/books/{book}/files/{file}"),
                Some(&admin),
                &[],
            )
            .await;
        assert_eq!((opds.status, api.status), (200, 200));
        let (ascii, utf8) = download_names(&opds);
        assert_eq!(download_names(&api), (ascii.clone(), utf8.clone()));
        assert_eq!(utf8, name, "filename* keeps the name");
        assert!(ascii.is_ascii() && ascii.ends_with(".epub"), "{ascii}");
        assert!(!ascii.contains('_'), "transliterated, not blanked: {ascii}");
        got.push(ascii);
    }
    assert_eq!(got[0], "Xia Mu Shu Shi - Wu Bei haMao dearu.epub");
    assert_ne!(got[0], got[1], "two books, two names");
}

async fn library_edit(app: &TestApp, admin: &str, page: &str) {
    let id = page.split("urn:uuid:").nth(1).unwrap()[..36].to_owned();
    let r = app
        .api(
            "PATCH",
            &format!("/api/books/{id}"),
            Some(admin),
            Some(json!({ "title": "Renamed & <Re-titled>" })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[actix_web::test]
async fn search_takes_plus_as_space_and_the_last_word_as_a_prefix() {
    let app = TestApp::start();
    let (admin, _) = library(&app, &BOOKS).await;
    let auth = format!("Bearer {admin}");
    let r = get(&app, "/opds/search?q=lighthouse+kee", &auth, &[]).await;
    assert_eq!(r.status, 200);
    let xml = text(&r);
    validate_atom_feed("it-search.xml", &xml);
    assert_eq!(entries(&xml), 1, "{xml}");
    assert!(xml.contains("The Lighthouse Keeper"));
    let none = text(&get(&app, "/opds/search?q=zzzzqqq", &auth, &[]).await);
    assert_eq!(entries(&none), 0);
    validate_atom_feed("it-search-none.xml", &none);
    let json_hits = get(&app, "/opds/v2/search?query=lighthouse", &auth, &[]).await;
    let doc: Value = serde_json::from_slice(&json_hits.body).unwrap();
    validate_json("feed", "it-search.json", &doc);
    assert_eq!(doc["metadata"]["numberOfItems"], 1);
    // Words of any script are found.
    let accented = text(&get(&app, "/opds/search?q=%C3%A9", &auth, &[]).await);
    validate_atom_feed("it-search-accented.xml", &accented);
}

#[actix_web::test]
async fn the_root_answers_json_to_clients_that_prefer_it() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let auth = format!("Bearer {admin}");
    let json_root = get(
        &app,
        "/opds",
        &auth,
        &[(
            "accept",
            "application/opds+json, application/atom+xml;q=0.9",
        )],
    )
    .await;
    assert_eq!(json_root.status, 200);
    assert_eq!(json_root.header("content-type"), "application/opds+json");
    validate_json(
        "feed",
        "it-root.json",
        &serde_json::from_slice(&json_root.body).unwrap(),
    );
    for accept in ["application/atom+xml", "*/*", "text/html", ""] {
        let r = get(&app, "/opds", &auth, &[("accept", accept)]).await;
        assert_eq!(r.status, 200, "{accept}");
        assert!(
            r.header("content-type").starts_with("application/atom+xml"),
            "{accept}"
        );
    }
}

#[actix_web::test]
async fn links_follow_the_public_url_and_trusted_proxies_only() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let auth = format!("Bearer {admin}");
    let spoofed = [
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
    ];
    let xml = text(&get(&app, "/opds", &auth, &spoofed).await);
    let start = link_href(&xml, "start").unwrap();
    assert!(start.starts_with("http://127.0.0.1:"), "{start}");
    assert!(!xml.contains("evil.example"));
}

#[actix_web::test]
async fn browsing_by_author_series_and_language_reaches_the_books() {
    let app = TestApp::start();
    let (admin, _) = library(&app, &BOOKS).await;
    let auth = format!("Bearer {admin}");
    let root = text(&get(&app, "/opds", &auth, &[]).await);
    for facet in ["authors", "series", "genres", "languages", "publishers"] {
        assert!(
            root.contains(&format!("/opds/{facet}\"")),
            "{facet} in the root"
        );
        let r = get(&app, &format!("/opds/{facet}"), &auth, &[]).await;
        assert_eq!(r.status, 200, "{facet}");
        validate_atom_feed(&format!("it-{facet}.xml"), &text(&r));
        let j = get(&app, &format!("/opds/v2/{facet}"), &auth, &[]).await;
        validate_json(
            "feed",
            &format!("it-{facet}.json"),
            &serde_json::from_slice(&j.body).unwrap(),
        );
    }
    let authors = text(&get(&app, "/opds/authors", &auth, &[]).await);
    assert!(authors.contains("Jane Doe"), "{authors}");
    let leaf = href_where(&authors, |h| h.contains("/authors/books?value=Jane"))
        .expect("a link to Jane Doe's books");
    let books = text(&get(&app, &path_of(&leaf), &auth, &[]).await);
    validate_atom_feed("it-author-books.xml", &books);
    assert!(books.contains("The Lighthouse Keeper"));
    assert!(entries(&books) >= 1);
    // Languages by name, their links by tag; a language's books titled by its name.
    let languages = text(&get(&app, "/opds/languages", &auth, &[]).await);
    assert!(languages.contains("<title>English</title>"), "{languages}");
    let english = href_where(&languages, |h| h.ends_with("/languages/books?value=en"))
        .expect("a link by the tag");
    let english = text(&get(&app, &path_of(&english), &auth, &[]).await);
    assert!(english.contains("<title>English</title>"), "{english}");
    assert!(
        english.contains("<dc:language>en</dc:language>"),
        "{english}"
    );
    let facets = text(&get(&app, "/opds/books", &auth, &[]).await);
    assert!(
        link_attrs(&facets, "http://opds-spec.org/facet").is_some()
            && facets.contains(r#"title="English""#),
        "{facets}"
    );
    let series = text(&get(&app, "/opds/series/books?value=Coastal%20Tales", &auth, &[]).await);
    assert!(series.contains("The Lighthouse Keeper"), "{series}");
    let nothing = text(
        &get(
            &app,
            "/opds/publishers/books?value=Nobody%20Press",
            &auth,
            &[],
        )
        .await,
    );
    assert_eq!(entries(&nothing), 0);
    assert_eq!(
        get(&app, "/opds/authors/books", &auth, &[]).await.status,
        400
    );
    assert_eq!(
        get(&app, "/opds/authors?page=9", &auth, &[]).await.status,
        404
    );
}

/// The titles of a navigation feed's entries, in order.
fn entry_titles(xml: &str) -> Vec<String> {
    xml.split("<entry>")
        .skip(1)
        .filter_map(|e| {
            Some(
                e.split_once("<title>")?
                    .1
                    .split_once("</title>")?
                    .0
                    .to_owned(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn authors_are_listed_by_their_sort_names() {
    let app = TestApp::start();
    // Sort names from the EPUBs' file-as (one shared by two authors, split): Jane Doe's
    // "Doe, Jane", Nadia Coverless's; the one typed in an edit is derived.
    let (admin, ids) = library(&app, &BOOKS).await;
    let auth = format!("Bearer {admin}");
    let r = app
        .api(
            "PATCH",
            &format!("/api/books/{}", ids[2]),
            Some(&admin),
            Some(json!({ "author": "Nadia Coverless & Ludwig van Beethoven" })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let authors = text(&get(&app, "/opds/authors", &auth, &[]).await);
    validate_atom_feed("it-authors-sorted.xml", &authors);
    // All books by author: Coverless (and Beethoven), Doe, Löwe-Ærøskøbing (and Ĉapek).
    let by_author = text(&get(&app, "/opds/books?sort=author", &auth, &[]).await);
    let listed: Vec<&str> = by_author
        .split("<id>urn:uuid:")
        .skip(1)
        .map(|e| &e[..36])
        .collect();
    assert_eq!(listed, [&ids[2], &ids[0], &ids[1]], "{by_author}");
    assert_eq!(
        entry_titles(&authors),
        [
            "Ludwig van Beethoven",
            "François Ĉapek",
            "Nadia Coverless",
            "Jane Doe",
            "Zoë Löwe-Ærøskøbing",
        ],
        "by surname, shown by name"
    );
    assert_eq!(
        app.db.count(
            "SELECT count(*) FROM author_sort_names WHERE name = 'Jane Doe' AND sort_name = 'Doe, Jane'"
        ),
        1
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM author_sort_names WHERE name = 'Ludwig van Beethoven'"),
        0,
        "derived sort names are not stored"
    );

    // A sort name given later (as a calibre import gives one) wins at once: the catalog's
    // kept lists move with it.
    let mut conn = app.db.conn();
    let given = [("Jane Doe", "Zzz, Jane"), ("Tom & Jerry", "Tom"), ("", "x")];
    assert_eq!(
        libris::library::author_sort::remember(&mut conn, &given).unwrap(),
        1,
        "several authors or none: left out"
    );
    assert_eq!(
        libris::library::author_sort::remember(&mut conn, &given[..1]).unwrap(),
        0,
        "unchanged: not written"
    );
    let authors = text(&get(&app, "/opds/authors", &auth, &[]).await);
    assert_eq!(
        entry_titles(&authors).last().map(String::as_str),
        Some("Jane Doe")
    );
}

#[test]
fn authors_split_the_same_in_rust_and_in_sql() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Split {
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
        authors: Vec<String>,
    }
    let db = crate::common::TestDb::new();
    let mut conn = db.conn();
    for field in [
        "Jane Doe & John Roe",
        " Ann ;Bob;; ",
        "Tom and Jerry",
        "",
        "&",
        "Émile Zola",
    ] {
        let sql: Split = diesel::sql_query("SELECT libris_authors($1) AS authors")
            .bind::<diesel::sql_types::Text, _>(field)
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(
            sql.authors,
            libris::library::catalog::authors_of(field),
            "{field:?}"
        );
    }
}

/// The admin reads too: a KoSync login ("boss") whose key is crate::common::KEY.
async fn kosync_login(app: &TestApp, admin: &str) {
    let r = app
        .api(
            "PUT",
            "/api/credentials/kosync",
            Some(admin),
            Some(json!({ "username": "boss", "password": "password" })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// The KoSync document (partial MD5) of a book's first file.
async fn document(app: &TestApp, admin: &str, book: &str) -> String {
    let b = app
        .api("GET", &format!("/api/books/{book}"), Some(admin), None)
        .await;
    b.body["files"][0]["content_hash"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn shelves_follow_the_reading_state_of_the_reader() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &BOOKS[..2]).await;
    let auth = format!("Bearer {admin}");
    kosync_login(&app, &admin).await;
    let (reading, finished) = (
        document(&app, &admin, &ids[0]).await,
        document(&app, &admin, &ids[1]).await,
    );
    for (doc, pct) in [(&reading, 0.3), (&finished, 1.0)] {
        let r = app
            .put_progress(
                "boss",
                crate::common::KEY,
                json!({ "document": doc, "progress": "p", "percentage": pct, "device": "kobo" }),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let root = text(&get(&app, "/opds", &auth, &[]).await);
    assert!(root.contains("/opds/shelves/continue"), "{root}");
    let shelf = |name: &'static str| {
        let app = &app;
        let auth = auth.clone();
        async move {
            let r = get(app, &format!("/opds/shelves/{name}"), &auth, &[]).await;
            assert_eq!(r.status, 200, "{name}");
            let xml = text(&r);
            validate_atom_feed(&format!("it-shelf-{name}.xml"), &xml);
            xml
        }
    };
    let on = |xml: &str, id: &str| xml.contains(&format!("urn:uuid:{id}"));
    let (cont, read, done, paused) = (
        shelf("continue").await,
        shelf("reading").await,
        shelf("finished").await,
        shelf("paused").await,
    );
    assert!(on(&cont, &ids[0]) && !on(&cont, &ids[1]));
    assert!(on(&read, &ids[0]) && !on(&read, &ids[1]));
    assert!(on(&done, &ids[1]) && !on(&done, &ids[0]));
    assert_eq!(entries(&paused), 0);
    let j = get(&app, "/opds/v2/shelves/finished", &auth, &[]).await;
    validate_json(
        "feed",
        "it-shelf.json",
        &serde_json::from_slice(&j.body).unwrap(),
    );

    // Anonymous browsing has no shelves.
    app.api(
        "PATCH",
        "/api/settings",
        Some(&admin),
        Some(json!({ "opds.anonymous": true })),
    )
    .await;
    let anonymous = text(&app.raw("GET", "/opds", None, &[]).await);
    assert!(!anonymous.contains("/opds/shelves/"));
    assert_eq!(
        app.raw("GET", "/opds/shelves/reading", None, &[])
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn covers_come_by_signed_links_without_credentials() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &BOOKS[..1]).await;
    let auth = format!("Bearer {admin}");
    let entry = text(&get(&app, &format!("/opds/books/{}", ids[0]), &auth, &[]).await);
    let image = link_href(&entry, "http://opds-spec.org/image").expect("an image link");
    let thumb = link_href(&entry, "http://opds-spec.org/image/thumbnail").expect("a thumbnail");
    let r = app.raw("GET", &path_of(&image), None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type").starts_with("image/"),
        "{}",
        r.header("content-type")
    );
    assert_eq!(
        r.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(!r.header("etag").is_empty());
    assert!(!r.body.is_empty());
    let t = app.raw("GET", &path_of(&thumb), None, &[]).await;
    assert_eq!(
        (t.status, t.header("content-type").as_str()),
        (200, "image/jpeg")
    );
    assert_eq!(&t.body[..2], &[0xFF, 0xD8], "a JPEG");

    // Tampered: another book, another kind, another signature, another version.
    let path = path_of(&image);
    let parts: Vec<&str> = path.split('/').collect(); // ["", "opds", "covers", id, version, kind, sig.ext]
    let swap = |i: usize, with: &str| {
        let mut p = parts.clone();
        p[i] = with;
        p.join("/")
    };
    let other = uuid::Uuid::new_v4().to_string();
    let forged_sig = format!("{}.jpg", "0".repeat(32));
    for forged in [
        swap(3, &other),
        swap(5, "thumbnail"),
        swap(6, &forged_sig),
        swap(4, "1"),
        swap(3, "not-a-uuid"),
        swap(6, "%2e%2e%2fsecret"),
    ] {
        let r = app.raw("GET", &forged, None, &[]).await;
        assert_eq!(r.status, 403, "{forged}");
    }
    // An edit makes new links; the old ones stop working.
    let r = app
        .api(
            "PATCH",
            &format!("/api/books/{}", ids[0]),
            Some(&admin),
            Some(json!({ "title": "New title" })),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.raw("GET", &path, None, &[]).await.status, 404);
    let fresh = text(&get(&app, &format!("/opds/books/{}", ids[0]), &auth, &[]).await);
    let new_image = link_href(&fresh, "http://opds-spec.org/image").unwrap();
    assert_ne!(new_image, image);
    assert_eq!(
        app.raw("GET", &path_of(&new_image), None, &[]).await.status,
        200
    );
}

#[actix_web::test]
async fn all_books_sorts_and_narrows_by_its_facets() {
    let app = TestApp::start();
    let (admin, _) = library(&app, &BOOKS).await;
    let auth = format!("Bearer {admin}");
    let page = text(&get(&app, "/opds/books", &auth, &[]).await);
    let facets: Vec<Vec<(String, String)>> = links(&page)
        .into_iter()
        .filter(|a| {
            a.iter()
                .any(|(k, v)| k == "rel" && v == "http://opds-spec.org/facet")
        })
        .collect();
    let attr = |a: &Vec<(String, String)>, k: &str| {
        a.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let groups: std::collections::BTreeSet<String> =
        facets.iter().map(|a| attr(a, "opds:facetGroup")).collect();
    assert_eq!(
        groups.into_iter().collect::<Vec<_>>(),
        ["Format", "Language", "Sort"]
    );
    let active: Vec<String> = facets
        .iter()
        .filter(|a| attr(a, "opds:activeFacet") == "true")
        .map(|a| attr(a, "title"))
        .collect();
    assert_eq!(active, ["Title", "All languages", "All formats"]);
    // Each language facet leads to exactly as many books as it counts.
    let languages: Vec<_> = facets
        .iter()
        .filter(|a| attr(a, "opds:facetGroup") == "Language" && !attr(a, "thr:count").is_empty())
        .collect();
    assert!(!languages.is_empty(), "{page}");
    for l in languages {
        let narrowed = text(&get(&app, &path_of(&attr(l, "href")), &auth, &[]).await);
        validate_atom_feed("it-books-lang.xml", &narrowed);
        assert_eq!(
            entries(&narrowed).to_string(),
            attr(l, "thr:count"),
            "{}",
            attr(l, "title")
        );
    }
    let epub = text(&get(&app, "/opds/books?format=epub&sort=author", &auth, &[]).await);
    assert_eq!(entries(&epub), 3);
    assert!(epub.contains("<opensearch:totalResults>3</opensearch:totalResults>"));
    let pdf = text(&get(&app, "/opds/books?format=pdf", &auth, &[]).await);
    assert_eq!(entries(&pdf), 0);
    for (query, field) in [
        ("sort=nope", "sort"),
        ("lang=e%20n", "lang"),
        ("format=doc", "format"),
    ] {
        let r = get(&app, &format!("/opds/books?{query}"), &auth, &[]).await;
        assert_eq!(r.status, 400, "{query}");
        assert!(text(&r).contains(field), "{query}");
    }
    // Every sort lists every book once.
    for sort in ["title", "author", "added", "published"] {
        let r = text(&get(&app, &format!("/opds/books?sort={sort}"), &auth, &[]).await);
        assert_eq!(entries(&r), 3, "{sort}");
    }
    let j = get(&app, "/opds/v2/books?sort=published", &auth, &[]).await;
    let doc: Value = serde_json::from_slice(&j.body).unwrap();
    validate_json("feed", "it-books-facets.json", &doc);
    assert!(
        doc["facets"].as_array().is_some_and(|f| f.len() == 3),
        "{doc}"
    );
}

/// Moves every change stamp an hour back, as if the library and the reading had been left
/// alone since: documents then carry Last-Modified (a change's second must be over first).
fn settle(app: &TestApp) {
    use diesel::RunQueryDsl;
    let mut conn = app.db.conn();
    for sql in [
        "UPDATE library_state SET changed_at = changed_at - interval '1 hour'",
        "UPDATE reading_aggregate SET updated_at = updated_at - interval '1 hour'",
        "UPDATE reading_forgotten SET forgotten_at = forgotten_at - interval '1 hour'",
    ] {
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
}

/// A reader's documents answer If-Modified-Since (KOReader's revalidation) and If-None-Match
/// with 304 only while what they show is unchanged: a KoSync report, or reading forgotten,
/// gives the new body.
#[actix_web::test]
async fn conditional_requests_follow_the_readers_reading() {
    const PSE: &str = "http://vaemendis.net/opds-pse/stream";
    let app = TestApp::start();
    let (admin, ids) = library(&app, &["comic-with-comicinfo.cbz", BOOKS[0]]).await;
    let (comic, novel) = (ids[0].clone(), ids[1].clone());
    let auth = format!("Bearer {admin}");
    kosync_login(&app, &admin).await;
    let report = |book: String, progress: &'static str, percentage: f64| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let doc = document(app, &admin, &book).await;
            let r = app
                .put_progress(
                    "boss",
                    KEY,
                    json!({ "document": doc, "progress": progress, "percentage": percentage, "device": "kobo" }),
                )
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
    };
    report(novel.clone(), "/body/p[3]", 0.3).await;
    settle(&app);

    let (shelf, entry) = ("/opds/shelves/reading", format!("/opds/books/{comic}"));
    let before = get(&app, shelf, &auth, &[]).await;
    let before_entry = get(&app, &entry, &auth, &[]).await;
    let (since, tag) = (before.header("last-modified"), before.header("etag"));
    let entry_since = before_entry.header("last-modified");
    assert!(!since.is_empty() && !entry_since.is_empty() && !tag.is_empty());
    assert!(text(&before).contains(&novel) && !text(&before).contains(&comic));
    for (name, value) in [("if-modified-since", &since), ("if-none-match", &tag)] {
        let r = get(&app, shelf, &auth, &[(name, value)]).await;
        assert_eq!(r.status, 304, "unchanged: {name}");
    }

    // The comic read to page 5 on the e-reader: it joins the shelf, its entry shows the page.
    report(comic.clone(), "5", 0.4167).await;
    for (name, value) in [("if-modified-since", &since), ("if-none-match", &tag)] {
        let r = get(&app, shelf, &auth, &[(name, value)]).await;
        assert_eq!(r.status, 200, "changed: {name}");
        assert!(text(&r).contains(&comic), "the new body for {name}");
    }
    let r = get(&app, &entry, &auth, &[("if-modified-since", &entry_since)]).await;
    assert_eq!(r.status, 200);
    let stream = link_attrs(&text(&r), PSE).unwrap();
    assert_eq!(attr(&stream, "pse:lastRead"), Some("5"));
    // If-None-Match decides alone: a matching date does not stand for a changed body.
    let r = get(
        &app,
        shelf,
        &auth,
        &[
            ("if-none-match", &tag),
            ("if-modified-since", "Fri, 01 Jan 2100 00:00:00 GMT"),
        ],
    )
    .await;
    assert_eq!(r.status, 200);

    // Within the second of a change, no Last-Modified: a second report in that same second
    // could not be told apart by date. The ETag does.
    let just_read = get(&app, &entry, &auth, &[]).await;
    assert_eq!(just_read.header("last-modified"), "", "not settled yet");
    report(comic.clone(), "7", 0.5833).await;
    let r = get(
        &app,
        &entry,
        &auth,
        &[("if-none-match", &just_read.header("etag"))],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        attr(&link_attrs(&text(&r), PSE).unwrap(), "pse:lastRead"),
        Some("7")
    );

    // Reading forgotten takes the comic off the shelf: that moves Last-Modified too.
    settle(&app);
    let settled = get(&app, shelf, &auth, &[]).await;
    let since = settled.header("last-modified");
    assert!(!since.is_empty());
    let r = app
        .api(
            "DELETE",
            &format!("/api/books/{comic}/progress"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = get(&app, shelf, &auth, &[("if-modified-since", &since)]).await;
    assert_eq!(r.status, 200);
    assert!(!text(&r).contains(&comic));
}

/// The attributes of the first link with this rel.
fn link_attrs(xml: &str, rel: &str) -> Option<Vec<(String, String)>> {
    links(xml)
        .into_iter()
        .find(|attrs| attrs.iter().any(|(k, v)| k == "rel" && v == rel))
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The page files of a fixture comic, in the order a reader expects them.
fn comic_pages(name: &str, order: &[&str]) -> Vec<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(fixture(name))).unwrap();
    order
        .iter()
        .map(|page| {
            let mut bytes = vec![];
            std::io::Read::read_to_end(&mut zip.by_name(page).unwrap(), &mut bytes).unwrap();
            bytes
        })
        .collect()
}

#[actix_web::test]
async fn comics_stream_page_by_page_from_where_the_reader_stopped() {
    const PSE: &str = "http://vaemendis.net/opds-pse/stream";
    let app = TestApp::start();
    let (admin, ids) = library(
        &app,
        &[
            "comic-with-comicinfo.cbz",
            "Harbor Tales 004 (2021).cbz",
            BOOKS[0],
        ],
    )
    .await;
    let auth = format!("Bearer {admin}");
    let entry = |id: &str| {
        let (app, auth, path) = (&app, auth.clone(), format!("/opds/books/{id}"));
        async move { text(&get(app, &path, &auth, &[]).await) }
    };
    let xml = entry(&ids[0]).await;
    validate_entry("it-pse-entry.xml", &xml);
    let stream = link_attrs(&xml, PSE).expect("a page streaming link");
    assert_eq!(attr(&stream, "pse:count"), Some("12"));
    assert_eq!(attr(&stream, "pse:lastRead"), None, "nothing read yet");
    let template = attr(&stream, "href").unwrap().to_owned();
    assert!(template.contains("{pageNumber}") && template.contains("{maxWidth}"));
    assert!(
        link_href(&xml, "http://opds-spec.org/acquisition").is_some(),
        "the whole file beside it"
    );
    assert!(link_attrs(&entry(&ids[2]).await, PSE).is_none(), "an EPUB");

    // The reader got to page 5 on their e-reader (KOReader reports a comic's page number).
    kosync_login(&app, &admin).await;
    let document = document(&app, &admin, &ids[0]).await;
    let r = app
        .put_progress(
            "boss",
            crate::common::KEY,
            json!({ "document": document, "progress": "5", "percentage": 0.4167, "device": "kobo" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let xml = entry(&ids[0]).await;
    let stream = link_attrs(&xml, PSE).unwrap();
    assert_eq!(attr(&stream, "pse:lastRead"), Some("5"));
    assert!(attr(&stream, "pse:lastReadDate").is_some_and(|d| d.ends_with('Z')));
    // The same in a list.
    // Another reader, before and after: the page is the same for both but for where each
    // stands, and one's position never shows in the other's feed.
    let (_, other) = app.reader_key(&admin, "ann").await;
    let other = format!("Bearer {other}");
    let theirs = text(&get(&app, "/opds/books", &other, &[]).await);
    assert!(theirs.contains("pse:count=") && !theirs.contains("pse:lastRead"));
    let list = text(&get(&app, "/opds/books", &auth, &[]).await);
    validate_atom_feed("it-pse-list.xml", &list);
    assert!(list.contains(r#"pse:lastRead="5""#), "{list}");
    let theirs = text(&get(&app, "/opds/books", &other, &[]).await);
    assert!(!theirs.contains("pse:lastRead"), "{theirs}");

    // Pages are 0-based, in natural order (1.jpg, 2.jpg, … 10.jpg, stored 1, 10, 11, 12, 2…).
    let names: Vec<String> = (1..=12).map(|n| format!("{n}.jpg")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let pages = comic_pages("comic-with-comicinfo.cbz", &names);
    let page = |n: &str, width: &str| {
        template
            .replace("{pageNumber}", n)
            .replace("{maxWidth}", width)
    };
    for (n, expected) in [
        (0, &pages[0]),
        (1, &pages[1]),
        (9, &pages[9]),
        (11, &pages[11]),
    ] {
        let r = get(&app, &path_of(&page(&n.to_string(), "")), &auth, &[]).await;
        assert_eq!(r.status, 200, "page {n}");
        assert_eq!(r.header("content-type"), "image/jpeg");
        assert!(&r.body == expected, "page {n} is {}", names[n]);
    }
    assert_eq!(
        get(&app, &path_of(&page("12", "")), &auth, &[])
            .await
            .status,
        404
    );
    assert_eq!(
        get(&app, &path_of(&page("-1", "")), &auth, &[])
            .await
            .status,
        404
    );
    assert_eq!(
        get(&app, &path_of(&page("0", "wide")), &auth, &[])
            .await
            .status,
        400
    );
    assert_eq!(
        app.raw("GET", &path_of(&page("0", "")), None, &[])
            .await
            .status,
        401,
        "pages need credentials"
    );

    // Scaled down to the width asked, never up; cached for good.
    let original = image::load_from_memory(&pages[3]).unwrap();
    let r = get(&app, &path_of(&page("3", "100")), &auth, &[]).await;
    assert_eq!(
        (r.status, r.header("content-type").as_str()),
        (200, "image/jpeg")
    );
    let scaled = image::load_from_memory(&r.body).unwrap();
    assert_eq!(scaled.width(), 100);
    let expected_height =
        (f64::from(original.height()) * 100.0 / f64::from(original.width())).round();
    assert!((f64::from(scaled.height()) - expected_height).abs() <= 1.0);
    let wide = get(&app, &path_of(&page("3", "5000")), &auth, &[]).await;
    assert!(wide.body == pages[3], "narrower than asked: as stored");
    let etag = r.header("etag");
    assert!(r.header("cache-control").contains("immutable"));
    let again = get(
        &app,
        &path_of(&page("3", "100")),
        &auth,
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, 304);

    // PNG pages in a sub-folder, shuffled in the zip, with junk entries that are not pages.
    let xml = entry(&ids[1]).await;
    let stream = link_attrs(&xml, PSE).expect("a page streaming link");
    assert_eq!(attr(&stream, "pse:count"), Some("11"));
    let href = attr(&stream, "href").unwrap().replace("{maxWidth}", "");
    let png = comic_pages(
        "Harbor Tales 004 (2021).cbz",
        &[
            "Harbor Tales 004/page 1.png",
            "Harbor Tales 004/page 10.png",
        ],
    );
    for (n, expected) in [("0", &png[0]), ("9", &png[1])] {
        let r = get(&app, &path_of(&href.replace("{pageNumber}", n)), &auth, &[]).await;
        assert_eq!(
            (r.status, r.header("content-type").as_str()),
            (200, "image/png")
        );
        assert!(&r.body == expected, "page {n}");
    }

    // Not a comic of the catalog: an EPUB's file, an unknown id.
    let epub = app
        .api("GET", &format!("/api/books/{}", ids[2]), Some(&admin), None)
        .await;
    let epub_file = epub.body["files"][0]["id"].as_str().unwrap();
    for path in [
        format!("/opds/pse/{epub_file}/0"),
        format!("/opds/pse/{}/0", uuid::Uuid::new_v4()),
        "/opds/pse/not-an-id/0".to_owned(),
    ] {
        assert_eq!(get(&app, &path, &auth, &[]).await.status, 404, "{path}");
    }
}

/// A reading KoSync user (ann) and one book, with book_files locked by the connection
/// returned: whoever reads a page of books waits for it (KoSync needs no book files).
async fn stalled_catalog() -> (TestApp, String, diesel::PgConnection) {
    use diesel::RunQueryDsl;
    let app = TestApp::start();
    let (admin, _) = library(&app, &BOOKS[..1]).await;
    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    assert_eq!(app.put_progress("ann", KEY, position(1)).await.status, 200);
    let mut blocker = app.db.conn();
    diesel::sql_query("BEGIN").execute(&mut blocker).unwrap();
    diesel::sql_query("LOCK TABLE book_files IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .unwrap();
    (app, admin, blocker)
}

fn position(n: u32) -> serde_json::Value {
    json!({ "document": "doc", "progress": format!("/body/p[{n}]"), "percentage": 0.5,
            "device": "kobo", "device_id": "k1" })
}

/// Requests waiting for a page that another request is reading hold no database connection:
/// with that reading stuck (a table it needs is locked), the rest of the pool still serves
/// KoSync. Were the waiting requests to hold connections, the pool (4 in tests) would be
/// exhausted and the KoSync report would time out with 502.
#[actix_web::test]
async fn waiting_for_a_page_being_read_holds_no_database_connection() {
    use diesel::RunQueryDsl;
    use std::time::{Duration, Instant};
    let (app, admin, mut blocker) = stalled_catalog().await;
    const ASKING: usize = 8;
    let url = app.server.url("/opds/search?q=lighthouse");
    let auth = format!("Bearer {admin}");
    let searches: Vec<_> = (0..ASKING)
        .map(|_| {
            let (url, auth) = (url.clone(), auth.clone());
            actix_web::rt::spawn(async move {
                let client = awc::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .finish();
                let mut resp = client
                    .get(url)
                    .insert_header(("authorization", auth))
                    .send()
                    .await
                    .unwrap();
                let body = resp.body().limit(1 << 20).await.unwrap();
                (resp.status().as_u16(), body)
            })
        })
        .collect();
    // One reads the page (and waits for the lock); the others wait for its result.
    let pages = &app.state.opds_cache.pages;
    let in_use = || {
        let pool = app.state.pool.state();
        pool.connections - pool.idle_connections
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while pages.waiting() < ASKING - 1 || in_use() > 1 {
        assert!(
            Instant::now() < deadline,
            "{} of {} requests waiting for the page, {} connections in use",
            pages.waiting(),
            ASKING - 1,
            in_use()
        );
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        in_use(),
        1,
        "only the request reading the page holds a connection"
    );
    assert_eq!(
        app.put_progress("ann", KEY, position(2)).await.status,
        200,
        "KoSync is served meanwhile"
    );
    diesel::sql_query("ROLLBACK").execute(&mut blocker).unwrap();
    let mut pages = vec![];
    for search in searches {
        let (status, body) = search.await.unwrap();
        assert_eq!(status, 200);
        pages.push(body);
    }
    assert_eq!(entries(std::str::from_utf8(&pages[0]).unwrap()), 1);
    assert!(
        pages.windows(2).all(|w| w[0] == w[1]),
        "everyone gets the one page"
    );
}

/// Reads the catalog has not kept (new searches) take at most half the pool: a burst of them
/// leaves connections to KoSync.
#[actix_web::test]
async fn new_searches_leave_half_the_pool_to_kosync() {
    use diesel::RunQueryDsl;
    use std::time::{Duration, Instant};
    let (app, admin, mut blocker) = stalled_catalog().await;
    // The tests' pool has 4 connections: 2 read slots.
    const ASKING: usize = 6;
    let auth = format!("Bearer {admin}");
    let searches: Vec<_> = (0..ASKING)
        .map(|n| {
            let url = app.server.url(&format!("/opds/search?q=light{n}"));
            let auth = auth.clone();
            actix_web::rt::spawn(async move {
                let client = awc::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .finish();
                let resp = client
                    .get(url)
                    .insert_header(("authorization", auth))
                    .send()
                    .await
                    .unwrap();
                resp.status().as_u16()
            })
        })
        .collect();
    let in_use = || {
        let pool = app.state.pool.state();
        pool.connections - pool.idle_connections
    };
    let cache = &app.state.opds_cache;
    let deadline = Instant::now() + Duration::from_secs(20);
    while cache.reads_waiting() < ASKING - 2 || in_use() < 2 {
        assert!(
            Instant::now() < deadline,
            "{} searches waiting for a read slot, {} connections in use",
            cache.reads_waiting(),
            in_use()
        );
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(in_use(), 2, "two searches read, the others wait for a slot");
    assert_eq!(
        app.put_progress("ann", KEY, position(2)).await.status,
        200,
        "KoSync is served meanwhile"
    );
    diesel::sql_query("ROLLBACK").execute(&mut blocker).unwrap();
    for search in searches {
        assert_eq!(search.await.unwrap(), 200);
    }
}

/// The server's address alone works as a catalog address: an OPDS client asking for `/` is
/// sent to `/opds` (HEAD too, as KOReader sends it first); a browser is not.
#[actix_web::test]
async fn the_server_address_leads_reading_apps_to_the_catalog() {
    let app = TestApp::start();
    let client = awc::Client::builder().disable_redirects().finish();
    for (method, accept) in [
        (
            "GET",
            Some("application/atom+xml;profile=opds-catalog, */*;q=0.5"),
        ),
        ("HEAD", Some("application/opds+json")),
        ("GET", None),
    ] {
        let mut req = client.request(
            actix_web::http::Method::from_bytes(method.as_bytes()).unwrap(),
            app.server.url("/"),
        );
        if let Some(a) = accept {
            req = req.insert_header(("accept", a));
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 302, "{method} {accept:?}");
        let location = resp.headers().get("location").unwrap().to_str().unwrap();
        assert_eq!(location, app.server.url("/opds"), "{method} {accept:?}");
    }
    let resp = client
        .get(app.server.url("/"))
        .insert_header(("accept", "text/html,application/xhtml+xml,*/*;q=0.8"))
        .send()
        .await
        .unwrap();
    // A browser is not sent to the catalog: the web app has `/` (set-up on a fresh server).
    assert_eq!(
        resp.status().as_u16(),
        303,
        "a browser is not redirected to /opds"
    );
    let location = resp.headers().get("location").unwrap().to_str().unwrap();
    assert_eq!(location, "/setup");
    let r = app.call("GET", "/healthcheck", None, None).await;
    assert_eq!(r.status, 200, "KoSync is untouched");
}

#[actix_web::test]
async fn collections_are_feeds_of_their_books_in_order_for_their_reader() {
    let app = TestApp::start();
    let (admin, ids) = library(&app, &BOOKS).await;
    let auth = format!("Bearer {admin}");
    let made = app
        .api(
            "POST",
            "/api/collections",
            Some(&admin),
            Some(json!({ "name": "Picks & <more>", "description": "a few" })),
        )
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    for book in [&ids[2], &ids[0]] {
        let r = app
            .api(
                "PUT",
                &format!("/api/collections/{id}/books/{book}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(r.status, 204);
    }
    let root = text(&get(&app, "/opds", &auth, &[]).await);
    assert!(
        root.contains("/opds/collections"),
        "listed from the root: {root}"
    );
    let nav = get(&app, "/opds/collections", &auth, &[]).await;
    assert_eq!(nav.status, 200);
    let nav = text(&nav);
    validate_atom_feed("it-collections.xml", &nav);
    assert!(
        nav.contains("Picks &amp; &lt;more&gt;")
            && nav.contains(&format!("/opds/collections/{id}")),
        "{nav}"
    );
    // Once its last change is a settled second, the feed says when it was.
    std::thread::sleep(std::time::Duration::from_millis(1600));
    let feed = get(&app, &format!("/opds/collections/{id}"), &auth, &[]).await;
    assert_eq!(feed.status, 200);
    let xml = text(&feed);
    validate_atom_feed("it-collection.xml", &xml);
    let (first, second) = (
        xml.find(&format!("urn:uuid:{}", ids[2]))
            .expect("the first book"),
        xml.find(&format!("urn:uuid:{}", ids[0]))
            .expect("the second book"),
    );
    assert!(first < second, "in the collection's order");
    assert!(!xml.contains(&format!("urn:uuid:{}", ids[1])));
    let json = get(&app, &format!("/opds/v2/collections/{id}"), &auth, &[]).await;
    validate_json(
        "feed",
        "it-collection.json",
        &serde_json::from_slice(&json.body).unwrap(),
    );
    let json_nav = get(&app, "/opds/v2/collections", &auth, &[]).await;
    validate_json(
        "feed",
        "it-collections.json",
        &serde_json::from_slice(&json_nav.body).unwrap(),
    );

    // A changed order is a changed document: a client's If-Modified-Since does not hide it.
    let modified = feed.header("last-modified");
    let order = json!({ "books": [&ids[0], &ids[2]] });
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = app
        .api(
            "PUT",
            &format!("/api/collections/{id}/order"),
            Some(&admin),
            Some(order),
        )
        .await;
    assert_eq!(r.status, 204);
    if !modified.is_empty() {
        let again = get(
            &app,
            &format!("/opds/collections/{id}"),
            &auth,
            &[("if-modified-since", &modified)],
        )
        .await;
        assert_eq!(again.status, 200, "not a 304 after the order changed");
    }

    // Another reader, and nobody at all, see no such collection.
    let (_, ann) = app.reader_key(&admin, "Ann").await;
    let theirs = get(
        &app,
        &format!("/opds/collections/{id}"),
        &format!("Bearer {ann}"),
        &[],
    )
    .await;
    assert_eq!(theirs.status, 404);
    let listed = text(&get(&app, "/opds/collections", &format!("Bearer {ann}"), &[]).await);
    assert!(!listed.contains("Picks"));
    let anonymous = get(&app, "/opds/collections", "", &[]).await;
    assert!(
        anonymous.status == 404 || anonymous.status == 401,
        "{}",
        anonymous.status
    );
}
