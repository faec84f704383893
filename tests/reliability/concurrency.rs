//! Many clients at once: one document from 64 devices, one file uploaded by 10 clients, one
//! book approved by two admins.

use futures_util::future::join_all;
use serde_json::json;

use crate::common::{TestApp, KEY};
use crate::Figures;

pub async fn run(figures: &mut Figures) {
    let app = TestApp::start();
    assert_eq!(app.create_user("ann", KEY).await.status, 201);

    // 64 devices report the same document at once.
    let puts = (0..64).map(|i| {
        let app = &app;
        async move {
            app.put_progress(
                "ann",
                KEY,
                json!({ "document": "shared-doc", "progress": format!("p{i}"),
                        "percentage": 0.01 * f64::from(i), "device": format!("device-{i}"),
                        "device_id": format!("id-{i}") }),
            )
            .await
            .status
        }
    });
    let statuses = join_all(puts).await;
    let ok = statuses.iter().filter(|s| **s == 200).count() as i64;
    if ok != 64 {
        eprintln!("64 PUTs answered {statuses:?}");
    }
    let history = app
        .db
        .count("SELECT count(*) FROM reading_progress_history WHERE document = 'shared-doc'");
    let current = app
        .db
        .count("SELECT count(*) FROM reading_progress WHERE document = 'shared-doc'");
    figures.row(
        "64 devices PUT one document at once: 200s",
        ok as f64,
        "64",
        ok == 64,
    );
    figures.row(
        "  history rows for them",
        history as f64,
        "= 200s",
        history == ok,
    );
    figures.row(
        "  current positions (one per device)",
        current as f64,
        "64",
        current == 64,
    );

    // 10 clients upload the same file at once.
    // Registration made a key already, so the first admin comes from the CLI's function.
    let (_, admin) = libris::auth::keys::create(&mut app.db.conn(), "admin", true).unwrap();
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/books/lighthouse-epub2.epub"),
    )
    .unwrap();
    let uploads = (0..10).map(|_| {
        let (app, admin, bytes) = (&app, &admin, &bytes);
        async move {
            app.upload(admin, &[("lighthouse-epub2.epub", bytes.as_slice())])
                .await
                .status
        }
    });
    let statuses = join_all(uploads).await;
    let books = app.db.count("SELECT count(*) FROM books");
    let files = app.db.count("SELECT count(*) FROM book_files");
    let fine = statuses.iter().all(|s| matches!(s, 200 | 201));
    figures.row(
        "10 clients upload one file at once: books",
        books as f64,
        "1",
        books == 1 && files == 1,
    );
    figures.row(
        "  uploads answered 200/201",
        statuses.iter().filter(|s| matches!(s, 200 | 201)).count() as f64,
        "10",
        fine,
    );

    // Two admins approve the same book at once.
    let book: String = app.api("GET", "/api/books", Some(&admin), None).await.body["items"][0]
        ["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_default();
    let (_, second) = {
        let r = app
            .api(
                "POST",
                "/api/keys",
                Some(&admin),
                Some(json!({ "label": "admin 2", "is_admin": true })),
            )
            .await;
        (r.status, r.body["key"].as_str().unwrap().to_owned())
    };
    let path = format!("/api/books/{book}/approve");
    let (a, b) = tokio::join!(
        app.api("POST", &path, Some(&admin), None),
        app.api("POST", &path, Some(&second), None)
    );
    let mut got = [a.status, b.status];
    if !matches!(got, [200, 409] | [409, 200]) {
        eprintln!("approvals of {book}: {:?} {:?}", a.body, b.body);
    }
    got.sort_unstable();
    figures.row(
        "two admins approve one book at once: 200 and 409",
        if got == [200, 409] { 1.0 } else { 0.0 },
        "1",
        got == [200, 409],
    );
}
