//! The library through HTTP: uploads, dedupe, review and approval, downloads, deletion,
//! and KOReader documents linked to books.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::common::{files_under, TestApp, KEY};

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/books")
        .join(name)
}

const LIGHTHOUSE: &str = "lighthouse-epub2.epub";
const LIGHTHOUSE_PMD5: &str = "51920a085d6f473ec1c3b353653a38fb";

pub async fn upload_one(app: &TestApp, key: &str, name: &str) -> String {
    let r = app.upload(key, &[(name, &fixture(name))]).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["files"][0]["book_id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn an_upload_becomes_a_book_in_review_with_metadata_cover_and_hashes() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let r = app
        .upload(&admin, &[(LIGHTHOUSE, &fixture(LIGHTHOUSE))])
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let file = &r.body["files"][0];
    assert_eq!(file["outcome"], "created");
    assert_eq!(file["file_name"], LIGHTHOUSE);
    let id = file["book_id"].as_str().unwrap();
    let book = app
        .api("GET", &format!("/api/books/{id}"), Some(&admin), None)
        .await;
    assert_eq!(book.status, 200);
    let b = &book.body;
    assert_eq!(b["status"], "review");
    assert_eq!(b["title"], "The Lighthouse Keeper");
    assert_eq!(b["author"], "Jane Doe");
    assert_eq!(b["series"], "Coastal Tales");
    assert_eq!(b["has_cover"], true);
    assert_eq!(b["files"][0]["format"], "epub");
    assert_eq!(b["files"][0]["content_hash"], LIGHTHOUSE_PMD5);
    assert_eq!(b["files"][0]["original_content_hash"], LIGHTHOUSE_PMD5);
    assert_eq!(
        b["files"][0]["filename_digest"],
        libris::auth::md5_hex(LIGHTHOUSE).as_str()
    );
    assert_eq!(b["candidates"][0]["source"], "file");
    assert_eq!(b["candidates"][0]["confidence"], 1.0);
    assert_eq!(
        b["candidates"][0]["normalized"]["title"],
        "The Lighthouse Keeper"
    );
    let sources: Vec<&str> = b["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["content", "filename"]);
    // The file waits in the inbox; the cover and its thumbnail are stored.
    let stored = files_under(app.data.path());
    assert!(
        stored
            .iter()
            .any(|p| p.starts_with(app.data.path().join("inbox")) && p.ends_with(LIGHTHOUSE)),
        "{stored:?}"
    );
    let thumb = app
        .raw(
            "GET",
            &format!("/api/books/{id}/cover/thumbnail"),
            Some(&admin),
            &[],
        )
        .await;
    assert_eq!(thumb.status, 200);
    assert_eq!(&thumb.body[..2], &[0xFF, 0xD8], "a JPEG");
    let cover = app
        .raw("GET", &format!("/api/books/{id}/cover"), Some(&admin), &[])
        .await;
    assert_eq!(cover.status, 200);
    assert!(cover.body.len() > thumb.body.len());
    assert_eq!(app.db.count("SELECT count(*) FROM upload_registry"), 1);
    assert!(
        files_under(&app.data.path().join("tmp")).is_empty(),
        "no staged file is left"
    );
}

#[actix_web::test]
async fn several_files_in_one_upload_each_get_an_outcome() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let junk = b"\x00\x01\x02 not a book at all \xff\xfe".repeat(100);
    let r = app
        .upload(
            &admin,
            &[
                ("lighthouse.pdf", &fixture("lighthouse.pdf")),
                ("mystery.bin", &junk),
                (
                    "comic-with-comicinfo.cbz",
                    &fixture("comic-with-comicinfo.cbz"),
                ),
                ("broken-zip-bomb.epub", &fixture("broken-zip-bomb.epub")),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let files = r.body["files"].as_array().unwrap();
    assert_eq!(files[0]["outcome"], "created");
    assert_eq!(files[1]["error"]["error"], "unsupported_media_type");
    assert_eq!(files[1]["error"]["message"], "unsupported format");
    assert_eq!(files[2]["outcome"], "created");
    assert_eq!(files[3]["error"]["error"], "invalid_request");
    assert!(files[3]["outcome"].is_null());
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 2);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM book_files WHERE format IN ('pdf', 'cbz')"),
        2
    );
}

#[actix_web::test]
async fn refused_uploads_store_nothing() {
    let app = TestApp::builder().max_upload_bytes(10_000).start();
    let admin = app.admin_key().await;
    let r = app
        .upload(&admin, &[("x.bin", b"MZ\x90\x00 a windows program")])
        .await;
    assert_eq!(r.status, 415, "{:?}", r.body);
    let r = app
        .upload(&admin, &[(LIGHTHOUSE, &fixture(LIGHTHOUSE))])
        .await;
    assert_eq!(r.status, 413, "{:?}", r.body);
    assert_eq!(r.body["error"], "payload_too_large");
    let r = app
        .upload(
            &admin,
            &[(
                "broken-path-traversal.epub",
                &fixture("broken-path-traversal.epub"),
            )],
        )
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let r = app
        .api("POST", "/api/uploads", Some(&admin), Some(json!({})))
        .await;
    assert_eq!(r.status, 415, "not multipart");
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 0);
    assert_eq!(app.db.count("SELECT count(*) FROM upload_registry"), 0);
    let left = files_under(app.data.path());
    assert!(left.is_empty(), "nothing is left on disk: {left:?}");
}

