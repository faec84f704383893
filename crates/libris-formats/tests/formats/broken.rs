//! Damaged input: cut-off fixtures must be refused, and no mutation may panic or hang.

use std::path::Path;

use crate::common::{books, temp_file, Rng};
use libris_formats::{extract, Format, FormatError};

/// The MOBI, AZW3 and PDF fixture books.
fn fixtures() -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(books()).expect("fixtures") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".mobi") || name.ends_with(".azw3") || name.ends_with(".pdf") {
            out.push(name);
        }
    }
    out.sort();
    out
}

#[test]
fn first_half_of_each_fixture_is_broken() {
    let all = fixtures();
    assert!(all.len() >= 18, "{} fixtures", all.len());
    for name in all {
        let bytes = std::fs::read(books().join(&name)).expect("read");
        let cut = temp_file(&format!("half-{name}"), &bytes[..bytes.len() / 2]);
        match extract(&cut, &name) {
            Err(FormatError::Broken(msg)) => assert!(!msg.is_empty()),
            other => panic!("{name}: first half gave {other:?}"),
        }
    }
}

#[test]
fn wrong_format_and_tiny_files() {
    // The content decides, not the extension.
    let pdf_bytes = std::fs::read(books().join("lighthouse.pdf")).expect("read");
    let as_mobi = temp_file("pdf-as-mobi.mobi", &pdf_bytes);
    assert_eq!(
        extract(&as_mobi, "pdf-as-mobi.mobi").map(|e| e.format),
        Ok(Format::Pdf)
    );
    for len in [0, 1, 77, 78] {
        let mut bytes = vec![0u8; len];
        if len >= 68 {
            bytes[60..68].copy_from_slice(b"BOOKMOBI");
        }
        let name = format!("tiny-{len}.mobi");
        let r = extract(&temp_file(&name, &bytes), &name);
        assert!(r.is_err(), "{len} bytes: {r:?}");
    }
    assert!(matches!(
        extract(Path::new("/nonexistent/x.mobi"), "x.mobi"),
        Err(FormatError::Io(_))
    ));
}

/// Every prefix length at a coarse step, and random byte changes: never a panic, never
/// more than a moment per file.
#[test]
fn mutations_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for name in [
        "lighthouse-joint.mobi",
        "multi-author.azw3",
        "lighthouse.pdf",
        "xml-special.pdf",
    ] {
        let original = std::fs::read(books().join(name)).expect("read");
        let mut cases: Vec<Vec<u8>> = (0..original.len())
            .step_by(997)
            .map(|n| original[..n].to_vec())
            .collect();
        for _ in 0..150 {
            let mut bytes = original.clone();
            // Mostly the header area, where the structure lives, sometimes anywhere.
            let span = if rng.below(2) == 0 {
                400.min(bytes.len())
            } else {
                bytes.len()
            };
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(span);
                bytes[at] = rng.next() as u8;
            }
            cases.push(bytes);
        }
        // PDF structure sits at the end, so mutate the tail too.
        for _ in 0..100 {
            let mut bytes = original.clone();
            let at = bytes.len() - 1 - rng.below(600);
            bytes[at] = rng.next() as u8;
            cases.push(bytes);
        }
        for (i, bytes) in cases.iter().enumerate() {
            let path = temp_file(&format!("mut-{i}-{name}"), bytes);
            let _ = extract(&path, name);
            let _ = std::fs::remove_file(path);
        }
    }
}
