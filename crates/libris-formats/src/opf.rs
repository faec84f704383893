//! The EPUB package document (OPF), versions 2 and 3 (and OEB 1 leftovers): metadata, and
//! where the cover may be.

use std::collections::HashMap;

use super::clean::{self, clean_line, html_to_text, normalize_language, year_from_date};
use super::comic::parse_number;
use super::isbn::{self, Isbn};
use super::xml::{self, Element};
use super::{FormatError, Metadata, Person};

/// A place the cover may be, as a path inside the zip.
#[derive(Debug, Clone, PartialEq)]
pub enum CoverRef {
    Image(String),
    /// An XHTML page whose first image is the cover.
    Page(String),
}

pub struct Opf {
    pub metadata: Metadata,
    /// Most trustworthy first.
    pub covers: Vec<CoverRef>,
}

struct Item<'a> {
    id: &'a str,
    /// Resolved path inside the zip.
    path: Option<String>,
    media_type: &'a str,
    properties: &'a str,
}

impl Item<'_> {
    fn is_raster(&self) -> bool {
        let mt = self.media_type.to_ascii_lowercase();
        if mt.starts_with("image/") {
            return !mt.contains("svg");
        }
        self.path
            .as_deref()
            .is_some_and(super::comic::is_image_name)
    }

    fn cover_ref(&self) -> Option<CoverRef> {
        let p = self.path.clone()?;
        Some(if self.is_raster() {
            CoverRef::Image(p)
        } else {
            CoverRef::Page(p)
        })
    }
}

/// `opf_path` is the OPF's path in the zip; hrefs are relative to its folder.
pub fn parse(bytes: &[u8], opf_path: &str) -> Result<Opf, FormatError> {
    let root = xml::parse(bytes).map_err(|e| FormatError::Broken(format!("malformed OPF: {e}")))?;
    if !root.is("package") {
        return Err(FormatError::Broken(format!(
            "malformed OPF: root element is <{}>, not <package>",
            root.name
        )));
    }
    let base = dir_of(opf_path);
    let empty = Element::default();
    let md = root.child("metadata").unwrap_or(&empty);
    let refines = Refines::new(md);
    let (series, series_index) = series(md, &refines);
    let isbn = find_isbn(md, &refines);
    let metadata = Metadata {
        title: title(md, &refines),
        authors: authors(md, &refines),
        language: md
            .descendants("language")
            .iter()
            .find_map(|l| normalize_language(&l.text())),
        isbn_10: isbn.as_ref().and_then(|i| i.isbn10.clone()),
        isbn_13: isbn.map(|i| i.isbn13),
        publisher: first_text(md, "publisher"),
        published_year: published_year(md),
        description: md
            .descendants("description")
            .first()
            .map(|d| html_to_text(&d.text()))
            .filter(|d| !d.is_empty()),
        genres: clean::dedupe(
            md.descendants("subject")
                .iter()
                .filter_map(|s| clean_line(&s.text())),
        ),
        series,
        series_index,
        page_count: None,
    };
    let items: Vec<Item> = root
        .child("manifest")
        .map(|m| m.elements().filter(|e| e.is("item")).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|e| Item {
            id: e.attr("id").unwrap_or(""),
            path: e.attr("href").and_then(|h| resolve_href(&base, h)),
            media_type: e.attr("media-type").unwrap_or(""),
            properties: e.attr("properties").unwrap_or(""),
        })
        .collect();
    Ok(Opf {
        metadata,
        covers: covers(&root, md, &items, &base),
    })
}

/// EPUB 3 `<meta refines="#id" property="…">value</meta>` statements, by target id (a map:
/// looked up once per creator/title/collection, of which a hostile OPF may have many).
struct Refines<'a> {
    by_id: HashMap<&'a str, Vec<(&'a str, String)>>,
}

impl<'a> Refines<'a> {
    fn new(md: &'a Element) -> Self {
        let mut by_id: HashMap<&str, Vec<(&str, String)>> = HashMap::new();
        for m in md.descendants("meta") {
            let (Some(target), Some(property)) = (m.attr("refines"), m.attr("property")) else {
                continue;
            };
            let target = target.trim().trim_start_matches('#');
            by_id
                .entry(target)
                .or_default()
                .push((property.trim(), m.text().trim().to_string()));
        }
        Refines { by_id }
    }

    /// The first value of `property` refining `el`.
    fn get(&self, el: &Element, property: &str) -> Option<&str> {
        self.by_id
            .get(el.attr("id")?)?
            .iter()
            .find(|(p, _)| p.eq_ignore_ascii_case(property))
            .map(|(_, v)| v.as_str())
    }
}

fn first_text(md: &Element, name: &str) -> Option<String> {
    md.descendants(name)
        .iter()
        .find_map(|e| clean_line(&e.text()))
}

