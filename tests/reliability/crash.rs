//! kill -9 of the libris process in the middle of KoSync PUTs, uploads and approvals, several
//! times, then a start like any other: every acknowledged report is in the history, every
//! current position has its history row, every acknowledged upload is a book with its file,
//! every acknowledged approval stands, no file lies around without a row (the start-up
//! check's work), and the aggregates equal a rebuild.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::common::{files_under, TestDb};
use crate::process::{first_admin, kosync_reader, multipart, put_progress, ready, start};
use crate::Figures;

const CYCLES: usize = 5;
const PUT_CLIENTS: usize = 16;
const UPLOAD_CLIENTS: usize = 3;
const BOOKS_READ: u64 = PUT_CLIENTS as u64;

pub async fn upload(
    client: &awc::Client,
    url: &str,
    admin: &str,
    n: u64,
    epub: &[u8],
) -> Option<String> {
    let (content_type, body) = multipart(&format!("book-{n}.epub"), epub);
    let mut r = client
        .post(format!("{url}/api/uploads"))
        .insert_header(("authorization", format!("Bearer {admin}")))
        .insert_header(("content-type", content_type))
        .send_body(body)
        .await
        .ok()?;
    let v: Value = serde_json::from_slice(&r.body().await.ok()?).ok()?;
    (r.status() == 201 && v["files"][0]["outcome"] == "created")
        .then(|| v["files"][0]["book_id"].as_str().map(str::to_owned))
        .flatten()
}

pub fn epub(n: u64) -> Vec<u8> {
    let file = tempfile::NamedTempFile::new().unwrap();
    libris::library::sample::write_epub(file.path(), n).unwrap();
    std::fs::read(file.path()).unwrap()
}

#[derive(Default)]
struct Acked {
    reports: Vec<String>,
    uploads: Vec<String>,
    approvals: Vec<String>,
}

