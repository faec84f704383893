//! Archives written into a folder: their names (`libris-YYYYMMDD-HHMMSS.tar.gz`, UTC, so
//! names sort as times do across daylight saving) and `--keep N`.

use std::path::{Path, PathBuf};

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
}
