//! KOReader's partial MD5, checked against a plain reimplementation of KOReader's
//! `util.partialMD5`. Once over the input itself (std::io::Cursor), once over a virtual file
//! of up to 4 GiB (so that the samples at 1 MiB … 1 GiB are reached) that repeats the input
//! and answers reads in short pieces.
#![no_main]

use std::io::{self, Cursor, Read, Seek, SeekFrom};

use libfuzzer_sys::fuzz_target;
use libris_formats::hash::partial_md5;
use md5::{Digest, Md5};

/// KOReader: for i = -1, 10 do sample 1024 bytes at lshift(1024, 2*i) (i = -1 gives 0 in
/// LuaJIT); stop at the first sample that starts at or past the end.
fn reference(len: u64, byte_at: impl Fn(u64) -> u8) -> String {
    let mut md5 = Md5::new();
    for i in -1i32..=10 {
        let offset = if i == -1 { 0 } else { 1024u64 << (2 * i) };
        if offset >= len {
            break;
        }
        let end = (offset + 1024).min(len);
        let sample: Vec<u8> = (offset..end).map(&byte_at).collect();
        md5.update(&sample);
    }
    hex::encode(md5.finalize())
}

/// `len` bytes, byte i being `pattern[i % pattern.len()]` (0 when the pattern is empty).
struct Virtual<'a> {
    pattern: &'a [u8],
    len: u64,
    pos: u64,
    /// Largest piece one read returns.
    chunk: usize,
}

impl Virtual<'_> {
    fn byte_at(pattern: &[u8], i: u64) -> u8 {
        if pattern.is_empty() {
            0
        } else {
            pattern[(i % pattern.len() as u64) as usize]
        }
    }
}

impl Read for Virtual<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let n = (buf.len() as u64).min(left).min(self.chunk as u64) as usize;
        for (k, b) in buf[..n].iter_mut().enumerate() {
            *b = Self::byte_at(self.pattern, self.pos + k as u64);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Virtual<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek"))?;
        Ok(self.pos)
    }
}

fuzz_target!(|data: &[u8]| {
    let got = partial_md5(&mut Cursor::new(data)).expect("a cursor cannot fail");
    assert_eq!(got, reference(data.len() as u64, |i| data[i as usize]));

    // 4 bytes of length, 1 byte of read size, the rest the repeated pattern.
    if data.len() >= 5 {
        let len = u64::from(u32::from_le_bytes([data[0], data[1], data[2], data[3]]));
        let chunk = usize::from(data[4]).max(1) * 7;
        let pattern = &data[5..];
        let mut file = Virtual {
            pattern,
            len,
            pos: 0,
            chunk,
        };
        let got = partial_md5(&mut file).expect("the virtual file cannot fail");
        assert_eq!(got, reference(len, |i| Virtual::byte_at(pattern, i)));
    }
});
