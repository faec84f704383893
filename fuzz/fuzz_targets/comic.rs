//! Comic archives: CBZ page listing and ComicInfo.xml. An input whose first byte is odd is a
//! ComicInfo.xml (the rest of the input), packed here into a CBZ with one page so that the
//! fuzzer works on the XML rather than on the zip around it; otherwise the input is the CBZ.
#![no_main]

use std::io::{Cursor, Write};

use libfuzzer_sys::fuzz_target;
use libris_formats::zipsafe::SafeZip;
use libris_formats::{cbz_pages, clean, comic};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A 1×1 PNG: a page that looks like an image.
const PAGE: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

fn cbz_with_comicinfo(xml: &[u8]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    w.start_file("ComicInfo.xml", stored).unwrap();
    w.write_all(xml).unwrap();
    for page in ["001.png", "002.png"] {
        w.start_file(page, stored).unwrap();
        w.write_all(PAGE).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fuzz_target!(|data: &[u8]| {
    let bytes = match data.split_first() {
        Some((mode, xml)) if mode & 1 == 1 => cbz_with_comicinfo(xml),
        _ => data.to_vec(),
    };
    let Ok(mut zip) = SafeZip::new(Cursor::new(&bytes[..])) else {
        return;
    };
    let pages = cbz_pages(&zip);
    assert!(pages.iter().all(|&i| i < zip.entries().len()));
    if let Ok(mut out) = comic::extract_cbz(&mut zip) {
        assert_eq!(out.metadata.page_count, i32::try_from(pages.len()).ok());
        clean::tidy(&mut out.metadata);
    }
});
