//! Reading statistics derived from one reader's progress reports.
//!
//! Pure computation: no database, no I/O. Dates are calendar days in UTC.
//!
//! Units: `percentage` is taken exactly as the client reported it (KOReader
//! sends a fraction in `0.0..=1.0`), and every `percent_read` in the output is
//! in that same unit. `pages_read` is therefore `percent_read × page_count`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

pub use super::page_events::PageEvent;

/// Two consecutive reports at most this many minutes apart belong to the same
/// session; a strictly larger gap starts a new one.
pub const SESSION_GAP_MINUTES: i64 = 20;

/// One progress report of the reader (any device).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub book: Option<String>,
    pub document: String,
    pub timestamp: DateTime<Utc>,
    pub percentage: f64,
    pub page_count: Option<i32>,
}

/// Number of books finished in one calendar month.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MonthCount {
    /// `YYYY-MM`.
    #[schema(example = "2026-11")]
    pub month: String,
    pub books: u32,
}

/// Where a session's minutes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// KoSync reports: the time from a session's first report to its last (an estimate).
    SyncReports,
    /// KOReader's Statistics plugin (statistics.sqlite3 over WebDAV): the seconds each page
    /// was on screen.
    PageTurns,
}

/// Where the range's minutes come from, on the whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MinutesFrom {
    None,
    SyncReports,
    PageTurns,
    /// Page turns where they were uploaded, sync reports elsewhere.
    Both,
}

/// A run of reports (or page turns) with no gap longer than [`SESSION_GAP_MINUTES`].
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Session {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Document of the session's first report (a session may span several).
    pub document: String,
    /// Book of the session's first report.
    pub book: Option<String>,
    /// Reports, or page turns (see `source`).
    pub reports: u32,
    pub minutes: f64,
    /// Forward progress only, summed per document, in the unit of `percentage` (page
    /// turns: the distinct pages over the document's pages).
    pub percent_read: f64,
    pub source: Source,
}

/// Reading on one UTC day (sessions are attributed to their start day).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Day {
    pub date: NaiveDate,
    pub minutes: f64,
    pub percent_read: f64,
    /// `None` when a document with forward progress that day had no page count.
    pub pages_read: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Totals {
    pub sessions: u32,
    pub minutes: f64,
    pub books_finished: u32,
}

/// How long finished books took, from the first report (or the start set by hand) to the
/// finish, for the books finished in the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DaysToFinish {
    /// Whole days (a book started and finished on one day took 1); None without a finish.
    pub average: Option<f64>,
    /// Books by how many days they took, in [`FINISH_BUCKETS`]; every bucket, empty ones too.
    pub histogram: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Bucket {
    /// "1 day", "2–3 days", … "over 90 days".
    pub label: String,
    pub books: u32,
}

/// Upper bounds (inclusive, in days) of the days-to-finish histogram; the last bucket is
/// everything longer.
pub const FINISH_BUCKETS: [i64; 6] = [1, 3, 7, 14, 30, 90];

/// Minutes read in the range under one name (an author, a genre, a language).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Share {
    pub name: String,
    pub minutes: f64,
}

/// What a book is, for the top lists: its authors, genres and language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookFacts {
    pub authors: Vec<String>,
    pub genres: Vec<String>,
    pub language: Option<String>,
}

/// Names shown in each top list.
pub const TOP: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Stats {
    pub minutes_from: MinutesFrom,
    pub finished_per_month: Vec<MonthCount>,
    pub sessions: Vec<Session>,
    pub per_day: Vec<Day>,
    pub current_streak: u32,
    pub longest_streak: u32,
    pub totals: Totals,
    pub days_to_finish: DaysToFinish,
    /// By minutes read in the range, the most first (at most [`TOP`] each); a session counts
    /// for its first report's book, a book of several authors or genres for each.
    pub top_authors: Vec<Share>,
    pub top_genres: Vec<Share>,
    pub top_languages: Vec<Share>,
}

