//! `libris backup` and `libris restore`, run as processes against PostgreSQL: a library
//! backed up while KoSync reports keep coming, restored elsewhere, and served again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::sql_types::Text;
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::json;

use crate::common::fake_hardcover::{FakeHardcover, GOOD_TOKEN};
use crate::common::{basic, TestApp, TestDb, KEY};
use crate::library::{fixture, upload_one};

const LIGHTHOUSE: &str = "lighthouse-epub2.epub";
const LIGHTHOUSE_PMD5: &str = "51920a085d6f473ec1c3b353653a38fb";
const COMIC: &str = "comic-with-comicinfo.cbz";

fn libris(db_url: &str, data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_libris"));
    cmd.env("DATABASE_URL", db_url)
        .env("LIBRIS_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .env("LIBRIS_HARDCOVER_SYNC_AT", "off");
    cmd
}

fn run(db_url: &str, data: &Path, args: &[&str]) -> Output {
    libris(db_url, data).args(args).output().unwrap()
}

/// `libris backup ARCHIVE` of `app`'s database and data dir.
fn backup(app: &TestApp, archive: &Path) -> Output {
    run(
        &app.db.url,
        app.data.path(),
        &["backup", archive.to_str().unwrap()],
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    t: String,
}

fn strings(db: &TestDb, sql: &str) -> Vec<String> {
    sql_query(sql)
        .load::<Row>(&mut db.conn())
        .unwrap()
        .into_iter()
        .map(|r| r.t)
        .collect()
}

/// Every table's rows, as sorted text.
fn tables(db: &TestDb) -> BTreeMap<String, Vec<String>> {
    strings(
        db,
        "SELECT tablename::text AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .into_iter()
    .map(|table| {
        let rows = strings(
            db,
            &format!("SELECT r::text AS t FROM \"{table}\" r ORDER BY 1"),
        );
        (table, rows)
    })
    .collect()
}

/// Every file under `dir` but the lock and what names the database: relative path → bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    crate::common::files_under(dir)
        .into_iter()
        .chain(std::iter::once(dir.join("secret")))
        .filter(|p| p.is_file())
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            (rel, std::fs::read(&p).unwrap())
        })
        .filter(|(rel, _)| rel != ".lock" && rel != libris::config::REMEMBERED)
        .collect()
}

