//! Statistics as pictures: the reader's `GET /api/stats` for a range (this year by default,
//! the last 30 days, the last 12 months, a year, all time) drawn by `web::charts` — minutes
//! per day as a calendar and as columns with a 7-day average, books finished per month, the
//! days books took, the top authors, genres and languages, and for admins the library's
//! growth. Days are UTC days, as in the API.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use maud::{html, Markup};
use serde::Deserialize;

use super::goals::{panel as goals_panel, Typed};
use crate::error::Error;
use crate::reading::goals::{self, GoalProgress};
use crate::reading::stats::{MinutesFrom, Stats};
use crate::web::charts::{self, Column, Frame};
use crate::web::error::WebError;
use crate::web::form::Errors;
use crate::web::layout::{self, Nav};
use crate::web::listing;
use crate::web::session::Visitor;
use crate::{db, AppState};

/// Days the calendar and the daily columns cover at most (the end of a longer range).
const DAILY_DAYS: i64 = 366;

#[derive(Deserialize)]
pub struct Asked {
    range: Option<String>,
}

/// A range the page offers: its `range` value, its name, and its days.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub value: String,
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The range `value` names on `today` (None: not one); `first` is the reader's first day of
/// reading, where "all" begins.
pub fn range(value: &str, today: NaiveDate, first: Option<NaiveDate>) -> Option<Range> {
    let year_start = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1);
    let (name, from, to) = match value {
        "year" => (
            format!("This year ({})", today.year()),
            year_start(today.year())?,
            today,
        ),
        "30d" => (
            "The last 30 days".to_owned(),
            today - Duration::days(29),
            today,
        ),
        "12m" => (
            "The last 12 months".to_owned(),
            today - Duration::days(364),
            today,
        ),
        "all" => (
            "All time".to_owned(),
            first.unwrap_or(today).min(today),
            today,
        ),
        y if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => {
            let y: i32 = y.parse().ok()?;
            if y > today.year() || y < 1970 {
                return None;
            }
            let end = NaiveDate::from_ymd_opt(y, 12, 31)?.min(today);
            (y.to_string(), year_start(y)?, end)
        }
        _ => return None,
    };
    Some(Range {
        value: value.to_owned(),
        name,
        from,
        to,
    })
}

