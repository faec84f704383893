//! The daily Hardcover run: every reader's sync, then the metadata lookups that are left.

use chrono::{DateTime, Days, Local, NaiveTime, TimeZone};

use diesel::prelude::*;

use super::sync::{self, Trigger};
use super::Context;
use crate::db::advisory::{Job, Locks};
use crate::db::schema::hardcover_sync_runs as runs;
use crate::db::{self, Conn};
use crate::error::Error;

/// Whether a scheduled run began in the last 12 hours (by another instance, as a rule).
fn ran_lately(conn: &mut Conn) -> Result<bool, Error> {
    let since = chrono::Utc::now() - chrono::Duration::hours(12);
    Ok(diesel::select(diesel::dsl::exists(
        runs::table
            .filter(runs::trigger.eq(Trigger::Schedule.as_str()))
            .filter(runs::started_at.gt(since)),
    ))
    .get_result(&mut **conn)?)
}

/// The next time after `now` the clock shows `at` in `tz`. A time a DST change skips runs
/// at the first instant after the gap; a time it repeats runs at its first occurrence.
pub fn next_run<Tz: TimeZone>(now: &DateTime<Tz>, at: NaiveTime) -> DateTime<Tz> {
    let tz = now.timezone();
    let today = now.date_naive();
    for offset in 0..3 {
        let Some(date) = today.checked_add_days(Days::new(offset)) else {
            break;
        };
        let local = date.and_time(at);
        let candidate = tz.from_local_datetime(&local).earliest().or_else(|| {
            // Skipped by a DST change: an hour later is past the gap.
            tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        });
        if let Some(c) = candidate.filter(|c| c > now) {
            return c;
        }
    }
    now.clone() + chrono::Duration::days(1)
}

/// Runs the daily sync for the life of the server.
pub async fn daily(cx: Context, at: NaiveTime, locks: Locks) {
    loop {
        let now = Local::now();
        let next = next_run(&now, at);
        let wait = (next - now).to_std().unwrap_or_default();
        log::info!(
            "hardcover: next sync at {}",
            next.format("%Y-%m-%d %H:%M %Z")
        );
        tokio::time::sleep(wait).await;
        // Every instance wakes now; the first to take the job runs it, and the others find
        // the day's run done (or under way) and leave it.
        let turn = locks.turn(Job::HardcoverDaily, async {
            let pool = cx.pool.clone();
            if db::run(&pool, ran_lately).await? {
                return Ok(vec![]);
            }
            Ok(sync::run_all(&cx, None, Trigger::Schedule).await)
        });
        let Some(Ok(results)) = turn.await else {
            continue;
        };
        for (key_id, result) in results {
            match result {
                Ok(r) => log::info!(
                    "hardcover: key {key_id}: linked {}, pulled {}, pushed {}, unchanged {}, failed {}{}",
                    r.linked,
                    r.pulled,
                    r.pushed,
                    r.unchanged,
                    r.failed,
                    r.error.map(|e| format!(", stopped: {e}")).unwrap_or_default()
                ),
                Err(e) => log::info!("hardcover: key {key_id}: not synced: {e}"),
            }
        }
        cx.client.wake_lookups();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn the_next_run_is_today_or_tomorrow() {
        let tz = FixedOffset::east_opt(3600).unwrap();
        let now = tz.with_ymd_and_hms(2026, 12, 2, 3, 30, 0).unwrap();
        assert_eq!(
            next_run(&now, at(4, 0)),
            tz.with_ymd_and_hms(2026, 12, 2, 4, 0, 0).unwrap()
        );
        let now = tz.with_ymd_and_hms(2026, 12, 2, 4, 0, 0).unwrap();
        assert_eq!(
            next_run(&now, at(4, 0)),
            tz.with_ymd_and_hms(2026, 12, 3, 4, 0, 0).unwrap(),
            "not twice in the same minute"
        );
        let now = tz.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap();
        assert_eq!(
            next_run(&now, at(4, 0)),
            tz.with_ymd_and_hms(2027, 1, 1, 4, 0, 0).unwrap()
        );
    }
}
