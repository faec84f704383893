//! EPUB: the safe zip reader, container.xml, the OPF and the cover lookup, on an in-memory
//! archive (the same code `formats::extract` runs after sniffing a file as EPUB).
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use libris_formats::zipsafe::SafeZip;
use libris_formats::{clean, epub};

fuzz_target!(|data: &[u8]| {
    let Ok(mut zip) = SafeZip::new(Cursor::new(data)) else {
        return;
    };
    if let Ok(mut out) = epub::extract(&mut zip) {
        clean::tidy(&mut out.metadata);
    }
});
