//! A year in review (`/year/{year}`), the reader's own: the books they finished, covers in
//! order, the minutes and pages, the longest book, the fastest finish, the longest streak,
//! the busiest month, the top authors and genres, and a strip of the months. For this year
//! and any past year with reading; printable (the print stylesheet drops the navigation).

use actix_web::{web, HttpResponse};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use maud::{html, Markup};

use super::cards;
use crate::error::Error;
use crate::reading::shelves::{finished_between, Finished};
use crate::reading::stats::Stats;
use crate::web::charts::{self, Column, Frame};
use crate::web::error::WebError;
use crate::web::layout::{self, Nav};
use crate::web::session::Visitor;
use crate::{db, AppState};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The longest run of consecutive days with reading among `days` (sorted, distinct).
pub fn longest_run(days: &[NaiveDate]) -> u32 {
    let (mut best, mut run) = (0, 0);
    let mut previous: Option<NaiveDate> = None;
    for d in days {
        run = match previous {
            Some(p) if *d - p == Duration::days(1) => run + 1,
            _ => 1,
        };
        best = best.max(run);
        previous = Some(*d);
    }
    best
}

/// Minutes read in each month (index 0 = January) of the days given.
fn by_month(stats: &Stats) -> [f64; 12] {
    let mut months = [0.0; 12];
    for d in &stats.per_day {
        months[d.date.month0() as usize] += d.minutes;
    }
    months
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let reader = v.signed()?.key_id;
    let today = Utc::now().date_naive();
    let year: i32 = path
        .parse()
        .ok()
        .filter(|y| (1970..=today.year()).contains(y))
        .ok_or_else(|| Error::NotFound("no such year".into()))?;
    let from = NaiveDate::from_ymd_opt(year, 1, 1)
        .ok_or_else(|| Error::NotFound("no such year".into()))?;
    let to = NaiveDate::from_ymd_opt(year, 12, 31)
        .unwrap_or(from)
        .min(today);
    let cache = state.stats.clone();
    let (stats, finished) = db::run(&state.pool, move |conn| {
        let stats = cache.statistics(conn, reader, from, to, today)?;
        let start = Utc.from_utc_datetime(&from.and_hms_opt(0, 0, 0).unwrap_or_default());
        let end = Utc.from_utc_datetime(
            &(to + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        );
        Ok((stats, finished_between(conn, reader, start, end)?))
    })
    .await?;
    // This year always has its page; a past year only when there was reading.
    if year < today.year() && stats.per_day.is_empty() && finished.is_empty() {
        return Err(Error::NotFound(format!("no reading in {year}")).into());
    }
    Ok(layout::ok(layout::page(
        &v,
        &format!("{year} in review"),
        Nav::Stats,
        review(year, &stats, &finished),
    )))
}

fn review(year: i32, s: &Stats, finished: &[Finished]) -> Markup {
    let hours = s.totals.minutes / 60.0;
    let pages: f64 = s.per_day.iter().filter_map(|d| d.pages_read).sum();
    let days: Vec<NaiveDate> = s
        .per_day
        .iter()
        .filter(|d| d.minutes > 0.0)
        .map(|d| d.date)
        .collect();
    let streak = longest_run(&days);
    let months = by_month(s);
    let busiest = months
        .iter()
        .enumerate()
        .filter(|(_, m)| **m > 0.0)
        .max_by(|a, b| a.1.total_cmp(b.1));
    let longest = finished
        .iter()
        .filter(|f| f.book.page_count.is_some())
        .max_by_key(|f| f.book.page_count);
    let fastest = finished
        .iter()
        .filter_map(|f| {
            Some((
                f,
                (f.finished_at.date_naive() - f.started_at?.date_naive())
                    .num_days()
                    .max(0)
                    + 1,
            ))
        })
        .min_by_key(|(_, d)| *d);
    let strip: Vec<Column> = months
        .iter()
        .enumerate()
        .map(|(i, m)| Column {
            label: MONTHS[i].to_owned(),
            axis: MONTHS[i][..3].to_owned(),
            value: m.round(),
        })
        .collect();
    html! {
        div.review-year {
            p.no-print { a href="/stats" { "← Statistics" } }
            h1 { (year) " in review" }
            div.stats {
                div.stat { strong { (finished.len()) } "books finished" }
                div.stat { strong { (format!("{hours:.0}")) } "hours read" }
                div.stat { strong { (format!("{pages:.0}")) } "pages read" }
                div.stat { strong { (streak) } "days in a row at most" }
            }
            section.panel aria-labelledby="finished-h" {
                h2 #finished-h { "The books you finished" }
                @if finished.is_empty() {
                    p.muted { "No book finished in " (year) "." }
                } @else {
                    ol.covers.finished {
                        @for f in finished {
                            li.card {
                                a href={ "/books/" (f.book.id) } {
                                    (cards::thumbnail(&f.book))
                                    span.title { (cards::title(&f.book)) }
                                }
                                @if let Some(a) = &f.book.author { span.author { (a) } }
                                span.when { "Finished " (f.finished_at.format("%-d %B")) }
                            }
                        }
                    }
                }
            }
            section.panel aria-labelledby="highlights-h" {
                h2 #highlights-h { "Highlights" }
                dl.meta {
                    dt { "The longest book" }
                    dd { @match longest {
                        Some(f) => { (cards::title(&f.book)) " (" (f.book.page_count.unwrap_or(0)) " pages)" },
                        None => "–",
                    } }
                    dt { "The fastest finish" }
                    dd { @match fastest {
                        Some((f, d)) => { (cards::title(&f.book)) " (" (d) " " (if d == 1 { "day" } else { "days" }) ")" },
                        None => "–",
                    } }
                    dt { "The busiest month" }
                    dd { @match busiest {
                        Some((i, m)) => { (MONTHS[i]) " (" (charts::minutes_text(*m)) ")" },
                        None => "–",
                    } }
                    dt { "Top authors" }
                    dd { (names(&s.top_authors)) }
                    dt { "Top genres" }
                    dd { (names(&s.top_genres)) }
                }
            }
            section.panel aria-labelledby="months-h" {
                h2 #months-h { "Month by month" }
                (charts::columns(&Frame {
                    id: "months",
                    title: "Minutes read each month",
                    summary: format!("{} in {year}.", charts::minutes_text(s.totals.minutes)),
                }, &strip, None, "minutes"))
            }
        }
    }
}

fn names(shares: &[crate::reading::stats::Share]) -> String {
    if shares.is_empty() {
        return "–".to_owned();
    }
    shares
        .iter()
        .take(3)
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn the_longest_run_counts_consecutive_days() {
        assert_eq!(longest_run(&[]), 0);
        assert_eq!(longest_run(&[day(1)]), 1);
        assert_eq!(longest_run(&[day(1), day(2), day(4), day(5), day(6)]), 3);
        let across = [
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap(),
            day(1),
            day(2),
        ];
        assert_eq!(longest_run(&across), 3, "across the end of February");
    }
}