/// The main title: EPUB 3 `title-type` main if given, else the first title that is not a
/// subtitle (or other secondary kind), else the first.
fn title(md: &Element, refines: &Refines) -> Option<String> {
    let titles = md.descendants("title");
    let kind = |t: &Element| refines.get(t, "title-type").map(str::to_ascii_lowercase);
    titles
        .iter()
        .find(|t| kind(t).as_deref() == Some("main"))
        .or_else(|| titles.iter().find(|t| kind(t).is_none()))
        .or(titles.first())
        .and_then(|t| clean_line(&t.text()))
}

/// Creators with no role or role `aut`, in document order. Contributors never are authors.
fn authors(md: &Element, refines: &Refines) -> Vec<Person> {
    let mut people: Vec<Person> = md
        .descendants("creator")
        .into_iter()
        .filter(|c| {
            let role = c.attr("role").or_else(|| refines.get(c, "role"));
            role.is_none_or(|r| r.trim().is_empty() || r.trim().eq_ignore_ascii_case("aut"))
        })
        .filter_map(|c| {
            Some(Person {
                name: clean_line(&c.text())?,
                file_as: c
                    .attr("file-as")
                    .or_else(|| refines.get(c, "file-as"))
                    .and_then(clean_line),
            })
        })
        .collect();
    split_shared_file_as(&mut people);
    people
}

/// calibre gives every creator of a multi-author book the whole author-sort string
/// ("Smith, Alice & Jones, Bob"). When it splits into one part per author, each gets its own.
fn split_shared_file_as(people: &mut [Person]) {
    if people.len() < 2 {
        return;
    }
    let Some(shared) = people[0].file_as.clone() else {
        return;
    };
    if people
        .iter()
        .any(|p| p.file_as.as_deref() != Some(shared.as_str()))
    {
        return;
    }
    let parts: Vec<&str> = shared.split(" & ").map(str::trim).collect();
    if parts.len() == people.len() && parts.iter().all(|p| !p.is_empty()) {
        for (p, part) in people.iter_mut().zip(parts) {
            p.file_as = Some(part.to_string());
        }
    }
}

/// The first identifier marked as an ISBN (scheme attribute, `urn:isbn:`/`isbn:` prefix, ONIX
/// identifier-type 02/15) with a valid check digit; failing that, an unmarked identifier that
/// is a valid 13-digit ISBN (unmarked 10-digit numbers are too often something else).
fn find_isbn(md: &Element, refines: &Refines) -> Option<Isbn> {
    let ids = md.descendants("identifier");
    let marked = |e: &Element| {
        let text = e.text();
        let t = text.trim().to_ascii_lowercase();
        e.attr("scheme")
            .is_some_and(|s| s.to_ascii_lowercase().contains("isbn"))
            || t.starts_with("urn:isbn:")
            || t.starts_with("isbn")
            || matches!(refines.get(e, "identifier-type"), Some("02" | "15"))
    };
    ids.iter()
        .filter(|e| marked(e))
        .find_map(|e| isbn::parse_isbn(&e.text()))
        .or_else(|| {
            ids.iter().find_map(|e| {
                let text = e.text();
                let digits = text.chars().filter(char::is_ascii_digit).count();
                isbn::parse_isbn(&text).filter(|_| digits == 13)
            })
        })
}

/// Publication year: EPUB 2 `opf:event="publication"` first, then dates with no event
/// (EPUB 3 dc:date is the publication date), then any but modification/creation.
fn published_year(md: &Element) -> Option<i32> {
    let dates = md.descendants("date");
    let event = |d: &Element| d.attr("event").map(|e| e.trim().to_ascii_lowercase());
    dates
        .iter()
        .filter(|d| event(d).is_some_and(|e| e.contains("publication")))
        .chain(dates.iter().filter(|d| event(d).is_none()))
        .chain(
            dates
                .iter()
                .filter(|d| event(d).is_some_and(|e| e != "modification" && e != "creation")),
        )
        .find_map(|d| year_from_date(&d.text()))
}

/// EPUB 3 collection of type "series" first, then calibre's metas, then an untyped
/// collection (a "set" is not a series).
fn series(md: &Element, refines: &Refines) -> (Option<String>, Option<f32>) {
    let metas = md.descendants("meta");
    let collections: Vec<&&Element> = metas
        .iter()
        .filter(|m| {
            m.attr("property")
                .is_some_and(|p| p.trim() == "belongs-to-collection")
        })
        .collect();
    let ctype = |m: &Element| {
        refines
            .get(m, "collection-type")
            .map(str::to_ascii_lowercase)
    };
    let from_collection = |m: &Element| {
        let name = clean_line(&m.text())?;
        let index = refines.get(m, "group-position").and_then(parse_number);
        Some((Some(name), index))
    };
    if let Some(s) = collections
        .iter()
        .filter(|m| ctype(m).as_deref() == Some("series"))
        .find_map(|m| from_collection(m))
    {
        return s;
    }
    let named = |n: &str| {
        metas
            .iter()
            .find(|m| m.attr("name").is_some_and(|v| v.trim() == n))
            .and_then(|m| m.attr("content"))
    };
    if let Some(name) = named("calibre:series").and_then(clean_line) {
        return (
            Some(name),
            named("calibre:series_index").and_then(parse_number),
        );
    }
    collections
        .iter()
        .filter(|m| ctype(m).is_none())
        .find_map(|m| from_collection(m))
        .unwrap_or((None, None))
}