#[actix_web::test]
async fn an_upload_is_limited_as_a_whole() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let book = fixture(LIGHTHOUSE);
    let limit = book.len() as u64 * 3 / 2;
    let app = TestApp::builder().max_upload_bytes(limit).start();
    let admin = app.admin_key().await;
    // Each file fits, both do not: the first is stored and listed, the second refused.
    let r = app
        .upload(&admin, &[("a.epub", &book), ("b.epub", &book)])
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["files"][0]["outcome"], "created");
    assert_eq!(r.body["files"][1]["error"]["error"], "payload_too_large");
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 1);
    // A request declaring more than the limit is refused before its body is read.
    let mut s = tokio::net::TcpStream::connect(app.server.addr())
        .await
        .unwrap();
    let head = format!(
        "POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1073741824\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 12];
    s.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413");
    assert!(files_under(&app.data.path().join("tmp")).is_empty());
}

#[actix_web::test]
async fn the_same_bytes_are_one_book_whoever_uploads_them() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    let first = upload_one(&app, &admin, LIGHTHOUSE).await;
    let again = app
        .upload(&reader, &[("renamed.epub", &fixture(LIGHTHOUSE))])
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["files"][0]["outcome"], "duplicate");
    assert_eq!(again.body["files"][0]["book_id"], first.as_str());
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 1);
    assert_eq!(
        app.db.count("SELECT count(*) FROM upload_registry"),
        2,
        "one row per reader"
    );
    // Concurrent uploads of one new file make exactly one book.
    let bytes = fixture("no-cover-epub3.epub");
    let files: [(&str, &[u8]); 1] = [("no-cover-epub3.epub", &bytes)];
    let uploads = (0..5).map(|_| app.upload(&admin, &files));
    let results = futures_util::future::join_all(uploads).await;
    let created = results
        .iter()
        .filter(|r| r.body["files"][0]["outcome"] == "created")
        .count();
    assert_eq!(created, 1, "{results:?}");
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 2);
    // The EPUB 3 edition of the same book is flagged as a possible duplicate.
    let third = upload_one(&app, &admin, "lighthouse-epub3.epub").await;
    let b = app
        .api("GET", &format!("/api/books/{third}"), Some(&admin), None)
        .await;
    assert_eq!(b.body["possible_duplicate_of"], first.as_str());
    assert!(
        b.body["series_index"].is_null(),
        "Coastal Tales #1 is taken; the candidate keeps it"
    );
}

