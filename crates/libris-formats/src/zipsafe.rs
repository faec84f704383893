//! Opening zip-based books (EPUB, CBZ, FB2.ZIP) without trusting them.
//!
//! The central directory is checked as a whole before anything is read: entry count, names
//! (traversal), declared expansion (bombs). Reads are capped again while inflating, because
//! declared sizes can lie.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use zip::result::ZipError;
use zip::ZipArchive;

use super::limits::{MAX_ENTRIES, MAX_RATIO};
use super::FormatError;

/// Below this size a high ratio is harmless (a small file of spaces compresses 1000:1).
const RATIO_MIN_SIZE: u64 = 1024 * 1024;
/// Central directories bigger than this are not from a book.
const MAX_CENTRAL_DIR: u64 = 64 * 1024 * 1024;
const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const CDFH_SIG: u32 = 0x0201_4b50;

fn damaged() -> FormatError {
    FormatError::Broken("truncated or damaged zip archive".into())
}

/// What the central directory says about one entry.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// As the zip crate decodes it (UTF-8, or CP437 without the UTF-8 flag).
    pub name: String,
    pub size: u64,
    pub compressed: u64,
}

impl EntryInfo {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }
}

/// A zip archive whose directory passed the safety checks.
pub struct SafeZip<R: Read + Seek> {
    archive: ZipArchive<R>,
    entries: Vec<EntryInfo>,
}

/// Opens a zip file from disk (buffered).
pub fn open_file(path: &Path) -> Result<SafeZip<BufReader<File>>, FormatError> {
    SafeZip::new(BufReader::new(File::open(path)?))
}

impl<R: Read + Seek> SafeZip<R> {
    pub fn new(mut reader: R) -> Result<Self, FormatError> {
        // Our own pass over the directory comes first: it bounds what the zip crate allocates
        // and gives sizes without reading every local header.
        let raw = read_central_directory(&mut reader)?;
        reader.seek(SeekFrom::Start(0))?;
        let archive = ZipArchive::new(reader).map_err(|_| damaged())?;
        if archive.len() != raw.len() {
            return Err(FormatError::Broken(
                "zip archive has duplicate entry names".into(),
            ));
        }
        let mut entries = Vec::with_capacity(raw.len());
        for (i, (raw_name, size, compressed)) in raw.into_iter().enumerate() {
            if let Some(why) = unsafe_name(&raw_name) {
                return Err(FormatError::Broken(format!(
                    "unsafe entry name in zip archive ({why}): {}",
                    String::from_utf8_lossy(&raw_name)
                )));
            }
            let name = archive.name_for_index(i).ok_or_else(damaged)?.to_string();
            if size > RATIO_MIN_SIZE && size > compressed.saturating_mul(MAX_RATIO) {
                return Err(bomb(&name));
            }
            entries.push(EntryInfo {
                name,
                size,
                compressed,
            });
        }
        Ok(SafeZip { archive, entries })
    }

    pub fn entries(&self) -> &[EntryInfo] {
        &self.entries
    }

    /// Index of the entry with exactly this name, else one that differs only in ASCII case
    /// (books made on case-insensitive file systems get the case of their links wrong).
    pub fn find(&self, name: &str) -> Option<usize> {
        let name = name.trim_start_matches('/');
        self.archive.index_for_name(name).or_else(|| {
            // Zips made on Windows sometimes use backslashes as separators.
            let same = |e: &EntryInfo| {
                e.name.len() == name.len()
                    && e.name
                        .bytes()
                        .zip(name.bytes())
                        .all(|(a, b)| a.eq_ignore_ascii_case(&b) || (a == b'\\' && b == b'/'))
            };
            self.entries.iter().position(same)
        })
    }

