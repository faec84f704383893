//! ISBN parsing and validation, for book metadata and for user edits.

/// A checksum-valid ISBN in compact form (digits only, upper-case `X`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isbn {
    /// Only for 978-prefixed numbers: 979 ones have no ISBN-10 form.
    pub isbn10: Option<String>,
    pub isbn13: String,
}

/// Parses an ISBN as people and tools write it: `urn:isbn:` / `ISBN:` / `ISBN ` prefixes,
/// hyphens and spaces are accepted. Returns `None` unless the check digit is right.
pub fn parse_isbn(s: &str) -> Option<Isbn> {
    let compact = compact(strip_prefix(s.trim()))?;
    match compact.len() {
        10 if valid_isbn10(&compact) => Some(Isbn {
            isbn13: isbn10_to_13(&compact)?,
            isbn10: Some(compact),
        }),
        13 if valid_isbn13(&compact) => Some(Isbn {
            isbn10: isbn13_to_10(&compact),
            isbn13: compact,
        }),
        _ => None,
    }
}

/// True for exactly 10 characters (9 digits then a digit or `X`) with a valid mod-11 check.
/// Expects the compact form; use [`parse_isbn`] for free-form input.
pub fn valid_isbn10(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || !b[..9].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let check = match b[9] {
        d @ b'0'..=b'9' => u32::from(d - b'0'),
        b'X' | b'x' => 10,
        _ => return false,
    };
    let sum: u32 = b[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    (sum + check).is_multiple_of(11)
}

/// True for 13 digits starting 978/979 with a valid EAN-13 check digit.
/// Other EAN-13 prefixes are products, not books.
pub fn valid_isbn13(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 13 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if !(s.starts_with("978") || s.starts_with("979")) {
        return false;
    }
    ean13_check(&b[..12]) == u32::from(b[12] - b'0')
}

/// ISBN-10 → ISBN-13 (978 prefix, new check digit). `None` if the input is not a valid ISBN-10.
pub fn isbn10_to_13(s: &str) -> Option<String> {
    if !valid_isbn10(s) {
        return None;
    }
    let mut out = String::with_capacity(13);
    out.push_str("978");
    out.push_str(&s[..9]);
    let check = ean13_check(out.as_bytes());
    out.push(char::from(b'0' + check as u8));
    Some(out)
}

/// ISBN-13 → ISBN-10, only possible for the 978 prefix.
pub fn isbn13_to_10(s: &str) -> Option<String> {
    if !valid_isbn13(s) || !s.starts_with("978") {
        return None;
    }
    let body = &s[3..12];
    let sum: u32 = body
        .bytes()
        .zip((2..=10).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = (11 - sum % 11) % 11;
    let mut out = body.to_string();
    out.push(if check == 10 {
        'X'
    } else {
        char::from(b'0' + check as u8)
    });
    Some(out)
}

fn ean13_check(first12: &[u8]) -> u32 {
    let sum: u32 = first12
        .iter()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    (10 - sum % 10) % 10
}

fn strip_prefix(s: &str) -> &str {
    for p in ["urn:isbn:", "isbn-13:", "isbn-10:", "isbn:", "isbn"] {
        if s.len() >= p.len() && s.is_char_boundary(p.len()) && s[..p.len()].eq_ignore_ascii_case(p)
        {
            return s[p.len()..].trim_start();
        }
    }
    s
}

/// Removes the separators people write; `None` on any other non-digit (except a final X).
fn compact(s: &str) -> Option<String> {
    let mut out = String::with_capacity(13);
    for c in s.chars() {
        match c {
            '0'..='9' => out.push(c),
            'X' | 'x' => out.push('X'),
            // Hyphen, spaces and the dashes word processors substitute for hyphens.
            '-' | ' ' | '\u{a0}' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' => {}
            _ => return None,
        }
        if out.len() > 13 {
            return None;
        }
    }
    // X is only ever the last character of an ISBN-10.
    match out.find('X') {
        Some(i) if i != 9 || out.len() != 10 => None,
        _ => Some(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn13_valid_and_invalid() {
        assert!(valid_isbn13("9780306406157"));
        assert!(!valid_isbn13("9780306406158"));
        assert!(!valid_isbn13("4006381333931")); // valid EAN, not a book
        assert!(!valid_isbn13("978030640615"));
        assert!(!valid_isbn13("978-0306406157"));
    }

    #[test]
    fn isbn10_with_x() {
        assert!(valid_isbn10("155860832X"));
        assert!(valid_isbn10("155860832x"));
        assert!(!valid_isbn10("1558608321"));
        assert!(!valid_isbn10("X558608321"));
        assert!(valid_isbn10("0306406152"));
    }

    #[test]
    fn parse_forms() {
        let i = parse_isbn("urn:isbn:978-3-16-148410-0").unwrap();
        assert_eq!(i.isbn13, "9783161484100");
        assert_eq!(i.isbn10.as_deref(), Some("316148410X"));
        let i = parse_isbn("ISBN: 1-55860-832-X").unwrap();
        assert_eq!(i.isbn10.as_deref(), Some("155860832X"));
        assert_eq!(i.isbn13, "9781558608320");
        let i = parse_isbn("ISBN:9791234567896").unwrap();
        assert_eq!(i.isbn10, None);
        assert_eq!(
            parse_isbn("978 0 306 40615 7").unwrap().isbn13,
            "9780306406157"
        );
        assert_eq!(
            parse_isbn("ISBN 0-306-40615-2").unwrap().isbn13,
            "9780306406157"
        );
    }

    #[test]
    fn parse_rejects() {
        assert_eq!(parse_isbn(""), None);
        assert_eq!(parse_isbn("uuid:0c494239-9a41"), None);
        assert_eq!(parse_isbn("9780306406158"), None);
        assert_eq!(parse_isbn("15586083X2"), None);
        assert_eq!(parse_isbn("97803064061570000"), None);
        assert_eq!(parse_isbn("ISBNé"), None);
        assert_eq!(parse_isbn("1234567890123"), None, "no 978/979 prefix");
        assert_eq!(parse_isbn("B00ABCDEFG"), None, "an ASIN");
        assert_eq!(parse_isbn("X55860832X"), None);
        assert_eq!(parse_isbn("1-55860-832-x"), parse_isbn("155860832X"));
    }

    #[test]
    fn conversions() {
        assert_eq!(isbn10_to_13("0306406152").as_deref(), Some("9780306406157"));
        assert_eq!(isbn13_to_10("9780306406157").as_deref(), Some("0306406152"));
        assert_eq!(isbn13_to_10("9781558608320").as_deref(), Some("155860832X"));
        assert_eq!(isbn13_to_10("9791234567896"), None);
        assert_eq!(isbn10_to_13("0306406153"), None);
    }
}