#[actix_web::test]
async fn approval_organizes_the_files_once() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let id = upload_one(&app, &admin, LIGHTHOUSE).await;
    let detail = app
        .api("GET", &format!("/api/books/{id}"), Some(&admin), None)
        .await;
    let candidate = detail.body["candidates"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .api(
            "POST",
            &format!("/api/books/{id}/approve"),
            Some(&admin),
            Some(json!({ "fields": { "title": "The Keeper", "publisher": { "candidate": candidate } } })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "organized");
    assert_eq!(r.body["title"], "The Keeper");
    assert!(r.body["approved_at"].is_string());
    assert_eq!(
        r.body["candidates"][0]["selected_fields"],
        json!(["publisher"])
    );
    let expected = app
        .data
        .path()
        .join("library/Jane Doe/The Keeper")
        .join(LIGHTHOUSE);
    assert!(expected.exists(), "{:?}", files_under(app.data.path()));
    assert!(
        !app.data.path().join("inbox").exists()
            || files_under(&app.data.path().join("inbox")).is_empty()
    );
    let again = app
        .api(
            "POST",
            &format!("/api/books/{id}/approve"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(again.status, 409);
    // The file's bytes never change: KOReader's hash of it stays valid.
    assert_eq!(std::fs::read(&expected).unwrap(), fixture(LIGHTHOUSE));
}

#[actix_web::test]
async fn concurrent_approvals_one_wins() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let id = upload_one(&app, &admin, "handmade-epub3.epub").await;
    let path = format!("/api/books/{id}/approve");
    let (a, b) = tokio::join!(
        app.api("POST", &path, Some(&admin), None),
        app.api("POST", &path, Some(&admin), None)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(files_under(&app.data.path().join("library")).len(), 1);
}

#[actix_web::test]
async fn approve_refuses_bad_fields_and_changes_nothing() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let id = upload_one(&app, &admin, LIGHTHOUSE).await;
    for fields in [
        json!({ "isbn_13": "9780000000001" }),
        json!({ "colour": "blue" }),
        json!({ "title": { "candidate": uuid::Uuid::new_v4() } }),
        json!({ "published_year": 99999 }),
    ] {
        let r = app
            .api(
                "POST",
                &format!("/api/books/{id}/approve"),
                Some(&admin),
                Some(json!({ "fields": fields })),
            )
            .await;
        assert_eq!(r.status, 400, "{fields}: {:?}", r.body);
    }
    let b = app
        .api("GET", &format!("/api/books/{id}"), Some(&admin), None)
        .await;
    assert_eq!(b.body["status"], "review");
    assert!(files_under(&app.data.path().join("library")).is_empty());
}

#[actix_web::test]
async fn edits_are_validated() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let id = upload_one(&app, &admin, LIGHTHOUSE).await;
    let path = format!("/api/books/{id}");
    let r = app
        .api("PATCH", &path, Some(&admin), Some(json!({ "title": "New", "language": "pt-BR", "isbn_13": "978-3-16-148410-0", "published_year": 1999 })))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["title"], "New");
    assert_eq!(r.body["isbn_13"], "9783161484100");
    for (body, field) in [
        (json!({ "isbn_13": "9783161484101" }), "isbn_13"),
        (json!({ "isbn_10": "0306406153" }), "isbn_10"),
        (json!({ "published_year": 3000 }), "published_year"),
        (json!({ "language": "not a tag" }), "language"),
    ] {
        let r = app.api("PATCH", &path, Some(&admin), Some(body)).await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (400, Some(field)),
            "{:?}",
            r.body
        );
    }
    let r = app
        .api("PATCH", &path, Some(&admin), Some(json!({ "shelf": "x" })))
        .await;
    assert_eq!(r.status, 400);
    let b = app.api("GET", &path, Some(&admin), None).await;
    assert_eq!(b.body["published_year"], 1999);
}

