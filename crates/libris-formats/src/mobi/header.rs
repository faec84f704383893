//! Record 0: the PalmDOC header (16 bytes), the MOBI header and the EXTH block.

use super::exth::{self, be32, Exth};

/// CP-1252; the only other value writers use is 65001 (UTF-8).
pub const ENCODING_CP1252: u32 = 1252;
pub const ENCODING_UTF8: u32 = 65001;

#[derive(Debug, Clone)]
pub struct Record0 {
    /// MOBI format version: 8 for KF8-only (AZW3), 6 or lower for MOBI6 / joint files.
    pub version: u32,
    pub encoding: u32,
    pub full_name: Option<Vec<u8>>,
    pub locale: Option<u32>,
    /// Record index of the first image; cover and thumbnail offsets count from here.
    pub first_image: Option<u32>,
    pub exth: Exth,
}

/// Offsets below are from the start of record 0, as in the MobileRead wiki's tables.
const MOBI_MAGIC: usize = 16;
const HEADER_LENGTH: usize = 20;
const TEXT_ENCODING: usize = 28;
const FILE_VERSION: usize = 36;
const FULL_NAME_OFFSET: usize = 0x54;
const FULL_NAME_LENGTH: usize = 0x58;
const LOCALE: usize = 0x5C;
const FIRST_IMAGE: usize = 0x6C;
const EXTH_FLAGS: usize = 0x80;
const HAS_EXTH: u32 = 0x40;

pub fn parse(rec: &[u8]) -> Result<Record0, String> {
    if rec.get(MOBI_MAGIC..MOBI_MAGIC + 4) != Some(b"MOBI".as_slice()) {
        return Err("record 0 has no MOBI header (a plain PalmDOC or damaged file)".into());
    }
    let header_len = be32(rec, HEADER_LENGTH).ok_or("MOBI header truncated")? as usize;
    let header_end = MOBI_MAGIC
        .checked_add(header_len)
        .filter(|&end| end <= rec.len() && header_len >= 24)
        .ok_or_else(|| {
            format!(
                "MOBI header length {header_len} does not fit record 0 ({} bytes)",
                rec.len()
            )
        })?;
    // Fields past the declared header length belong to the EXTH block or text, not to us.
    let field = |at: usize| (at + 4 <= header_end).then(|| be32(rec, at)).flatten();

    let encoding = field(TEXT_ENCODING).unwrap_or(ENCODING_CP1252);
    let version = field(FILE_VERSION).unwrap_or(0);
    let full_name = match (field(FULL_NAME_OFFSET), field(FULL_NAME_LENGTH)) {
        (Some(off), Some(len)) if len > 0 => {
            let (off, len) = (off as usize, len as usize);
            let bytes = off
                .checked_add(len)
                .and_then(|end| rec.get(off..end))
                .ok_or_else(|| format!("full name ({len} bytes at {off}) lies outside record 0"))?;
            Some(bytes.to_vec())
        }
        _ => None,
    };
    let exth = match field(EXTH_FLAGS) {
        Some(flags) if flags & HAS_EXTH != 0 => exth::parse(&rec[header_end..])?,
        _ => Exth::default(),
    };
    Ok(Record0 {
        version,
        encoding,
        full_name,
        locale: field(LOCALE),
        first_image: field(FIRST_IMAGE).filter(|&i| i != u32::MAX),
        exth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal record 0: PalmDOC header, a 232-byte MOBI header, EXTH, then the name.
    fn record0(version: u32, exth: Option<&[u8]>, name: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; 16 + 232];
        r[16..20].copy_from_slice(b"MOBI");
        r[20..24].copy_from_slice(&232u32.to_be_bytes());
        r[TEXT_ENCODING..TEXT_ENCODING + 4].copy_from_slice(&ENCODING_UTF8.to_be_bytes());
        r[FILE_VERSION..FILE_VERSION + 4].copy_from_slice(&version.to_be_bytes());
        r[LOCALE..LOCALE + 4].copy_from_slice(&0x09u32.to_be_bytes());
        r[FIRST_IMAGE..FIRST_IMAGE + 4].copy_from_slice(&5u32.to_be_bytes());
        if let Some(e) = exth {
            r[EXTH_FLAGS..EXTH_FLAGS + 4].copy_from_slice(&HAS_EXTH.to_be_bytes());
            r.extend_from_slice(e);
        }
        let off = r.len() as u32;
        r[FULL_NAME_OFFSET..FULL_NAME_OFFSET + 4].copy_from_slice(&off.to_be_bytes());
        r[FULL_NAME_LENGTH..FULL_NAME_LENGTH + 4]
            .copy_from_slice(&(name.len() as u32).to_be_bytes());
        r.extend_from_slice(name);
        r
    }

    #[test]
    fn reads_fields() {
        let exth = b"EXTH\0\0\0\x14\0\0\0\x01\0\0\0\x64\0\0\0\x09A";
        let r = parse(&record0(8, Some(exth), b"Full Name")).expect("valid");
        assert_eq!(r.version, 8);
        assert_eq!(r.encoding, ENCODING_UTF8);
        assert_eq!(r.full_name.as_deref(), Some(b"Full Name".as_slice()));
        assert_eq!(r.locale, Some(0x09));
        assert_eq!(r.first_image, Some(5));
        assert_eq!(r.exth.authors, [b"A".to_vec()]);
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse(b"short").is_err());
        let mut r = record0(6, None, b"x");
        r[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(parse(&r).is_err(), "header longer than record");
        let mut r = record0(6, None, b"x");
        r[FULL_NAME_LENGTH..FULL_NAME_LENGTH + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse(&r).is_err(), "name outside record");
        let mut r = record0(6, None, b"x");
        r[EXTH_FLAGS..EXTH_FLAGS + 4].copy_from_slice(&HAS_EXTH.to_be_bytes());
        assert!(parse(&r).is_err(), "EXTH flag without block");
    }

    #[test]
    fn short_header_has_no_late_fields() {
        let mut r = record0(6, None, b"");
        r[20..24].copy_from_slice(&0x50u32.to_be_bytes());
        let h = parse(&r).expect("old short header");
        assert_eq!(h.first_image, None);
        assert_eq!(h.full_name, None);
    }
}
