//! The harness itself, on a tiny server of the test's own (no database): forms filled and
//! submitted with JavaScript off and on, a file uploaded, axe-core under a strict
//! Content-Security-Policy, screenshots at a phone's and a desktop's width.

use actix_web::{web, App, HttpResponse};
use libris_test_support::browser::{self, Browser, HEIGHT};

const CSP: &str = "default-src 'self'; frame-ancestors 'none'";

fn page(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Content-Security-Policy", CSP))
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Harness</title><link rel=\"stylesheet\" href=\"/harness.css\">\
             <script src=\"/marker.js\"></script></head>\
             <body><main>{body}</main></body></html>"
        ))
}

/// A labelled form, and an inline script the policy must refuse.
const FORM: &str = r#"<h1>A book</h1>
<form method="post" action="/submitted" enctype="multipart/form-data">
  <p><label for="title">Title</label> <input id="title" name="title" type="text"></p>
  <p><label>Author <input name="author" type="text"></label></p>
  <p><label for="notes">Notes</label> <textarea id="notes" name="notes"></textarea></p>
  <p><label for="cover">Cover</label> <input id="cover" name="cover" type="file"></p>
  <p><label for="format">Format</label>
    <select id="format" name="format"><option>EPUB</option><option>PDF</option></select></p>
  <p><label><input type="checkbox" name="read" value="yes"> Read it</label></p>
  <p><button>Save</button></p>
</form>
<p id="js-state">JavaScript has not run.</p>
<script>document.title = 'the inline script ran';</script>"#;

/// An input no label names, on a page taller than the window (the policy refuses style
/// attributes: the height is in the stylesheet).
const UNLABELLED: &str = r#"<h1>Search</h1>
<form action="/form"><input type="text" name="q"> <button>Go</button></form>
<div class="tall"></div>
<p>The end.</p>"#;

/// Sets the marker when scripts run (the policy allows scripts from the page's origin).
const MARKER: &str = "document.addEventListener('DOMContentLoaded', () => {\n\
    const state = document.getElementById('js-state');\n\
    if (state) state.textContent = 'JavaScript ran.';\n});\n";

/// A multipart field's value: just enough for this test ("-" when the form sent none).
fn part<'a>(body: &'a str, name: &str) -> &'a str {
    let head = format!("name=\"{name}\"");
    let Some(start) = body.find(&head) else {
        return "-";
    };
    let rest = &body[start..];
    let value = &rest[rest.find("\r\n\r\n").unwrap() + 4..];
    &value[..value.find("\r\n--").unwrap()]
}

async fn submitted(body: web::Bytes) -> HttpResponse {
    let body = String::from_utf8_lossy(&body);
    let filename = body
        .split("filename=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("none");
    let cover = part(&body, "cover");
    page(&format!(
        "<h1>Saved</h1><p>Saved {} by {} ({}); cover {filename}: {}; {}, read: {}.</p>\
         <p><a href=\"/form\">Back to the form</a></p><p id=\"js-state\"></p>",
        part(&body, "title"),
        part(&body, "author"),
        part(&body, "notes"),
        cover.trim(),
        part(&body, "format"),
        part(&body, "read"),
    ))
}

fn server() -> actix_test::TestServer {
    actix_test::start(|| {
        App::new()
            .route("/form", web::get().to(|| async { page(FORM) }))
            .route("/unlabelled", web::get().to(|| async { page(UNLABELLED) }))
            .route(
                "/marker.js",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/javascript")
                        .body(MARKER)
                }),
            )
            .route(
                "/harness.css",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/css")
                        .body(".tall { height: 2400px; }\n")
                }),
            )
            .route("/submitted", web::post().to(submitted))
            .route(
                "/favicon.ico",
                web::get().to(|| async { HttpResponse::NoContent().finish() }),
            )
    })
}

