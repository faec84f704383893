//! KOReader's reading statistics database (`statistics.sqlite3`, the Statistics plugin's,
//! schema version 20221111): its books and their page-read events.
//!
//! The file comes from a client, so it is read as hostile: the header must say SQLite; it is
//! opened read-only and immutable (no journal, no WAL, nothing written beside it); strings and
//! rows are bounded ([`Limits`]); a query that fails (corrupt pages, a wrong schema, a value of
//! the wrong type) ends the read with an error, never with half the data.
//!
//! The tables read (plugins/statistics.koplugin/main.lua):
//! - `book (id, title, authors, pages, md5, last_open, …)`: `md5` is the partial MD5 of
//!   the file (KoSync's document id), `last_open` Unix seconds;
//! - `page_stat_data (id_book, page, start_time, duration, total_pages)`, unique on
//!   `(id_book, page, start_time)`: a page was on screen from `start_time` (Unix seconds)
//!   for `duration` seconds, when the book had `total_pages` pages.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{limits::Limit, Connection, OpenFlags};

/// How much a file may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_books: usize,
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_books: 100_000,
            max_events: 1_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Book {
    /// The partial MD5, lower case (32 hex digits).
    pub md5: String,
    pub title: String,
    pub authors: String,
    pub pages: Option<i32>,
    pub last_open: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Index into [`Statistics::books`].
    pub book: usize,
    pub page: i32,
    pub start_time: i64,
    pub duration: i32,
    pub total_pages: i32,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Statistics {
    pub books: Vec<Book>,
    pub events: Vec<Event>,
    /// Book rows without a usable partial MD5 (their events are left out: nothing links them).
    pub books_without_md5: usize,
    /// Event rows left out: of such books, or with a time or duration out of bounds.
    pub events_skipped: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatisticsError {
    #[error("not an SQLite database")]
    NotSqlite,
    #[error("not KOReader's statistics database: {0}")]
    WrongSchema(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("the database is damaged: {0}")]
    Corrupt(String),
}

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const MAX_TEXT: usize = 1_000;
/// Page-read events from before 2000 or after 2100 are not real.
const EARLIEST: i64 = 946_684_800;
const LATEST: i64 = 4_102_444_800;
/// A page on screen for longer than a day is not a reading.
const MAX_DURATION: i64 = 86_400;

fn text(value: Option<String>) -> String {
    crate::clean::bounded_text(&value.unwrap_or_default(), MAX_TEXT)
}

/// How long reading a file may take before it is interrupted (a file of this size is read
/// in well under a second; a crafted one must not hold a thread longer).
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// Interrupts the connection's statement when dropped late: a watchdog thread.
struct Watchdog(Option<std::sync::mpsc::Sender<()>>);

impl Watchdog {
    fn arm(conn: &Connection, after: std::time::Duration) -> Watchdog {
        let handle = conn.get_interrupt_handle();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(after) {
                handle.interrupt();
            }
        });
        Watchdog(Some(done))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let _ = done.send(());
        }
    }
}

fn md5(value: Option<String>) -> Option<String> {
    let v = value?.trim().to_ascii_lowercase();
    (v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())).then_some(v)
}

fn corrupt(e: rusqlite::Error) -> StatisticsError {
    let text = e.to_string();
    if text.contains("interrupted") {
        StatisticsError::TooLarge("reading it took too long".into())
    } else if text.contains("no such table") || text.contains("no such column") {
        StatisticsError::WrongSchema(text)
    } else if text.contains("not a database") {
        StatisticsError::NotSqlite
    } else {
        StatisticsError::Corrupt(text)
    }
}

