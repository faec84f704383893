//! Archives written into a folder: their names (`libris-YYYYMMDD-HHMMSS.tar.gz`, UTC, so
//! names sort as times do across daylight saving) and `--keep N`, which also sweeps the
//! temporaries of backups that were killed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The name of an archive made at `at`; the `n`th of one second (from 2) gets `-n`.
pub fn name(at: DateTime<Utc>, n: u32) -> String {
    let stamp = at.format("%Y%m%d-%H%M%S");
    if n <= 1 {
        format!("libris-{stamp}.tar.gz")
    } else {
        format!("libris-{stamp}-{n}.tar.gz")
    }
}

/// A free name in `dir` for an archive made at `at`.
pub fn free_path(dir: &Path, at: DateTime<Utc>) -> PathBuf {
    (1..)
        .map(|n| dir.join(name(at, n)))
        .find(|p| !p.exists())
        .expect("some numbered name is free")
}

/// The order of an archive's name among the others, when it is one of ours: (stamp, n).
fn key(file_name: &str) -> Option<(String, u32)> {
    let rest = file_name.strip_prefix("libris-")?.strip_suffix(".tar.gz")?;
    let stamp = rest.get(..15)?;
    let b = stamp.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !(digits(&b[..8]) && b[8] == b'-' && digits(&b[9..])) {
        return None;
    }
    let n = match &rest[15..] {
        "" => 1,
        tail => {
            let n = tail.strip_prefix('-')?;
            if !digits(n.as_bytes()) {
                return None;
            }
            n.parse().ok().filter(|n| *n >= 2)?
        }
    };
    Some((stamp.to_owned(), n))
}

/// Of `names` (a folder's file names), those `--keep keep` removes: every archive of ours
/// but the newest `keep`. Other files are never named.
pub fn to_remove(names: &[String], keep: usize) -> Vec<String> {
    let mut ours: Vec<((String, u32), &String)> =
        names.iter().filter_map(|n| Some((key(n)?, n))).collect();
    ours.sort();
    let old = ours.len().saturating_sub(keep);
    ours[..old].iter().map(|(_, n)| (*n).clone()).collect()
}

/// How long a backup's temporary may go unwritten before `--keep` takes it for the leftover of
/// a killed backup. A running backup writes its dump or its archive all the time; a day of
/// silence is no backup. The pid in the name cannot tell: the backup may have run in another
/// container or on another host sharing the folder.
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Of `entries` (a folder's file names with the time since each was last written), the
/// temporaries of killed backups: `.<archive name>.<pid>.part` or `.dump`, unwritten for
/// [`STALE_AFTER`]. Nothing else is ever named.
pub fn stale_temporaries(entries: &[(String, Duration)]) -> Vec<String> {
    entries
        .iter()
        .filter(|(_, idle)| *idle >= STALE_AFTER)
        .filter(|(n, _)| is_temporary(n))
        .map(|(n, _)| n.clone())
        .collect()
}

/// `.{archive}.{pid}.part` / `.dump`, as crate::ops::backup names them.
fn is_temporary(file_name: &str) -> bool {
    let Some(rest) = file_name.strip_prefix('.') else {
        return false;
    };
    let Some(rest) = rest
        .strip_suffix(".part")
        .or_else(|| rest.strip_suffix(".dump"))
    else {
        return false;
    };
    let Some((archive, pid)) = rest.rsplit_once('.') else {
        return false;
    };
    !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && key(archive).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_sort_as_times() {
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 4, 5, 6).unwrap();
        assert_eq!(name(at, 1), "libris-20261206-040506.tar.gz");
        assert_eq!(name(at, 2), "libris-20261206-040506-2.tar.gz");
        assert_eq!(key(&name(at, 1)), Some(("20261206-040506".into(), 1)));
        assert_eq!(key(&name(at, 12)), Some(("20261206-040506".into(), 12)));
    }

    #[test]
    fn keep_removes_only_our_oldest() {
        let names: Vec<String> = [
            "libris-20261206-040506-2.tar.gz",
            "libris-20261205-040506.tar.gz",
            "libris-20261206-040506-10.tar.gz",
            "libris-20261206-040506.tar.gz",
            "libris-20261204-040506.tar.gz",
            "libris-manual.tar.gz",
            "libris-20261201-040506.tar.gz.part",
            ".libris-20261201-040506.tar.gz.123.part",
            "libris-2026120-040506.tar.gz",
            "libris-20261201-040506-1.tar.gz",
            "libris-20261201-040506-x.tar.gz",
            "notes.txt",
        ]
        .map(String::from)
        .to_vec();
        let mut gone = to_remove(&names, 2);
        gone.sort();
        assert_eq!(
            gone,
            [
                "libris-20261204-040506.tar.gz",
                "libris-20261205-040506.tar.gz",
                "libris-20261206-040506.tar.gz",
            ]
        );
        assert!(to_remove(&names, 10).is_empty());
    }

    #[test]
    fn only_our_idle_temporaries_are_stale() {
        let day = STALE_AFTER;
        let hour = Duration::from_secs(3600);
        let entries: Vec<(String, Duration)> = [
            (".libris-20261201-040506.tar.gz.123.part", day),
            (".libris-20261201-040506-2.tar.gz.9.dump", day * 3),
            // still being written
            (".libris-20261206-040506.tar.gz.77.part", hour),
            // not ours: no pid, not hidden, another name, an archive
            (".libris-20261201-040506.tar.gz.part", day),
            ("libris-20261201-040506.tar.gz.123.part", day),
            (".notes.txt.123.part", day),
            (".libris-20261201-040506.tar.gz.12x.dump", day),
            ("libris-20261201-040506.tar.gz", day),
        ]
        .map(|(n, d)| (n.to_owned(), d))
        .to_vec();
        let mut stale = stale_temporaries(&entries);
        stale.sort();
        assert_eq!(
            stale,
            [
                ".libris-20261201-040506-2.tar.gz.9.dump",
                ".libris-20261201-040506.tar.gz.123.part",
            ]
        );
    }
}
