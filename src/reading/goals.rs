//! Reading goals: books a year, books a month, minutes a day (at most one of each per
//! reader, `reading_goals`). Only the target is stored; how far a reader is comes from the
//! reading state and the sessions of the statistics each time ([`progress`], pure), so it is
//! never kept twice. Periods are UTC calendar days, months and years, as the statistics'.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::stats::Stats;
use super::stats_cache::StatsCache;
use crate::db::schema::reading_goals as rg;
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoalKind {
    BooksPerYear,
    BooksPerMonth,
    MinutesPerDay,
}

pub const KINDS: [GoalKind; 3] = [
    GoalKind::BooksPerYear,
    GoalKind::BooksPerMonth,
    GoalKind::MinutesPerDay,
];

impl GoalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GoalKind::BooksPerYear => "books_per_year",
            GoalKind::BooksPerMonth => "books_per_month",
            GoalKind::MinutesPerDay => "minutes_per_day",
        }
    }

    pub fn parse(s: &str) -> Option<GoalKind> {
        KINDS.into_iter().find(|k| k.as_str() == s)
    }

    /// The largest target a person could mean: a book a day, every minute of a day.
    pub fn most(self) -> i32 {
        match self {
            GoalKind::BooksPerYear => 366,
            GoalKind::BooksPerMonth => 31,
            GoalKind::MinutesPerDay => 1440,
        }
    }

    /// What a target counts: "books" or "minutes".
    pub fn unit(self) -> &'static str {
        match self {
            GoalKind::MinutesPerDay => "minutes",
            _ => "books",
        }
    }
}

/// A goal as stored.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Goal {
    pub kind: GoalKind,
    pub target: i32,
    pub updated_at: DateTime<Utc>,
}

/// How far a reader is towards a goal in its current period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GoalProgress {
    pub kind: GoalKind,
    pub target: i32,
    /// The period it is about: "2026", "2026-12" or "2026-12-06".
    pub period: String,
    /// Books finished or minutes read in the period so far.
    pub done: f64,
    /// Where an even pace would be by the end of today (the whole target for minutes a day).
    pub expected: f64,
    /// `done - expected`: ahead of the pace when positive, behind when negative.
    pub ahead: f64,
    pub met: bool,
}

/// Checks a target for `kind`: a whole number from 1 to [`GoalKind::most`].
pub fn check_target(kind: GoalKind, target: i64) -> Result<i32, Error> {
    if !(1..=i64::from(kind.most())).contains(&target) {
        return Err(Error::invalid(
            "target",
            format!("must be a whole number from 1 to {}", kind.most()),
        ));
    }
    Ok(target as i32)
}

/// The progress of `goal` on `today`, from the statistics of the year so far (`year`: from
/// 1 January to `today`).
pub fn progress(kind: GoalKind, target: i32, year: &Stats, today: NaiveDate) -> GoalProgress {
    let target_f = f64::from(target);
    let finished_in = |prefix: &str| -> f64 {
        year.finished_per_month
            .iter()
            .filter(|m| m.month.starts_with(prefix))
            .map(|m| f64::from(m.books))
            .sum()
    };
    let (period, done, share) = match kind {
        GoalKind::BooksPerYear => {
            let days = if today.leap_year() { 366.0 } else { 365.0 };
            let year_s = today.format("%Y").to_string();
            let done = finished_in(&year_s);
            (year_s, done, f64::from(today.ordinal()) / days)
        }
        GoalKind::BooksPerMonth => {
            let month = today.format("%Y-%m").to_string();
            let done = finished_in(&month);
            (
                month,
                done,
                f64::from(today.day()) / days_in_month(today) as f64,
            )
        }
        GoalKind::MinutesPerDay => {
            let done = year
                .per_day
                .iter()
                .find(|d| d.date == today)
                .map_or(0.0, |d| d.minutes);
            (today.to_string(), done, 1.0)
        }
    };
    let expected = target_f * share;
    GoalProgress {
        kind,
        target,
        period,
        done,
        expected,
        ahead: done - expected,
        met: done >= target_f,
    }
}

fn days_in_month(d: NaiveDate) -> u32 {
    let first = d.with_day(1).unwrap_or(d);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    (next - first).num_days().max(1) as u32
}

/// The reader's goals, in the order of [`KINDS`].
pub fn list(conn: &mut PgConnection, reader: Uuid) -> Result<Vec<Goal>, Error> {
    let rows: Vec<(String, i32, DateTime<Utc>)> = rg::table
        .filter(rg::api_key_id.eq(reader))
        .select((rg::kind, rg::target, rg::updated_at))
        .load(conn)?;
    let mut goals: Vec<Goal> = rows
        .into_iter()
        .filter_map(|(kind, target, updated_at)| {
            Some(Goal {
                kind: GoalKind::parse(&kind)?,
                target,
                updated_at,
            })
        })
        .collect();
    goals.sort_by_key(|g| KINDS.iter().position(|k| *k == g.kind));
    Ok(goals)
}

/// Sets (or changes) the reader's goal of `kind`; the target is checked first.
pub fn set(
    conn: &mut PgConnection,
    reader: Uuid,
    kind: GoalKind,
    target: i64,
) -> Result<Goal, Error> {
    let target = check_target(kind, target)?;
    let updated_at: DateTime<Utc> = diesel::insert_into(rg::table)
        .values((
            rg::api_key_id.eq(reader),
            rg::kind.eq(kind.as_str()),
            rg::target.eq(target),
        ))
        .on_conflict((rg::api_key_id, rg::kind))
        .do_update()
        .set((rg::target.eq(target), rg::updated_at.eq(diesel::dsl::now)))
        .returning(rg::updated_at)
        .get_result(conn)?;
    Ok(Goal {
        kind,
        target,
        updated_at,
    })
}

