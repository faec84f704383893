//! Highlights as KOReader's Exporter plugin writes them (plugins/exporter.koplugin):
//! - Markdown (`template/md.lua`), what its Nextcloud target sends as a note's content:
//!   `# Title`, `##### Authors`, `## Chapter` when the chapter changes, then per highlight
//!   `### Page N @ 05 March 2024 02:15:30 PM`, the text (wrapped by its drawer's format:
//!   `*…*` lighten, `++…++` underscore, `~~…~~` strikeout, `**…**` invert by default), and
//!   an optional note after a line `---`;
//! - JSON (`target/json.lua`, version "json/1.0.0"): one book, or `documents` of several,
//!   each with `title`, `author`, `file` (the path on the device) and `entries` (`page`, `time` in Unix seconds, `text`, `note`, `chapter`, `drawer`, `color`).
//!
//! Times are the device's local time without a zone (KOReader writes them so); they are read
//! as UTC.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// Highlights parsed at most from one export.
pub const MAX_HIGHLIGHTS: usize = 20_000;
const MAX_TEXT: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    pub chapter: Option<String>,
    /// As KOReader names it: a number, or a page label.
    pub page: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub text: String,
    pub note: Option<String>,
    /// lighten, underscore, strikeout, invert (or what the Markdown's format says).
    pub drawer: Option<String>,
    pub color: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookHighlights {
    pub title: String,
    pub authors: String,
    /// The file on the device (JSON only).
    pub file: Option<String>,
    pub highlights: Vec<Highlight>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HighlightsError {
    #[error("not a KOReader export: {0}")]
    NotAnExport(String),
    #[error("too many highlights (at most {MAX_HIGHLIGHTS})")]
    TooMany,
}

fn clip(s: &str) -> String {
    crate::clean::bounded_text(s, MAX_TEXT)
}

/// A time KOReader could have written (1990–2200): anything else is no time.
fn plausible(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (631_152_000..7_258_118_400)
        .contains(&t.timestamp())
        .then_some(t)
}

fn non_empty(s: &str) -> Option<String> {
    let s = clip(s);
    (!s.is_empty()).then_some(s)
}

/// The drawer a Markdown wrapper stands for (the Markdown target's default formats), and the
/// text inside it.
fn unwrap_style(text: &str) -> (Option<&'static str>, &str) {
    let wrapped = |open: &str, close: &str| {
        (text.len() >= open.len() + close.len() && text.starts_with(open) && text.ends_with(close))
            .then(|| &text[open.len()..text.len() - close.len()])
    };
    for (open, close, drawer) in [
        ("**_", "_**", "bold_italic"),
        ("**", "**", "invert"),
        ("++", "++", "underscore"),
        ("<u>", "</u>", "underscore"),
        ("~~", "~~", "strikeout"),
        ("==", "==", "lighten"),
        ("*", "*", "lighten"),
    ] {
        if let Some(inner) = wrapped(open, close) {
            let drawer = if drawer == "bold_italic" {
                "invert"
            } else {
                drawer
            };
            return (Some(drawer), inner);
        }
    }
    (None, text)
}

/// "Page 5 @ 05 March 2024 02:15:30 PM" → (page, time).
fn page_heading(rest: &str) -> (Option<String>, Option<DateTime<Utc>>) {
    let rest = rest.trim();
    let (page, when) = match rest.rsplit_once(" @ ") {
        Some((p, w)) => (p, Some(w)),
        None => (rest, None),
    };
    let page = page.strip_prefix("Page ").unwrap_or(page);
    let time = when
        .and_then(|w| NaiveDateTime::parse_from_str(w.trim(), "%d %B %Y %I:%M:%S %p").ok())
        .map(|t| t.and_utc())
        .and_then(plausible);
    (non_empty(page), time)
}

/// A highlight being read: its page, time, chapter and body lines.
type Entry<'a> = (
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
    Vec<&'a str>,
);

fn finish(entry: Option<Entry>, out: &mut Vec<Highlight>) {
    let Some((page, time, chapter, lines)) = entry else {
        return;
    };
    let body = lines.join("\n");
    // The note follows a line "---" (written as "\n---\n" after the text).
    let (text, note) = match body.split_once("\n---\n") {
        Some((t, n)) => (t, Some(n)),
        None => match body.strip_suffix("\n---") {
            Some(t) => (t, None),
            None => (body.as_str(), None),
        },
    };
    let (drawer, inner) = unwrap_style(text.trim());
    let Some(text) = non_empty(inner) else { return };
    out.push(Highlight {
        chapter,
        page,
        time,
        text,
        note: note.and_then(non_empty),
        drawer: drawer.map(str::to_owned),
        color: None,
    });
}

