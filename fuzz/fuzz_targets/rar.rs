//! RAR 4 / RAR 5 (CBR): the walk over the block headers that lists the entries (nothing is
//! decompressed). An input that does not start with "Rar!" gets a signature in front of the
//! rest of it (first byte odd: RAR 5, else RAR 4), so that nearly every input reaches the
//! header walk. Besides not panicking: at most MAX_ENTRIES entries; the same answer through a
//! small buffer that reads in short pieces; and `comic::extract_cbr` on the same bytes as a
//! file counts exactly the listed page images.
#![no_main]

#[path = "common.rs"]
mod common;

use std::io::{BufReader, Cursor};

use libfuzzer_sys::fuzz_target;
use libris_formats::comic::{self, is_image_name, is_junk};
use libris_formats::limits::MAX_ENTRIES;
use libris_formats::{rar, FormatError};

const RAR4_SIG: &[u8] = b"Rar!\x1a\x07\x00";
const RAR5_SIG: &[u8] = b"Rar!\x1a\x07\x01\x00";

fuzz_target!(|data: &[u8]| {
    let bytes = match data.split_first() {
        _ if data.starts_with(b"Rar!") => data.to_vec(),
        Some((mode, rest)) if mode & 1 == 1 => [RAR5_SIG, rest].concat(),
        Some((_, rest)) => [RAR4_SIG, rest].concat(),
        None => return,
    };
    let listed = rar::list(&mut Cursor::new(&bytes[..]));
    let buffered = rar::list(&mut BufReader::with_capacity(7, Cursor::new(&bytes[..])));
    assert_eq!(listed, buffered);
    let Ok(entries) = listed else {
        return;
    };
    assert!(entries.len() <= MAX_ENTRIES);
    let pages = entries
        .iter()
        .filter(|e| !e.is_dir && !is_junk(&e.name) && is_image_name(&e.name))
        .count();
    let path = common::scratch_file(&bytes, "book.cbr");
    match comic::extract_cbr(&path) {
        Ok(out) => assert_eq!(out.metadata.page_count, i32::try_from(pages).ok()),
        Err(e) => assert!(pages == 0 && matches!(e, FormatError::Broken(_)), "{e:?}"),
    }
});
