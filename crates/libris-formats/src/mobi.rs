//! MOBI / AZW3 (PalmDB "BOOKMOBI") metadata and cover. Only the record list, record 0 and
//! the cover record are read, so a large book costs a few kilobytes of I/O.

mod exth;
mod header;
mod locale;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::charset::{self, Charset};
use super::clean::{self, clean_line, dedupe, html_to_text};
use super::detect::looks_like_image;
use super::isbn::parse_isbn;
use super::{limits, Extracted, Format, FormatError, Metadata, Person, RawCover};
use header::Record0;

const PDB_HEADER_LEN: u64 = 78;
const RECORD_ENTRY_LEN: u64 = 8;
/// Record 0 holds the headers and EXTH; real ones are a few KB, calibre's with a long
/// description maybe tens of KB.
const MAX_RECORD0_BYTES: u64 = 1024 * 1024;

pub fn extract(path: &Path) -> Result<Extracted, FormatError> {
    let mut file = File::open(path)?;
    let file_len = file.metadata()?.len();
    let offsets = read_record_offsets(&mut file, file_len)?;
    let rec0 = read_record(&mut file, &offsets, file_len, 0, MAX_RECORD0_BYTES)?
        .ok_or_else(|| broken(format!("record 0 is larger than {MAX_RECORD0_BYTES} bytes")))?;
    let header = header::parse(&rec0).map_err(broken)?;

    // A joint MOBI6+KF8 file starts with the MOBI6 header (version 6) and is a .mobi.
    let format = if header.version == 8 {
        Format::Azw3
    } else {
        Format::Mobi
    };
    let cover = read_cover(&mut file, &offsets, file_len, &header)?;
    Ok(Extracted {
        format,
        metadata: metadata(&header),
        cover,
    })
}

fn broken(reason: impl std::fmt::Display) -> FormatError {
    FormatError::Broken(format!("damaged MOBI file: {reason}"))
}

/// Reads the PDB header and returns the start offset of every record, checked to be
/// ascending and inside the file: a truncated file fails here, not later.
fn read_record_offsets(file: &mut File, file_len: u64) -> Result<Vec<u64>, FormatError> {
    if file_len < PDB_HEADER_LEN {
        return Err(broken(format!(
            "only {file_len} bytes, shorter than a PalmDB header"
        )));
    }
    let mut head = [0u8; PDB_HEADER_LEN as usize];
    file.read_exact(&mut head)?;
    if &head[60..68] != b"BOOKMOBI" {
        return Err(FormatError::Unsupported);
    }
    let count = u64::from(u16::from_be_bytes([head[76], head[77]]));
    if count == 0 {
        return Err(broken("the record list is empty"));
    }
    let list_end = PDB_HEADER_LEN + count * RECORD_ENTRY_LEN;
    if list_end > file_len {
        return Err(broken(format!(
            "file ends inside the list of {count} records"
        )));
    }
    // u16 count × 8 bytes: at most 512 KiB.
    let mut list = vec![0u8; (count * RECORD_ENTRY_LEN) as usize];
    file.read_exact(&mut list)?;
    let mut offsets = Vec::with_capacity(count as usize);
    for (i, entry) in list.chunks_exact(RECORD_ENTRY_LEN as usize).enumerate() {
        let off = u64::from(u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]));
        if off < list_end || off > file_len {
            return Err(broken(format!(
                "record {i} starts at {off}, outside the data (file is {file_len} bytes; truncated?)"
            )));
        }
        if offsets.last().is_some_and(|&prev| off < prev) {
            return Err(broken(format!("record {i} starts before record {}", i - 1)));
        }
        offsets.push(off);
    }
    Ok(offsets)
}

/// The bytes of record `index`; `Ok(None)` when it is larger than `max`.
fn read_record(
    file: &mut File,
    offsets: &[u64],
    file_len: u64,
    index: usize,
    max: u64,
) -> Result<Option<Vec<u8>>, FormatError> {
    let start = offsets[index];
    let end = offsets.get(index + 1).copied().unwrap_or(file_len);
    let len = end - start;
    if len > max {
        return Ok(None);
    }
    let mut buf = vec![0u8; len as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut buf)?;
    Ok(Some(buf))
}