/// A note's content as the Markdown template writes it.
pub fn parse_markdown(content: &str) -> Result<BookHighlights, HighlightsError> {
    let mut lines = content.lines().peekable();
    while lines.peek().is_some_and(|l| l.trim().is_empty()) {
        lines.next();
    }
    let title = lines
        .next()
        .and_then(|l| l.strip_prefix("# "))
        .and_then(non_empty)
        .ok_or_else(|| HighlightsError::NotAnExport("no \"# Title\" line first".into()))?;
    let authors = match lines.peek().and_then(|l| l.strip_prefix("##### ")) {
        Some(a) => {
            let a = clip(a);
            lines.next();
            a
        }
        None => String::new(),
    };
    let mut out = vec![];
    let mut chapter: Option<String> = None;
    let mut entry = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("### ") {
            finish(entry.take(), &mut out);
            let (page, time) = page_heading(rest);
            entry = Some((page, time, chapter.clone(), vec![]));
        } else if let Some(rest) = line.strip_prefix("## ") {
            finish(entry.take(), &mut out);
            chapter = non_empty(rest);
        } else if line == "##" || line == "## " {
            // The Markdown file's footer heading ("## " then "_Generated at: …_").
            finish(entry.take(), &mut out);
        } else if let Some((_, _, _, body)) = entry.as_mut() {
            body.push(line);
        }
        if out.len() > MAX_HIGHLIGHTS {
            return Err(HighlightsError::TooMany);
        }
    }
    finish(entry, &mut out);
    Ok(BookHighlights {
        title,
        authors: if authors == "N/A" {
            String::new()
        } else {
            authors
        },
        file: None,
        highlights: out,
    })
}

fn text_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => non_empty(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn book(v: &Value) -> Result<BookHighlights, HighlightsError> {
    let entries = v
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| HighlightsError::NotAnExport("a book without entries".into()))?;
    if entries.len() > MAX_HIGHLIGHTS {
        return Err(HighlightsError::TooMany);
    }
    let highlights = entries
        .iter()
        .filter_map(|e| {
            Some(Highlight {
                text: text_of(e, "text")?,
                chapter: text_of(e, "chapter"),
                page: text_of(e, "page"),
                time: e
                    .get("time")
                    .and_then(Value::as_i64)
                    .and_then(|t| DateTime::from_timestamp(t, 0))
                    .and_then(plausible),
                note: text_of(e, "note"),
                drawer: text_of(e, "drawer"),
                color: text_of(e, "color"),
            })
        })
        .collect();
    Ok(BookHighlights {
        title: text_of(v, "title")
            .ok_or_else(|| HighlightsError::NotAnExport("a book without a title".into()))?,
        authors: text_of(v, "author").unwrap_or_default().replace('\n', ", "),
        file: text_of(v, "file"),
        highlights,
    })
}

/// Whether a JSON document is the Exporter's (its `version` says "json/…").
pub fn is_json_export(v: &Value) -> bool {
    v.get("version")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("json/"))
        && (v.get("entries").is_some() || v.get("documents").is_some())
}