#[actix_web::test]
async fn downloads_support_range_etag_and_head() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    let name = "夏目漱石 - 吾輩は猫である.epub";
    let id = upload_one(&app, &admin, name).await;
    let b = app
        .api("GET", &format!("/api/books/{id}"), Some(&admin), None)
        .await;
    let file_id = b.body["files"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/books/{id}/files/{file_id}");
    // Readers see organized books only.
    assert_eq!(app.raw("GET", &path, Some(&reader), &[]).await.status, 404);
    let full = app.raw("GET", &path, Some(&admin), &[]).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.body, fixture(name));
    assert_eq!(full.header("content-type"), "application/epub+zip");
    let cd = full.header("content-disposition");
    assert!(cd.starts_with("attachment"), "{cd}");
    assert!(cd.contains("filename*=UTF-8''"), "{cd}");
    assert!(
        cd.contains(".epub\""),
        "an ASCII fallback with the extension: {cd}"
    );
    let etag = full.header("etag");
    assert!(!etag.is_empty());
    let part = app
        .raw("GET", &path, Some(&admin), &[("range", "bytes=0-99")])
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, fixture(name)[..100]);
    let beyond = app
        .raw("GET", &path, Some(&admin), &[("range", "bytes=99999999-")])
        .await;
    assert_eq!(beyond.status, 416);
    let cached = app
        .raw("GET", &path, Some(&admin), &[("if-none-match", &etag)])
        .await;
    assert_eq!(cached.status, 304);
    let head = app.raw("HEAD", &path, Some(&admin), &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        fixture(name).len().to_string()
    );
    let approve = app
        .api(
            "POST",
            &format!("/api/books/{id}/approve"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(approve.status, 200);
    let as_reader = app.raw("GET", &path, Some(&reader), &[]).await;
    assert_eq!(as_reader.status, 200);
    let other = app
        .raw(
            "GET",
            &format!("/api/books/{id}/files/{}", uuid::Uuid::new_v4()),
            Some(&admin),
            &[],
        )
        .await;
    assert_eq!(other.status, 404);
}

#[actix_web::test]
async fn deleting_a_book_removes_its_files_and_keeps_progress_unlinked() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    app.create_user("ann", KEY).await;
    let id = upload_one(&app, &admin, LIGHTHOUSE).await;
    let r = app
        .put_progress("ann", KEY, json!({ "document": LIGHTHOUSE_PMD5, "progress": "p", "percentage": 0.3, "device": "kobo" }))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress WHERE book_id = '{id}'"
        )),
        1
    );
    let r = app
        .api("DELETE", &format!("/api/books/{id}"), Some(&admin), None)
        .await;
    assert_eq!(r.status, 204);
    assert!(
        files_under(app.data.path()).is_empty(),
        "{:?}",
        files_under(app.data.path())
    );
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 0);
    assert_eq!(app.db.count("SELECT count(*) FROM reading_aggregate"), 0);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress WHERE book_id IS NULL"),
        1
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        1
    );
    let r = app
        .api("DELETE", &format!("/api/books/{id}"), Some(&admin), None)
        .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn listing_and_search() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    let a = upload_one(&app, &admin, LIGHTHOUSE).await;
    upload_one(&app, &admin, "handmade-epub3.epub").await;
    upload_one(&app, &admin, "chinese.epub").await;
    let all = app
        .api("GET", "/api/books?sort=title&limit=2", Some(&admin), None)
        .await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["total"], 3);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    let found = app
        .api(
            "GET",
            "/api/books?q=lighthouse%20keeper",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(found.body["total"], 1, "{:?}", found.body);
    assert_eq!(found.body["items"][0]["id"], a.as_str());
    let none = app
        .api(
            "GET",
            "/api/books?q=%22keeper%20lighthouse%22",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(none.body["total"], 0, "a phrase in the wrong order");
    let review = app
        .api("GET", "/api/books?status=review", Some(&admin), None)
        .await;
    assert_eq!(review.body["total"], 3);
    assert_eq!(
        app.api("GET", "/api/books", Some(&reader), None).await.body["total"],
        0
    );
    assert_eq!(
        app.api("GET", "/api/books?status=review", Some(&reader), None)
            .await
            .status,
        403
    );
    app.api(
        "POST",
        &format!("/api/books/{a}/approve"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        app.api("GET", "/api/books", Some(&reader), None).await.body["total"],
        1
    );
    for bad in [
        "limit=0",
        "limit=1000",
        "page=0",
        "sort=colour",
        "status=lost",
    ] {
        let r = app
            .api("GET", &format!("/api/books?{bad}"), Some(&admin), None)
            .await;
        assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
    }
}

/// Progress synced before the book arrived is linked when it arrives, by content hash and by
/// file-name digest, and the reader's aggregate appears in the same transaction.
#[actix_web::test]
async fn progress_that_arrived_first_is_linked_when_the_book_arrives() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    app.create_user("ann", KEY).await;
    let by_name = libris::auth::md5_hex("handmade-epub3.epub");
    for (doc, pct) in [
        (LIGHTHOUSE_PMD5, 0.5),
        (LIGHTHOUSE_PMD5, 0.97),
        (by_name.as_str(), 0.2),
    ] {
        let r = app
            .put_progress(
                "ann",
                KEY,
                json!({ "document": doc, "progress": "p", "percentage": pct, "device": "kobo" }),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(app.db.count("SELECT count(*) FROM reading_aggregate"), 0);
    let a = upload_one(&app, &admin, LIGHTHOUSE).await;
    let b = upload_one(&app, &admin, "handmade-epub3.epub").await;
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress_history WHERE book_id = '{a}'"
        )),
        2
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress WHERE book_id = '{b}'"
        )),
        1
    );
    assert_eq!(
        app.db.count(&format!("SELECT count(*) FROM reading_aggregate WHERE book_id = '{a}' AND started_at IS NOT NULL AND finished_at IS NOT NULL")),
        1
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_aggregate WHERE book_id = '{b}' AND finished_at IS NULL"
        )),
        1
    );
    // Later reports link straight away.
    let r = app
        .put_progress(
            "ann",
            KEY,
            json!({ "document": by_name, "progress": "q", "percentage": 0.3, "device": "phone" }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress_history WHERE book_id = '{b}'"
        )),
        2
    );
}

