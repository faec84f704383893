//! The legacy single-byte encodings real FB2 files are declared in (most of all
//! windows-1251 from Russian libraries), transcoded to UTF-8 (with encoding_rs) before
//! parsing.

use encoding_rs::{WINDOWS_1251, WINDOWS_1252};

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
    let text = match cs {
        Charset::Utf8 => return String::from_utf8_lossy(bytes).into_owned(),
        Charset::Latin1 => return encoding_rs::mem::decode_latin1(bytes).into_owned(),
        Charset::Windows1251 => WINDOWS_1251.decode_without_bom_handling(bytes).0,
        Charset::Windows1252 => WINDOWS_1252.decode_without_bom_handling(bytes).0,
    };
    // WHATWG maps the bytes a Windows code page leaves undefined (0x98 in 1251; 0x81, 0x8D,
    // 0x8F, 0x90, 0x9D in 1252) to C1 controls; they are no text.
    let c1 = |c: char| ('\u{80}'..='\u{9F}').contains(&c);
    if text.contains(c1) {
        text.replace(c1, "\u{FFFD}")
    } else {
        text.into_owned()
    }
}

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