/// The days-to-finish of the books finished in `from..=to`: each `(started, finished)`; a
/// book with no start counts as started the day it finished.
pub fn days_to_finish(
    finished: &[(Option<DateTime<Utc>>, DateTime<Utc>)],
    from: NaiveDate,
    to: NaiveDate,
) -> DaysToFinish {
    let days: Vec<i64> = finished
        .iter()
        .filter(|(_, f)| (from..=to).contains(&f.date_naive()))
        .map(|(s, f)| {
            let start = s.map_or(f.date_naive(), |s| s.date_naive());
            (f.date_naive() - start).num_days().max(0) + 1
        })
        .collect();
    let average = (!days.is_empty()).then(|| days.iter().sum::<i64>() as f64 / days.len() as f64);
    let mut histogram: Vec<Bucket> = Vec::new();
    let mut low = 1;
    for high in FINISH_BUCKETS {
        let label = match (low, high) {
            (1, 1) => "1 day".to_owned(),
            _ => format!("{low}–{high} days"),
        };
        let books = days.iter().filter(|d| (low..=high).contains(*d)).count() as u32;
        histogram.push(Bucket { label, books });
        low = high + 1;
    }
    histogram.push(Bucket {
        label: format!("over {} days", low - 1),
        books: days.iter().filter(|d| **d >= low).count() as u32,
    });
    DaysToFinish { average, histogram }
}

/// The top authors, genres and languages by the minutes of `sessions`.
pub fn shares(
    sessions: &[Session],
    facts: &HashMap<String, BookFacts>,
) -> (Vec<Share>, Vec<Share>, Vec<Share>) {
    let mut authors: HashMap<&str, f64> = HashMap::new();
    let mut genres: HashMap<&str, f64> = HashMap::new();
    let mut languages: HashMap<&str, f64> = HashMap::new();
    for s in sessions {
        let Some(f) = s.book.as_ref().and_then(|b| facts.get(b)) else {
            continue;
        };
        for a in &f.authors {
            *authors.entry(a).or_default() += s.minutes;
        }
        for g in &f.genres {
            *genres.entry(g).or_default() += s.minutes;
        }
        if let Some(l) = &f.language {
            *languages.entry(l).or_default() += s.minutes;
        }
    }
    let top = |m: HashMap<&str, f64>| -> Vec<Share> {
        let mut v: Vec<Share> = m
            .into_iter()
            .filter(|(_, minutes)| *minutes > 0.0)
            .map(|(name, minutes)| Share {
                name: name.to_owned(),
                minutes,
            })
            .collect();
        v.sort_by(|a, b| {
            b.minutes
                .total_cmp(&a.minutes)
                .then_with(|| a.name.cmp(&b.name))
        });
        v.truncate(TOP);
        v
    };
    (top(authors), top(genres), top(languages))
}

/// A session plus what `per_day` needs but the public type does not carry.
struct Built {
    session: Session,
    /// Pages read; `None` if some forward progress had no page count.
    pages: Option<f64>,
}

/// Builds sessions over all rows (sorted by timestamp; sorted again, stably,
/// in case they are not).
fn build_sessions(rows: &[Row]) -> Vec<Built> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| r.timestamp);

    let gap = Duration::minutes(SESSION_GAP_MINUTES);
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let first = sorted[i];
        let mut last = first;
        let mut reports = 1u32;
        let mut percent = 0.0;
        let mut pages = Some(0.0);
        // Previous report of each document within this session.
        let mut prev: HashMap<&str, &Row> = HashMap::new();
        prev.insert(first.document.as_str(), first);
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].timestamp - last.timestamp <= gap {
            let r = sorted[j];
            if let Some(p) = prev.insert(r.document.as_str(), r) {
                let delta = r.percentage - p.percentage;
                if delta > 0.0 {
                    percent += delta;
                    pages = match (pages, r.page_count.or(p.page_count)) {
                        (Some(acc), Some(pc)) => Some(acc + delta * f64::from(pc)),
                        _ => None,
                    };
                }
            }
            last = r;
            reports += 1;
            j += 1;
        }
        out.push(Built {
            session: Session {
                start: first.timestamp,
                end: last.timestamp,
                document: first.document.clone(),
                book: first.book.clone(),
                reports,
                minutes: minutes_between(first.timestamp, last.timestamp),
                percent_read: percent,
                source: Source::SyncReports,
            },
            pages,
        });
        i = j;
    }
    out
}