/// Cover candidates tried at most: each may cost a read of up to MAX_COVER_BYTES.
const MAX_COVER_CANDIDATES: usize = 8;

fn covers(root: &Element, md: &Element, items: &[Item], base: &str) -> Vec<CoverRef> {
    let mut out: Vec<CoverRef> = Vec::new();
    let mut push = |c: Option<CoverRef>| {
        if let Some(c) = c {
            if out.len() < MAX_COVER_CANDIDATES && !out.contains(&c) {
                out.push(c);
            }
        }
    };
    // Maps, not scans: a hostile OPF may have tens of thousands of items and references.
    let by_id: HashMap<&str, &Item> = items.iter().rev().map(|it| (it.id, it)).collect();
    let by_path: HashMap<&str, &Item> = items
        .iter()
        .rev()
        .filter_map(|it| Some((it.path.as_deref()?, it)))
        .collect();
    // EPUB 3: the manifest says which item is the cover image.
    for it in items {
        if it.properties.split_whitespace().any(|p| p == "cover-image") && it.is_raster() {
            push(it.path.clone().map(CoverRef::Image));
        }
    }
    // EPUB 2: <meta name="cover" content="ID">; some tools put an href in content.
    let cover_metas = md
        .descendants("meta")
        .into_iter()
        .filter(|m| m.attr("name").is_some_and(|n| n.trim() == "cover"))
        .filter_map(|m| m.attr("content").map(str::trim))
        .take(MAX_COVER_CANDIDATES);
    for content in cover_metas {
        let path = resolve_href(base, content);
        let item = by_id
            .get(content)
            .or_else(|| path.as_deref().and_then(|p| by_path.get(p)));
        match item {
            Some(it) => push(it.cover_ref()),
            None => push(path.map(CoverRef::Image)),
        }
    }
    // EPUB 2 guide (and the Kindle-style cover-image types).
    let guide_refs = root
        .child("guide")
        .map(|g| {
            g.elements()
                .filter(|e| e.is("reference"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let cover_refs = guide_refs
        .into_iter()
        .filter(|r| {
            let kind = r.attr("type").unwrap_or("").to_ascii_lowercase();
            matches!(
                kind.as_str(),
                "cover" | "coverimagestandard" | "other.ms-coverimage-standard"
            )
        })
        .filter_map(|r| r.attr("href").and_then(|h| resolve_href(base, h)))
        .take(MAX_COVER_CANDIDATES);
    for path in cover_refs {
        match by_path.get(path.as_str()) {
            Some(it) => push(it.cover_ref()),
            None if super::comic::is_image_name(&path) => push(Some(CoverRef::Image(path))),
            None => push(Some(CoverRef::Page(path))),
        }
    }
    // Last resort: an image whose id or file name says "cover".
    for it in items {
        let named = it.id.to_ascii_lowercase().contains("cover")
            || it
                .path
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .is_some_and(|f| f.to_ascii_lowercase().contains("cover"));
        if named && it.is_raster() {
            push(it.path.clone().map(CoverRef::Image));
        }
    }
    out
}

/// The folder part of a zip path ("" at the root).
pub fn dir_of(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}

/// Resolves a relative URL from a document in `base` to a zip path: fragment and query
/// dropped, percent-escapes decoded, `.`/`..` applied. `None` for absolute URLs (http:, data:)
/// and for paths that climb out of the archive.
pub fn resolve_href(base: &str, href: &str) -> Option<String> {
    let href = href.trim();
    let href = href.split(['#', '?']).next().unwrap_or("");
    if href.is_empty() {
        return None;
    }
    let first = href.split('/').next().unwrap_or("");
    if first.contains(':') {
        return None;
    }
    let href = percent_decode(href);
    let mut parts: Vec<&str> = Vec::new();
    let joined;
    let full = if let Some(abs) = href.strip_prefix('/') {
        abs
    } else {
        joined = if base.is_empty() {
            href.clone()
        } else {
            format!("{base}/{href}")
        };
        joined.as_str()
    };
    for seg in full.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
#[path = "opf_tests.rs"]
mod tests;
