//! Every route has a body limit: each operation of the OpenAPI document, every KoSync route
//! and the OPDS catalog get a request declaring a 1 GiB body (and sending its first 300 KiB).
//! Routes that read bodies answer 413 at once; the others answer without reading it; none
//! waits for the gigabyte, none fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::{TestApp, KEY};
use crate::Figures;

/// The status of a request declaring a 1 GiB body; None: no answer within 10 s.
fn oversized(addr: SocketAddr, method: &str, path: &str, headers: &str) -> Option<u16> {
    let content_type = if headers.contains("Content-Type") {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}{content_type}Content-Length: 1073741824\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).ok()?;
    // The server may answer and close before taking all of it: write errors are expected.
    let mut body = Vec::new();
    if headers.contains("multipart/form-data") {
        body.extend_from_slice(
            b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.epub\"\r\n\r\n",
        );
    }
    body.resize(300 * 1024, b'x');
    let _ = s.write_all(&body);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
}

pub async fn run(figures: &mut Figures) {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    let book = {
        let r = app
            .upload(
                &admin,
                &[(
                    "book.epub",
                    &std::fs::read(
                        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                            .join("fixtures/books/lighthouse-epub2.epub"),
                    )
                    .unwrap(),
                )],
            )
            .await;
        r.body["files"][0]["book_id"].as_str().unwrap().to_owned()
    };
    let spec = app.api("GET", "/api/openapi.json", None, None).await.body;
    let mut routes: Vec<(String, String, String)> = Vec::new();
    let bearer = format!("Authorization: Bearer {admin}\r\n");
    for (path, ops) in spec["paths"].as_object().unwrap() {
        let path = crate::common::fill_path(path, &book);
        for method in ops.as_object().unwrap().keys() {
            routes.push((method.to_uppercase(), path.clone(), bearer.clone()));
        }
    }
    // Uploads as they come (multipart); deletions last, so the book is there for the others.
    routes.push((
        "POST".into(),
        "/api/uploads".into(),
        format!("{bearer}Content-Type: multipart/form-data; boundary=b\r\n"),
    ));
    routes.sort_by_key(|r| r.0 == "DELETE");
    let kosync = format!(
        "x-auth-user: ann\r\nx-auth-key: {KEY}\r\nAccept: application/vnd.koreader.v1+json\r\n"
    );
    for prefix in ["", "/kosync"] {
        for (method, path) in [
            ("POST", "/users/create"),
            ("GET", "/users/auth"),
            ("PUT", "/syncs/progress"),
            ("GET", "/syncs/progress/doc"),
            ("GET", "/healthcheck"),
        ] {
            routes.push((method.into(), format!("{prefix}{path}"), kosync.clone()));
        }
    }
    for path in [
        "/opds",
        "/opds/v2",
        "/opds/search?q=x",
        "/opds/opensearch.xml",
    ] {
        for method in ["GET", "POST"] {
            routes.push((method.into(), path.into(), bearer.clone()));
        }
    }
    let addr = app.server.addr();
    let answers = actix_web::rt::task::spawn_blocking(move || {
        routes
            .into_iter()
            .map(|(method, path, headers)| {
                let status = oversized(addr, &method, &path, &headers);
                (format!("{method} {path}"), status)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let too_large = answers.iter().filter(|a| a.1 == Some(413)).count();
    let failed: Vec<_> = answers
        .iter()
        .filter(|a| a.1.is_none_or(|s| s >= 500))
        .collect();
    for (route, status) in &answers {
        if std::env::var("RELIABILITY_VERBOSE").is_ok() || status.is_none_or(|s| s >= 500) {
            eprintln!("{route}: {status:?}");
        }
    }
    figures.row(
        "routes sent a request declaring a 1 GiB body",
        answers.len() as f64,
        "",
        answers.len() > 40,
    );
    figures.row(
        "  answered 413 at once",
        too_large as f64,
        "",
        too_large > 10,
    );
    figures.row(
        "  answered without reading the body (no body expected)",
        (answers.len() - too_large - failed.len()) as f64,
        "",
        true,
    );
    figures.row(
        "  waited for the body (no answer in 10 s) or 5xx",
        failed.len() as f64,
        "0",
        failed.is_empty(),
    );
}