struct Shown {
    goals: Vec<GoalProgress>,
    stats: std::sync::Arc<Stats>,
    first: Option<NaiveDate>,
    growth: Option<std::sync::Arc<Vec<(String, i64)>>>,
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    asked: web::Query<Asked>,
) -> Result<HttpResponse, WebError> {
    let value = asked.range.as_deref().unwrap_or("year");
    render(
        &state,
        &v,
        value,
        &Typed::default(),
        &Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// The page for the range `value`, with the goals form as typed and its errors.
pub async fn render(
    state: &AppState,
    v: &Visitor,
    value: &str,
    typed: &Typed,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let today = Utc::now().date_naive();
    let value = value.to_owned();
    let reader = s.key_id;
    let cache = state.stats.clone();
    let first = db::run(&state.pool, move |conn| cache.first_report(conn, reader)).await?;
    let first = first.map(|t| t.date_naive());
    let r =
        range(&value, today, first).ok_or_else(|| Error::NotFound(format!("no range {value}")))?;
    let (from, to) = (r.from, r.to);
    let cache = state.stats.clone();
    let shown = db::run(&state.pool, move |conn| {
        Ok(Shown {
            goals: goals::with_progress(conn, &cache, reader, today)?,
            stats: cache.statistics(conn, reader, from, to, today)?,
            first,
            growth: None,
        })
    })
    .await?;
    let mut shown = shown;
    if s.is_admin {
        shown.growth = Some(listing::growth(state, from, to).await?);
    }
    // The charts are the same while the statistics are: drawn once (PreEscaped: our own
    // markup, escaped when it was drawn).
    let drawn = state
        .web
        .charts
        .get((reader, r.value.clone(), today), &shown.stats, || {
            let s = &shown.stats;
            html! {
                (calendar(&r, s))
                (daily(&r, s))
                (finished(&r, s))
                (took(s))
                (tops(s))
            }
        });
    let notice = match v.here.split_once("done=").map(|(_, d)| d) {
        Some("goal") => Some("Your goal is saved."),
        Some("goal-removed") => Some("The goal is removed."),
        _ => None,
    };
    Ok(layout::respond(
        status,
        layout::page(
            v,
            &format!("Statistics · {}", r.name),
            Nav::Stats,
            html! {
                @if let Some(n) = notice { p.notice role="status" { (n) } }
                (page(&r, &shown, today, goals_panel(v, &shown.goals, typed, errors), drawn))
            },
        ),
    ))
}

fn page(r: &Range, shown: &Shown, today: NaiveDate, goals: Markup, charts: Markup) -> Markup {
    let s = &shown.stats;
    let hours = s.totals.minutes / 60.0;
    let years: Vec<i32> = match shown.first {
        Some(f) => (f.year()..=today.year()).rev().collect(),
        None => vec![today.year()],
    };
    let options: Vec<(String, String)> = [
        ("year", "This year"),
        ("30d", "The last 30 days"),
        ("12m", "The last 12 months"),
        ("all", "All time"),
    ]
    .iter()
    .map(|(v, n)| (v.to_string(), n.to_string()))
    .chain(years.iter().map(|y| (y.to_string(), y.to_string())))
    .collect();
    html! {
        h1 { "Statistics" }
        form.toolbar method="get" action="/stats" {
            div.field {
                label for="f-range" { "Range" }
                select #f-range name="range" data-autosubmit {
                    @for (value, name) in &options {
                        option value=(value) selected[*value == r.value] { (name) }
                    }
                }
            }
            button type="submit" { "Show" }
        }
        p.muted {
            (r.name) ": " (r.from) " to " (r.to) ", days in UTC. "
            a href={ "/year/" (r.to.year()) } { (r.to.year()) " in review" }
        }
        div.stats {
            div.stat { strong { (format!("{hours:.1}")) } "hours read" }
            div.stat { strong { (s.totals.sessions) } "sittings" }
            div.stat { strong { (s.totals.books_finished) } "books finished" }
            div.stat { strong { (s.current_streak) } "days in a row now" }
            div.stat { strong { (s.longest_streak) } "days in a row at most" }
            div.stat {
                strong { @match s.days_to_finish.average { Some(a) => (format!("{a:.0}")), None => "–" } }
                "days to finish a book, on average"
            }
        }
        (goals)
        (charts)
        @if let Some(growth) = &shown.growth { (library_growth(r, growth)) }
    }
}

fn calendar(r: &Range, s: &Stats) -> Markup {
    let from = r.from.max(r.to - Duration::days(DAILY_DAYS - 1));
    let days: Vec<(NaiveDate, f64)> = s.per_day.iter().map(|d| (d.date, d.minutes)).collect();
    let read = days.iter().filter(|(d, m)| *d >= from && *m > 0.0).count();
    let best = days
        .iter()
        .filter(|(d, _)| *d >= from)
        .map(|(_, m)| *m)
        .fold(0.0, f64::max);
    let summary = format!(
        "{read} of {} days with reading from {from} to {}; the most in a day: {}.",
        (r.to - from).num_days() + 1,
        r.to,
        charts::minutes_text(best)
    );
    html! {
        section.panel aria-labelledby="calendar-h" {
            h2 #calendar-h { "Minutes read, day by day" }
            @if from > r.from { p.muted { "The calendar shows the last " (DAILY_DAYS) " days of the range." } }
            (charts::heatmap(&Frame { id: "calendar", title: "Minutes read each day", summary }, &days, from, r.to))
        }
    }
}

/// Where the minutes come from, said under the chart.
fn minutes_from(from: MinutesFrom) -> &'static str {
    match from {
        MinutesFrom::PageTurns => "Minutes are KOReader's own page turns (its statistics, synced over WebDAV).",
        MinutesFrom::Both => "Minutes are KOReader's own page turns where its statistics were synced over WebDAV, and estimated from progress sync (first to last report of each sitting) elsewhere.",
        MinutesFrom::SyncReports | MinutesFrom::None => "Minutes are estimated from progress sync: first to last report of each sitting. Sync KOReader's statistics over WebDAV for the real page turns (see Connect your devices).",
    }
}