pub async fn run(figures: &mut Figures) {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().with_extension("log");
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let books: Vec<(Vec<u8>, String)> = actix_web::rt::task::spawn_blocking(|| {
        (0..500u64)
            .map(|n| {
                let bytes = epub(n);
                let pmd5 =
                    libris_formats::hash::partial_md5(&mut std::io::Cursor::new(&bytes)).unwrap();
                (bytes, pmd5)
            })
            .collect()
    })
    .await
    .unwrap();

    // Set-up on a first start: an admin, a KoSync reader, books the reader reads.
    let mut server = start(&db, data.path(), &log);
    ready(&client, &server).await;
    let admin = first_admin(&client, &server).await;
    kosync_reader(&client, &server).await;
    for n in 0..BOOKS_READ {
        upload(&client, &server.url, &admin, n, &books[n as usize].0)
            .await
            .expect("a set-up upload is acknowledged");
    }

    let acked: Rc<RefCell<Acked>> = Rc::default();
    let next_book = Rc::new(RefCell::new(BOOKS_READ));
    let mut crashes = 0;
    for cycle in 0..CYCLES {
        if cycle > 0 {
            server = start(&db, data.path(), &log);
            ready(&client, &server).await;
        }
        let stop = Rc::new(RefCell::new(false));
        let url = server.url.clone();
        let puts = (0..PUT_CLIENTS).map(|c| {
            let (client, url, stop, acked, books) =
                (&client, &url, stop.clone(), acked.clone(), &books);
            async move {
                let mut n = 0u32;
                while !*stop.borrow() {
                    n += 1;
                    let progress = format!("k{cycle}-c{c}-{n}");
                    let percentage = f64::from(n % 100) / 100.0;
                    let device = format!("dev-{c}");
                    let sent =
                        put_progress(client, url, &books[c].1, &progress, percentage, &device)
                            .await;
                    match sent {
                        Ok(status) if status == 200 => acked.borrow_mut().reports.push(progress),
                        Ok(_) => {}
                        Err(_) => actix_web::rt::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            }
        });
        let uploads = (0..UPLOAD_CLIENTS).map(|_| {
            let (client, url, stop, acked, books, admin, next) = (
                &client,
                &url,
                stop.clone(),
                acked.clone(),
                &books,
                &admin,
                next_book.clone(),
            );
            async move {
                while !*stop.borrow() {
                    let n = {
                        let mut next = next.borrow_mut();
                        *next += 1;
                        *next - 1
                    };
                    let Some((bytes, _)) = books.get(n as usize) else {
                        break;
                    };
                    if let Some(id) = upload(client, url, admin, n, bytes).await {
                        acked.borrow_mut().uploads.push(id);
                    }
                }
            }
        });
        let approvals = {
            let (client, url, stop, acked, admin) =
                (&client, &url, stop.clone(), acked.clone(), &admin);
            async move {
                let mut tried: HashSet<String> = HashSet::new();
                while !*stop.borrow() {
                    let next = acked
                        .borrow()
                        .uploads
                        .iter()
                        .find(|id| !tried.contains(*id))
                        .cloned();
                    let Some(id) = next else {
                        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    tried.insert(id.clone());
                    let r = client
                        .post(format!("{url}/api/books/{id}/approve"))
                        .insert_header(("authorization", format!("Bearer {admin}")))
                        .send_json(&json!({}))
                        .await;
                    if r.is_ok_and(|r| r.status() == 200) {
                        acked.borrow_mut().approvals.push(id);
                    }
                }
            }
        };
        let killer = {
            let stop = stop.clone();
            let child = &mut server.child;
            async move {
                let after = Duration::from_millis(1500 + rand::random::<u64>() % 2000);
                actix_web::rt::time::sleep(after).await;
                child.kill().expect("kill -9");
                child.wait().unwrap();
                *stop.borrow_mut() = true;
            }
        };
        tokio::join!(join_all(puts), join_all(uploads), approvals, killer);
        crashes += 1;
    }

    // A start like any other, with its check, then a look at what is stored.
    let mut server = start(&db, data.path(), &log);
    ready(&client, &server).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let acked = acked.borrow();
    let mut conn = db.conn();
    let lost_reports = acked.reports.len() as i64
        - db.count(&format!(
            "SELECT count(DISTINCT progress) FROM reading_progress_history WHERE progress IN ({})",
            quoted(&acked.reports)
        ));
    let orphan_positions = db.count(
        "SELECT count(*) FROM reading_progress p WHERE NOT EXISTS (SELECT 1 FROM \
         reading_progress_history h WHERE h.api_key_id = p.api_key_id AND h.document = p.document \
         AND h.device = p.device AND h.progress = p.progress AND h.timestamp = p.timestamp)",
    );
    let lost_uploads = acked.uploads.len() as i64
        - db.count(&format!(
            "SELECT count(*) FROM books WHERE id::text IN ({})",
            quoted(&acked.uploads)
        ));
    let lost_approvals = acked.approvals.len() as i64
        - db.count(&format!(
            "SELECT count(*) FROM books WHERE status = 'organized' AND id::text IN ({})",
            quoted(&acked.approvals)
        ));
    let (missing, stray) = disagreements(&mut conn, data.path());
    let set_aside = files_under(&data.path().join(libris::library::check::UNCLAIMED)).len();
    let rules = libris::reading::state::rules(&mut conn).unwrap();
    let rebuilt = libris::reading::state::rebuild(&mut conn, &rules, None, None).unwrap();
    let repaired = repairs(&std::fs::read_to_string(&log).unwrap_or_default());

    figures.row(
        &format!("kill -9 under {PUT_CLIENTS} PUT, {UPLOAD_CLIENTS} upload and 1 approval clients: crashes"),
        crashes as f64,
        &format!("{CYCLES}"),
        crashes == CYCLES,
    );
    figures.row(
        "  reports acknowledged",
        acked.reports.len() as f64,
        "",
        !acked.reports.is_empty(),
    );
    figures.row(
        "  acknowledged but missing from the history",
        lost_reports as f64,
        "0",
        lost_reports == 0,
    );
    figures.row(
        "  current positions without their history row",
        orphan_positions as f64,
        "0",
        orphan_positions == 0,
    );
    figures.row(
        "  uploads acknowledged",
        acked.uploads.len() as f64,
        "",
        !acked.uploads.is_empty(),
    );
    figures.row(
        "  approvals acknowledged",
        acked.approvals.len() as f64,
        "",
        !acked.approvals.is_empty(),
    );
    figures.row(
        "  acknowledged uploads without their book",
        lost_uploads as f64,
        "0",
        lost_uploads == 0,
    );
    figures.row(
        "  acknowledged approvals not organized",
        lost_approvals as f64,
        "0",
        lost_approvals == 0,
    );
    figures.row(
        "  leftovers the start-up checks repaired",
        repaired as f64,
        "",
        true,
    );
    figures.row(
        "  book files missing from the data dir",
        missing as f64,
        "0",
        missing == 0,
    );
    figures.row(
        "  files without a row (after the start-up check)",
        stray as f64,
        "0",
        stray == 0,
    );
    figures.row(
        "  files set aside in unclaimed/",
        set_aside as f64,
        "0",
        set_aside == 0,
    );
    figures.row(
        &format!(
            "  aggregates differing from a rebuild (of {})",
            rebuilt.scanned
        ),
        rebuilt.changed as f64,
        "0",
        rebuilt.changed == 0 && rebuilt.scanned > 0,
    );
    let _ = std::fs::remove_file(&log);
}

pub fn quoted(values: &[String]) -> String {
    if values.is_empty() {
        return "NULL".into();
    }
    values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}

/// File rows whose file is missing, and files (besides the secret) no row claims.
pub fn disagreements(conn: &mut PgConnection, data: &Path) -> (usize, usize) {
    use libris::db::schema::{book_files as f, books as b};
    let files: Vec<String> = f::table
        .select((f::inbox_path, f::storage_path))
        .load::<(Option<String>, Option<String>)>(conn)
        .unwrap()
        .into_iter()
        .filter_map(|(i, s)| i.or(s))
        .collect();
    let covers: Vec<String> = b::table
        .select(b::cover_path)
        .load::<Option<String>>(conn)
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    let mut claimed: HashSet<String> = files.iter().cloned().collect();
    for c in &covers {
        claimed.insert(c.clone());
        claimed.extend(libris::library::paths::thumbnail_of(c));
    }
    let missing = files.iter().filter(|p| !data.join(p).is_file()).count();
    let stray = ["inbox", "library", "covers", "tmp"]
        .iter()
        .flat_map(|d| files_under(&data.join(d)))
        .filter(|p| !claimed.contains(&libris::library::storage::relative(data, p)))
        .inspect(|p| eprintln!("stray file: {}", p.display()))
        .count();
    (missing, stray)
}

/// Files the start-up checks logged as repaired (removed, restored, set aside).
fn repairs(log: &str) -> usize {
    let number = |line: &str, field: &str| -> usize {
        line.split(&format!("{field}: "))
            .nth(1)
            .and_then(|rest| rest.split([',', ' ']).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    log.lines()
        .filter(|l| l.contains("data dir checked and repaired"))
        .map(|l| {
            ["partial_uploads", "restored", "removed", "quarantined"]
                .iter()
                .map(|f| number(l, f))
                .sum::<usize>()
        })
        .sum()
}
