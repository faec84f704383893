//! Lists the file names in a RAR 4 or RAR 5 archive by walking its block headers. Nothing is
//! decompressed (RAR compression is proprietary; no pure-Rust decoder is well kept), so a CBR
//! gives a page count but no cover. Every size read from the file is bounds-checked.

use std::io::{Read, Seek, SeekFrom};

use super::limits::MAX_ENTRIES;
use super::FormatError;

const RAR4_SIG: &[u8] = b"Rar!\x1a\x07\x00";
const RAR5_SIG: &[u8] = b"Rar!\x1a\x07\x01\x00";
/// RAR 5 headers are at most 2 MiB by specification.
const RAR5_MAX_HEADER: u64 = 2 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RarEntry {
    pub name: String,
    pub is_dir: bool,
}

fn broken(why: &str) -> FormatError {
    FormatError::Broken(format!("damaged RAR archive: {why}"))
}

pub fn list<R: Read + Seek>(r: &mut R) -> Result<Vec<RarEntry>, FormatError> {
    let len = r.seek(SeekFrom::End(0))?;
    r.seek(SeekFrom::Start(0))?;
    let mut sig = [0u8; 8];
    let n = super::read_up_to(r, &mut sig)?;
    if sig[..n].starts_with(RAR5_SIG) {
        list_rar5(r, len)
    } else if sig[..n].starts_with(RAR4_SIG) {
        list_rar4(r, len)
    } else {
        Err(broken("no RAR signature"))
    }
}

fn list_rar4<R: Read + Seek>(r: &mut R, len: u64) -> Result<Vec<RarEntry>, FormatError> {
    let mut out = Vec::new();
    let mut pos = RAR4_SIG.len() as u64;
    // Headers include non-file blocks; bound the walk by more than the entry limit.
    for _ in 0..MAX_ENTRIES * 2 {
        if pos >= len {
            return Ok(out);
        }
        r.seek(SeekFrom::Start(pos))?;
        let mut base = [0u8; 7];
        r.read_exact(&mut base)
            .map_err(|_| broken("truncated header"))?;
        let kind = base[2];
        let flags = u16::from_le_bytes([base[3], base[4]]);
        let size = u64::from(u16::from_le_bytes([base[5], base[6]]));
        if size < 7 {
            return Err(broken("header too small"));
        }
        let mut head = vec![0u8; size as usize];
        head[..7].copy_from_slice(&base);
        r.read_exact(&mut head[7..])
            .map_err(|_| broken("truncated header"))?;
        let mut data = 0u64;
        match kind {
            // Main header: its 0x80 flag means the block headers are encrypted.
            0x73 if flags & 0x0080 != 0 => {
                return Err(FormatError::Broken("encrypted RAR archive".into()))
            }
            // File header, and the "new subblock" service header that has the same layout.
            0x74 | 0x7a => {
                let f = rar4_file(&head, flags).ok_or_else(|| broken("bad file header"))?;
                data = f.1;
                if kind == 0x74 {
                    out.push(f.0);
                    if out.len() > MAX_ENTRIES {
                        return Err(FormatError::Broken(
                            "RAR archive has too many entries".into(),
                        ));
                    }
                }
            }
            0x7b => return Ok(out), // end of archive
            _ if flags & 0x8000 != 0 => {
                data = u64::from(le32(&head, 7).ok_or_else(|| broken("bad header"))?)
            }
            _ => {}
        }
        pos = pos
            .checked_add(size)
            .and_then(|p| p.checked_add(data))
            .filter(|&p| p <= len)
            .ok_or_else(|| broken("truncated data"))?;
    }
    Err(broken("too many headers"))
}

/// (entry, packed data size) from a RAR 4 file header.
fn rar4_file(head: &[u8], flags: u16) -> Option<(RarEntry, u64)> {
    let mut packed = u64::from(le32(head, 7)?);
    let name_len = usize::from(u16::from_le_bytes([*head.get(26)?, *head.get(27)?]));
    let mut name_at: usize = 32;
    if flags & 0x0100 != 0 {
        // 64-bit sizes: high halves follow the attributes.
        packed |= u64::from(le32(head, 32)?) << 32;
        name_at = 40;
    }
    let raw = head.get(name_at..name_at.checked_add(name_len)?)?;
    // With the Unicode flag the name is "OEM name NUL encoded-Unicode"; the OEM part keeps the
    // extension, which is all a page count needs.
    let raw = match raw.iter().position(|&b| b == 0) {
        Some(nul) => &raw[..nul],
        None => raw,
    };
    let name = String::from_utf8_lossy(raw).replace('\\', "/");
    Some((
        RarEntry {
            name,
            is_dir: flags & 0x00E0 == 0x00E0,
        },
        packed,
    ))
}