/// Removes the reader's goal of `kind`; Ok(false) when they had none.
pub fn remove(conn: &mut PgConnection, reader: Uuid, kind: GoalKind) -> Result<bool, Error> {
    let n =
        diesel::delete(rg::table.filter(rg::api_key_id.eq(reader).and(rg::kind.eq(kind.as_str()))))
            .execute(conn)?;
    Ok(n > 0)
}

/// The reader's goals with their progress on `today` (one statistics pass over the year so
/// far when they have any).
pub fn with_progress(
    conn: &mut PgConnection,
    stats: &StatsCache,
    reader: Uuid,
    today: NaiveDate,
) -> Result<Vec<GoalProgress>, Error> {
    let goals = list(conn, reader)?;
    if goals.is_empty() {
        return Ok(vec![]);
    }
    let january = today.with_ordinal(1).unwrap_or(today);
    let year = stats.statistics(conn, reader, january, today, today)?;
    Ok(goals
        .iter()
        .map(|g| progress(g.kind, g.target, &year, today))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::stats::{compute, Row};
    use chrono::TimeZone;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    /// The statistics of `today`'s year from books finished at `finished` and reports `rows`.
    fn year(finished: &[DateTime<Utc>], rows: &[Row], today: NaiveDate) -> Stats {
        let finished: Vec<(String, DateTime<Utc>)> = finished
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("book-{i}"), *t))
            .collect();
        compute(
            rows,
            &finished,
            today.with_ordinal(1).unwrap(),
            today,
            today,
        )
    }

    #[test]
    fn books_a_year_count_this_year_only_against_an_even_pace() {
        let today = day(2026, 7, 2); // day 183 of 365
        let stats = year(
            &[at(2025, 12, 31, 23), at(2026, 1, 1, 0), at(2026, 7, 2, 12)],
            &[],
            today,
        );
        let p = progress(GoalKind::BooksPerYear, 24, &stats, today);
        assert_eq!((p.period.as_str(), p.done), ("2026", 2.0));
        assert!((p.expected - 24.0 * 183.0 / 365.0).abs() < 1e-9);
        assert!(p.ahead < -9.0 && !p.met);
    }

    #[test]
    fn books_a_month_reset_on_the_first() {
        let finished = [at(2026, 2, 28, 23), at(2026, 3, 1, 0)];
        let march_first = progress(
            GoalKind::BooksPerMonth,
            2,
            &year(&finished, &[], day(2026, 3, 1)),
            day(2026, 3, 1),
        );
        assert_eq!(
            (march_first.period.as_str(), march_first.done),
            ("2026-03", 1.0)
        );
        assert!((march_first.expected - 2.0 / 31.0).abs() < 1e-9);
        let february_end = progress(
            GoalKind::BooksPerMonth,
            1,
            &year(&finished, &[], day(2026, 2, 28)),
            day(2026, 2, 28),
        );
        assert_eq!(february_end.done, 1.0);
        assert!(
            february_end.met && (february_end.expected - 1.0).abs() < 1e-9,
            "28 of 28 days"
        );
    }

    #[test]
    fn a_leap_year_has_366_days_and_the_new_year_starts_from_none() {
        let p = progress(
            GoalKind::BooksPerYear,
            366,
            &year(&[], &[], day(2028, 12, 31)),
            day(2028, 12, 31),
        );
        assert!((p.expected - 366.0).abs() < 1e-9);
        let new_year = progress(
            GoalKind::BooksPerYear,
            12,
            &year(&[at(2026, 12, 31, 23)], &[], day(2027, 1, 1)),
            day(2027, 1, 1),
        );
        assert_eq!(new_year.done, 0.0);
    }

    #[test]
    fn minutes_a_day_are_today_s_sessions() {
        let row = |h: u32, m: u32| Row {
            book: Some("b".into()),
            document: "d".into(),
            timestamp: Utc.with_ymd_and_hms(2026, 5, 4, h, m, 0).unwrap(),
            percentage: 0.1,
            page_count: None,
        };
        let rows = [row(8, 0), row(8, 20), row(21, 0), row(21, 15)];
        let stats = year(&[], &rows, day(2026, 5, 4));
        let p = progress(GoalKind::MinutesPerDay, 30, &stats, day(2026, 5, 4));
        assert_eq!(
            (p.period.as_str(), p.done, p.expected),
            ("2026-05-04", 35.0, 30.0)
        );
        assert!(p.met && p.ahead == 5.0);
        let next = progress(
            GoalKind::MinutesPerDay,
            30,
            &year(&[], &rows, day(2026, 5, 5)),
            day(2026, 5, 5),
        );
        assert_eq!(next.done, 0.0);
    }

    #[test]
    fn targets_are_whole_numbers_a_person_could_mean() {
        assert_eq!(check_target(GoalKind::BooksPerYear, 24).unwrap(), 24);
        for (kind, bad) in [
            (GoalKind::BooksPerYear, 0),
            (GoalKind::BooksPerYear, 367),
            (GoalKind::BooksPerMonth, 32),
            (GoalKind::MinutesPerDay, 1441),
            (GoalKind::MinutesPerDay, -5),
        ] {
            assert!(check_target(kind, bad).is_err(), "{kind:?} {bad}");
        }
        assert_eq!(
            GoalKind::parse("minutes_per_day"),
            Some(GoalKind::MinutesPerDay)
        );
        assert_eq!(GoalKind::parse("pages"), None);
    }
}
