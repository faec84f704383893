//! packaging/: the systemd unit is valid and tight. `systemd-analyze verify` must print
//! nothing (its exit code alone misses bad values), and `systemd-analyze security` must rate
//! the unit's exposure at 2.0 or less. Checked on a copy whose ExecStart is this build's binary
//! (verify wants an executable there) and whose settings file may be missing (none on a build
//! machine). Needs systemd-analyze (Debian's systemd; `make test` installs it): skipped
//! without it unless LIBRIS_REQUIRE_TOOLS=1.

use std::path::{Path, PathBuf};
use std::process::Command;

fn unit_copy(dir: &Path) -> PathBuf {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/libris.service"),
    )
    .unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/libris serve"));
    let copy = unit
        .replace("/usr/local/bin/libris", env!("CARGO_BIN_EXE_libris"))
        .replace("EnvironmentFile=/etc/", "EnvironmentFile=-/etc/");
    let path = dir.join("libris.service");
    std::fs::write(&path, copy).unwrap();
    path
}

fn analyze() -> bool {
    let there = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok();
    if !there {
        assert!(
            std::env::var("LIBRIS_REQUIRE_TOOLS").is_err(),
            "systemd-analyze is missing: install Debian's systemd (make test does)"
        );
        eprintln!("systemd-analyze is missing: the unit is not checked");
    }
    there
}

#[test]
fn the_systemd_unit_verifies_without_a_word() {
    if !analyze() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

#[test]
fn the_systemd_unit_exposes_little() {
    if !analyze() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for libris.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    assert!(level <= 2.0, "exposure {level}:\n{text}");
}
