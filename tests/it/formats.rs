//! One book, many formats: a new format proposed as such on upload, merging books (files,
//! documents, reading and statuses move, nothing lost), splitting a file off again, and
//! `libris import` of plain folders and calibre libraries.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::common::{files_under, RawResp, TestApp, TestDb, KEY};
use crate::library::{fixture_path, upload_one};

const EPUB: &str = "lighthouse-epub2.epub";
const PDF: &str = "lighthouse.pdf";
const PDF_PMD5: &str = "87e05158656226787ee6e4c136d623f5";

pub async fn approve(app: &TestApp, admin: &str, id: &str) {
    let r = app
        .api(
            "POST",
            &format!("/api/books/{id}/approve"),
            Some(admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

async fn split_off(app: &TestApp, admin: &str, book: &str, file: &str) -> crate::common::Resp {
    let path = format!("/api/books/{book}/files/{file}/split");
    app.api("POST", &path, Some(admin), None).await
}

async fn book(app: &TestApp, admin: &str, id: &str) -> (u16, Value) {
    let r = app
        .api("GET", &format!("/api/books/{id}"), Some(admin), None)
        .await;
    (r.status, r.body)
}

async fn raw_get(app: &TestApp, key: &str, path: &str) -> RawResp {
    let auth = format!("Bearer {key}");
    app.raw("GET", path, None, &[("authorization", &auth)])
        .await
}

fn formats(book: &Value) -> Vec<String> {
    let mut f: Vec<String> = book["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format"].as_str().unwrap().to_owned())
        .collect();
    f.sort();
    f
}

/// Rows that must survive a merge or a split, whatever book they end on.
fn totals(app: &TestApp) -> [i64; 4] {
    [
        app.db.count("SELECT count(*) FROM book_files"),
        app.db
            .count("SELECT count(*) FROM book_metadata_candidates"),
        app.db.count("SELECT count(*) FROM reading_progress"),
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
    ]
}

const SHARED: &str = "0123456789abcdef0123456789abcdef";

#[actix_web::test]
async fn another_format_merges_into_its_book_and_splits_off_again() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    app.set_credential(&admin, "kosync", "ann", KEY).await;
    let epub = upload_one(&app, &admin, EPUB).await;
    approve(&app, &admin, &epub).await;

    // The PDF of the same work arrives on its own: proposed as another format of the EPUB's
    // book, not flagged as a duplicate.
    let pdf = upload_one(&app, &admin, PDF).await;
    let (_, proposed) = book(&app, &admin, &pdf).await;
    assert_eq!(proposed["format_of"], epub.as_str(), "{proposed}");
    assert!(proposed["possible_duplicate_of"].is_null(), "{proposed}");
    assert_eq!(proposed["status"], "review");
    // Approved before anyone noticed (readers only see organized books); a third format
    // still waits in review.
    approve(&app, &admin, &pdf).await;
    let azw3 = upload_one(&app, &admin, "lighthouse.azw3").await;
    assert_eq!(
        book(&app, &admin, &azw3).await.1["format_of"],
        epub.as_str()
    );

    // Ann reads the PDF on her Kobo and marks it finished by hand.
    let r = app
        .put_progress(
            "ann",
            KEY,
            json!({ "document": PDF_PMD5, "progress": "/page/3", "percentage": 0.4, "device": "kobo" }),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .api(
            "PATCH",
            &format!("/api/books/{pdf}/reading-status"),
            Some(&admin),
            Some(json!({ "status": "finished" })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // A document a person tied to both the PDF and the AZW3: it belongs to neither, so
    // Ann's report of it is no book's yet.
    for id in [&pdf, &azw3] {
        let r = app
            .api(
                "POST",
                &format!("/api/books/{id}/documents"),
                Some(&admin),
                Some(json!({ "document": SHARED })),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let r = app
        .put_progress(
            "ann",
            KEY,
            json!({ "document": SHARED, "progress": "p", "percentage": 0.2, "device": "kobo" }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress_history WHERE document = '{SHARED}' AND book_id IS NULL"
        )),
        1
    );
    let before = totals(&app);

    // Wrong merges are refused and change nothing.
    for (body, status, field) in [
        (json!({ "from": [] }), 400, Some("from")),
        (json!({ "from": [epub] }), 400, Some("from")),
        (json!({ "from": [pdf, pdf] }), 400, Some("from")),
        (json!({ "from": [pdf, uuid::Uuid::new_v4()] }), 404, None),
        (json!({ "from": "x" }), 400, None),
        (json!({ "from": [uuid::Uuid::new_v4()] }), 404, None),
    ] {
        let r = app
            .api(
                "POST",
                &format!("/api/books/{epub}/merge"),
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, status, "{body}: {:?}", r.body);
        if let Some(field) = field {
            assert_eq!(r.body["field"], field, "{:?}", r.body);
        }
    }
    assert_eq!(totals(&app), before);
    assert_eq!(book(&app, &admin, &pdf).await.0, 200);

    // The merge.
    let r = app
        .api(
            "POST",
            &format!("/api/books/{epub}/merge"),
            Some(&admin),
            Some(json!({ "from": [pdf, azw3] })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(formats(&r.body), ["azw3", "epub", "pdf"]);
    assert_eq!(r.body["reading"]["status"], "finished", "{}", r.body);
    assert!(
        r.body["documents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["document"] == PDF_PMD5),
        "{}",
        r.body
    );
    assert_eq!(book(&app, &admin, &pdf).await.0, 404);
    assert_eq!(book(&app, &admin, &azw3).await.0, 404);
    assert_eq!(totals(&app), before, "nothing lost");
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress_history WHERE book_id = '{epub}'"
        )),
        2,
        "the PDF's report, and the shared document's, now the one book's"
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM document_links WHERE document = '{SHARED}' AND book_id = '{epub}' AND source = 'manual'"
        )),
        1
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_aggregate WHERE book_id = '{epub}' \
             AND manual_status = 'finished' AND max_percentage = 0.4"
        )),
        1,
        "the status set by hand and the derived values both on the one book"
    );
    // The AZW3 left the inbox for the library, beside the others; all are served.
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM book_files WHERE inbox_path IS NOT NULL"),
        0
    );
    assert!(files_under(&app.state.config.data_dir.join("inbox")).is_empty());
    let folder = app
        .state
        .config
        .data_dir
        .join("library/Jane Doe/The Lighthouse Keeper");
    assert!(folder.join("lighthouse.azw3").exists(), "{folder:?}");
    let pdf_file = r.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["format"] == "pdf")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let download = raw_get(&app, &admin, &format!("/api/books/{epub}/files/{pdf_file}")).await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body, std::fs::read(fixture_path(PDF)).unwrap());
    // The catalog shows one entry with a download per format (KOReader's picker).
    let entry = raw_get(&app, &admin, &format!("/opds/books/{epub}")).await;
    assert_eq!(entry.status, 200);
    let xml = String::from_utf8(entry.body).unwrap();
    assert_eq!(
        xml.matches("rel=\"http://opds-spec.org/acquisition\"")
            .count(),
        3,
        "{xml}"
    );
    // KoSync still finds Ann's position of the PDF.
    let r = app.get_progress("ann", KEY, PDF_PMD5).await;
    assert_eq!(r.status, 200);

    // Split the PDF off again: a book of its own with its document and history; the status
    // set by hand stays with the book it was set on.
    let only_epub = app.db.count(&format!(
        "SELECT count(*) FROM book_files WHERE book_id = '{epub}' AND format = 'epub'"
    ));
    assert_eq!(only_epub, 1);
    let r = split_off(&app, &admin, &epub, &pdf_file).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let split = r.body["id"].as_str().unwrap().to_owned();
    assert_ne!(split, epub);
    assert_eq!(formats(&r.body), ["pdf"]);
    assert_eq!(r.body["title"], "The Lighthouse Keeper");
    assert_eq!(r.body["status"], "organized");
    assert!(
        r.body["series_index"].is_null(),
        "the position stays with the book"
    );
    assert_eq!(r.body["has_cover"], true);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM reading_progress_history WHERE book_id = '{split}'"
        )),
        1
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM document_links WHERE book_id = '{split}' AND document = '{PDF_PMD5}'"
        )),
        1
    );
    let (_, kept) = book(&app, &admin, &epub).await;
    assert_eq!(formats(&kept), ["azw3", "epub"]);
    assert_eq!(kept["reading"]["status"], "finished");
    assert_eq!(totals(&app), before, "nothing lost");

    // A book's only file is the book.
    let r = split_off(&app, &admin, &split, &pdf_file).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    let r = split_off(&app, &admin, &epub, &pdf_file).await;
    assert_eq!(r.status, 404, "not a file of that book: {:?}", r.body);
}

