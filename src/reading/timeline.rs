//! A reader's reports of one book grouped into sittings for a timeline: the session rule of
//! the statistics ([`super::stats::SESSION_GAP_MINUTES`]: reports at most 20 minutes apart
//! belong together). Pure: no database.

use chrono::{DateTime, Duration, Utc};

use super::stats::SESSION_GAP_MINUTES;

/// One report, as the timeline shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub at: DateTime<Utc>,
    pub device: String,
    pub percentage: f64,
    pub progress: String,
}

/// Reports with no gap longer than the session rule's.
#[derive(Debug, Clone, PartialEq)]
pub struct Sitting {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The devices it was read on, in the order they first reported.
    pub devices: Vec<String>,
    /// Where it began and ended (the first and last report's percentage).
    pub from: f64,
    pub to: f64,
    /// Its reports, oldest first.
    pub reports: Vec<Report>,
}

/// The sittings of `reports` (in any order; equal times keep their given order), newest
/// first.
pub fn sittings(mut reports: Vec<Report>) -> Vec<Sitting> {
    reports.sort_by_key(|r| r.at);
    let gap = Duration::minutes(SESSION_GAP_MINUTES);
    let mut out: Vec<Sitting> = Vec::new();
    for r in reports {
        match out.last_mut() {
            Some(s) if r.at - s.end <= gap => {
                s.end = r.at;
                s.to = r.percentage;
                if !s.devices.contains(&r.device) {
                    s.devices.push(r.device.clone());
                }
                s.reports.push(r);
            }
            _ => out.push(Sitting {
                start: r.at,
                end: r.at,
                devices: vec![r.device.clone()],
                from: r.percentage,
                to: r.percentage,
                reports: vec![r],
            }),
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + minute * 60, 0).unwrap()
    }

    fn report(minute: i64, device: &str, percentage: f64) -> Report {
        Report {
            at: at(minute),
            device: device.into(),
            percentage,
            progress: format!("p{minute}"),
        }
    }

    #[test]
    fn twenty_minutes_apart_is_one_sitting_twenty_one_is_two() {
        let s = sittings(vec![
            report(41, "Boox", 0.3),
            report(0, "Kobo", 0.1),
            report(20, "Kobo", 0.2),
        ]);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].start, s[0].end, s[0].reports.len()),
            (at(41), at(41), 1)
        );
        assert_eq!(
            (s[1].start, s[1].end, s[1].reports.len()),
            (at(0), at(20), 2)
        );
        assert_eq!((s[1].from, s[1].to), (0.1, 0.2));
        assert_eq!(s[0].devices, vec!["Boox"]);
    }

    #[test]
    fn devices_are_listed_once_in_the_order_they_reported() {
        let s = sittings(vec![
            report(0, "Kobo", 0.1),
            report(1, "Phone", 0.2),
            report(2, "Kobo", 0.3),
        ]);
        assert_eq!(s[0].devices, vec!["Kobo", "Phone"]);
        assert_eq!((s[0].from, s[0].to), (0.1, 0.3));
    }

    proptest! {
        #[test]
        fn every_report_is_in_one_sitting_and_gaps_follow_the_rule(
            minutes in proptest::collection::vec(0i64..600, 0..60)
        ) {
            let reports: Vec<Report> = minutes.iter().map(|&m| report(m, "Kobo", 0.5)).collect();
            let s = sittings(reports);
            prop_assert_eq!(s.iter().map(|s| s.reports.len()).sum::<usize>(), minutes.len());
            let gap = Duration::minutes(SESSION_GAP_MINUTES);
            for sitting in &s {
                prop_assert_eq!(sitting.start, sitting.reports[0].at);
                prop_assert_eq!(sitting.end, sitting.reports.last().unwrap().at);
                for pair in sitting.reports.windows(2) {
                    prop_assert!(pair[1].at >= pair[0].at && pair[1].at - pair[0].at <= gap);
                }
            }
            // Newest first, and apart by more than the rule.
            for pair in s.windows(2) {
                prop_assert!(pair[0].start - pair[1].end > gap);
            }
        }
    }
}