#[actix_web::test]
async fn metadata_links_a_document_to_the_one_organized_book() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    app.create_user("ann", KEY).await;
    let id = upload_one(&app, &admin, LIGHTHOUSE).await;
    let report = |doc: &str| {
        json!({ "document": doc, "progress": "p", "percentage": 0.4, "device": "kobo",
                "metadata": { "title": "the lighthouse keeper!", "authors": ["Jane  Doe"] } })
    };
    // In review, the book is not a match yet.
    app.put_progress("ann", KEY, report("other-doc-1")).await;
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress WHERE book_id IS NOT NULL"),
        0
    );
    app.api(
        "POST",
        &format!("/api/books/{id}/approve"),
        Some(&admin),
        None,
    )
    .await;
    let r = app.put_progress("ann", KEY, report("other-doc-2")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.db.count(&format!("SELECT count(*) FROM reading_progress WHERE document = 'other-doc-2' AND book_id = '{id}'")),
        1
    );
    assert_eq!(
        app.db.count(&format!("SELECT count(*) FROM document_links WHERE document = 'other-doc-2' AND source = 'metadata' AND book_id = '{id}'")),
        1
    );
    // Without metadata, or with a title nobody has, nothing is linked.
    let r = app
        .put_progress(
            "ann",
            KEY,
            json!({ "document": "other-doc-3", "progress": "p", "percentage": 0.4, "device": "kobo",
            "metadata": { "title": "Unknown Book", "authors": "Jane Doe" } }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.db.count("SELECT count(*) FROM reading_progress WHERE document = 'other-doc-3' AND book_id IS NULL"), 1);
}

