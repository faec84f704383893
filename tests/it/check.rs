//! The start-up check of the data dir: what a process killed mid-way leaves behind is put
//! back, removed or set aside, and a clean data dir is left as it is.

use std::fs;
use std::path::Path;

use serde_json::json;
use uuid::Uuid;

use crate::common::TestApp;
use crate::library::{fixture, upload_one};
use libris::library::check;

fn put(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

#[actix_web::test]
async fn leftovers_of_an_interrupted_process_are_repaired() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let data = app.data.path();
    let in_review = upload_one(&app, &admin, "lighthouse-epub2.epub").await;
    let organized = upload_one(&app, &admin, "accented-emoji.epub").await;
    let r = app
        .api(
            "POST",
            &format!("/api/books/{organized}/approve"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut conn = app.db.conn();
    // The server of this test places files: while it holds the data dir, no check runs.
    let serving = check::lock_shared(data).unwrap();
    assert!(check::try_lock_exclusive(data).unwrap().is_none());
    drop(serving);
    // A process another test forks at that moment holds a copy of the lock's descriptor until
    // it execs (the descriptor is close-on-exec): the lock is free within moments.
    let lock = (0..100)
        .find_map(|_| {
            let lock = check::try_lock_exclusive(data).unwrap();
            if lock.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            lock
        })
        .expect("the data dir's lock is free once the server's is dropped");
    assert!(check::run(&mut conn, data, &lock).unwrap().is_clean());

    let path_of = |id: &str| -> String {
        use diesel::prelude::*;
        use libris::db::schema::book_files as f;
        let (inbox, stored) = f::table
            .filter(f::book_id.eq(id.parse::<Uuid>().unwrap()))
            .select((f::inbox_path, f::storage_path))
            .first::<(Option<String>, Option<String>)>(&mut app.db.conn())
            .unwrap();
        inbox.or(stored).unwrap()
    };
    // An approval killed after its move, before its commit: the row still names the inbox.
    let review_file = data.join(path_of(&in_review));
    let moved_to = data.join("library/Jane Doe/The Lighthouse/lighthouse-epub2.epub");
    fs::create_dir_all(moved_to.parent().unwrap()).unwrap();
    fs::rename(&review_file, &moved_to).unwrap();
    // An upload killed while it was received, and one killed before its rows were written.
    put(&data.join(format!("tmp/{}-x.part", u32::MAX - 1)), b"half");
    let never_acknowledged = data.join(format!("inbox/{}/orphan.epub", Uuid::new_v4()));
    put(&never_acknowledged, &fixture("chinese.epub"));
    let orphan_cover = data.join(format!("covers/{}.jpg", Uuid::new_v4()));
    put(&orphan_cover, b"jpeg");
    put(
        &data.join(format!("covers/{in_review}.jpg.new-1")),
        b"staged",
    );
    // A copy across file systems cut short, and a second copy of a kept file.
    put(&data.join("library/A/B/book.epub.part"), b"half");
    let organized_file = data.join(path_of(&organized));
    put(
        &data.join("library/A/B/copy.epub"),
        &fs::read(&organized_file).unwrap(),
    );
    // Files nobody knows: set aside, never deleted, whatever their names; dot files left.
    let unknown = data.join("library/Someone/notes.txt");
    put(&unknown, b"my notes");
    let odd_name = data.join("library/Someone/brave.new-world.epub");
    put(&odd_name, b"not a copy of anything");
    let dot_file = data.join("library/.DS_Store");
    put(&dot_file, b"finder");

    let report = check::run(&mut conn, data, &lock).unwrap();
    assert_eq!(
        report,
        check::Report {
            partial_uploads: 1,
            restored: 1,
            removed: 5,
            quarantined: 2,
            errors: 0,
            missing: vec![],
        }
    );
    assert!(review_file.is_file(), "the approval's file is back");
    assert!(!moved_to.exists());
    assert!(!never_acknowledged.exists() && !orphan_cover.exists());
    assert!(!data.join("library/A").exists(), "emptied dirs are pruned");
    assert!(organized_file.is_file());
    assert_eq!(
        fs::read(data.join("unclaimed/library/Someone/notes.txt")).unwrap(),
        b"my notes"
    );
    assert!(data
        .join("unclaimed/library/Someone/brave.new-world.epub")
        .is_file());
    assert!(dot_file.is_file());
    assert!(!unknown.exists());
    assert!(fs::read_dir(data.join("tmp")).unwrap().next().is_none());
    // The book in review is whole again: it can be approved.
    let r = app
        .api(
            "POST",
            &format!("/api/books/{in_review}/approve"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(check::run(&mut conn, data, &lock).unwrap().is_clean());
}

#[actix_web::test]
async fn a_file_lost_for_good_is_reported_and_kept_as_a_row() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let id = upload_one(&app, &admin, "lighthouse-epub2.epub").await;
    let mut conn = app.db.conn();
    let inbox = app.data.path().join("inbox").join(&id);
    fs::remove_dir_all(&inbox).unwrap();
    let lock = check::try_lock_exclusive(app.data.path()).unwrap().unwrap();
    let report = check::run(&mut conn, app.data.path(), &lock).unwrap();
    assert_eq!(report.missing.len(), 1, "{report:?}");
    assert!(report.missing[0].starts_with(&format!("inbox/{id}/")));
    assert_eq!(app.db.count("SELECT count(*) FROM book_files"), 1);
}