/// Reads the books and page-read events of a statistics database.
pub fn read(path: &Path, limits: Limits) -> Result<Statistics, StatisticsError> {
    let mut head = [0u8; 16];
    {
        use std::io::Read;
        let mut f =
            std::fs::File::open(path).map_err(|e| StatisticsError::Corrupt(e.to_string()))?;
        if f.read_exact(&mut head).is_err() || &head != MAGIC {
            return Err(StatisticsError::NotSqlite);
        }
    }
    // immutable: SQLite neither locks nor looks for a journal or WAL beside the copy.
    let uri = format!(
        "file:{}?immutable=1",
        path.to_string_lossy()
            .replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23")
    );
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(corrupt)?;
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, 1_000_000);
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, 10_000);
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0);
    // A schema from a stranger runs no function of its own and writes nothing.
    let _ = conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true);
    let _ = conn.pragma_update(None, "trusted_schema", "OFF");
    let _watchdog = Watchdog::arm(&conn, DEADLINE);
    // Both must be tables: a view could be a query that never ends.
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('book', 'page_stat_data')",
            [],
            |r| r.get(0),
        )
        .map_err(corrupt)?;
    if tables != 2 {
        return Err(StatisticsError::WrongSchema(
            "no tables book and page_stat_data".into(),
        ));
    }

    let count = |table: &str| -> Result<usize, StatisticsError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n.max(0) as usize)
        .map_err(corrupt)
    };
    let books_held = count("book")?;
    if books_held > limits.max_books {
        return Err(StatisticsError::TooLarge(format!(
            "{books_held} books (at most {})",
            limits.max_books
        )));
    }
    let events_held = count("page_stat_data")?;
    if events_held > limits.max_events {
        return Err(StatisticsError::TooLarge(format!(
            "{events_held} page events (at most {})",
            limits.max_events
        )));
    }

    let mut out = Statistics::default();
    let mut by_id: HashMap<i64, usize> = HashMap::new();
    let mut by_md5: HashMap<String, usize> = HashMap::new();
    let mut books = conn
        .prepare("SELECT id, title, authors, md5, pages, last_open FROM book")
        .map_err(corrupt)?;
    let mut rows = books.query([]).map_err(corrupt)?;
    while let Some(row) = rows.next().map_err(corrupt)? {
        let id: Option<i64> = row.get(0).map_err(corrupt)?;
        let Some(md5) = md5(row.get(3).unwrap_or(None)) else {
            out.books_without_md5 += 1;
            continue;
        };
        let Some(id) = id else { continue };
        let book = Book {
            md5: md5.clone(),
            title: text(row.get(1).unwrap_or(None)),
            authors: text(row.get(2).unwrap_or(None)).replace('\n', ", "),
            pages: row
                .get::<_, Option<i64>>(4)
                .unwrap_or(None)
                .and_then(|p| i32::try_from(p).ok())
                .filter(|p| *p > 0),
            last_open: row
                .get::<_, Option<i64>>(5)
                .unwrap_or(None)
                .filter(|t| (EARLIEST..LATEST).contains(t)),
        };
        // One document, one book: a second row of the same file (another title) adds its
        // events to the first.
        let index = *by_md5.entry(md5).or_insert_with(|| {
            out.books.push(book);
            out.books.len() - 1
        });
        by_id.insert(id, index);
    }
    drop(rows);

    let mut events = conn
        .prepare("SELECT id_book, page, start_time, duration, total_pages FROM page_stat_data")
        .map_err(corrupt)?;
    let mut rows = events.query([]).map_err(corrupt)?;
    out.events.reserve(events_held.min(limits.max_events));
    while let Some(row) = rows.next().map_err(corrupt)? {
        let number = |i: usize| row.get::<_, Option<i64>>(i).unwrap_or(None);
        let (book, page, start, duration, total) =
            (number(0), number(1), number(2), number(3), number(4));
        let event = match (book.and_then(|b| by_id.get(&b)), start, duration) {
            (Some(&book), Some(start), Some(duration))
                if (EARLIEST..LATEST).contains(&start)
                    && (0..=MAX_DURATION).contains(&duration) =>
            {
                Event {
                    book,
                    page: page.and_then(|p| i32::try_from(p).ok()).unwrap_or(0),
                    start_time: start,
                    duration: duration as i32,
                    total_pages: total.and_then(|p| i32::try_from(p).ok()).unwrap_or(0),
                }
            }
            _ => {
                out.events_skipped += 1;
                continue;
            }
        };
        out.events.push(event);
        if out.events.len() > limits.max_events {
            return Err(StatisticsError::TooLarge("too many page events".into()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database made with the Statistics plugin's own CREATE statements.
    fn made(
        dir: &Path,
        books: &[(&str, &str, Option<&str>)],
        events: &[(i64, i64, i64, i64)],
    ) -> std::path::PathBuf {
        let path = dir.join("statistics.sqlite3");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(SCHEMA).unwrap();
        for (title, authors, md5) in books {
            c.execute(
                "INSERT INTO book (title, authors, notes, last_open, highlights, pages, series, language, md5, total_read_time, total_read_pages) VALUES (?1, ?2, 0, 1700000000, 0, 300, 'N/A', 'en', ?3, 0, 0)",
                rusqlite::params![title, authors, md5],
            )
            .unwrap();
        }
        for (book, page, start, duration) in events {
            c.execute(
                "INSERT INTO page_stat_data (id_book, page, start_time, duration, total_pages) VALUES (?1, ?2, ?3, ?4, 300)",
                rusqlite::params![book, page, start, duration],
            )
            .unwrap();
        }
        path
    }

    pub const SCHEMA: &str = "
        CREATE TABLE book (id integer PRIMARY KEY autoincrement, title text, authors text, notes integer, last_open integer, highlights integer, pages integer, series text, language text, md5 text, total_read_time integer, total_read_pages integer);
        CREATE UNIQUE INDEX book_title_authors_md5 ON book(title, authors, md5);
        CREATE TABLE page_stat_data (id_book integer, page integer NOT NULL DEFAULT 0, start_time integer NOT NULL DEFAULT 0, duration integer NOT NULL DEFAULT 0, total_pages integer NOT NULL DEFAULT 0, UNIQUE (id_book, page, start_time), FOREIGN KEY(id_book) REFERENCES book(id));
        PRAGMA user_version=20221111;";

    #[test]
    fn reads_books_and_their_page_events() {
        let dir = tempfile::tempdir().unwrap();
        let md5 = "AD4A15989655682CDA3695B7784EF3D0";
        let path = made(
            dir.path(),
            &[
                ("The Lighthouse", "Ann\nBob", Some(md5)),
                ("Loose", "X", None),
            ],
            &[
                (1, 1, 1_700_000_000, 30),
                (1, 2, 1_700_000_030, 45),
                (2, 1, 1_700_000_000, 10),
                (1, 3, 5, 10),
            ],
        );
        let s = read(&path, Limits::default()).unwrap();
        assert_eq!(s.books.len(), 1);
        assert_eq!(s.books[0].md5, md5.to_lowercase());
        assert_eq!(s.books[0].authors, "Ann, Bob");
        assert_eq!(s.books[0].pages, Some(300));
        assert_eq!(s.books_without_md5, 1);
        assert_eq!(s.events.len(), 2);
        assert_eq!(
            s.events[1],
            Event {
                book: 0,
                page: 2,
                start_time: 1_700_000_030,
                duration: 45,
                total_pages: 300
            }
        );
        assert_eq!(
            s.events_skipped, 2,
            "the md5-less book's, and the one from 1970"
        );
    }

    #[test]
    fn hostile_files_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text");
        std::fs::write(&text, b"hello, this is not a database at all").unwrap();
        assert_eq!(
            read(&text, Limits::default()),
            Err(StatisticsError::NotSqlite)
        );

        let other = dir.path().join("other.sqlite3");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        assert!(matches!(
            read(&other, Limits::default()),
            Err(StatisticsError::WrongSchema(_))
        ));

        let path = made(
            dir.path(),
            &[("T", "A", Some("ad4a15989655682cda3695b7784ef3d0"))],
            &[(1, 1, 1_700_000_000, 5), (1, 2, 1_700_000_100, 5)],
        );
        let small = Limits {
            max_books: 10,
            max_events: 1,
        };
        assert!(matches!(
            read(&path, small),
            Err(StatisticsError::TooLarge(_))
        ));

        // Damaged pages past the header: an error, not a panic and not half the rows.
        let mut bytes = std::fs::read(&path).unwrap();
        let len = bytes.len();
        for b in &mut bytes[100..len] {
            *b = 0xA5;
        }
        let damaged = dir.path().join("damaged.sqlite3");
        std::fs::write(&damaged, &bytes).unwrap();
        assert!(read(&damaged, Limits::default()).is_err());
    }
}
