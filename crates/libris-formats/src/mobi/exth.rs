//! EXTH: the tagged metadata block after the MOBI header.

/// The EXTH records libris uses; repeated records keep their order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Exth {
    pub authors: Vec<Vec<u8>>,
    pub publisher: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    pub isbn: Option<Vec<u8>>,
    pub subjects: Vec<Vec<u8>>,
    pub published: Option<Vec<u8>>,
    /// 112: sometimes "urn:isbn:…" when 104 is missing.
    pub source: Option<Vec<u8>>,
    /// 113: for print books Amazon's ASIN is the ISBN-10.
    pub asin: Option<Vec<u8>>,
    pub kf8_boundary: Option<u32>,
    pub cover_offset: Option<u32>,
    pub thumb_offset: Option<u32>,
    pub title: Option<Vec<u8>>,
    pub language: Option<Vec<u8>>,
}

/// Parses an EXTH block starting at `data[0]` ("EXTH", length, count, records); `data`
/// runs to the end of record 0. Records are bounded by record 0, not by the declared block
/// length, which some writers get wrong (calibre's reader ignores it too). A record running
/// past record 0 is an error: the header is lying, so nothing in it can be trusted.
pub fn parse(data: &[u8]) -> Result<Exth, String> {
    if data.get(..4) != Some(b"EXTH".as_slice()) {
        return Err("EXTH flag set but no EXTH block".into());
    }
    let count = be32(data, 8).ok_or("EXTH header truncated")?;
    let block = data;
    let mut exth = Exth::default();
    let mut pos = 12;
    for i in 0..count {
        if pos + 8 > block.len() {
            return Err(format!(
                "EXTH record {i} of {count} starts past the end of record 0"
            ));
        }
        let kind = be32(block, pos).unwrap_or(0);
        let len = be32(block, pos + 4).unwrap_or(0) as usize;
        if len < 8 || pos + len > block.len() {
            return Err(format!(
                "EXTH record {i} (type {kind}) has bad length {len}"
            ));
        }
        exth.add(kind, &block[pos + 8..pos + len]);
        pos += len;
    }
    Ok(exth)
}

impl Exth {
    fn add(&mut self, kind: u32, value: &[u8]) {
        let owned = || Some(value.to_vec());
        match kind {
            100 => self.authors.push(value.to_vec()),
            101 => self.publisher = owned(),
            103 => self.description = owned(),
            104 => self.isbn = owned(),
            105 => self.subjects.push(value.to_vec()),
            106 => self.published = owned(),
            112 => self.source = owned(),
            113 => self.asin = owned(),
            121 => self.kf8_boundary = be32(value, 0),
            // 0xFFFFFFFF is how writers say "no cover".
            201 => self.cover_offset = be32(value, 0).filter(|&v| v != u32::MAX),
            202 => self.thumb_offset = be32(value, 0).filter(|&v| v != u32::MAX),
            503 => self.title = owned(),
            524 => self.language = owned(),
            // 108 contributor is the converting software ("calibre (6.13)"), not a person.
            _ => {}
        }
    }
}

pub fn be32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, value: &[u8]) -> Vec<u8> {
        let mut r = kind.to_be_bytes().to_vec();
        r.extend_from_slice(&(value.len() as u32 + 8).to_be_bytes());
        r.extend_from_slice(value);
        r
    }

    fn block(records: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = records.concat();
        let mut b = b"EXTH".to_vec();
        b.extend_from_slice(&(body.len() as u32 + 12).to_be_bytes());
        b.extend_from_slice(&(records.len() as u32).to_be_bytes());
        b.extend_from_slice(&body);
        b
    }

    #[test]
    fn parses_known_records_in_order() {
        let data = block(&[
            record(503, b"Title"),
            record(100, b"Alice"),
            record(108, b"calibre (6.13.0)"),
            record(100, b"Bob"),
            record(105, b"Fiction"),
            record(105, b"Sea"),
            record(201, &3u32.to_be_bytes()),
            record(202, &u32::MAX.to_be_bytes()),
            record(121, &7u32.to_be_bytes()),
            record(524, b"en"),
            record(9999, b"unknown records are skipped"),
        ]);
        let exth = parse(&data).expect("valid block");
        assert_eq!(exth.title.as_deref(), Some(b"Title".as_slice()));
        assert_eq!(exth.authors, [b"Alice".to_vec(), b"Bob".to_vec()]);
        assert_eq!(exth.subjects, [b"Fiction".to_vec(), b"Sea".to_vec()]);
        assert_eq!(exth.cover_offset, Some(3));
        assert_eq!(exth.thumb_offset, None, "0xFFFFFFFF means none");
        assert_eq!(exth.kf8_boundary, Some(7));
        assert_eq!(exth.language.as_deref(), Some(b"en".as_slice()));
    }

    #[test]
    fn declared_length_and_padding_are_not_trusted() {
        let mut data = block(&[record(100, b"A")]);
        data.extend_from_slice(&[0, 0, 0]);
        data[4..8].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(parse(&data).expect("padded").authors.len(), 1);
    }

    #[test]
    fn lying_lengths_are_errors() {
        assert!(parse(b"EXTX\0\0\0\x0c\0\0\0\0").is_err(), "bad magic");
        assert!(parse(b"EXTH\0\0").is_err(), "truncated header");
        let mut bad_record = block(&[record(100, b"A")]);
        bad_record[16..20].copy_from_slice(&4u32.to_be_bytes());
        assert!(
            parse(&bad_record).is_err(),
            "record shorter than its header"
        );
        let mut overrun = block(&[record(100, b"A")]);
        overrun[16..20].copy_from_slice(&100u32.to_be_bytes());
        assert!(parse(&overrun).is_err(), "record past record 0");
        let mut too_many = block(&[record(100, b"A")]);
        too_many[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(
            parse(&too_many).is_err(),
            "count larger than the records present"
        );
    }

    #[test]
    fn empty_block() {
        assert_eq!(parse(&block(&[])).expect("empty"), Exth::default());
    }
}
