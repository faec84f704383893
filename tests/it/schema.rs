//! Migrations and the schema's rules.

use diesel::prelude::*;
use diesel_migrations::MigrationHarness;

use crate::common::TestDb;

/// Every object the migrations may create, as text: what "reverted" is compared against.
fn objects(db: &TestDb) -> i64 {
    db.count(
        "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relname NOT LIKE '\\_\\_diesel%') \
              + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                 WHERE n.nspname = 'public' AND t.typtype = 'e') \
              + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                 WHERE n.nspname = 'public') \
              + (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql')",
    )
}

#[test]
fn migrations_go_up_down_and_up_again() {
    let db = TestDb::empty();
    let mut conn = db.conn();
    assert_eq!(objects(&db), 0);
    libris::migrate(&mut conn).unwrap();
    let migrated = objects(&db);
    assert!(
        migrated > 30,
        "tables, indexes, types and functions exist: {migrated}"
    );

    conn.revert_all_migrations(libris::db::MIGRATIONS).unwrap();
    assert_eq!(
        objects(&db),
        0,
        "down.sql reverts everything up.sql created"
    );

    libris::migrate(&mut conn).unwrap();
    assert_eq!(objects(&db), migrated);
    assert!(
        libris::migrate(&mut conn).unwrap().is_empty(),
        "a second run applies nothing"
    );
}

#[test]
fn docs_database_md_is_current() {
    let db = TestDb::new();
    let rendered = libris::db::schema_doc::render(&mut db.conn()).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/database.md");
    if std::env::var_os("LIBRIS_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/database.md is stale: run `make docs`"
    );
}

#[test]
fn deleting_a_book_or_a_key_cascades_as_specified() {
    let db = TestDb::new();
    let mut conn = db.conn();
    diesel::sql_query(
        "WITH k AS (INSERT INTO api_keys (key_prefix, key_hash, label) VALUES ('p', 'h', 'l') RETURNING id),
              b AS (INSERT INTO books (title, created_by) SELECT 'T', id FROM k RETURNING id)
         , f AS (INSERT INTO book_files (book_id, format, original_name) SELECT id, 'epub', 'x' FROM b)
         , c AS (INSERT INTO book_metadata_candidates (book_id, source) SELECT id, 'file' FROM b)
         , p AS (INSERT INTO reading_progress (book_id, api_key_id, document, device, progress)
                 SELECT b.id, k.id, 'd', 'dev', 'p' FROM b, k)
         , h AS (INSERT INTO reading_progress_history (book_id, api_key_id, document, device, progress)
                 SELECT b.id, k.id, 'd', 'dev', 'p' FROM b, k)
         , a AS (INSERT INTO reading_aggregate (book_id, api_key_id) SELECT b.id, k.id FROM b, k)
         , s AS (INSERT INTO hardcover_sync_log (book_id, api_key_id, last_synced_at) SELECT b.id, k.id, now() FROM b, k)
         , u AS (INSERT INTO upload_registry (checksum, api_key_id, filename) SELECT 'c', id, 'x' FROM k)
         INSERT INTO service_credentials (service, api_key_id, username, password_hash) SELECT 'opds', id, 'u', 'h' FROM k",
    )
    .execute(&mut conn)
    .unwrap();

    diesel::sql_query("DELETE FROM books")
        .execute(&mut conn)
        .unwrap();
    for gone in [
        "book_files",
        "book_metadata_candidates",
        "hardcover_sync_log",
    ] {
        assert_eq!(
            db.count(&format!("SELECT count(*) FROM {gone}")),
            0,
            "{gone}"
        );
    }
    for kept in [
        "reading_progress",
        "reading_progress_history",
        "reading_aggregate",
    ] {
        assert_eq!(
            db.count(&format!(
                "SELECT count(*) FROM {kept} WHERE book_id IS NULL"
            )),
            1,
            "{kept}"
        );
    }

    diesel::sql_query("DELETE FROM api_keys")
        .execute(&mut conn)
        .unwrap();
    for gone in [
        "reading_progress",
        "reading_aggregate",
        "service_credentials",
        "upload_registry",
    ] {
        assert_eq!(
            db.count(&format!("SELECT count(*) FROM {gone}")),
            0,
            "{gone}"
        );
    }
    assert_eq!(
        db.count("SELECT count(*) FROM reading_progress_history WHERE api_key_id IS NULL"),
        1
    );
}

