//! Formats that carry no metadata we read: plain text and DjVu. Their title comes from the
//! file name (filled in by `extract`).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::{Extracted, Format, FormatError, Metadata};

/// Control characters (other than whitespace) allowed per 1000 characters of "text".
const MAX_CONTROLS_PER_MILLE: usize = 5;
/// Chunks walked in a DjVu bundle: far more than any real document has pages.
const MAX_DJVU_CHUNKS: usize = 200_000;

pub fn extract_txt() -> Extracted {
    Extracted {
        format: Format::Txt,
        metadata: Metadata::default(),
        cover: None,
    }
}

/// Whether the start of a file is plain text: UTF-8 (BOM optional) or UTF-16 with a BOM,
/// no NUL, almost no control characters. `truncated`: `head` is a prefix of the file, so a
/// character cut at its end is fine. Only a `.txt` file is asked (the caller checks the
/// name), so markup is text too.
pub fn looks_like_text(head: &[u8], truncated: bool) -> bool {
    let text: String = match head {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, false, truncated),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, true, truncated),
        _ => {
            let b = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
            match std::str::from_utf8(b) {
                Ok(s) => s.to_string(),
                // error_len() None: the input ends inside a character.
                Err(e) if truncated && e.error_len().is_none() => {
                    String::from_utf8_lossy(&b[..e.valid_up_to()]).into_owned()
                }
                Err(_) => return false,
            }
        }
    };
    if text.contains('\0') {
        return false;
    }
    let total = text.chars().count();
    let controls = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
        .count();
    if controls * 1000 > total * MAX_CONTROLS_PER_MILLE {
        return false;
    }
    true
}

fn utf16(b: &[u8], be: bool, truncated: bool) -> String {
    let mut units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        })
        .collect();
    // A surrogate pair cut at the end of the head.
    if truncated && units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
        units.pop();
    }
    // Unpaired surrogates become NUL so the caller rejects the file.
    char::decode_utf16(units)
        .map(|r| r.unwrap_or('\0'))
        .collect()
}

pub fn extract_djvu(path: &Path) -> Result<Extracted, FormatError> {
    // Small buffer: every chunk header is a seek away from the previous one.
    let mut r = BufReader::with_capacity(512, File::open(path)?);
    let pages = djvu_page_count(&mut r)?;
    Ok(Extracted {
        format: Format::Djvu,
        metadata: Metadata {
            page_count: pages,
            ..Default::default()
        },
        cover: None,
    })
}

/// A single-page `DJVU` form is one page; a bundled `DJVM` holds one `FORM:DJVU` chunk per
/// page (shared `DJVI` and thumbnail `THUM` forms are not pages). Indirect documents keep
/// their pages in other files: unknown.
pub fn djvu_page_count<R: Read + Seek>(r: &mut R) -> Result<Option<i32>, FormatError> {
    let len = r.seek(SeekFrom::End(0))?;
    r.seek(SeekFrom::Start(0))?;
    let mut head = [0u8; 16];
    r.read_exact(&mut head)
        .map_err(|_| FormatError::Broken("truncated DjVu file".into()))?;
    match &head[12..16] {
        b"DJVU" => return Ok(Some(1)),
        b"DJVM" => {}
        _ => return Err(FormatError::Broken("not a DjVu document".into())),
    }
    let form_end = (12 + u64::from(be32(&head[8..12]))).min(len);
    let mut pos = 16u64;
    let mut pages = 0i32;
    for _ in 0..MAX_DJVU_CHUNKS {
        if pos.saturating_add(8) > form_end {
            break;
        }
        r.seek(SeekFrom::Start(pos))?;
        let mut hdr = [0u8; 12];
        let n = super::read_up_to(r, &mut hdr)?;
        if n < 8 {
            break;
        }
        let size = u64::from(be32(&hdr[4..8]));
        if &hdr[..4] == b"DIRM" && n >= 9 && hdr[8] & 0x80 == 0 {
            return Ok(None);
        }
        if &hdr[..4] == b"FORM" && n == 12 && &hdr[8..12] == b"DJVU" {
            pages = pages.saturating_add(1);
        }
        // Chunks are padded to an even length.
        pos = pos
            .saturating_add(8)
            .saturating_add(size)
            .saturating_add(size & 1);
    }
    Ok((pages > 0).then_some(pages))
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn text_detection() {
        assert!(looks_like_text("Hello\nwörld\t!".as_bytes(), false));
        assert!(looks_like_text(b"\xEF\xBB\xBFbom", false));
        assert!(!looks_like_text(b"a\0b", false));
        assert!(!looks_like_text(b"ok \xc3\x28", false));
        assert!(looks_like_text(b"ok \xe3\x81", true)); // cut inside a character
        assert!(!looks_like_text(b"ok \xe3\x81", false));
        assert!(looks_like_text(b"<html>", false));
        assert!(!looks_like_text(b"\x01\x02\x03\x04 binary", false));
        let mut u16le = vec![0xFF, 0xFE];
        u16le.extend("Привет".encode_utf16().flat_map(u16::to_le_bytes));
        assert!(looks_like_text(&u16le, false));
    }

    fn chunk(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.extend((body.len() as u32).to_be_bytes());
        v.extend(body);
        if body.len() % 2 == 1 {
            v.push(0);
        }
        v
    }

    #[test]
    fn djvu_pages() {
        let single = chunk(b"FORM", b"DJVUINFO");
        let mut doc = b"AT&T".to_vec();
        doc.extend(&single);
        assert_eq!(djvu_page_count(&mut Cursor::new(doc)).unwrap(), Some(1));

        let mut body = b"DJVM".to_vec();
        body.extend(chunk(b"DIRM", &[0x81, 0, 3]));
        body.extend(chunk(b"FORM", b"DJVIx"));
        body.extend(chunk(b"FORM", b"DJVUabc"));
        body.extend(chunk(b"FORM", b"DJVU"));
        let mut doc = b"AT&T".to_vec();
        doc.extend(chunk(b"FORM", &body));
        assert_eq!(djvu_page_count(&mut Cursor::new(doc)).unwrap(), Some(2));

        let mut body = b"DJVM".to_vec();
        body.extend(chunk(b"DIRM", &[0x01, 0, 3]));
        let mut doc = b"AT&T".to_vec();
        doc.extend(chunk(b"FORM", &body));
        assert_eq!(djvu_page_count(&mut Cursor::new(doc)).unwrap(), None);

        assert!(djvu_page_count(&mut Cursor::new(b"AT&TFORM".to_vec())).is_err());
    }
}
