//! PDF: `formats::extract` on a `.pdf` file (header search, xref tables and streams,
//! incremental updates, object streams, Flate and predictors, the page tree, Info and XMP).
//! An input without "%PDF-" in its first KiB gets a "%PDF-1.7" line in front, so that every
//! input reaches the PDF reader. Besides not panicking: what was read is a PDF with at least
//! one page, a title and no cover, and its metadata is already tidy.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use libris_formats::{clean, Format};

fuzz_target!(|data: &[u8]| {
    let head = &data[..data.len().min(1024)];
    let bytes = if head.windows(5).any(|w| w == b"%PDF-") {
        data.to_vec()
    } else {
        [b"%PDF-1.7\n", data].concat()
    };
    let path = common::scratch_file(&bytes, "book.pdf");
    if let Ok(out) = libris_formats::extract(&path, "book.pdf") {
        assert_eq!(out.format, Format::Pdf);
        let pages = out.metadata.page_count;
        assert!(pages.is_some_and(|n| n >= 1), "{pages:?}");
        assert!(out.metadata.title.is_some() && out.cover.is_none());
        let mut again = out.metadata.clone();
        clean::tidy(&mut again);
        assert_eq!(again, out.metadata);
    }
});