/// Sessions of page turns: a page starting at most [`SESSION_GAP_MINUTES`] after the last
/// one ended continues the session. Minutes are the seconds the pages were on screen.
fn page_sessions(events: &[PageEvent]) -> Vec<Built> {
    let mut sorted: Vec<&PageEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.start);
    let gap = Duration::minutes(SESSION_GAP_MINUTES);
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let first = sorted[i];
        let mut end = first.start + Duration::seconds(i64::from(first.seconds));
        let mut seconds = 0i64;
        let mut pages: HashMap<&str, (BTreeSet<i32>, i32)> = HashMap::new();
        let mut j = i;
        while j < sorted.len() && (j == i || sorted[j].start <= end + gap) {
            let e = sorted[j];
            seconds += i64::from(e.seconds);
            end = end.max(e.start + Duration::seconds(i64::from(e.seconds)));
            let seen = pages.entry(e.document.as_str()).or_default();
            seen.0.insert(e.page);
            seen.1 = seen.1.max(e.total_pages);
            j += 1;
        }
        let percent_read = pages
            .values()
            .filter(|(_, total)| *total > 0)
            .map(|(seen, total)| seen.len() as f64 / f64::from(*total))
            .sum();
        let page_count: usize = pages.values().map(|(seen, _)| seen.len()).sum();
        out.push(Built {
            session: Session {
                start: first.start,
                end,
                document: first.document.clone(),
                book: first.book.clone(),
                reports: (j - i) as u32,
                minutes: seconds as f64 / 60.0,
                percent_read,
                source: Source::PageTurns,
            },
            pages: Some(page_count as f64),
        });
        i = j;
    }
    out
}

/// Page-turn sessions, and the report sessions that overlap none of them (with the session
/// gap around each): where the Statistics plugin recorded the reading, its page turns count;
/// elsewhere, the KoSync reports' estimate does. By start time.
fn merged_sessions(rows: &[Row], events: &[PageEvent]) -> Vec<Built> {
    let pages = page_sessions(events);
    if pages.is_empty() {
        return build_sessions(rows);
    }
    let gap = Duration::minutes(SESSION_GAP_MINUTES);
    let covered: Vec<(DateTime<Utc>, DateTime<Utc>)> = pages
        .iter()
        .map(|b| (b.session.start - gap, b.session.end + gap))
        .collect();
    let overlaps = |s: &Session| {
        // The first covered span ending at or after the session's start.
        let k = covered.partition_point(|(_, end)| *end < s.start);
        covered.get(k).is_some_and(|(start, _)| *start <= s.end)
    };
    let mut out: Vec<Built> = build_sessions(rows)
        .into_iter()
        .filter(|b| !overlaps(&b.session))
        .chain(pages)
        .collect();
    out.sort_by_key(|b| b.session.start);
    out
}

fn minutes_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 60_000.0
}

/// Length of the run of consecutive days in `days` ending at `end`.
fn run_ending_at(days: &BTreeSet<NaiveDate>, end: NaiveDate) -> u32 {
    let mut n = 0;
    let mut d = end;
    while days.contains(&d) {
        n += 1;
        match d.pred_opt() {
            Some(p) => d = p,
            None => break,
        }
    }
    n
}

fn longest_run(days: &BTreeSet<NaiveDate>) -> u32 {
    let mut best = 0;
    let mut cur = 0;
    let mut prev: Option<NaiveDate> = None;
    for &d in days {
        cur = match prev.and_then(|p| p.succ_opt()) {
            Some(next) if next == d => cur + 1,
            _ => 1,
        };
        best = best.max(cur);
        prev = Some(d);
    }
    best
}

