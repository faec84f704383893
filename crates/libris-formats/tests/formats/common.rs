//! Helpers shared by the integration tests. Each test crate uses a different subset.
#![allow(dead_code)]

use std::path::PathBuf;

/// The fixture corpus: `$LIBRIS_FIXTURES` if set, else the repository's fixtures/. Every test
/// finds its files through this one function.
pub fn fixtures() -> PathBuf {
    let dir = std::env::var_os("LIBRIS_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"));
    assert!(
        dir.join("books/MANIFEST.tsv").is_file(),
        "fixture corpus not found at {} (set LIBRIS_FIXTURES)",
        dir.display()
    );
    dir
}

/// The `books/` folder of the corpus (the MANIFEST.tsv books).
pub fn books() -> PathBuf {
    fixtures().join("books")
}

/// A file under cargo's target/tmp, unique per test process and name.
pub fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

/// Deterministic xorshift, so a failing mutation can be reproduced.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
