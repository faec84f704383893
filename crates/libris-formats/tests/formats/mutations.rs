//! Damaged copies of the fixture books (truncated, bytes flipped, runs overwritten) must give
//! Ok or Err, never a panic or a hang. Deterministic: a fixed-seed xorshift picks the damage.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use crate::common::{books, Rng};
use libris_formats::extract;

/// Per file; `FMT_MUTANTS=N` runs more (e.g. in release mode, by hand).
fn mutants_per_file() -> usize {
    std::env::var("FMT_MUTANTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24)
}

fn mutate(rng: &mut Rng, orig: &[u8], i: usize) -> Vec<u8> {
    let mut b = orig.to_vec();
    match i % 4 {
        0 => b.truncate(rng.below(b.len())),
        1 => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(b.len());
                b[at] ^= 1 << rng.below(8);
            }
        }
        2 => {
            // Overwrite a run with 0xFF / 0x00, which hits size fields hard.
            let at = rng.below(b.len());
            let fill = if rng.next().is_multiple_of(2) {
                0xFF
            } else {
                0x00
            };
            for x in b.iter_mut().skip(at).take(1 + rng.below(16)) {
                *x = fill;
            }
        }
        _ => {
            // Damage the tail, where zip directories live.
            let from = b.len().saturating_sub(1 + rng.below(300));
            let at = from + rng.below(b.len() - from);
            b[at] = rng.next() as u8;
        }
    }
    b
}

#[test]
fn damaged_books_never_panic() {
    let dir = books();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "tsv" && e != "md"))
        .collect();
    files.sort();
    let tmp = std::env::temp_dir().join(format!("fmt-a-mutants-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut failures = Vec::new();
    for path in &files {
        let orig = std::fs::read(path).unwrap();
        if orig.is_empty() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for i in 0..mutants_per_file() {
            let bytes = mutate(&mut rng, &orig, i);
            let target = tmp.join(&name);
            std::fs::write(&target, &bytes).unwrap();
            if catch_unwind(AssertUnwindSafe(|| extract(&target, &name))).is_err() {
                let keep = tmp.join(format!("panic-{i}-{name}"));
                std::fs::write(&keep, &bytes).unwrap();
                failures.push(format!(
                    "{name} mutant {i}: panic (kept as {})",
                    keep.display()
                ));
            }
        }
    }
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
