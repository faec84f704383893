//! Runs the OPDS validators (fixtures/opds-validate, see its ORIGIN.md) over documents;
//! shared by the writer tests (tests/opds) and the server tests (tests/it/opds.rs).
//!
//! Needs `xmllint` (libxml2-utils) and a python with `lxml`, `jsonschema>=4.18`, `rfc3987` and
//! `uri-template` (else URI formats go unchecked): `make test` provides both and names the
//! python in LIBRIS_TEST_PYTHON. Documents are left in $TMPDIR/opds-validate-<pid>/.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn python() -> String {
    std::env::var("LIBRIS_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

pub fn kit() -> PathBuf {
    std::env::var_os("OPDS_VALIDATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/opds-validate")
        })
}

/// Writes `content` to a fresh per-process temp dir and returns the path.
pub fn write(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("opds-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write document");
    path
}

/// Runs a validator and fails the test with its output unless it exits 0.
/// Returns stdout so callers can look for warnings too.
pub fn run(program: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (see header for setup): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{program} {args:?} {} failed:\n{stdout}\n{stderr}",
        file.display()
    );
    stdout
}

pub fn rng(schema: &str, file: &Path) {
    let schema = kit().join(schema);
    let schema = schema.to_str().expect("utf-8 path");
    run("xmllint", &["--noout", "--relaxng", schema], file);
}

/// OPDS 1.2 schema (PSE-tolerant: templated hrefs) plus the client lint.
/// Lint warnings fail the test too, except the accepted one about several
/// atom:author elements (correct Atom; KOReader shows only the last author).
pub fn validate_atom_feed(name: &str, xml: &str) -> PathBuf {
    let file = write(name, xml);
    rng("v1.2/rng-pse/opds.rng", &file);
    let lint = kit().join("opds_lint.py");
    let out = run(&python(), &[lint.to_str().expect("utf-8 path")], &file);
    let unexpected: Vec<&str> = out
        .lines()
        .skip(1)
        .filter(|l| !l.contains("several atom:author"))
        .collect();
    assert!(unexpected.is_empty(), "lint findings for {name}:\n{out}");
    file
}

pub fn validate_json(kind: &str, name: &str, value: &serde_json::Value) {
    let text = serde_json::to_string_pretty(value).expect("serialize JSON");
    let file = write(name, &text);
    let script = kit().join("opds2/validate_opds2.py");
    run(
        &python(),
        &[script.to_str().expect("utf-8 path"), kind],
        &file,
    );
}

/// An OpenSearch description document.
pub fn validate_opensearch(name: &str, xml: &str) {
    rng("cops-relax-ng/opensearchdescription.rng", &write(name, xml));
}

/// A complete OPDS entry document (PSE-tolerant schema: templated page links).
pub fn validate_entry(name: &str, xml: &str) {
    rng("v1.2/rng-pse/opds.rng", &write(name, xml));
}