#[actix_web::test]
async fn readers_may_not_merge_or_split() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "ann").await;
    let a = upload_one(&app, &admin, EPUB).await;
    let b = upload_one(&app, &admin, PDF).await;
    let r = app
        .api(
            "POST",
            &format!("/api/books/{a}/merge"),
            Some(&reader),
            Some(json!({ "from": [b] })),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 2);
}

#[actix_web::test]
async fn a_text_file_is_a_book_only_when_named_txt() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let r = app
        .upload(&admin, &[("README.md", b"# Notes\n\nNot a book at all.\n")])
        .await;
    assert_eq!(r.status, 415, "{:?}", r.body);
    let r = app
        .upload(&admin, &[("notes.txt", b"# Notes\n\nA book after all.\n")])
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 1);
}

fn import(db: &TestDb, data: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_libris"))
        .arg("import")
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("LIBRIS_DATA_DIR", data)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_folder_of_formats_becomes_one_book_and_non_books_are_skipped() {
    let db = TestDb::new();
    let source = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    for name in [
        EPUB,
        "lighthouse.azw3",
        "lighthouse.mobi",
        PDF,
        "accented-emoji.epub",
    ] {
        std::fs::copy(fixture_path(name), source.path().join(name)).unwrap();
    }
    // What a folder of books also holds: notes, a manifest, a script.
    std::fs::write(source.path().join("README.md"), "# My books\n").unwrap();
    std::fs::write(source.path().join("MANIFEST.tsv"), "file\tsize\n").unwrap();
    std::fs::write(source.path().join("fetch.py"), "print('hi')\n").unwrap();
    let (code, text) = import(
        &db,
        data.path(),
        &["--approve", source.path().to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "skipped files are no failure: {text}");
    assert!(
        text.starts_with(
            "2 books added (2 files), 3 formats added to books already here, 0 duplicates, \
             3 skipped, 0 failed\n"
        ),
        "{text}"
    );
    assert!(text.contains("skipped: 3 (not a book)"), "{text}");
    assert_eq!(db.count("SELECT count(*) FROM books"), 2);
    assert_eq!(
        db.count(
            "SELECT count(*) FROM book_files f JOIN books b ON b.id = f.book_id \
             WHERE b.title = 'The Lighthouse Keeper'"
        ),
        4
    );
    assert_eq!(
        db.count("SELECT count(*) FROM book_files WHERE format = 'txt'"),
        0
    );
    // Every format sits in the book's one library folder.
    let folder = data.path().join("library/Jane Doe/The Lighthouse Keeper");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [EPUB, "lighthouse.azw3", "lighthouse.mobi", PDF],
        "{folder:?}"
    );
}

#[test]
fn a_calibre_library_imports_with_calibres_metadata_and_covers() {
    let db = TestDb::new();
    let source = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    libris::library::sample::write_calibre_library(source.path(), 12, true).unwrap();
    // A book calibre knows better than its file does: the file says "The Lighthouse
    // Keeper" by Jane Doe; calibre's metadata.opf was edited.
    let edited = source.path().join("Jane Doe/Keeper (99)");
    std::fs::create_dir_all(edited.join("data")).unwrap();
    std::fs::copy(fixture_path(EPUB), edited.join("Keeper - Jane Doe.epub")).unwrap();
    std::fs::copy(
        fixture_path("lighthouse.azw3"),
        edited.join("Keeper - Jane Doe.azw3"),
    )
    .unwrap();
    // calibre keeps an old `.prc` that is the same bytes: one file.
    std::fs::copy(
        fixture_path("lighthouse.azw3"),
        edited.join("Keeper - Jane Doe.prc"),
    )
    .unwrap();
    std::fs::write(edited.join("data/notes.txt"), "extra files of calibre's").unwrap();
    std::fs::write(edited.join(".DS_Store"), "junk").unwrap();
    std::fs::write(
        edited.join("metadata.opf"),
        r#"<?xml version='1.0' encoding='utf-8'?>
<package xmlns="http://www.idpf.org/2007/opf" unique-identifier="uuid_id" version="2.0">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
    <dc:title>The Keeper of the Light</dc:title>
    <dc:creator opf:file-as="Doe, Jane Q." opf:role="aut">Jane Q. Doe</dc:creator>
    <dc:identifier opf:scheme="ISBN">978-0-306-40615-7</dc:identifier>
    <dc:language>eng</dc:language>
    <dc:subject>Curated</dc:subject>
    <meta name="calibre:series" content="Lights"/>
    <meta name="calibre:series_index" content="2.5"/>
  </metadata>
</package>"#,
    )
    .unwrap();
    std::fs::copy(
        source.path().join("Jane Doe/Bench Book 8 (8)/cover.jpg"),
        edited.join("cover.jpg"),
    )
    .unwrap();

    let path = source.path().to_str().unwrap().to_owned();
    let (code, text) = import(&db, data.path(), &["--approve", &path]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.starts_with(
            "13 books added (26 files), 0 formats added to books already here, 1 duplicates, \
             3 skipped, 0 failed\n"
        ),
        "metadata.db, data/ and .DS_Store are skipped: {text}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM books WHERE status = 'organized'"),
        13
    );
    assert_eq!(
        db.count("SELECT count(*) FROM books WHERE cover_path IS NOT NULL"),
        13,
        "each cover.jpg is its book's cover"
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM books WHERE title = 'Bench Book 3' AND author = 'Kenji Watanabe' \
             AND series = 'Bench Saga 0' AND series_index = 4 AND publisher = 'Bench House' \
             AND language = 'en' AND published_year = 1953 AND 'Tag 3' = ANY(genres)"
        ),
        1
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM books WHERE title = 'The Keeper of the Light' \
             AND author = 'Jane Q. Doe' AND isbn_13 = '9780306406157' AND series = 'Lights' \
             AND series_index = 2.5 AND genres = '{Curated}'"
        ),
        1,
        "calibre's metadata, never the file's"
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM author_sort_names \
             WHERE name = 'Jane Q. Doe' AND sort_name = 'Doe, Jane Q.'"
        ),
        1,
        "calibre's sort name of the author"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM book_metadata_candidates WHERE source = 'calibre'"),
        13
    );
    assert_eq!(
        db.count("SELECT count(*) FROM book_files WHERE format IN ('epub', 'pdf', 'azw3')"),
        26
    );
    // KOReader's document ids of both formats lead to the book.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM document_links l JOIN books b ON b.id = l.book_id \
             WHERE b.title = 'The Keeper of the Light' AND l.source = 'content'"
        ),
        2
    );
    assert!(files_under(&data.path().join("tmp")).is_empty());

    // Again, with a new format added in calibre: it joins its book; the rest are known.
    std::fs::copy(fixture_path(PDF), edited.join("Keeper - Jane Doe.pdf")).unwrap();
    let (code, text) = import(&db, data.path(), &[&path]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.starts_with(
            "0 books added (0 files), 1 formats added to books already here, 27 duplicates, \
             3 skipped, 0 failed\n"
        ),
        "{text}"
    );
    assert_eq!(db.count("SELECT count(*) FROM books"), 13);
    assert_eq!(
        db.count(
            "SELECT count(*) FROM book_files f JOIN books b ON b.id = f.book_id \
             WHERE b.title = 'The Keeper of the Light'"
        ),
        3
    );
    assert!(data
        .path()
        .join("library/Jane Q. Doe/The Keeper of the Light/Keeper - Jane Doe.pdf")
        .exists());
}
