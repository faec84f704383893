//! Text clean-up shared by every reader, so that metadata looks the same whatever the format.

use std::collections::HashSet;

pub use super::html::{decode_entities, html_to_text};
use super::isbn;
pub use super::lang::{normalize_language, valid_language_tag};
use super::Metadata;

/// Trims and collapses every run of whitespace (Unicode, incl. NBSP and newlines) to one space.
/// Text from a file a client sent, as stored: trimmed, without NUL characters (PostgreSQL keeps
/// none), at most `max_chars` characters.
pub fn bounded_text(s: &str, max_chars: usize) -> String {
    let s = s.trim();
    let s: std::borrow::Cow<str> = if s.contains('\0') {
        s.replace('\0', "").into()
    } else {
        s.into()
    };
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => s[..end].trim_end().to_owned(),
        None => s.into_owned(),
    }
}

pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Removes the characters XML 1.0 cannot carry (C0 controls other than tab/LF/CR, U+FFFE,
/// U+FFFF), so that every value can be written into OPDS feeds and OPF files later.
pub fn strip_invalid_xml_chars(s: &str) -> String {
    s.chars().filter(|&c| is_xml_char(c)).collect()
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// One-line value: XML-safe, whitespace collapsed; `None` when nothing is left.
pub fn clean_line(s: &str) -> Option<String> {
    let t = collapse_whitespace(&strip_invalid_xml_chars(s));
    (!t.is_empty()).then_some(t)
}

/// Multi-line plain text: each line collapsed, at most one blank line between paragraphs,
/// no blank lines at either end.
pub fn clean_paragraphs(s: &str) -> Option<String> {
    let s = strip_invalid_xml_chars(s);
    let mut out = String::with_capacity(s.len());
    let mut pending_blank = false;
    for line in s.lines() {
        let line = collapse_whitespace(line);
        if line.is_empty() {
            pending_blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if pending_blank { "\n\n" } else { "\n" });
        }
        pending_blank = false;
        out.push_str(&line);
    }
    (!out.is_empty()).then_some(out)
}

/// A title from an uploaded file's name: no directory, no extension (`.fb2.zip` counts as
/// one), underscores as spaces, whitespace collapsed. Never empty.
pub fn title_from_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = strip_extension(base);
    clean_line(&stem.replace('_', " ")).unwrap_or_else(|| "Untitled".to_string())
}

fn strip_extension(base: &str) -> &str {
    const DOUBLE: &str = ".fb2.zip";
    let cut = base.len().wrapping_sub(DOUBLE.len());
    if base.len() > DOUBLE.len()
        && base.is_char_boundary(cut)
        && base[cut..].eq_ignore_ascii_case(DOUBLE)
    {
        return &base[..cut];
    }
    match base.rfind('.') {
        // A short alphanumeric suffix is an extension; "Mr. Smith" has none.
        Some(dot)
            if dot > 0
                && (1..=5).contains(&(base.len() - dot - 1))
                && base[dot + 1..].bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            &base[..dot]
        }
        _ => base,
    }
}

/// Last pass over what any reader returned: the same clean-up whatever the format, so the
/// `Metadata` contract holds even for readers written elsewhere.
pub fn tidy(m: &mut Metadata) {
    m.title = m.title.as_deref().and_then(clean_line);
    let mut seen = HashSet::new();
    m.authors.retain_mut(|p| {
        let Some(name) = clean_line(&p.name) else {
            return false;
        };
        p.name = name;
        p.file_as = p.file_as.as_deref().and_then(clean_line);
        seen.insert(p.name.to_lowercase())
    });
    m.language = m.language.as_deref().and_then(normalize_language);
    m.publisher = m.publisher.as_deref().and_then(clean_line);
    m.description = m.description.as_deref().and_then(clean_paragraphs);
    m.genres = dedupe(m.genres.iter().filter_map(|g| clean_line(g)));
    m.series = m.series.as_deref().and_then(clean_line);
    m.series_index = m
        .series_index
        .filter(|i| m.series.is_some() && i.is_finite() && *i >= 0.0);
    m.published_year = m.published_year.filter(|y| (1..=9999).contains(y));
    m.page_count = m.page_count.filter(|p| *p > 0);
    tidy_isbn(m);
}

fn tidy_isbn(m: &mut Metadata) {
    let from13 = m.isbn_13.as_deref().and_then(isbn::parse_isbn);
    let from10 = m.isbn_10.as_deref().and_then(isbn::parse_isbn);
    match (from13, from10) {
        (Some(a), b) => {
            m.isbn_10 = b.and_then(|b| b.isbn10).or(a.isbn10);
            m.isbn_13 = Some(a.isbn13);
        }
        (None, Some(b)) => {
            m.isbn_10 = b.isbn10;
            m.isbn_13 = Some(b.isbn13);
        }
        (None, None) => {
            m.isbn_10 = None;
            m.isbn_13 = None;
        }
    }
}

/// Keeps the first of values that differ only in case.
pub fn dedupe(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    values.filter(|v| seen.insert(v.to_lowercase())).collect()
}