    /// Reads an entry fully, refusing more than `cap` bytes or a zip-bomb expansion. Never
    /// inflates more than the cap.
    pub fn read(&mut self, index: usize, cap: u64) -> Result<Vec<u8>, FormatError> {
        let info = self.entries.get(index).ok_or_else(damaged)?.clone();
        if info.size > cap {
            return Err(too_large(&info.name, cap));
        }
        let limit = cap.min(
            info.compressed
                .saturating_mul(MAX_RATIO)
                .max(RATIO_MIN_SIZE),
        );
        let file = self
            .archive
            .by_index(index)
            .map_err(|e| entry_error(&info.name, e))?;
        let mut buf = Vec::with_capacity(info.size.min(limit).min(RATIO_MIN_SIZE) as usize);
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| FormatError::Broken(format!("damaged zip entry {}: {e}", info.name)))?;
        if buf.len() as u64 > limit {
            return Err(if limit == cap {
                too_large(&info.name, cap)
            } else {
                bomb(&info.name)
            });
        }
        Ok(buf)
    }

    /// Reads the entry called `name` (see [`SafeZip::find`]); `Ok(None)` if there is none.
    pub fn read_named(&mut self, name: &str, cap: u64) -> Result<Option<Vec<u8>>, FormatError> {
        match self.find(name) {
            Some(i) => self.read(i, cap).map(Some),
            None => Ok(None),
        }
    }
}

fn too_large(name: &str, cap: u64) -> FormatError {
    FormatError::Broken(format!("zip entry {name} is larger than {cap} bytes"))
}

fn bomb(name: &str) -> FormatError {
    FormatError::Broken(format!(
        "zip bomb: entry {name} expands more than {MAX_RATIO} times"
    ))
}

fn entry_error(name: &str, e: ZipError) -> FormatError {
    match e {
        ZipError::UnsupportedArchive(why) if why == ZipError::PASSWORD_REQUIRED => {
            FormatError::Broken(format!("zip entry {name} is encrypted"))
        }
        ZipError::UnsupportedArchive(why) => {
            FormatError::Broken(format!("zip entry {name} cannot be read: {why}"))
        }
        ZipError::Io(e) => FormatError::Io(e.to_string()),
        _ => damaged(),
    }
}

/// Why a raw entry name is refused: it could escape a folder it is extracted to, or means
/// different things to different tools.
pub fn unsafe_name(raw: &[u8]) -> Option<&'static str> {
    if raw.contains(&0) {
        return Some("NUL byte");
    }
    if raw.starts_with(b"/") || raw.starts_with(b"\\") {
        return Some("absolute path");
    }
    if raw.len() >= 2 && raw[0].is_ascii_alphabetic() && raw[1] == b':' {
        return Some("drive letter");
    }
    if raw.split(|&b| b == b'/' || b == b'\\').any(|c| c == b"..") {
        return Some("parent-directory component");
    }
    None
}

fn le16(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}
fn le32(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}
fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Raw names and (uncompressed, compressed) sizes from the central directory.
type RawEntry = (Vec<u8>, u64, u64);

fn read_central_directory<R: Read + Seek>(r: &mut R) -> Result<Vec<RawEntry>, FormatError> {
    let len = r.seek(SeekFrom::End(0))?;
    // The end record (22 bytes) is followed by a comment of at most 65535 bytes.
    let tail_len = len.min(22 + 65535);
    r.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    r.read_exact(&mut tail)?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| le32(&tail, i) == Some(u64::from(EOCD_SIG)))
        .ok_or_else(damaged)?;
    let eocd_pos = len - tail_len + eocd as u64;
    let e = &tail[eocd..];
    let (mut count, mut cd_size) = (
        le16(e, 10).ok_or_else(damaged)?,
        le32(e, 12).ok_or_else(damaged)?,
    );
    let mut cd_end = eocd_pos;
    if count == 0xFFFF || cd_size == 0xFFFF_FFFF || le32(e, 16) == Some(0xFFFF_FFFF) {
        (count, cd_size, cd_end) = read_zip64_end(r, eocd_pos)?;
    }
    if count > MAX_ENTRIES as u64 {
        return Err(FormatError::Broken(format!(
            "zip archive has too many entries (more than {MAX_ENTRIES})"
        )));
    }
    // 46 bytes is the smallest central directory record.
    if cd_size > MAX_CENTRAL_DIR || count.saturating_mul(46) > cd_size {
        return Err(damaged());
    }
    let cd_start = cd_end.checked_sub(cd_size).ok_or_else(damaged)?;
    r.seek(SeekFrom::Start(cd_start))?;
    let mut cd = vec![0u8; cd_size as usize];
    r.read_exact(&mut cd).map_err(|_| damaged())?;
    parse_central_directory(&cd, count as usize).ok_or_else(damaged)
}