fn read_cover(
    file: &mut File,
    offsets: &[u64],
    file_len: u64,
    header: &Record0,
) -> Result<Option<RawCover>, FormatError> {
    let Some(first) = header.first_image else {
        return Ok(None);
    };
    // Prefer the cover; the thumbnail is a last resort for files that only mark that.
    let Some(offset) = header.exth.cover_offset.or(header.exth.thumb_offset) else {
        return Ok(None);
    };
    let Some(index) = first.checked_add(offset).map(|i| i as usize) else {
        return Ok(None);
    };
    if index == 0 || index >= offsets.len() {
        return Ok(None);
    }
    let max = limits::MAX_COVER_BYTES as u64;
    let Some(bytes) = read_record(file, offsets, file_len, index, max)? else {
        return Ok(None);
    };
    Ok(looks_like_image(&bytes).then_some(RawCover { bytes }))
}

fn metadata(h: &Record0) -> Metadata {
    let text = |bytes: &[u8]| -> String {
        if h.encoding == header::ENCODING_UTF8 || h.version >= 8 {
            String::from_utf8_lossy(bytes).into_owned()
        } else {
            // 1252 and the odd unknown value: calibre decodes both as CP-1252 too.
            charset::to_utf8(bytes, Charset::Windows1252)
        }
    };
    let field =
        |bytes: &Option<Vec<u8>>| bytes.as_deref().map(text).as_deref().and_then(clean_line);
    let e = &h.exth;

    // Writers that use one record per author (calibre) are trusted as they are; a lone
    // record often holds "A & B" or "A; B" from older tools.
    let authors = if let [only] = e.authors.as_slice() {
        clean::split_authors(&text(only))
    } else {
        dedupe(e.authors.iter().filter_map(|raw| clean_line(&text(raw))))
    };
    let genres = dedupe(e.subjects.iter().flat_map(|raw| {
        text(raw)
            .split(';')
            .filter_map(clean_line)
            .collect::<Vec<_>>()
    }));
    // 104 is the ISBN field; 113 (ASIN of a print book) and 112 (source) sometimes hold
    // one when it is missing. Only checksum-valid values count.
    let isbn = [&e.isbn, &e.asin, &e.source]
        .into_iter()
        .find_map(|v| v.as_deref().map(text).and_then(|s| parse_isbn(&s)));
    let language = field(&e.language)
        .and_then(|l| clean::normalize_language(&l))
        .or_else(|| h.locale.and_then(locale::locale_to_language));

    Metadata {
        title: field(&e.title).or_else(|| field(&h.full_name)),
        authors: authors.into_iter().map(Person::named).collect(),
        language,
        isbn_10: isbn.as_ref().and_then(|i| i.isbn10.clone()),
        isbn_13: isbn.map(|i| i.isbn13),
        publisher: field(&e.publisher),
        published_year: field(&e.published).and_then(|d| clean::year_from_date(&d)),
        description: e
            .description
            .as_deref()
            .map(|d| html_to_text(&text(d)))
            .filter(|d| !d.is_empty()),
        genres,
        series: None,
        series_index: None,
        page_count: None,
    }
}

#[cfg(test)]
mod tests {
    use super::header::{Record0, ENCODING_CP1252};
    use super::{exth::Exth, metadata};

    #[test]
    fn cp1252_strings_and_single_author_record() {
        let h = Record0 {
            version: 6,
            encoding: ENCODING_CP1252,
            full_name: Some(b"Caf\xe9 \x93Cr\xe8me\x94".to_vec()),
            locale: Some(0x0809),
            first_image: None,
            exth: Exth {
                authors: vec![b"Zo\xeb L\xf6we & Fran\xe7ois \x8aapek".to_vec()],
                subjects: vec![b"Cuisine; Humour".to_vec()],
                isbn: Some(b"not an isbn".to_vec()),
                asin: Some(b"155860832X".to_vec()),
                published: Some(b"2021-07-14".to_vec()),
                ..Exth::default()
            },
        };
        let m = metadata(&h);
        assert_eq!(
            m.title.as_deref(),
            Some("Café “Crème”"),
            "full name when EXTH 503 is absent"
        );
        let authors: Vec<_> = m.authors.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(authors, ["Zoë Löwe", "François Šapek"]);
        assert_eq!(m.genres, ["Cuisine", "Humour"]);
        assert_eq!(
            m.language.as_deref(),
            Some("en-GB"),
            "header locale without EXTH 524"
        );
        assert_eq!(
            m.isbn_10.as_deref(),
            Some("155860832X"),
            "invalid 104 falls back to the ASIN"
        );
        assert_eq!(m.published_year, Some(2021));
    }
}