#[actix_web::test]
async fn documents_can_be_linked_and_unlinked_by_hand() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    app.create_user("ann", KEY).await;
    let id = upload_one(&app, &admin, LIGHTHOUSE).await;
    let r = app
        .put_progress("ann", KEY, json!({ "document": "sideloaded", "progress": "p", "percentage": 0.6, "device": "kobo" }))
        .await;
    assert_eq!(r.status, 200);
    let link = app
        .api(
            "POST",
            &format!("/api/books/{id}/documents"),
            Some(&admin),
            Some(json!({ "document": "sideloaded" })),
        )
        .await;
    assert_eq!(link.status, 201, "{:?}", link.body);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress_history WHERE book_id = '{id}'"
        )),
        1
    );
    assert_eq!(app.db.count(&format!("SELECT count(*) FROM reading_aggregate WHERE book_id = '{id}' AND started_at IS NOT NULL")), 1);
    let unlink = app
        .api(
            "DELETE",
            &format!("/api/books/{id}/documents/sideloaded"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(unlink.status, 204);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress WHERE book_id IS NULL"),
        1
    );
    assert_eq!(
        app.db.count("SELECT count(*) FROM reading_aggregate"),
        0,
        "no history left for the book"
    );
    let again = app
        .api(
            "DELETE",
            &format!("/api/books/{id}/documents/sideloaded"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(again.status, 404);
    let bad = app
        .api(
            "POST",
            &format!("/api/books/{id}/documents"),
            Some(&admin),
            Some(json!({ "document": "" })),
        )
        .await;
    assert_eq!(bad.status, 400);
}

/// A partial MD5 shared by two different books links to neither, until a person decides.
#[actix_web::test]
async fn an_ambiguous_document_links_to_no_book_until_linked_by_hand() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    app.create_user("ann", KEY).await;
    // The EPUB 2 and EPUB 3 files of the fractional-series book share a partial MD5.
    let a = upload_one(&app, &admin, "series-fractional-1.5-epub2.epub").await;
    let b = upload_one(&app, &admin, "series-fractional-1.5.epub").await;
    let doc = app.db.count(&format!(
        "SELECT count(DISTINCT content_hash) FROM book_files WHERE book_id IN ('{a}', '{b}')"
    ));
    assert_eq!(doc, 1, "the fixtures share a partial MD5");
    let hash: String = {
        use diesel::prelude::*;
        libris::db::schema::book_files::table
            .select(libris::db::schema::book_files::content_hash)
            .first::<Option<String>>(&mut app.db.conn())
            .unwrap()
            .unwrap()
    };
    let r = app
        .put_progress(
            "ann",
            KEY,
            json!({ "document": hash, "progress": "p", "percentage": 0.5, "device": "kobo" }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress WHERE book_id IS NULL"),
        1
    );
    let link = app
        .api(
            "POST",
            &format!("/api/books/{b}/documents"),
            Some(&admin),
            Some(json!({ "document": hash })),
        )
        .await;
    assert_eq!(link.status, 201);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress WHERE book_id = '{b}'"
        )),
        1
    );
}

#[actix_web::test]
async fn the_inbox_folder_ingests_stable_files_and_sets_refused_ones_aside() {
    use libris::library::inbox::Watcher;
    use std::time::{Duration, Instant};
    let app = TestApp::start();
    let inbox = tempfile::tempdir().unwrap();
    std::fs::write(inbox.path().join(LIGHTHOUSE), fixture(LIGHTHOUSE)).unwrap();
    std::fs::write(inbox.path().join("notes.bin"), b"\x00\x01\x02\x03 junk").unwrap();
    let mut watcher = Watcher::default();
    let t0 = Instant::now();
    let stable = Duration::from_secs(2);
    let first = watcher
        .pass(&app.state.inbox(), inbox.path(), t0, stable)
        .await;
    assert_eq!(
        (first.imported, first.failed),
        (0, 0),
        "a file just seen may still be growing"
    );
    let early = watcher
        .pass(
            &app.state.inbox(),
            inbox.path(),
            t0 + Duration::from_secs(1),
            stable,
        )
        .await;
    assert_eq!((early.imported, early.failed), (0, 0));
    let done = watcher
        .pass(
            &app.state.inbox(),
            inbox.path(),
            t0 + Duration::from_secs(3),
            stable,
        )
        .await;
    assert_eq!((done.imported, done.failed), (1, 1));
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM books WHERE status = 'review'"),
        1
    );
    assert!(
        !inbox.path().join(LIGHTHOUSE).exists(),
        "a done file leaves the inbox"
    );
    let failed = inbox.path().join("failed");
    assert!(failed.join("notes.bin").exists());
    let note = std::fs::read_to_string(failed.join("notes.bin.error")).unwrap();
    assert!(note.contains("unsupported format"), "{note}");
    let again = watcher
        .pass(
            &app.state.inbox(),
            inbox.path(),
            t0 + Duration::from_secs(9),
            stable,
        )
        .await;
    assert_eq!(
        (again.imported, again.failed),
        (0, 0),
        "failed/ is not retried"
    );
}