/// Computes the statistics. `rows` are one reader's progress reports,
/// `finished` the reader's books with their effective finished time,
/// `from..=to` the reported range (UTC days) and `today` the reader's today.
/// Streaks use the whole history in `rows`, not only the range.
pub fn compute(
    rows: &[Row],
    finished: &[(String, DateTime<Utc>)],
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Stats {
    compute_with_pages(rows, &PageTurns::default(), finished, from, to, today)
}

/// A reader's page turns for the statistics: those of the range (and a day either side), and
/// every day with any, for the streaks (a heavy reader has hundreds of thousands of them; only
/// the range's are loaded whole).
#[derive(Debug, Clone, Default)]
pub struct PageTurns {
    pub events: Vec<PageEvent>,
    pub days: BTreeSet<NaiveDate>,
}

impl PageTurns {
    /// All of `events`, their days with them.
    pub fn all(events: Vec<PageEvent>) -> PageTurns {
        let days = events.iter().map(|e| e.start.date_naive()).collect();
        PageTurns { events, days }
    }
}

/// [`compute`], with KOReader's page turns where the reader uploaded them: their sessions
/// replace the reports' estimate wherever they overlap (see [`MinutesFrom`]), and their days
/// count for the streaks.
pub fn compute_with_pages(
    rows: &[Row],
    turns: &PageTurns,
    finished: &[(String, DateTime<Utc>)],
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Stats {
    let in_range = |d: NaiveDate| from <= d && d <= to;

    let mut months: BTreeMap<String, u32> = BTreeMap::new();
    let mut books_finished = 0u32;
    for (_, at) in finished {
        let d = at.date_naive();
        if in_range(d) {
            *months.entry(d.format("%Y-%m").to_string()).or_default() += 1;
            books_finished += 1;
        }
    }
    let finished_per_month = months
        .into_iter()
        .map(|(month, books)| MonthCount { month, books })
        .collect();

    let built = merged_sessions(rows, &turns.events);

    let mut reading_days: BTreeSet<NaiveDate> =
        built.iter().map(|b| b.session.start.date_naive()).collect();
    reading_days.extend(turns.days.iter().copied());
    let current_streak = match today.pred_opt() {
        _ if reading_days.contains(&today) => run_ending_at(&reading_days, today),
        Some(yesterday) => run_ending_at(&reading_days, yesterday),
        None => 0,
    };
    let longest_streak = longest_run(&reading_days);

    let mut days: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    let mut sessions = Vec::new();
    let mut total_minutes = 0.0;
    for b in built {
        let date = b.session.start.date_naive();
        if !in_range(date) {
            continue;
        }
        let day = days.entry(date).or_insert(Day {
            date,
            minutes: 0.0,
            percent_read: 0.0,
            pages_read: Some(0.0),
        });
        day.minutes += b.session.minutes;
        day.percent_read += b.session.percent_read;
        day.pages_read = match (day.pages_read, b.pages) {
            (Some(a), Some(p)) => Some(a + p),
            _ => None,
        };
        total_minutes += b.session.minutes;
        sessions.push(b.session);
    }

    let has = |source| sessions.iter().any(|s: &Session| s.source == source);
    let minutes_from = match (has(Source::PageTurns), has(Source::SyncReports)) {
        (true, true) => MinutesFrom::Both,
        (true, false) => MinutesFrom::PageTurns,
        (false, true) => MinutesFrom::SyncReports,
        (false, false) => MinutesFrom::None,
    };
    Stats {
        minutes_from,
        finished_per_month,
        totals: Totals {
            sessions: sessions.len() as u32,
            minutes: total_minutes,
            books_finished,
        },
        sessions,
        per_day: days.into_values().collect(),
        current_streak,
        longest_streak,
        days_to_finish: days_to_finish(&[], from, to),
        top_authors: vec![],
        top_genres: vec![],
        top_languages: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn row(doc: &str, ts: DateTime<Utc>, pct: f64, pages: Option<i32>) -> Row {
        Row {
            book: Some(format!("book-{doc}")),
            document: doc.to_string(),
            timestamp: ts,
            percentage: pct,
            page_count: pages,
        }
    }

    fn all(rows: &[Row], today: NaiveDate) -> Stats {
        compute(rows, &[], day(2000, 1, 1), day(2100, 1, 1), today)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn empty_input() {
        let s = compute(
            &[],
            &[],
            day(2026, 1, 1),
            day(2026, 12, 31),
            day(2026, 6, 1),
        );
        assert!(s.finished_per_month.is_empty());
        assert!(s.sessions.is_empty());
        assert!(s.per_day.is_empty());
        assert_eq!(s.current_streak, 0);
        assert_eq!(s.longest_streak, 0);
        assert_eq!(
            s.totals,
            Totals {
                sessions: 0,
                minutes: 0.0,
                books_finished: 0
            }
        );
    }

    #[test]
    fn days_to_finish_count_whole_days_into_buckets() {
        let (from, to) = (day(2026, 1, 1), day(2026, 12, 31));
        let finished = [
            (Some(at(2026, 3, 1, 22, 0, 0)), at(2026, 3, 1, 23, 0, 0)), // 1 day
            (Some(at(2026, 3, 1, 23, 0, 0)), at(2026, 3, 2, 1, 0, 0)),  // 2 days
            (None, at(2026, 4, 1, 12, 0, 0)),                           // 1 day
            (Some(at(2025, 1, 1, 0, 0, 0)), at(2026, 5, 1, 0, 0, 0)),   // 486 days
            (Some(at(2025, 1, 1, 0, 0, 0)), at(2025, 12, 31, 0, 0, 0)), // outside the range
        ];
        let d = days_to_finish(&finished, from, to);
        assert!(close(d.average.unwrap(), (1.0 + 2.0 + 1.0 + 486.0) / 4.0));
        let books: Vec<(&str, u32)> = d
            .histogram
            .iter()
            .map(|b| (b.label.as_str(), b.books))
            .collect();
        assert_eq!(
            books,
            vec![
                ("1 day", 2),
                ("2–3 days", 1),
                ("4–7 days", 0),
                ("8–14 days", 0),
                ("15–30 days", 0),
                ("31–90 days", 0),
                ("over 90 days", 1)
            ]
        );
        assert_eq!(days_to_finish(&[], from, to).average, None);
    }

    #[test]
    fn shares_rank_names_by_minutes_and_count_each_author() {
        let session = |book: &str, minutes: f64| Session {
            start: at(2026, 3, 1, 10, 0, 0),
            end: at(2026, 3, 1, 10, 0, 0),
            document: book.into(),
            book: Some(book.into()),
            reports: 2,
            minutes,
            percent_read: 0.0,
            source: Source::SyncReports,
        };
        let facts = HashMap::from([
            (
                "a".to_owned(),
                BookFacts {
                    authors: vec!["Ann".into(), "Bo".into()],
                    genres: vec!["Sea".into()],
                    language: Some("en".into()),
                },
            ),
            (
                "b".to_owned(),
                BookFacts {
                    authors: vec!["Bo".into()],
                    genres: vec![],
                    language: Some("fr".into()),
                },
            ),
        ]);
        let sessions = [
            session("a", 10.0),
            session("b", 5.0),
            session("gone", 99.0),
            session("b", 0.0),
        ];
        let (authors, genres, languages) = shares(&sessions, &facts);
        let names = |v: &[Share]| {
            v.iter()
                .map(|s| (s.name.clone(), s.minutes))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&authors),
            vec![("Bo".into(), 15.0), ("Ann".into(), 10.0)]
        );
        assert_eq!(names(&genres), vec![("Sea".into(), 10.0)]);
        assert_eq!(
            names(&languages),
            vec![("en".into(), 10.0), ("fr".into(), 5.0)]
        );
    }

    fn page(document: &str, at: DateTime<Utc>, seconds: i32, page: i32) -> PageEvent {
        PageEvent {
            document: document.into(),
            book: Some(format!("book-{document}")),
            start: at,
            seconds,
            page,
            total_pages: 100,
        }
    }

    #[test]
    fn page_turns_replace_the_reports_estimate_where_they_overlap() {
        let t0 = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let report = |minutes: i64, pct: f64| Row {
            book: Some("book-a".into()),
            document: "a".into(),
            timestamp: t0 + Duration::minutes(minutes),
            percentage: pct,
            page_count: Some(100),
        };
        // Reports 10:00–10:15 (a 15-minute estimate), and a sitting two days later.
        let rows = vec![
            report(0, 0.1),
            report(15, 0.2),
            report(2 * 1440, 0.3),
            report(2 * 1440 + 5, 0.35),
        ];
        // Page turns 10:02–10:12, ten pages of 50 s, one page seen twice.
        let mut events: Vec<PageEvent> = (0..10)
            .map(|i| {
                page(
                    "a",
                    t0 + Duration::minutes(2) + Duration::seconds(60 * i),
                    50,
                    10 + i as i32,
                )
            })
            .collect();
        events.push(page("a", t0 + Duration::minutes(13), 30, 19));
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let s = compute_with_pages(
            &rows,
            &PageTurns::all(events),
            &[],
            day(1),
            day(31),
            day(31),
        );
        assert_eq!(s.minutes_from, MinutesFrom::Both);
        assert_eq!(s.sessions.len(), 2);
        let turns = &s.sessions[0];
        assert_eq!(turns.source, Source::PageTurns);
        assert_eq!(turns.reports, 11);
        assert!((turns.minutes - (500.0 + 30.0) / 60.0).abs() < 1e-9);
        assert!(
            (turns.percent_read - 0.10).abs() < 1e-9,
            "10 distinct pages of 100"
        );
        assert_eq!(s.per_day[0].pages_read, Some(10.0));
        assert_eq!(s.sessions[1].source, Source::SyncReports);
        assert!((s.sessions[1].minutes - 5.0).abs() < 1e-9);

        let only_reports = compute(&rows, &[], day(1), day(31), day(31));
        assert_eq!(only_reports.minutes_from, MinutesFrom::SyncReports);
        let nothing = compute(&[], &[], day(1), day(31), day(31));
        assert_eq!(nothing.minutes_from, MinutesFrom::None);
    }

    #[test]
    fn page_turns_further_apart_than_the_gap_are_two_sessions() {
        let t0 = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let events = vec![
            page("a", t0, 120, 1),
            // Starts 20 minutes after the first page ended: the same sitting.
            page("a", t0 + Duration::minutes(22), 60, 2),
            // 20 minutes and a second after that one ended: a new sitting.
            page(
                "a",
                t0 + Duration::minutes(43) + Duration::seconds(1),
                60,
                3,
            ),
        ];
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let s = compute_with_pages(&[], &PageTurns::all(events), &[], day(1), day(31), day(31));
        assert_eq!(s.minutes_from, MinutesFrom::PageTurns);
        assert_eq!(s.sessions.len(), 2);
        assert_eq!(s.sessions[0].reports, 2);
        assert!((s.totals.minutes - 4.0).abs() < 1e-9);
    }

    #[test]
    fn gap_of_exactly_twenty_minutes_stays_in_session() {
        let rows = [
            row("a", at(2026, 3, 1, 10, 0, 0), 0.1, None),
            row("a", at(2026, 3, 1, 10, 20, 0), 0.2, None),
        ];
        let s = all(&rows, day(2026, 3, 1));
        assert_eq!(s.sessions.len(), 1);
        assert_eq!(s.sessions[0].reports, 2);
        assert!(close(s.sessions[0].minutes, 20.0));
        assert!(close(s.sessions[0].percent_read, 0.1));
    }

    #[test]
    fn gap_of_twenty_minutes_and_one_second_splits() {
        let rows = [
            row("a", at(2026, 3, 1, 10, 0, 0), 0.1, None),
            row("a", at(2026, 3, 1, 10, 20, 1), 0.2, None),
        ];
        let s = all(&rows, day(2026, 3, 1));
        assert_eq!(s.sessions.len(), 2);
        for sess in &s.sessions {
            assert_eq!(sess.reports, 1);
            assert_eq!(sess.minutes, 0.0);
            assert_eq!(sess.percent_read, 0.0);
        }
        assert_eq!(s.totals.sessions, 2);
        // Both on the same day.
        assert_eq!(s.per_day.len(), 1);
        assert_eq!(s.current_streak, 1);
    }

    #[test]
    fn backwards_progress_not_counted() {
        let rows = [
            row("a", at(2026, 3, 1, 10, 0, 0), 0.50, None),
            row("a", at(2026, 3, 1, 10, 5, 0), 0.30, None), // jumped back
            row("a", at(2026, 3, 1, 10, 10, 0), 0.35, None),
            row("a", at(2026, 3, 1, 10, 15, 0), 0.40, None),
        ];
        let s = all(&rows, day(2026, 3, 1));
        assert_eq!(s.sessions.len(), 1);
        assert!(close(s.sessions[0].percent_read, 0.10));
        assert!(close(s.sessions[0].minutes, 15.0));
    }

    #[test]
    fn two_documents_interleaved() {
        let rows = [
            row("a", at(2026, 3, 1, 10, 0, 0), 0.10, Some(100)),
            row("b", at(2026, 3, 1, 10, 5, 0), 0.50, Some(400)),
            row("a", at(2026, 3, 1, 10, 10, 0), 0.20, Some(100)),
            row("b", at(2026, 3, 1, 10, 15, 0), 0.55, Some(400)),
        ];
        let s = all(&rows, day(2026, 3, 1));
        assert_eq!(s.sessions.len(), 1);
        let sess = &s.sessions[0];
        assert_eq!(sess.document, "a");
        assert_eq!(sess.book.as_deref(), Some("book-a"));
        assert_eq!(sess.reports, 4);
        // a: +0.10, b: +0.05; the cross-document jumps (0.10 -> 0.50 etc.)
        // are not progress.
        assert!(close(sess.percent_read, 0.15));
        let d = &s.per_day[0];
        // 0.10 * 100 + 0.05 * 400
        assert!(close(d.pages_read.unwrap(), 30.0));
    }

    #[test]
    fn session_spanning_documents_takes_first_document() {
        let rows = [
            row("a", at(2026, 3, 1, 10, 0, 0), 0.9, None),
            row("b", at(2026, 3, 1, 10, 10, 0), 0.1, None),
            row("b", at(2026, 3, 1, 10, 20, 0), 0.2, None),
        ];
        let s = all(&rows, day(2026, 3, 1));
        assert_eq!(s.sessions.len(), 1);
        assert_eq!(s.sessions[0].document, "a");
        assert!(close(s.sessions[0].percent_read, 0.1));
    }

    #[test]
    fn unsorted_rows_are_sorted() {
        let rows = [
            row("a", at(2026, 3, 1, 10, 10, 0), 0.2, None),
            row("a", at(2026, 3, 1, 10, 0, 0), 0.1, None),
        ];
        let s = all(&rows, day(2026, 3, 1));
        assert_eq!(s.sessions.len(), 1);
        assert_eq!(s.sessions[0].start, at(2026, 3, 1, 10, 0, 0));
        assert!(close(s.sessions[0].percent_read, 0.1));
    }

    fn one_per_day(days: &[NaiveDate]) -> Vec<Row> {
        days.iter()
            .map(|d| row("a", d.and_hms_opt(12, 0, 0).unwrap().and_utc(), 0.0, None))
            .collect()
    }

    #[test]
    fn streak_ending_today() {
        let rows = one_per_day(&[day(2026, 3, 8), day(2026, 3, 9), day(2026, 3, 10)]);
        assert_eq!(all(&rows, day(2026, 3, 10)).current_streak, 3);
    }

    #[test]
    fn streak_ending_yesterday_still_counts() {
        let rows = one_per_day(&[day(2026, 3, 8), day(2026, 3, 9)]);
        assert_eq!(all(&rows, day(2026, 3, 10)).current_streak, 2);
    }

    #[test]
    fn streak_broken() {
        let rows = one_per_day(&[day(2026, 3, 7), day(2026, 3, 8)]);
        let s = all(&rows, day(2026, 3, 10));
        assert_eq!(s.current_streak, 0);
        assert_eq!(s.longest_streak, 2);
    }

    #[test]
    fn streak_across_month_boundary() {
        let rows = one_per_day(&[day(2026, 2, 27), day(2026, 2, 28), day(2026, 3, 1)]);
        assert_eq!(all(&rows, day(2026, 3, 1)).current_streak, 3);
    }

    #[test]
    fn longest_streak_over_whole_history() {
        let rows = one_per_day(&[
            day(2025, 12, 30),
            day(2025, 12, 31),
            day(2026, 1, 1),
            day(2026, 1, 2),
            day(2026, 1, 10),
            day(2026, 1, 11),
        ]);
        // Range covers none of it: streaks still use everything.
        let s = compute(
            &rows,
            &[],
            day(2026, 6, 1),
            day(2026, 6, 30),
            day(2026, 1, 11),
        );
        assert_eq!(s.longest_streak, 4);
        assert_eq!(s.current_streak, 2);
        assert!(s.sessions.is_empty());
        assert!(s.per_day.is_empty());
    }

    #[test]
    fn month_bucketing_at_boundaries() {
        let finished = vec![
            ("b1".to_string(), at(2026, 1, 31, 23, 59, 59)),
            ("b2".to_string(), at(2026, 2, 1, 0, 0, 0)),
            ("b3".to_string(), at(2026, 2, 28, 12, 0, 0)),
            ("b4".to_string(), at(2026, 4, 1, 0, 0, 0)),
            ("b5".to_string(), at(2025, 12, 31, 23, 59, 59)), // before range
            ("b6".to_string(), at(2026, 4, 2, 0, 0, 0)),      // after range
        ];
        let s = compute(
            &[],
            &finished,
            day(2026, 1, 1),
            day(2026, 4, 1),
            day(2026, 4, 1),
        );
        assert_eq!(
            s.finished_per_month,
            vec![
                MonthCount {
                    month: "2026-01".into(),
                    books: 1
                },
                MonthCount {
                    month: "2026-02".into(),
                    books: 2
                },
                MonthCount {
                    month: "2026-04".into(),
                    books: 1
                },
            ]
        );
        assert_eq!(s.totals.books_finished, 4);
    }

    #[test]
    fn range_filtering_by_start_day() {
        let rows = [
            row("a", at(2026, 2, 28, 23, 0, 0), 0.1, None), // day before range
            // Starts in range on its last day, runs past midnight: kept whole.
            row("a", at(2026, 3, 31, 23, 50, 0), 0.2, None),
            row("a", at(2026, 4, 1, 0, 5, 0), 0.3, None),
            row("a", at(2026, 4, 1, 9, 0, 0), 0.4, None), // day after range
            row("a", at(2026, 3, 1, 0, 0, 0), 0.0, None),
        ];
        let s = compute(
            &rows,
            &[],
            day(2026, 3, 1),
            day(2026, 3, 31),
            day(2026, 4, 1),
        );
        assert_eq!(s.sessions.len(), 2);
        assert_eq!(s.sessions[0].start, at(2026, 3, 1, 0, 0, 0));
        assert_eq!(s.sessions[1].start, at(2026, 3, 31, 23, 50, 0));
        assert!(close(s.sessions[1].minutes, 15.0));
        assert_eq!(
            s.per_day.iter().map(|d| d.date).collect::<Vec<_>>(),
            vec![day(2026, 3, 1), day(2026, 3, 31)]
        );
        assert!(close(s.per_day[1].minutes, 15.0));
        assert_eq!(s.totals.sessions, 2);
        assert!(close(s.totals.minutes, 15.0));
    }

    #[test]
    fn per_day_sums_sessions() {
        let rows = [
            row("a", at(2026, 3, 1, 8, 0, 0), 0.10, Some(200)),
            row("a", at(2026, 3, 1, 8, 10, 0), 0.15, Some(200)),
            row("a", at(2026, 3, 1, 20, 0, 0), 0.15, Some(200)),
            row("a", at(2026, 3, 1, 20, 30, 0), 0.30, Some(200)), // > 20 min: own session
        ];
        let s = all(&rows, day(2026, 3, 1));
        assert_eq!(s.sessions.len(), 3);
        assert_eq!(s.per_day.len(), 1);
        let d = &s.per_day[0];
        assert!(close(d.minutes, 10.0));
        assert!(close(d.percent_read, 0.05));
        assert!(close(d.pages_read.unwrap(), 10.0));
    }

    #[test]
    fn pages_read_none_without_page_count() {
        let rows = [
            row("a", at(2026, 3, 1, 8, 0, 0), 0.10, Some(100)),
            row("a", at(2026, 3, 1, 8, 10, 0), 0.20, Some(100)),
            row("b", at(2026, 3, 1, 9, 0, 0), 0.10, None),
            row("b", at(2026, 3, 1, 9, 10, 0), 0.20, None),
            row("b", at(2026, 3, 2, 9, 0, 0), 0.30, None),
        ];
        let s = all(&rows, day(2026, 3, 2));
        assert_eq!(s.per_day.len(), 2);
        assert!(close(s.per_day[0].percent_read, 0.2));
        assert_eq!(s.per_day[0].pages_read, None);
        // Day 2: a lone report, no progress: zero pages, known.
        assert_eq!(s.per_day[1].pages_read, Some(0.0));
    }

    #[test]
    fn pages_read_with_page_count() {
        let rows = [
            row("a", at(2026, 3, 1, 8, 0, 0), 0.25, Some(400)),
            row("a", at(2026, 3, 1, 8, 15, 0), 0.50, Some(400)),
        ];
        let s = all(&rows, day(2026, 3, 1));
        assert!(close(s.per_day[0].pages_read.unwrap(), 100.0));
    }

    fn property_names<T: utoipa::PartialSchema>() -> Vec<String> {
        use utoipa::openapi::{RefOr, Schema};
        match T::schema() {
            RefOr::T(Schema::Object(o)) => o.properties.keys().cloned().collect(),
            _ => panic!("expected an object schema"),
        }
    }

    #[test]
    fn output_types_are_serialize_and_have_schemas() {
        fn is_serialize<T: Serialize>() {}
        is_serialize::<Stats>();
        let stats = property_names::<Stats>();
        for field in [
            "finished_per_month",
            "sessions",
            "per_day",
            "current_streak",
            "longest_streak",
            "totals",
        ] {
            assert!(stats.iter().any(|f| f == field), "{field} missing");
        }
        for (props, field) in [
            (property_names::<Day>(), "pages_read"),
            (property_names::<Session>(), "percent_read"),
            (property_names::<MonthCount>(), "month"),
            (property_names::<Totals>(), "books_finished"),
        ] {
            assert!(props.iter().any(|f| f == field), "{field} missing");
        }
    }
}