fn daily(r: &Range, s: &Stats) -> Markup {
    let from = r.from.max(r.to - Duration::days(DAILY_DAYS - 1));
    let span = (r.to - from).num_days() + 1;
    // Short ranges name every Monday under the axis, longer ones the first of each month.
    let short = span <= 62;
    let values: Vec<Column> = (0..span)
        .map(|i| {
            let d = from + Duration::days(i);
            let value = s
                .per_day
                .iter()
                .find(|x| x.date == d)
                .map_or(0.0, |x| x.minutes);
            let named = if short {
                d.weekday() == chrono::Weekday::Mon
            } else {
                d.day() == 1
            };
            let axis = match (named, short) {
                (false, _) => String::new(),
                (true, true) => d.format("%b %-d").to_string(),
                (true, false) => d.format("%b").to_string(),
            };
            Column {
                label: d.to_string(),
                axis,
                value,
            }
        })
        .collect();
    let minutes: Vec<f64> = values.iter().map(|c| c.value).collect();
    let average = charts::moving_average(&minutes, 7);
    let total: f64 = minutes.iter().sum();
    let summary = format!(
        "{} in {span} days, {} a day on average; the line is the average of the 7 days up to each.",
        charts::minutes_text(total),
        charts::minutes_text(total / span as f64)
    );
    html! {
        section.panel aria-labelledby="daily-h" {
            h2 #daily-h { "Minutes a day" }
            (charts::columns(&Frame { id: "daily", title: "Minutes read a day, with a 7-day average", summary }, &values, Some(&average), "minutes"))
            p.muted.source { (minutes_from(s.minutes_from)) }
        }
    }
}

/// Every month of the range as "YYYY-MM", oldest first.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = vec![];
    let mut d = from.with_day(1).unwrap_or(from);
    while d <= to {
        out.push(d.format("%Y-%m").to_string());
        d = d
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(to + Duration::days(1));
    }
    out
}

/// A column a month ("YYYY-MM" with its count), the axis naming the months ("Jan ’26" at the
/// first and at each January), fewer of them when there are many.
fn month_columns(counts: Vec<(String, f64)>) -> Vec<Column> {
    let every = counts.len().div_ceil(13).max(1);
    counts
        .into_iter()
        .enumerate()
        .map(|(i, (month, value))| {
            let date = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok();
            let axis = match date {
                Some(d) if i % every == 0 && (i == 0 || d.month() == 1) => {
                    d.format("%b ’%y").to_string()
                }
                Some(d) if i % every == 0 => d.format("%b").to_string(),
                _ => String::new(),
            };
            Column {
                label: month,
                axis,
                value,
            }
        })
        .collect()
}