/// (width, height) from a PNG's header.
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[actix_web::test]
async fn forms_are_filled_and_submitted_with_javascript_off_and_on() {
    if browser::unavailable() {
        return;
    }
    let srv = server();
    let cover = tempfile::Builder::new().suffix(".txt").tempfile().unwrap();
    std::fs::write(cover.path(), "cover bytes").unwrap();
    let filename = cover
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    for javascript in [false, true] {
        let b = Browser::open(390, javascript).await;
        b.goto(&srv.url("/form")).await;
        if javascript {
            b.wait_for_text("JavaScript ran.").await;
        } else {
            // The page has loaded, its script included, had it been allowed to run.
            assert!(b.text().await.contains("JavaScript has not run."));
        }
        b.fill("Title", &format!("Dune {javascript}")).await;
        b.fill("Author", "Frank Herbert").await; // a label around its input
        b.fill_named("notes", "first  read").await;
        b.upload("Cover", cover.path()).await;
        b.select("Format", "PDF").await;
        b.check("Read it", true).await;
        b.check("Read it", javascript).await;
        if javascript {
            b.submit("form").await;
        } else {
            b.click_button("Save").await;
        }
        b.wait_for_path("/submitted").await;
        let read = if javascript { "yes" } else { "-" };
        b.wait_for_text(&format!(
            "Saved Dune {javascript} by Frank Herbert (first read); \
             cover {filename}: cover bytes; PDF, read: {read}."
        ))
        .await;
        assert_eq!(b.find("h1").await.text().await.unwrap(), "Saved");
        b.click_link("Back to the form").await;
        b.wait_for_path("/form").await;
        b.wait_for("#title").await;
        b.close().await;
    }
}

#[actix_web::test]
async fn axe_runs_under_a_strict_content_security_policy() {
    if browser::unavailable() {
        return;
    }
    let srv = server();
    let b = Browser::open(1440, true).await;
    b.goto(&srv.url("/form")).await;
    b.wait_for_text("JavaScript ran.").await;
    // The policy is in force: the page's inline script was refused.
    assert_eq!(b.title().await, "Harness");
    let refused = b.console_errors().await;
    assert!(
        refused
            .iter()
            .any(|e| e.contains("Content Security Policy")),
        "the inline script is refused: {refused:?}"
    );
    let found = b.axe().await;
    assert!(found.is_empty(), "a labelled form: {found:?}");
    b.assert_accessible("the labelled form").await;
    let after = b.console_errors().await;
    assert!(after.is_empty(), "axe runs without errors: {after:?}");

    b.goto(&srv.url("/unlabelled")).await;
    let found = b.axe().await;
    let label = found
        .iter()
        .find(|v| v.id == "label")
        .unwrap_or_else(|| panic!("axe finds the unlabelled input: {found:?}"));
    assert_eq!(label.impact, "critical");
    assert_eq!(label.nodes.len(), 1, "{label}");
    assert!(label.nodes[0].html.contains("name=\"q\""), "{label}");
    let report = browser::report(&found);
    assert!(
        report.contains("[critical] label: Form elements must have labels"),
        "{report}"
    );
}

#[actix_web::test]
async fn axe_runs_with_javascript_off() {
    if browser::unavailable() {
        return;
    }
    let srv = server();
    let b = Browser::open(390, false).await;
    b.goto(&srv.url("/unlabelled")).await;
    let found = b.axe().await;
    assert!(found.iter().any(|v| v.id == "label"), "{found:?}");
    b.goto(&srv.url("/form")).await;
    b.assert_accessible("the labelled form").await;
}

#[actix_web::test]
async fn screenshots_are_the_window_wide_and_the_page_long() {
    if browser::unavailable() {
        return;
    }
    let srv = server();
    for width in [390, 1440] {
        let b = Browser::open(width, false).await;
        assert_eq!(
            b.execute("return [window.innerWidth, window.innerHeight];", vec![])
                .await,
            serde_json::json!([width, HEIGHT]),
            "the window's inside is {width} × {HEIGHT}"
        );
        b.goto(&srv.url("/form")).await;
        let short = b.screenshot("harness-form").await;
        assert!(short.ends_with(format!("target/screenshots/harness-form-{width}.png")));
        assert_eq!(png_size(&short), (width, HEIGHT), "{}", short.display());
        b.goto(&srv.url("/unlabelled")).await;
        let long = b.screenshot("harness-long").await;
        let (w, h) = png_size(&long);
        assert_eq!(w, width, "{}", long.display());
        assert!(h > 2400, "the whole page, not only the window: {h} px");
        b.close().await;
    }
}
