//! MOBI / AZW3: `formats::extract` on a PalmDB file (record list, record 0's MOBI header and
//! EXTH, the cover record). Bytes 60..68 are forced to "BOOKMOBI" so that every input reaches
//! the MOBI reader rather than another format's.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    if bytes.len() >= 68 {
        bytes[60..68].copy_from_slice(b"BOOKMOBI");
    }
    let path = common::scratch_file(&bytes, "book.azw3");
    let _ = libris_formats::extract(&path, "book.azw3");
});