/// Every fixture book goes through the whole pipeline (rows, files, covers, links); every
/// broken one is refused with a reason and leaves nothing behind.
#[actix_web::test]
async fn every_fixture_ingests_and_every_broken_one_is_refused() {
    use libris::library::{import, ingest::Options};
    let db = crate::common::TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/books");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let rows: Vec<(String, bool)> = manifest
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0].to_owned(), cols[5] == "ok")
        })
        .collect();
    let files: Vec<import::Unit> = rows
        .iter()
        .map(|(f, _)| import::Unit::File(dir.join(f)))
        .collect();
    let url = db.url.clone();
    let connect = move || {
        <diesel::PgConnection as diesel::Connection>::establish(&url).map_err(|e| e.to_string())
    };
    let summary = import::import_all(
        &files,
        2,
        &connect,
        data.path(),
        1 << 30,
        &Options::default(),
        &|_| {},
    )
    .unwrap();
    let broken: Vec<&str> = rows
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(f, _)| f.as_str())
        .collect();
    let mut failed: Vec<String> = summary
        .failed
        .iter()
        .map(|(p, why)| {
            assert!(!why.is_empty());
            p.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    failed.sort();
    let mut expected: Vec<String> = broken.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(failed, expected, "{:?}", summary.failed);
    // The formats of one work in one folder are one book: every good file is stored, as a
    // new book or as another format of one.
    let stored = rows.len() - broken.len();
    assert_eq!(summary.files + summary.formats_added, stored, "{summary:?}");
    assert_eq!(summary.files, summary.books);
    assert!(summary.formats_added >= 5, "{summary:?}");
    assert_eq!(db.count("SELECT count(*) FROM books"), summary.books as i64);
    assert_eq!(
        db.count("SELECT count(*) FROM book_files WHERE inbox_path IS NOT NULL"),
        stored as i64
    );
    // The lighthouse work in EPUB, AZW3, MOBI, FB2, FB2.ZIP and PDF: one book with each
    // format once (a second EPUB or MOBI of it is a book of its own).
    assert_eq!(
        db.count(
            "SELECT count(*) FROM (SELECT book_id FROM book_files GROUP BY book_id \
             HAVING count(*) = count(DISTINCT format) AND count(*) >= 6) many"
        ),
        1
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM (SELECT book_id, format FROM book_files \
             GROUP BY book_id, format HAVING count(*) > 1) twice"
        ),
        0,
        "a book never holds two files of one format from an import"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM books WHERE title IS NULL OR title = ''"),
        0
    );
    let inbox_files = files_under(&data.path().join("inbox")).len();
    assert_eq!(
        inbox_files, stored,
        "one stored file per good file, none for refused ones"
    );
    assert!(files_under(&data.path().join("tmp")).is_empty());
    let with_cover = db.count("SELECT count(*) FROM books WHERE cover_path IS NOT NULL");
    assert!(
        with_cover >= 20 && with_cover * 3 >= summary.books as i64 * 2,
        "{with_cover} covers of {} books",
        summary.books
    );
}

/// A manual link moves every row of the document, even rows on another still-linked book.
#[actix_web::test]
async fn a_manual_link_moves_rows_from_another_book() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    app.create_user("ann", KEY).await;
    let a = upload_one(&app, &admin, LIGHTHOUSE).await;
    let b = upload_one(&app, &admin, "handmade-epub3.epub").await;
    let r = app
        .put_progress("ann", KEY, json!({ "document": LIGHTHOUSE_PMD5, "progress": "p", "percentage": 0.5, "device": "kobo" }))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress_history WHERE book_id = '{a}'"
        )),
        1
    );
    let r = app
        .api(
            "POST",
            &format!("/api/books/{b}/documents"),
            Some(&admin),
            Some(json!({ "document": LIGHTHOUSE_PMD5 })),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress_history WHERE book_id = '{b}'"
        )),
        1
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_aggregate WHERE book_id = '{a}'"
        )),
        0
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_aggregate WHERE book_id = '{b}'"
        )),
        1
    );
}
