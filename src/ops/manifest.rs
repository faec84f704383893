//! `manifest.json`: what an archive holds, and the check that it holds exactly that.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

/// Bumped when a restore of this version could not read an archive of the next.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub libris_version: String,
    /// The newest migration applied in the dumped database (diesel's version, digits).
    pub migration: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Every other member of the archive, in the order written.
    pub entries: Vec<Entry>,
    /// Files the database snapshot names that were gone before they could be copied (a
    /// book deleted during the backup): `libris check` reports them after a restore.
    #[serde(default)]
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// Every way the members read differ from the manifest (none: the archive is whole).
pub fn differences(manifest: &Manifest, read: &[Entry]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut listed: BTreeMap<&str, &Entry> = BTreeMap::new();
    for e in &manifest.entries {
        if listed.insert(e.path.as_str(), e).is_some() {
            problems.push(format!("{}: listed twice in the manifest", e.path));
        }
    }
    let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
    for e in read {
        if seen.insert(e.path.as_str(), ()).is_some() {
            problems.push(format!("{}: in the archive twice", e.path));
            continue;
        }
        match listed.get(e.path.as_str()) {
            None => problems.push(format!(
                "{}: in the archive but not in the manifest",
                e.path
            )),
            Some(want) if want.size != e.size => problems.push(format!(
                "{}: {} bytes, the manifest says {}",
                e.path, e.size, want.size
            )),
            Some(want) if !want.sha256.eq_ignore_ascii_case(&e.sha256) => problems.push(format!(
                "{}: its SHA-256 differs from the manifest's",
                e.path
            )),
            Some(_) => {}
        }
    }
    for path in listed.keys() {
        if !seen.contains_key(path) {
            problems.push(format!("{path}: in the manifest but not in the archive"));
        }
    }
    if !listed.contains_key(super::DUMP) {
        problems.push(format!("{}: no database dump listed", super::DUMP));
    }
    problems
}

/// Where a member goes under the data dir: `data/<relative>` with only plain components
/// (no absolute path, `..`, `.` or empty part), else `None`. The same rule as the paths
/// the database names (`library::storage::resolve`).
pub fn data_path(member: &str) -> Option<&str> {
    let rel = member.strip_prefix(super::DATA)?.strip_prefix('/')?;
    let safe = !rel.is_empty()
        && !rel.contains('\0')
        && !rel.contains('\\')
        && rel
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    safe.then_some(rel)
}

/// Whether `newest` (the archive's migration) is one this binary knows: not newer than
/// `known`, its own newest. Versions are diesel's digit strings of one length.
pub fn migration_known(newest: &str, known: &str) -> bool {
    let key = |v: &str| (v.len(), v.to_owned());
    key(newest) <= key(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64, sha: &str) -> Entry {
        Entry {
            path: path.into(),
            size,
            sha256: sha.into(),
        }
    }

    fn manifest(entries: Vec<Entry>) -> Manifest {
        Manifest {
            format: FORMAT,
            libris_version: "0.1.0".into(),
            migration: "20261206000023".into(),
            created_at: "2026-12-06T10:00:00Z".into(),
            entries,
            missing: vec![],
        }
    }

    #[test]
    fn a_whole_archive_has_no_differences() {
        let all = vec![
            entry("database.dump", 3, "aa"),
            entry("data/secret", 64, "bb"),
        ];
        assert!(differences(&manifest(all.clone()), &all).is_empty());
    }

    #[test]
    fn every_difference_is_named() {
        let m = manifest(vec![
            entry("database.dump", 3, "aa"),
            entry("data/a", 1, "bb"),
            entry("data/b", 1, "cc"),
            entry("data/c", 1, "dd"),
        ]);
        let read = vec![
            entry("database.dump", 3, "aa"),
            entry("data/a", 2, "bb"),
            entry("data/b", 1, "ff"),
            entry("data/x", 1, "ee"),
            entry("data/x", 1, "ee"),
        ];
        let found = differences(&m, &read);
        assert_eq!(found.len(), 5, "{found:?}");
        for (path, what) in [
            ("data/a", "bytes"),
            ("data/b", "SHA-256"),
            ("data/x", "not in the manifest"),
            ("data/x", "twice"),
            ("data/c", "not in the archive"),
        ] {
            assert!(
                found
                    .iter()
                    .any(|p| p.starts_with(path) && p.contains(what)),
                "{path} {what}: {found:?}"
            );
        }
        assert!(!differences(&manifest(vec![]), &[]).is_empty(), "no dump");
    }

    #[test]
    fn members_stay_in_the_data_dir() {
        assert_eq!(data_path("data/secret"), Some("secret"));
        assert_eq!(
            data_path("data/library/Jane Doe/x.epub"),
            Some("library/Jane Doe/x.epub")
        );
        for bad in [
            "data/",
            "data",
            "data//etc",
            "data/../etc/passwd",
            "data/a/../../b",
            "data/./a",
            "/data/a",
            "data/a\\..\\b",
            "database.dump",
            "other/a",
            "data/a\0b",
        ] {
            assert_eq!(data_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn newer_migrations_are_unknown() {
        assert!(migration_known("20261206000023", "20261206000023"));
        assert!(migration_known("20261122000002", "20261206000023"));
        assert!(!migration_known("20270101000001", "20261206000023"));
        assert!(!migration_known("202612060000230", "20261206000023"));
    }
}
