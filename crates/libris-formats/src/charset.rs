//! The legacy single-byte encodings real FB2 files are declared in (most of all
//! windows-1251 from Russian libraries), transcoded to UTF-8 before parsing. Two small tables
//! cost less than an encoding crate.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    Windows1251,
    Windows1252,
    Latin1,
}

/// The `encoding` of the XML declaration at the start of `head` (after an optional BOM).
/// `Ok(Utf8)` when there is none; `Err(name)` for an encoding we cannot decode.
pub fn declared(head: &[u8]) -> Result<Charset, String> {
    let s = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let s = &s[s.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    if !s.starts_with(b"<?xml") {
        return Ok(Charset::Utf8);
    }
    let Some(end) = s.windows(2).position(|w| w == b"?>") else {
        return Ok(Charset::Utf8);
    };
    let decl = String::from_utf8_lossy(&s[..end]).to_ascii_lowercase();
    let Some(at) = decl.find("encoding") else {
        return Ok(Charset::Utf8);
    };
    let rest = decl[at + "encoding".len()..].trim_start();
    let Some(rest) = rest.strip_prefix('=') else {
        return Ok(Charset::Utf8);
    };
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
    let name = match quote {
        Some(q) => rest[1..].split(q).next().unwrap_or(""),
        None => "",
    }
    .trim();
    match name {
        "" | "utf-8" | "utf8" | "us-ascii" | "ascii" => Ok(Charset::Utf8),
        "windows-1251" | "cp1251" | "cp-1251" | "win-1251" | "x-cp1251" => Ok(Charset::Windows1251),
        "windows-1252" | "cp1252" => Ok(Charset::Windows1252),
        "iso-8859-1" | "latin1" | "latin-1" | "iso8859-1" => Ok(Charset::Latin1),
        other => Err(other.to_string()),
    }
}

/// Bytes in `cs` → UTF-8 text. Every byte maps to a character, so this cannot fail.
pub fn to_utf8(bytes: &[u8], cs: Charset) -> String {
    match cs {
        Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        Charset::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        Charset::Windows1251 => bytes
            .iter()
            .map(|&b| match b {
                0..=0x7F => char::from(b),
                0x80..=0xBF => CP1251_80[usize::from(b - 0x80)],
                // А..я are contiguous.
                _ => char::from_u32(0x410 + u32::from(b - 0xC0)).unwrap_or('\u{FFFD}'),
            })
            .collect(),
        Charset::Windows1252 => bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9F => CP1252_80[usize::from(b - 0x80)],
                _ => char::from(b),
            })
            .collect(),
    }
}

const CP1251_80: [char; 64] = [
    '\u{0402}', '\u{0403}', '\u{201A}', '\u{0453}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{20AC}', '\u{2030}', '\u{0409}', '\u{2039}', '\u{040A}', '\u{040C}', '\u{040B}', '\u{040F}',
    '\u{0452}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{FFFD}', '\u{2122}', '\u{0459}', '\u{203A}', '\u{045A}', '\u{045C}', '\u{045B}', '\u{045F}',
    '\u{00A0}', '\u{040E}', '\u{045E}', '\u{0408}', '\u{00A4}', '\u{0490}', '\u{00A6}', '\u{00A7}',
    '\u{0401}', '\u{00A9}', '\u{0404}', '\u{00AB}', '\u{00AC}', '\u{00AD}', '\u{00AE}', '\u{0407}',
    '\u{00B0}', '\u{00B1}', '\u{0406}', '\u{0456}', '\u{0491}', '\u{00B5}', '\u{00B6}', '\u{00B7}',
    '\u{0451}', '\u{2116}', '\u{0454}', '\u{00BB}', '\u{0458}', '\u{0405}', '\u{0455}', '\u{0457}',
];

const CP1252_80: [char; 32] = [
    '\u{20AC}', '\u{FFFD}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{FFFD}', '\u{017D}', '\u{FFFD}',
    '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{FFFD}', '\u{017E}', '\u{0178}',
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations() {
        assert_eq!(
            declared(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"),
            Ok(Charset::Windows1251)
        );
        assert_eq!(
            declared(b"\xEF\xBB\xBF<?xml version='1.0' encoding = 'UTF-8' ?>"),
            Ok(Charset::Utf8)
        );
        assert_eq!(declared(b"<FictionBook>"), Ok(Charset::Utf8));
        assert_eq!(declared(b"<?xml version=\"1.0\"?>"), Ok(Charset::Utf8));
        assert_eq!(
            declared(b"<?xml encoding=\"koi8-r\"?>"),
            Err("koi8-r".into())
        );
    }

    #[test]
    fn decodes() {
        // "Война ёЁ №" in windows-1251.
        let b = [0xC2, 0xEE, 0xE9, 0xED, 0xE0, b' ', 0xB8, 0xA8, b' ', 0xB9];
        assert_eq!(to_utf8(&b, Charset::Windows1251), "Война ёЁ №");
        assert_eq!(to_utf8(&[0x80, 0xE9], Charset::Windows1252), "€é");
        assert_eq!(to_utf8(&[0xE9], Charset::Latin1), "é");
        // Legacy MOBI text (was fmt-b's cp1252_to_string).
        assert_eq!(
            to_utf8(b"Caf\xe9 \x93x\x94 \x80 \x81", Charset::Windows1252),
            "Café “x” € \u{FFFD}"
        );
    }
}