/// A library with a bit of everything: an organized book with its cover, a book in review, a
/// reader with KoSync and OPDS logins, progress and history, a changed setting, a sealed
/// Hardcover token and a file in the reader's WebDAV space. (app, admin key, the book's id.)
async fn library(fake: &FakeHardcover) -> (TestApp, String, String) {
    let app = TestApp::builder().hardcover_url(&fake.url).start();
    let admin = app.admin_key().await;
    let mut ids = Vec::new();
    for name in [LIGHTHOUSE, COMIC] {
        let r = app.upload(&admin, &[(name, &fixture(name))]).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        ids.push(r.body["files"][0]["book_id"].as_str().unwrap().to_owned());
    }
    let r = app
        .api(
            "POST",
            &format!("/api/books/{}/approve", ids[0]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let (_, reader) = app.reader_key(&admin, "Ann").await;
    app.set_credential(&reader, "kosync", "ann", "password")
        .await;
    app.set_credential(&reader, "opds", "ann", "opds secret")
        .await;
    let r = app
        .put_progress(
            "ann",
            KEY,
            json!({"document": LIGHTHOUSE_PMD5, "progress": "/body/p[3]", "percentage": 0.25, "device": "Kobo"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = app
        .api(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({ "opds.page_size": 25 })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = app
        .api(
            "PUT",
            "/api/credentials/hardcover",
            Some(&reader),
            Some(json!({ "token": GOOD_TOKEN })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let auth = basic("ann", "opds secret");
    let r = app
        .send(
            "PUT",
            "/dav/notes.txt",
            &[("authorization", &auth)],
            b"what KOReader keeps".to_vec(),
        )
        .await;
    assert!(r.status == 201 || r.status == 204, "{r:?}");
    // Let the covers' background work settle: the data dir is compared file by file.
    for _ in 0..100 {
        if app
            .db
            .count("SELECT count(*) FROM books WHERE cover_path IS NULL")
            == 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (app, admin, ids[0].clone())
}

#[actix_web::test]
async fn a_backup_under_load_restores_elsewhere_and_serves() {
    let fake = FakeHardcover::start();
    let (app, _admin, book) = library(&fake).await;
    let report = |i: usize| json!({"document": format!("load-{i}"), "progress": "p", "percentage": 0.5, "device": "Load"});
    for i in 0..5 {
        assert_eq!(app.put_progress("ann", KEY, report(i)).await.status, 200);
    }
    let before = tables(&app.db);

    let out_dir = tempfile::tempdir().unwrap();
    let archive = out_dir.path().join("one.tar.gz");
    let mut backup = libris(&app.db.url, app.data.path())
        .args(["backup", archive.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut sent = 5;
    while backup.try_wait().unwrap().is_none() {
        assert_eq!(app.put_progress("ann", KEY, report(sent)).await.status, 200);
        sent += 1;
    }
    for _ in 0..5 {
        assert_eq!(app.put_progress("ann", KEY, report(sent)).await.status, 200);
        sent += 1;
    }
    let out = backup.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(sent > 10, "reports went on while the backup ran: {sent}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with(archive.to_str().unwrap()), "{said}");
    assert!(said.contains("0 missing"), "{said}");
    let leftovers: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the archive: {leftovers:?}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let after = tables(&app.db);

    let target = TestDb::empty();
    let restored = tempfile::tempdir().unwrap();
    let data = restored.path().join("data");
    let out = run(&target.url, &data, &["restore", archive.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let got = tables(&target);

    // Tables the load left alone are as they were; the ones it wrote hold every report
    // acknowledged before the backup began and none that never happened.
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    let mut loaded = Vec::new();
    for (table, rows) in &got {
        if before[table] == after[table] {
            assert_eq!(rows, &after[table], "{table}");
            continue;
        }
        loaded.push(table.as_str());
        assert!(rows.len() >= before[table].len(), "{table}");
        assert!(rows.len() <= after[table].len(), "{table}");
    }
    for table in ["reading_progress", "reading_progress_history"] {
        assert!(loaded.contains(&table), "{loaded:?}");
        let rows = &got[table];
        for row in &before[table] {
            assert!(
                rows.contains(row),
                "{table}: {row} acknowledged before, lost"
            );
        }
        for row in rows {
            assert!(after[table].contains(row), "{table}: {row} never written");
        }
    }
    assert_eq!(files(&data), files(app.data.path()));
    assert!(files(&data).keys().any(|f| f.starts_with("covers/")));
    assert!(files(&data)
        .keys()
        .any(|f| f.starts_with("dav/") && f.ends_with("/notes.txt")));

    // The restored data dir agrees with its database, and the server serves it.
    let out = run(&target.url, &data, &["check"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &report["removed"],
            &report["quarantined"],
            &report["missing"]
        ),
        (&json!(0), &json!(0), &json!([])),
        "{report}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = libris(&target.url, &data)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = awc::Client::default();
    let mut progress = None;
    for _ in 0..200 {
        if let Ok(mut r) = client
            .get(format!("{base}/syncs/progress/{LIGHTHOUSE_PMD5}"))
            .insert_header(("x-auth-user", "ann"))
            .insert_header(("x-auth-key", KEY))
            .send()
            .await
        {
            progress = Some((
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            ));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, body) = progress.expect("the restored server answers");
    assert_eq!((status, &body["percentage"]), (200, &json!(0.25)), "{body}");
    assert_eq!(body["device"], "Kobo");
    let file = strings(
        &target,
        &format!("SELECT id::text AS t FROM book_files WHERE book_id = '{book}'"),
    );
    let mut r = client
        .get(format!("{base}/opds/books/{book}/files/{}/x.epub", file[0]))
        .insert_header(("authorization", basic("ann", "opds secret")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.body().limit(64 << 20).await.unwrap();
    assert_eq!(bytes.as_ref(), fixture(LIGHTHOUSE).as_slice());
    server.kill().unwrap();
    server.wait().unwrap();

    // The sealed Hardcover token opens with the restored secret.
    let secret = libris::secret::load_or_create(&data).unwrap();
    let key = libris::secret::derive(&secret, libris::hardcover::token::PURPOSE);
    let sealed = strings(
        &target,
        "SELECT api_key_id::text || ' ' || password_hash AS t FROM service_credentials \
         WHERE service = 'hardcover'",
    );
    let (owner, stored) = sealed[0].split_once(' ').unwrap();
    assert_eq!(
        libris::hardcover::token::open(&key, owner.parse().unwrap(), stored).as_deref(),
        Some(GOOD_TOKEN)
    );
}

/// A small library's archive: (app, archive's folder, archive).
async fn small_archive() -> (TestApp, tempfile::TempDir, PathBuf) {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    upload_one(&app, &admin, LIGHTHOUSE).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("small.tar.gz");
    let out = backup(&app, &archive);
    assert!(out.status.success(), "{}", text(&out));
    (app, dir, archive)
}

/// pg_dump dumps the snapshot the file list was read in, not the database as it is when it
/// starts: a `pg_dump` first on PATH commits a change, then runs the real one. The change is
/// in the database and not in the archive.
#[actix_web::test]
async fn the_dump_is_of_the_snapshot_not_of_when_pg_dump_starts() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    upload_one(&app, &admin, LIGHTHOUSE).await;
    let titles = "SELECT string_agg(title, ',' ORDER BY title) AS t FROM books";
    let before = strings(&app.db, titles);
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let psql = libris::ops::postgres::tool("psql").unwrap();
    let real = libris::ops::postgres::tool("pg_dump").unwrap();
    let script = bin.join("pg_dump");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n'{}' -X -q -v ON_ERROR_STOP=1 '{}' -c \"UPDATE books SET title = 'after the snapshot'\" || exit 3\nexec '{}' \"$@\"\n",
            psql.display(),
            app.db.url,
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let archive = dir.path().join("snapshot.tar.gz");
    let out = libris(&app.db.url, app.data.path())
        .env("PATH", path)
        .args(["backup", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(strings(&app.db, titles), ["after the snapshot"]);

    let target = TestDb::empty();
    let data = dir.path().join("restored");
    let out = run(&target.url, &data, &["restore", archive.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(strings(&target, titles), before);
    assert_ne!(before, ["after the snapshot"]);
}

/// An empty database owned by `role`, and its URL as that role.
fn owned_by(role: &str) -> (TestDb, String) {
    let db = TestDb::empty();
    sql_query(format!("ALTER DATABASE {} OWNER TO {role}", db.name))
        .execute(&mut db.conn())
        .unwrap();
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}user={role}", db.url);
    (db, url)
}

/// What a managed PostgreSQL gives: a login that owns its database and is no superuser. A
/// first start migrates (pg_trgm is a trusted extension), and a restore and a check work.
#[actix_web::test]
async fn a_database_owner_who_is_no_superuser_migrates_and_restores() {
    let (_app, dir, archive) = small_archive().await;
    let role = format!("libris_owner_{}", uuid::Uuid::new_v4().simple());
    let elsewhere = TestDb::empty();
    sql_query(format!(
        "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
    ))
    .execute(&mut elsewhere.conn())
    .unwrap();

    let (fresh, fresh_url) = owned_by(&role);
    let migrated = run(&fresh_url, &dir.path().join("fresh"), &["migrate"]);
    let (target, url) = owned_by(&role);
    let data = dir.path().join("restored");
    let restored = run(&url, &data, &["restore", archive.to_str().unwrap()]);
    let checked = run(&url, &data, &["check"]);
    let owners = strings(
        &target,
        "SELECT DISTINCT tableowner::text AS t FROM pg_tables WHERE schemaname = 'public'",
    );
    let books = target.count("SELECT count(*) FROM books");
    // The role owns what is in them: its databases go before it does.
    drop((fresh, target));
    sql_query(format!("DROP ROLE {role}"))
        .execute(&mut elsewhere.conn())
        .unwrap();

    assert!(migrated.status.success(), "{}", text(&migrated));
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(checked.status.success(), "{}", text(&checked));
    assert_eq!(owners, [role]);
    assert_eq!(books, 1);
}

/// The archive with one byte of one member's content changed, written again whole (so the
/// gzip and tar layers are sound and only the manifest can tell).
fn with_a_member_changed(archive: &Path, to: &Path) {
    let mut input = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(archive).unwrap(),
    ));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::fast(),
    );
    let mut output = tar::Builder::new(gz);
    let mut changed = false;
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let path = entry.path().unwrap().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        if !changed && path.starts_with("data/inbox") {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
            changed = true;
        }
        output
            .append_data(&mut header, &path, bytes.as_slice())
            .unwrap();
    }
    assert!(changed, "a book file was in the archive");
    output.into_inner().unwrap().finish().unwrap();
}

/// The archive rebuilt with `edit` applied to members (path and bytes) and the manifest made
/// to agree, then `manifest` applied to it: a whole archive that says what a test wants.
/// Names are written as they are, unchecked (the tar crate would refuse `..`).
fn rebuilt(
    archive: &Path,
    to: &Path,
    edit: impl Fn(&mut String, &mut Vec<u8>),
    manifest: impl Fn(&mut serde_json::Value),
) {
    use sha2::Digest;
    let mut input = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(archive).unwrap(),
    ));
    let mut members = Vec::new();
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        members.push((path, bytes));
    }
    let (_, json) = members.pop().unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    for (i, (path, bytes)) in members.iter_mut().enumerate() {
        edit(path, bytes);
        json["entries"][i]["path"] = json!(path);
        json["entries"][i]["size"] = json!(bytes.len());
        json["entries"][i]["sha256"] = json!(hex::encode(sha2::Sha256::digest(&bytes)));
    }
    manifest(&mut json);
    members.push(("manifest.json".into(), serde_json::to_vec(&json).unwrap()));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::fast(),
    );
    let mut output = tar::Builder::new(gz);
    for (path, bytes) in members {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        output.append(&header, bytes.as_slice()).unwrap();
    }
    output.into_inner().unwrap().finish().unwrap();
}

#[actix_web::test]
async fn a_damaged_archive_or_a_used_database_is_refused() {
    let (_app, dir, archive) = small_archive().await;
    let changed = dir.path().join("changed.tar.gz");
    with_a_member_changed(&archive, &changed);
    let whole = std::fs::read(&archive).unwrap();
    let cut = dir.path().join("cut.tar.gz");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let flipped = dir.path().join("flipped.tar.gz");
    let mut bytes = whole.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&flipped, &bytes).unwrap();

    // A flipped bit of the compressed stream can break inflating, gzip's checksum, a tar
    // header or a member's bytes: each is a refusal.
    for (bad, says) in [
        (&changed, "SHA-256"),
        (&cut, "damaged"),
        (&flipped, "damaged"),
    ] {
        let target = TestDb::empty();
        let data = dir.path().join("restored");
        let out = run(&target.url, &data, &["restore", bad.to_str().unwrap()]);
        assert!(!out.status.success(), "{bad:?}: {}", text(&out));
        let said = text(&out);
        assert!(
            said.contains(says) || bad == &flipped && said.contains("refused"),
            "{bad:?}: {said}"
        );
        assert_eq!(
            target.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
            0,
            "{bad:?}: the database stays empty"
        );
        assert!(!data.exists(), "{bad:?}: no data dir made");
    }

    // Whole archives refused: from a newer libris; one whose dump pg_restore cannot read
    // (nothing is then written to the data dir); one with a path out of the data dir.
    let newer = dir.path().join("newer.tar.gz");
    rebuilt(
        &archive,
        &newer,
        |_, _| {},
        |m| m["migration"] = json!("29991231000001"),
    );
    let garbage = dir.path().join("garbage.tar.gz");
    rebuilt(
        &archive,
        &garbage,
        |path, bytes| {
            if *path == "database.dump" {
                bytes.truncate(bytes.len() / 2);
            }
        },
        |_| {},
    );
    let escaping = dir.path().join("escaping.tar.gz");
    rebuilt(
        &archive,
        &escaping,
        |path, _| {
            if path == "data/secret" {
                *path = "data/../escaped".into();
            }
        },
        |_| {},
    );
    for (bad, says) in [
        (&newer, "newer than this libris knows"),
        (&garbage, "pg_restore failed"),
    ] {
        let target = TestDb::empty();
        let data = dir.path().join("restored");
        let out = run(&target.url, &data, &["restore", bad.to_str().unwrap()]);
        assert!(!out.status.success(), "{bad:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{bad:?}: {}", text(&out));
        assert_eq!(
            target.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
            0,
            "{bad:?}: the database stays empty"
        );
        assert!(!data.exists(), "{bad:?}: nothing in the data dir");
    }
    let target = TestDb::empty();
    let out = run(
        &target.url,
        &dir.path().join("restored"),
        &["restore", escaping.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("data/../escaped: not a path libris writes"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("escaped").exists());

    // Not into a database that is in use, nor into a data dir that holds something.
    let used = TestDb::new();
    let data = dir.path().join("fresh");
    let out = run(&used.url, &data, &["restore", archive.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not empty"), "{}", text(&out));
    let target = TestDb::empty();
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("secret"), b"someone else's").unwrap();
    let out = run(&target.url, &data, &["restore", archive.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not empty"), "{}", text(&out));
    assert_eq!(
        target.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        0
    );
    // The whole archive restores, into a data dir that names its database already.
    std::fs::remove_file(data.join("secret")).unwrap();
    std::fs::write(
        data.join(libris::config::REMEMBERED),
        format!("DATABASE_URL={}\n", target.url),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_libris"))
        .args(["--data-dir", data.to_str().unwrap(), "restore"])
        .arg(&archive)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(target.count("SELECT count(*) FROM books"), 1);
}

#[actix_web::test]
async fn keep_rotates_only_the_archives_in_a_folder() {
    let app = TestApp::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    // What a backup killed two days ago left, and what one running now is writing.
    let killed = dir.path().join(".libris-20261201-040506.tar.gz.4242.dump");
    let running = dir.path().join(".libris-20261206-040506.tar.gz.4243.part");
    for path in [&killed, &running] {
        std::fs::write(path, b"half a dump").unwrap();
    }
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&killed)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    let folder = dir.path().to_str().unwrap();
    let mut made = Vec::new();
    for _ in 0..3 {
        let out = run(
            &app.db.url,
            app.data.path(),
            &["backup", folder, "--keep", "2"],
        );
        assert!(out.status.success(), "{}", text(&out));
        made.push(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut want = vec![made[1].clone(), made[2].clone()];
    want.push(dir.path().join("notes.txt").to_string_lossy().into_owned());
    want.push(running.to_string_lossy().into_owned());
    want.sort();
    assert_eq!(left, want);
    for name in &made[1..] {
        let name = Path::new(name)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with("libris-") && name.ends_with(".tar.gz"),
            "{name}"
        );
    }

    // --keep rotates a folder, not a file; N is at least 1.
    let file = dir.path().join("one.tar.gz");
    let out = run(
        &app.db.url,
        app.data.path(),
        &["backup", file.to_str().unwrap(), "--keep", "2"],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("--keep"), "{}", text(&out));
    assert!(!file.exists());
    let out = run(
        &app.db.url,
        app.data.path(),
        &["backup", folder, "--keep", "0"],
    );
    assert!(!out.status.success());
}

/// An archive of an older schema is migrated once restored; a file the database names but
/// that was gone when the backup came to it (a book deleted meanwhile) is listed as missing,
/// and `libris check` reports its row after the restore.
#[actix_web::test]
async fn an_older_archive_is_migrated_and_a_missing_file_is_reported() {
    use diesel_migrations::MigrationHarness;
    let app = TestApp::start();
    let admin = app.admin_key().await;
    upload_one(&app, &admin, LIGHTHOUSE).await;
    let gone = strings(&app.db, "SELECT inbox_path AS t FROM book_files")[0].clone();
    std::fs::remove_file(app.data.path().join(&gone)).unwrap();
    let newest = app
        .db
        .conn()
        .revert_last_migration(libris::db::MIGRATIONS)
        .unwrap()
        .to_string();

    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("older.tar.gz");
    let out = backup(&app, &archive);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 missing"), "{}", text(&out));
    assert!(
        text(&out).contains(&gone),
        "the warning names it: {}",
        text(&out)
    );

    let target = TestDb::empty();
    let data = dir.path().join("data");
    let out = run(&target.url, &data, &["restore", archive.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("then applied migrations {newest}")),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("1 files were deleted"),
        "{}",
        text(&out)
    );
    assert_eq!(
        strings(
            &target,
            "SELECT max(version)::text AS t FROM __diesel_schema_migrations"
        ),
        [newest]
    );
    let out = run(&target.url, &data, &["check"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["missing"], json!([gone]), "{report}");
}
