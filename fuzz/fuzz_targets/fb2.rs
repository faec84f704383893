//! FictionBook 2: `formats::extract` on a `.fb2` file (content sniffing, charset declaration
//! and transcoding, the streaming strict XML parse, the inline base64 cover).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_file(data, "book.fb2");
    let _ = libris_formats::extract(&path, "book.fb2");
});
