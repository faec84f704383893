//! The EPUB package document (OPF) reader, on its own: the fuzzer's bytes are the OPF, at the
//! root of the archive or in a folder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use libris_formats::{clean, opf};

fuzz_target!(|data: &[u8]| {
    // The last byte picks where the OPF is (hrefs resolve relative to its folder).
    let opf_path = match data.last().map(|b| b % 3) {
        Some(0) => "content.opf",
        Some(1) => "OEBPS/content.opf",
        _ => "a/b/c/package.opf",
    };
    if let Ok(mut parsed) = opf::parse(data, opf_path) {
        clean::tidy(&mut parsed.metadata);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let base = opf::dir_of(opf_path);
        if let Some(p) = opf::resolve_href(&base, text) {
            assert!(!p.is_empty() && !p.starts_with('/'), "{p:?}");
            assert!(
                !p.split('/').any(|s| s.is_empty() || s == "." || s == ".."),
                "{p:?}"
            );
        }
    }
});