fn read_zip64_end<R: Read + Seek>(
    r: &mut R,
    eocd_pos: u64,
) -> Result<(u64, u64, u64), FormatError> {
    let loc_pos = eocd_pos.checked_sub(20).ok_or_else(damaged)?;
    let mut loc = [0u8; 20];
    r.seek(SeekFrom::Start(loc_pos))?;
    r.read_exact(&mut loc).map_err(|_| damaged())?;
    if le32(&loc, 0) != Some(u64::from(EOCD64_LOCATOR_SIG)) {
        return Err(damaged());
    }
    let rec_pos = le64(&loc, 8).ok_or_else(damaged)?;
    if rec_pos >= loc_pos {
        return Err(damaged());
    }
    let mut rec = [0u8; 56];
    r.seek(SeekFrom::Start(rec_pos))?;
    r.read_exact(&mut rec).map_err(|_| damaged())?;
    if le32(&rec, 0) != Some(u64::from(EOCD64_SIG)) {
        return Err(damaged());
    }
    let count = le64(&rec, 32).ok_or_else(damaged)?;
    let size = le64(&rec, 40).ok_or_else(damaged)?;
    Ok((count, size, rec_pos))
}

fn parse_central_directory(cd: &[u8], count: usize) -> Option<Vec<RawEntry>> {
    let mut out = Vec::with_capacity(count);
    let mut at = 0usize;
    for _ in 0..count {
        if le32(cd, at)? != u64::from(CDFH_SIG) {
            return None;
        }
        let mut compressed = le32(cd, at + 20)?;
        let mut size = le32(cd, at + 24)?;
        let name_len = le16(cd, at + 28)? as usize;
        let extra_len = le16(cd, at + 30)? as usize;
        let comment_len = le16(cd, at + 32)? as usize;
        let name_at = at + 46;
        let name = cd.get(name_at..name_at + name_len)?.to_vec();
        let extra = cd.get(name_at + name_len..name_at + name_len + extra_len)?;
        if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF {
            (size, compressed) = zip64_sizes(extra, size, compressed)?;
        }
        out.push((name, size, compressed));
        at = name_at + name_len + extra_len + comment_len;
    }
    Some(out)
}

/// The zip64 extra field holds the 64-bit values of exactly the fields set to 0xFFFFFFFF,
/// uncompressed size first.
fn zip64_sizes(mut extra: &[u8], size: u64, compressed: u64) -> Option<(u64, u64)> {
    while extra.len() >= 4 {
        let id = le16(extra, 0)?;
        let len = le16(extra, 2)? as usize;
        let data = extra.get(4..4 + len)?;
        if id == 1 {
            let mut at = 0;
            let mut next = |v: u64| -> Option<u64> {
                if v != 0xFFFF_FFFF {
                    return Some(v);
                }
                let x = le64(data, at)?;
                at += 8;
                Some(x)
            };
            let s = next(size)?;
            let c = next(compressed)?;
            return Some((s, c));
        }
        extra = &extra[4 + len..];
    }
    None
}

#[cfg(test)]
#[path = "zipsafe_tests.rs"]
mod tests;
