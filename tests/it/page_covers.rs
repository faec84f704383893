//! Covers of PDFs and DjVus: their first page, rendered by the background job
//! (`library::page_covers`, one pass run here by hand) and served like any cover.

use std::path::{Path, PathBuf};

use image::GenericImageView;
use libris::library::page_covers::{self, Pass, MAX_FAILURES};
use serde_json::Value;

use crate::common::{files_under, TestApp};
use crate::formats::approve;
use crate::library::upload_one;

fn koreader_fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/koreader")
            .join(name),
    )
    .unwrap()
}

async fn book(app: &TestApp, admin: &str, id: &str) -> Value {
    let r = app
        .api("GET", &format!("/api/books/{id}"), Some(admin), None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

/// The OPDS 2 entry's image links, `(rel, path, type)`.
async fn opds_images(app: &TestApp, admin: &str, id: &str) -> Vec<(String, String, String)> {
    let r = app
        .raw("GET", &format!("/opds/v2/books/{id}"), Some(admin), &[])
        .await;
    assert_eq!(r.status, 200);
    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    let field = |i: &Value, k: &str| i[k].as_str().unwrap_or_default().to_owned();
    doc["images"]
        .as_array()
        .map(|images| {
            images
                .iter()
                .map(|i| {
                    let href = field(i, "href");
                    let rest = href.split_once("://").map_or(href.as_str(), |(_, r)| r);
                    let path = rest[rest.find('/').unwrap_or(rest.len())..].to_owned();
                    (field(i, "rel"), path, field(i, "type"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The one stored file of the library, as the data dir holds it.
fn stored_file(app: &TestApp) -> PathBuf {
    use diesel::prelude::*;
    use libris::db::schema::book_files;
    let (stored, inbox): (Option<String>, Option<String>) = book_files::table
        .select((book_files::storage_path, book_files::inbox_path))
        .first(&mut app.db.conn())
        .unwrap();
    app.data.path().join(stored.or(inbox).unwrap())
}

/// A small cover, as a book would carry.
fn some_cover() -> libris_formats::covers::Cover {
    let mut png = Vec::new();
    image::RgbImage::from_pixel(20, 30, image::Rgb([200, 10, 10]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    libris_formats::covers::render(&png).unwrap()
}

#[actix_web::test]
async fn a_pdf_gets_its_first_page_as_cover_in_the_catalog() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let pdf = upload_one(&app, &admin, "lighthouse.pdf").await;
    let epub = upload_one(&app, &admin, "no-cover-epub3.epub").await;
    for id in [&pdf, &epub] {
        approve(&app, &admin, id).await;
        assert_eq!(book(&app, &admin, id).await["has_cover"], false);
    }
    // Read once, so that the catalog keeps the entry without a cover.
    assert_eq!(opds_images(&app, &admin, &pdf).await, vec![]);
    let version = app.db.count("SELECT version FROM library_state");

    let pass = page_covers::pass(&app.state.page_covers).await.unwrap();
    assert_eq!(
        pass,
        Pass {
            covered: 1,
            failed: 0
        },
        "the PDF, not the EPUB"
    );
    assert_eq!(book(&app, &admin, &pdf).await["has_cover"], true);
    assert_eq!(book(&app, &admin, &epub).await["has_cover"], false);
    assert_eq!(
        app.db.count("SELECT version FROM library_state"),
        version + 1,
        "the library version moved"
    );

    let images = opds_images(&app, &admin, &pdf).await;
    let link = |rel: &str| {
        images
            .iter()
            .find(|(r, _, _)| r == rel)
            .unwrap_or_else(|| panic!("no {rel} in {images:?}"))
            .clone()
    };
    let (_, image, media_type) = link("http://opds-spec.org/image");
    assert_eq!(media_type, "image/png");
    let r = app.raw("GET", &image, None, &[]).await;
    assert_eq!(
        (r.status, r.header("content-type").as_str()),
        (200, "image/png")
    );
    assert_eq!(&r.body[..8], b"\x89PNG\r\n\x1a\n");
    let page = image::load_from_memory(&r.body).unwrap();
    let (w, h) = page.dimensions();
    assert_eq!(h, 1600, "a US Letter page fitted to 1600 pixels");
    assert!((1230..=1240).contains(&w), "{w}×{h}");

    let (_, thumb, _) = link("http://opds-spec.org/image/thumbnail");
    let t = app.raw("GET", &thumb, None, &[]).await;
    assert_eq!(
        (t.status, t.header("content-type").as_str()),
        (200, "image/jpeg")
    );
    assert_eq!(&t.body[..3], &[0xFF, 0xD8, 0xFF]);
    let small = image::load_from_memory(&t.body).unwrap();
    assert!(
        small.height() <= 300 && small.height() >= 250,
        "{:?}",
        small.dimensions()
    );

    // The Atom entry (what KOReader reads) links the same image.
    let atom = app
        .raw("GET", &format!("/opds/books/{pdf}"), Some(&admin), &[])
        .await;
    assert!(String::from_utf8_lossy(&atom.body).contains(&image));

    assert_eq!(
        page_covers::pass(&app.state.page_covers).await.unwrap(),
        Pass::default(),
        "nothing left to do"
    );
    assert_eq!(
        files_under(&app.data.path().join("tmp")),
        Vec::<PathBuf>::new()
    );
}

#[actix_web::test]
async fn a_djvu_in_review_gets_its_first_page_as_cover() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let r = app
        .upload(
            &admin,
            &[("djvu3spec.djvu", &koreader_fixture("djvu3spec.djvu"))],
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["files"][0]["book_id"].as_str().unwrap().to_owned();
    assert_eq!(book(&app, &admin, &id).await["status"], "review");

    let pass = page_covers::pass(&app.state.page_covers).await.unwrap();
    assert_eq!(pass.covered, 1);
    let cover = app
        .raw("GET", &format!("/api/books/{id}/cover"), Some(&admin), &[])
        .await;
    assert_eq!(cover.status, 200);
    assert_eq!(&cover.body[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(image::load_from_memory(&cover.body).unwrap().height(), 1600);
}

#[actix_web::test]
async fn a_file_that_fails_is_tried_once_a_pass_and_then_left_alone() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let id = upload_one(&app, &admin, "lighthouse.pdf").await;
    // The stored file is damaged on disk: what ingest read is no longer a PDF.
    let file = stored_file(&app);
    std::fs::write(&file, b"%PDF-1.4 nothing else").unwrap();

    for n in 1..=MAX_FAILURES {
        let pass = page_covers::pass(&app.state.page_covers).await.unwrap();
        assert_eq!(
            pass,
            Pass {
                covered: 0,
                failed: 1
            },
            "pass {n}: tried once"
        );
        assert_eq!(
            app.db
                .count("SELECT max(page_cover_failures) FROM book_files"),
            i64::from(n)
        );
    }
    assert_eq!(
        page_covers::pass(&app.state.page_covers).await.unwrap(),
        Pass::default(),
        "failed every pass it was allowed: not tried again"
    );
    assert_eq!(book(&app, &admin, &id).await["has_cover"], false);
    assert_eq!(
        files_under(&app.data.path().join("covers")),
        Vec::<PathBuf>::new()
    );
    assert_eq!(
        files_under(&app.data.path().join("tmp")),
        Vec::<PathBuf>::new()
    );
}

#[actix_web::test]
async fn without_the_programs_a_pass_does_nothing_and_says_so_once() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let id = upload_one(&app, &admin, "lighthouse.pdf").await;
    let nowhere = format!("/nonexistent/{}", uuid::Uuid::new_v4());
    let mut cx = app.state.page_covers.clone();
    cx.programs_path = Some(nowhere.clone().into());
    for _ in 0..2 {
        assert_eq!(page_covers::pass(&cx).await.unwrap(), Pass::default());
    }
    let logs = crate::common::logs::captured();
    let said = |program: &str| {
        logs.lines()
            .filter(|l| l.contains(&nowhere) && l.contains(program))
            .count()
    };
    assert_eq!((said("mutool"), said("ddjvu")), (1, 1), "{logs}");
    assert_eq!(
        app.db
            .count("SELECT max(page_cover_failures) FROM book_files"),
        0,
        "a missing program is not the file's failure"
    );
    assert_eq!(book(&app, &admin, &id).await["has_cover"], false);
}

#[actix_web::test]
async fn a_book_that_has_a_cover_by_now_keeps_it_and_nothing_is_left_behind() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let epub = upload_one(&app, &admin, "lighthouse-epub2.epub").await;
    let covers = |app: &TestApp| {
        let mut files = files_under(&app.data.path().join("covers"));
        files.sort();
        files
    };
    let before = covers(&app);
    assert_eq!(before.len(), 2, "its cover and thumbnail");
    let stored: Vec<Vec<u8>> = before.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let mut conn = app.db.conn();
    // A book with a cover (an approval took one meanwhile), and a book deleted meanwhile.
    for id in [epub.parse().unwrap(), uuid::Uuid::new_v4()] {
        let set = page_covers::set_cover(&mut conn, app.data.path(), id, &some_cover());
        assert!(!set.unwrap());
    }
    assert_eq!(covers(&app), before, "no file added");
    let after: Vec<Vec<u8>> = before.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(after == stored, "the book's own cover is untouched");
    assert_eq!(book(&app, &admin, &epub).await["has_cover"], true);
}
