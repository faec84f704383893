//! PDF text strings (Info values): UTF-16BE or UTF-8 with a byte-order mark, otherwise
//! PDFDocEncoding.

/// PDFDocEncoding for 0x18–0x1F and 0x80–0xA0; elsewhere it matches Latin-1.
const LOW: [char; 8] = ['˘', 'ˇ', 'ˆ', '˙', '˝', '˛', '˚', '˜'];
const HIGH: [char; 33] = [
    '•', '†', '‡', '…', '—', '–', 'ƒ', '⁄', '‹', '›', '−', '‰', '„', '“', '”', '‘', '’', '‚', '™',
    'ﬁ', 'ﬂ', 'Ł', 'Œ', 'Š', 'Ÿ', 'Ž', 'ı', 'ł', 'œ', 'š', 'ž', '\u{FFFD}', '€',
];

pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect();
        return strip_language_escapes(&String::from_utf16_lossy(&units));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return strip_language_escapes(&String::from_utf8_lossy(rest));
    }
    bytes
        .iter()
        .map(|&b| match b {
            0x18..=0x1F => LOW[usize::from(b - 0x18)],
            0x80..=0xA0 => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// Unicode strings may embed a language marker: U+001B, a language code, U+001B.
fn strip_language_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_escape = false;
    for c in s.chars() {
        if c == '\u{1b}' {
            in_escape = !in_escape;
        } else if !in_escape {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode_text;

    #[test]
    fn encodings() {
        assert_eq!(
            decode_text(b"\xfe\xff\x00J\x00a\x20\x14\xd8\x3d\xdc\xda"),
            "Ja—📚"
        );
        assert_eq!(decode_text(b"\xef\xbb\xbfCaf\xc3\xa9"), "Café");
        assert_eq!(decode_text(b"Caf\xe9 \x84 \x93x \xa0"), "Café — ﬁx €");
        assert_eq!(
            decode_text(b"\xfe\xff\x00\x1b\x00e\x00n\x00\x1b\x00H\x00i"),
            "Hi"
        );
        assert_eq!(
            decode_text(b"\xfe\xff\x00"),
            "",
            "odd trailing byte is dropped"
        );
    }
}