fn finished(r: &Range, s: &Stats) -> Markup {
    let values: Vec<(String, f64)> = months(r.from, r.to)
        .into_iter()
        .map(|m| {
            let n = s
                .finished_per_month
                .iter()
                .find(|x| x.month == m)
                .map_or(0, |x| x.books);
            (m, f64::from(n))
        })
        .collect();
    let busiest = values
        .iter()
        .filter(|(_, n)| *n > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let summary = match busiest {
        Some((m, n)) => format!(
            "{} books finished; the most in {m} ({n}).",
            s.totals.books_finished
        ),
        None => "No book finished in this range.".to_owned(),
    };
    html! {
        section.panel aria-labelledby="finished-h" {
            h2 #finished-h { "Books finished" }
            (charts::columns(&Frame { id: "finished", title: "Books finished each month", summary }, &month_columns(values), None, "books"))
        }
    }
}

fn took(s: &Stats) -> Markup {
    let values: Vec<Column> = s
        .days_to_finish
        .histogram
        .iter()
        .map(|b| Column {
            label: b.label.clone(),
            axis: b.label.clone(),
            value: f64::from(b.books),
        })
        .collect();
    let summary = match s.days_to_finish.average {
        Some(a) => format!(
            "From the first report (or the start you set) to the finish: {a:.0} days on average."
        ),
        None => "No book finished in this range.".to_owned(),
    };
    html! {
        section.panel aria-labelledby="took-h" {
            h2 #took-h { "Days to finish" }
            (charts::columns(&Frame { id: "took", title: "Books by the days they took", summary }, &values, None, "books"))
        }
    }
}

fn tops(s: &Stats) -> Markup {
    let lists = [
        ("authors", "Top authors", &s.top_authors),
        ("genres", "Top genres", &s.top_genres),
        ("languages", "Top languages", &s.top_languages),
    ];
    html! {
        section.panel aria-labelledby="tops-h" {
            h2 #tops-h { "What you read most" }
            p.muted { "By minutes read in the range." }
            div.columns.even {
                @for (id, title, list) in lists {
                    div {
                        h3 { (title) }
                        @if list.is_empty() {
                            p.muted { "Nothing yet." }
                        } @else {
                            @let values: Vec<(String, f64)> = list.iter().map(|x| (x.name.clone(), x.minutes.round())).collect();
                            @let summary = format!("First: {} ({}).", values[0].0, charts::minutes_text(values[0].1));
                            (charts::ranked(&Frame { id, title, summary }, &values, "minutes"))
                        }
                    }
                }
            }
        }
    }
}

fn library_growth(r: &Range, growth: &[(String, i64)]) -> Markup {
    let values: Vec<(String, f64)> = months(r.from, r.to)
        .into_iter()
        .map(|m| {
            let n = growth.iter().find(|(x, _)| *x == m).map_or(0, |(_, n)| *n);
            (m, n as f64)
        })
        .collect();
    let total: i64 = growth.iter().map(|(_, n)| n).sum();
    let summary =
        format!("{total} books added to the library in this range (those organized now).");
    html! {
        section.panel aria-labelledby="growth-h" {
            h2 #growth-h { "The library's growth" }
            (charts::columns(&Frame { id: "growth", title: "Books added each month", summary }, &month_columns(values), None, "books"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ranges_end_today_and_refuse_what_is_not_one() {
        let today = day(2026, 3, 10);
        let r = |v: &str| range(v, today, Some(day(2024, 5, 1))).map(|r| (r.from, r.to));
        assert_eq!(r("year"), Some((day(2026, 1, 1), today)));
        assert_eq!(r("30d"), Some((day(2026, 2, 9), today)));
        assert_eq!(r("12m"), Some((day(2025, 3, 11), today)));
        assert_eq!(r("all"), Some((day(2024, 5, 1), today)));
        assert_eq!(r("2025"), Some((day(2025, 1, 1), day(2025, 12, 31))));
        assert_eq!(r("2026"), Some((day(2026, 1, 1), today)));
        for bad in ["2027", "1969", "20x5", "", "decade", "１２３４"] {
            assert_eq!(r(bad), None, "{bad}");
        }
        assert_eq!(range("all", today, None).map(|r| r.from), Some(today));
    }

    #[test]
    fn months_cover_the_range() {
        assert_eq!(
            months(day(2025, 11, 20), day(2026, 2, 1)),
            vec!["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(months(day(2026, 3, 1), day(2026, 3, 1)), vec!["2026-03"]);
    }
}