/// The first run of four ASCII digits, as a year: "2005-08", "c. 1905", "20050803", a PDF
/// date "D:20190514…". Years before 1000 count as missing: calibre writes 0101-01-01 for
/// "no date" (0100-12-31 once shifted to a western time zone), and no edition is that old.
pub fn year_from_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    let i = b
        .windows(4)
        .position(|w| w.iter().all(u8::is_ascii_digit))?;
    let y = b[i..i + 4]
        .iter()
        .fold(0i32, |acc, d| acc * 10 + i32::from(d - b'0'));
    (y >= 1000).then_some(y)
}

/// Splits one author field that may name several people: "A; B", "A & B", or
/// "Jane Doe and John Smith". "and" only splits when every part has at least two words,
/// so "Tom and Jerry"-style single names survive. Commas never split: "Doe, Jane" is one
/// person written surname first. Parts are cleaned; empty and repeated ones dropped.
pub fn split_authors(field: &str) -> Vec<String> {
    let parts: Vec<&str> = if field.contains(';') {
        field.split(';').collect()
    } else if field.contains('&') {
        field.split('&').collect()
    } else {
        let pieces: Vec<&str> = field.split(" and ").collect();
        let all_full_names = pieces.iter().all(|p| p.split_whitespace().count() >= 2);
        if pieces.len() > 1 && all_full_names {
            pieces
        } else {
            vec![field]
        }
    };
    dedupe(parts.into_iter().filter_map(clean_line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace() {
        assert_eq!(
            collapse_whitespace("\n  The Quirky\n   Cover   "),
            "The Quirky Cover"
        );
        assert_eq!(collapse_whitespace("a\u{a0}\tb"), "a b");
        assert_eq!(clean_line(" \u{1}\u{b} "), None);
        assert_eq!(strip_invalid_xml_chars("a\u{0}b\u{fffe}c\td"), "abc\td");
    }

    #[test]
    fn file_names() {
        assert_eq!(title_from_file_name("lighthouse.fb2.zip"), "lighthouse");
        assert_eq!(
            title_from_file_name("Harbor Tales 004 (2021).cbz"),
            "Harbor Tales 004 (2021)"
        );
        assert_eq!(
            title_from_file_name("dir/some_book_name.EPUB"),
            "some book name"
        );
        assert_eq!(title_from_file_name("C:\\x\\My Book.txt"), "My Book");
        assert_eq!(title_from_file_name("Mr. Smith Goes"), "Mr. Smith Goes");
        assert_eq!(title_from_file_name(".epub"), ".epub");
        assert_eq!(title_from_file_name("___.txt"), "Untitled");
        assert_eq!(
            title_from_file_name("夏目漱石 - 吾輩は猫である.epub"),
            "夏目漱石 - 吾輩は猫である"
        );
        assert_eq!(title_from_file_name("é.fb2.zip"), "é");
    }

    #[test]
    fn years() {
        assert_eq!(year_from_date("2005-08"), Some(2005));
        assert_eq!(year_from_date("1905-01-01T00:00:00+00:00"), Some(1905));
        assert_eq!(year_from_date("0101-01-01T00:00:00+00:00"), None);
        assert_eq!(year_from_date("July 4, 1999"), Some(1999));
        assert_eq!(year_from_date("99"), None);
        assert_eq!(year_from_date("2019-05-14T00:00:00+00:00"), Some(2019));
        assert_eq!(year_from_date("D:20261122081633+00'00'"), Some(2026));
        assert_eq!(year_from_date("1905"), Some(1905));
        assert_eq!(year_from_date("0100-12-31T23:00:00-01:00"), None);
        // fmt-b's copy wanted None here (leading digits only); fmt-a's reads the year.
        assert_eq!(year_from_date("May 2019"), Some(2019));
    }

    #[test]
    fn author_splitting() {
        assert_eq!(
            split_authors("Alice Smith; Bob Jones"),
            ["Alice Smith", "Bob Jones"]
        );
        assert_eq!(
            split_authors("Alice Smith & Bob Jones"),
            ["Alice Smith", "Bob Jones"]
        );
        assert_eq!(
            split_authors("Jane Doe and John Smith"),
            ["Jane Doe", "John Smith"]
        );
        assert_eq!(split_authors("Tom and Jerry"), ["Tom and Jerry"]);
        assert_eq!(split_authors("Doe, Jane"), ["Doe, Jane"]);
        assert_eq!(split_authors("A One; a one ;"), ["A One"]);
        assert_eq!(split_authors(" ; "), Vec::<String>::new());
    }

    #[test]
    fn tidy_fixes_isbn_and_lists() {
        let mut m = Metadata {
            title: Some("  A \n title ".into()),
            isbn_10: Some("155860832X".into()),
            genres: vec!["Sea".into(), " sea ".into(), "".into(), "Fiction".into()],
            series_index: Some(2.0),
            ..Default::default()
        };
        tidy(&mut m);
        assert_eq!(m.title.as_deref(), Some("A title"));
        assert_eq!(m.isbn_13.as_deref(), Some("9781558608320"));
        assert_eq!(m.genres, vec!["Sea", "Fiction"]);
        assert_eq!(m.series_index, None);
    }

    #[test]
    fn paragraphs() {
        assert_eq!(
            clean_paragraphs("\n a \n\n\n  b  c\nd\n\n").as_deref(),
            Some("a\n\nb c\nd")
        );
    }
}