fn list_rar5<R: Read + Seek>(r: &mut R, len: u64) -> Result<Vec<RarEntry>, FormatError> {
    let mut out = Vec::new();
    let mut pos = RAR5_SIG.len() as u64;
    for _ in 0..MAX_ENTRIES * 2 {
        if pos >= len {
            return Ok(out);
        }
        r.seek(SeekFrom::Start(pos))?;
        // CRC32, then the header size as a vint (at most 3 bytes for 2 MiB).
        let mut pre = [0u8; 7];
        let n = super::read_up_to(r, &mut pre)?;
        let (size, size_len) = vint(&pre[4.min(n)..n]).ok_or_else(|| broken("truncated header"))?;
        if size == 0 || size > RAR5_MAX_HEADER {
            return Err(broken("bad header size"));
        }
        let body_at = pos + 4 + size_len as u64;
        r.seek(SeekFrom::Start(body_at))?;
        let mut body = vec![0u8; size as usize];
        r.read_exact(&mut body)
            .map_err(|_| broken("truncated header"))?;
        let h = rar5_header(&body).ok_or_else(|| broken("bad header"))?;
        match h.kind {
            2 => {
                if let Some(e) = h.entry {
                    out.push(e);
                }
                if out.len() > MAX_ENTRIES {
                    return Err(FormatError::Broken(
                        "RAR archive has too many entries".into(),
                    ));
                }
            }
            4 => return Err(FormatError::Broken("encrypted RAR archive".into())),
            5 => return Ok(out),
            _ => {}
        }
        pos = body_at
            .checked_add(size)
            .and_then(|p| p.checked_add(h.data_size))
            .filter(|&p| p <= len)
            .ok_or_else(|| broken("truncated data"))?;
    }
    Err(broken("too many headers"))
}

struct Rar5Header {
    kind: u64,
    data_size: u64,
    entry: Option<RarEntry>,
}

fn rar5_header(b: &[u8]) -> Option<Rar5Header> {
    let mut at = 0usize;
    let mut next = |b: &[u8]| -> Option<u64> {
        let (v, n) = vint(b.get(at..)?)?;
        at += n;
        Some(v)
    };
    let kind = next(b)?;
    let flags = next(b)?;
    if flags & 0x01 != 0 {
        next(b)?; // extra area size
    }
    let data_size = if flags & 0x02 != 0 { next(b)? } else { 0 };
    let mut entry = None;
    if kind == 2 {
        let file_flags = next(b)?;
        next(b)?; // unpacked size
        next(b)?; // attributes
        let mut skip = 0;
        if file_flags & 0x02 != 0 {
            skip += 4; // mtime
        }
        if file_flags & 0x04 != 0 {
            skip += 4; // data CRC32
        }
        let mut at2 = at.checked_add(skip)?;
        let mut next2 = |b: &[u8]| -> Option<u64> {
            let (v, n) = vint(b.get(at2..)?)?;
            at2 += n;
            Some(v)
        };
        next2(b)?; // compression info
        next2(b)?; // host OS
        let name_len = usize::try_from(next2(b)?).ok()?;
        let raw = b.get(at2..at2.checked_add(name_len)?)?;
        entry = Some(RarEntry {
            name: String::from_utf8_lossy(raw).into_owned(),
            is_dir: file_flags & 0x01 != 0,
        });
    }
    Some(Rar5Header {
        kind,
        data_size,
        entry,
    })
}

/// RAR 5 variable-length integer: 7 bits per byte, low first, high bit = more. Returns the
/// value and the bytes used; `None` if cut short or longer than 64 bits.
pub fn vint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if shift >= 64 || (shift > 0 && bits >> (64 - shift) != 0) {
            return None;
        }
        v |= bits << shift;
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
#[path = "rar_tests.rs"]
mod tests;