#[test]
fn search_vector_is_kept_by_the_trigger() {
    let db = TestDb::new();
    let mut conn = db.conn();
    diesel::sql_query(
        "INSERT INTO books (title, author, series, genres) VALUES ('Leaves of Grass', 'Walt Whitman', 'Poems', '{verse}')",
    )
    .execute(&mut conn)
    .unwrap();
    let found = |q: &str| {
        db.count(&format!("SELECT count(*) FROM books WHERE search_vector @@ websearch_to_tsquery('simple', '{q}')"))
    };
    assert_eq!(found("whitman"), 1);
    assert_eq!(found("verse"), 1);
    assert_eq!(found("prose"), 0);
    diesel::sql_query("UPDATE books SET title = 'Song of Myself'")
        .execute(&mut conn)
        .unwrap();
    assert_eq!(found("song"), 1);
    assert_eq!(found("leaves"), 0);
    assert_eq!(
        db.count("SELECT count(*) FROM books WHERE title % 'Song of Myslef'"),
        1,
        "trigram similarity"
    );
}

#[test]
fn series_positions_are_unique_only_when_both_are_set() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let insert = |sql: &str, conn: &mut PgConnection| diesel::sql_query(sql).execute(conn);
    insert(
        "INSERT INTO books (series, series_index) VALUES ('S', 1), ('S', NULL), ('S', NULL)",
        &mut conn,
    )
    .unwrap();
    assert!(insert(
        "INSERT INTO books (series, series_index) VALUES ('S', 1)",
        &mut conn
    )
    .is_err());
}

/// What the catalog keeps is keyed by this version: it must not move before a change is
/// visible, and a bulk change moves it once.
#[test]
fn the_library_version_moves_once_per_transaction_as_it_commits() {
    let db = TestDb::new();
    let (mut writer, mut reader) = (db.conn(), db.conn());
    let read = |c: &mut PgConnection| libris::library::catalog::library_version(c).unwrap();
    let version = |c: &mut PgConnection| read(c).number;
    let before = version(&mut reader);
    writer
        .transaction(|w| {
            for _ in 0..3 {
                diesel::sql_query("INSERT INTO books (title, status) VALUES ('t', 'review')")
                    .execute(w)?;
            }
            diesel::sql_query("UPDATE books SET title = 'u'").execute(w)?;
            assert_eq!(version(&mut reader), before, "nothing is committed yet");
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    assert_eq!(version(&mut reader), before + 1, "once for the transaction");
    let inserted = read(&mut reader);
    diesel::sql_query("DELETE FROM books")
        .execute(&mut writer)
        .unwrap();
    let deleted = read(&mut reader);
    assert_eq!(deleted.number, before + 2, "a statement on its own");
    assert!(
        deleted.changed_at > inserted.changed_at && deleted.read_at >= deleted.changed_at,
        "stamped as it commits, a delete as an insert: {inserted:?} {deleted:?}"
    );
    writer
        .transaction(|w| {
            diesel::sql_query("INSERT INTO books (title, status) VALUES ('t', 'review')")
                .execute(w)?;
            Err::<(), _>(diesel::result::Error::RollbackTransaction)
        })
        .unwrap_err();
    assert_eq!(version(&mut reader), before + 2, "rolled back: no change");
}

/// Migration 15: a file's failed page-cover renderings start at none and never go negative;
/// its down.sql takes the column and the job's index away, and up puts them back.
#[test]
fn page_cover_failures_migrate_up_and_down() {
    use diesel::migration::MigrationSource;
    let db = TestDb::new();
    let mut conn = db.conn();
    diesel::sql_query(
        "WITH b AS (INSERT INTO books (title) VALUES ('T') RETURNING id)
         INSERT INTO book_files (book_id, format, original_name) SELECT id, 'pdf', 'x.pdf' FROM b",
    )
    .execute(&mut conn)
    .unwrap();
    assert_eq!(db.count("SELECT page_cover_failures FROM book_files"), 0);
    assert!(
        diesel::sql_query("UPDATE book_files SET page_cover_failures = -1")
            .execute(&mut conn)
            .is_err()
    );
    let present = |db: &TestDb| {
        db.count(
            "SELECT (SELECT count(*) FROM information_schema.columns \
                     WHERE table_name = 'book_files' AND column_name = 'page_cover_failures') \
                  + (SELECT count(*) FROM pg_indexes WHERE indexname = 'books_without_cover_idx')",
        )
    };
    assert_eq!(present(&db), 2);
    let migrations =
        MigrationSource::<diesel::pg::Pg>::migrations(&libris::db::MIGRATIONS).unwrap();
    let migration = migrations
        .iter()
        .find(|m| m.name().to_string().ends_with("_page_cover_failures"))
        .expect("the migration");
    conn.revert_migration(migration.as_ref()).unwrap();
    assert_eq!(present(&db), 0);
    conn.run_migration(migration.as_ref()).unwrap();
    assert_eq!(present(&db), 2);
    assert_eq!(db.count("SELECT page_cover_failures FROM book_files"), 0);
}