/// A JSON export: one book or several.
pub fn parse_json(v: &Value) -> Result<Vec<BookHighlights>, HighlightsError> {
    if !is_json_export(v) {
        return Err(HighlightsError::NotAnExport(
            "no \"version\": \"json/…\"".into(),
        ));
    }
    let books = match v.get("documents") {
        Some(Value::Array(docs)) => docs.iter().map(book).collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(HighlightsError::NotAnExport(
                "documents is not a list".into(),
            ))
        }
        None => vec![book(v)?],
    };
    if books.iter().map(|b| b.highlights.len()).sum::<usize>() > MAX_HIGHLIGHTS {
        return Err(HighlightsError::TooMany);
    }
    Ok(books)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the Nextcloud target sends for a book with two chapters and three highlights
    /// (template/md.lua with the Markdown target's default formats).
    pub const NOTE: &str = "# Example Book\n##### Jane Doe\n\n## Chapter 1\n### Page 5 @ 05 March 2024 02:15:30 PM\n*First highlight.*\n### Page 7 @ 05 March 2024 02:20:00 PM\n++Second highlight.++\n\n---\nMy note.\n## Chapter 2\n### Page 12 @ 06 March 2024 09:05:10 AM\n**Third highlight.**";

    #[test]
    fn reads_the_markdown_template() {
        let b = parse_markdown(NOTE).unwrap();
        assert_eq!(
            (b.title.as_str(), b.authors.as_str()),
            ("Example Book", "Jane Doe")
        );
        assert_eq!(b.highlights.len(), 3);
        let first = &b.highlights[0];
        assert_eq!(first.text, "First highlight.");
        assert_eq!(first.chapter.as_deref(), Some("Chapter 1"));
        assert_eq!(first.page.as_deref(), Some("5"));
        assert_eq!(first.drawer.as_deref(), Some("lighten"));
        assert_eq!(
            first.time.unwrap().to_rfc3339(),
            "2024-03-05T14:15:30+00:00"
        );
        let second = &b.highlights[1];
        assert_eq!(
            (second.text.as_str(), second.note.as_deref()),
            ("Second highlight.", Some("My note."))
        );
        assert_eq!(second.drawer.as_deref(), Some("underscore"));
        let third = &b.highlights[2];
        assert_eq!(
            (third.chapter.as_deref(), third.drawer.as_deref()),
            (Some("Chapter 2"), Some("invert"))
        );
        assert_eq!(
            third.time.unwrap().to_rfc3339(),
            "2024-03-06T09:05:10+00:00"
        );
    }

    #[test]
    fn markdown_without_formats_or_chapters_and_with_a_footer() {
        let md = "# T\n##### N/A\n\n### Page [3]flow @ 01 January 2025 12:00:00 AM\nplain\ntwo lines\n## \n_Generated at: 2025-01-01-00-00-00_";
        let b = parse_markdown(md).unwrap();
        assert_eq!(b.authors, "");
        assert_eq!(b.highlights.len(), 1);
        let h = &b.highlights[0];
        assert_eq!(
            (h.text.as_str(), h.page.as_deref(), h.drawer.as_deref()),
            ("plain\ntwo lines", Some("[3]flow"), None)
        );
        assert_eq!(h.chapter, None);
        assert!(parse_markdown("hello").is_err());
        // A year PostgreSQL cannot keep is no time; a NUL is dropped.
        let far =
            parse_markdown("# T\n### Page 1 @ 01 January -200000 10:00:00 AM\nA\u{0}B").unwrap();
        assert_eq!(
            (far.highlights[0].time, far.highlights[0].text.as_str()),
            (None, "AB")
        );
        assert!(parse_markdown("").is_err());
    }

    #[test]
    fn reads_the_json_target_one_book_or_several() {
        let one: Value = serde_json::from_str(r#"{"title":"Example Book","author":"Jane Doe\nJohn Roe","file":"/mnt/onboard/Example Book.epub","md5sum":"0123456789ABCDEF0123456789ABCDEF","number_of_pages":250,"created_on":1709719200,"version":"json/1.0.0","entries":[{"sort":"highlight","page":5,"time":1709648130,"text":"First highlight.","chapter":"Chapter 1","drawer":"lighten","color":"yellow","pn_xp":"/body/p[3]"},{"sort":"highlight","page":7,"time":1709648400,"text":"Second highlight.","note":"My note.","chapter":"Chapter 1","drawer":"underscore","color":"yellow"},{"sort":"highlight","page":9,"time":1709648500,"text":"  "}]}"#).unwrap();
        let books = parse_json(&one).unwrap();
        assert_eq!(books.len(), 1);
        let b = &books[0];
        assert_eq!(b.authors, "Jane Doe, John Roe");
        assert_eq!(b.file.as_deref(), Some("/mnt/onboard/Example Book.epub"));
        assert_eq!(b.highlights.len(), 2, "the empty one is left out");
        assert_eq!(b.highlights[1].note.as_deref(), Some("My note."));
        assert_eq!(b.highlights[0].color.as_deref(), Some("yellow"));
        assert_eq!(b.highlights[0].time.unwrap().timestamp(), 1709648130);
        let several = serde_json::json!({"created_on": 1, "version": "json/1.0.0", "documents": [one.clone(), one]});
        assert_eq!(parse_json(&several).unwrap().len(), 2);
        assert!(parse_json(&serde_json::json!({"title": "x"})).is_err());
        assert!(!is_json_export(
            &serde_json::json!({"version": "2", "entries": []})
        ));
    }
}
