//! OPDS 2.0 (`application/opds+json`) writer.
//!
//! Link typing: links whose `LinkType` is `Feed`/`Entry` are written as
//! `application/opds+json` / `application/opds-publication+json`; literal types
//! pass through. Hrefs are taken as given, so the caller builds the JSON `Feed`
//! with `/opds/v2/…` hrefs and a templated search link
//! (`Link::feed("search", "/opds/v2/search{?query}", Kind::Acquisition).templated()`).
//!
//! Output validates against the OPDS 2.0 / Readium JSON Schemas, which are
//! stricter than the model: values that cannot be made valid are dropped
//! rather than emitted (see `iso_date`, `bcp47`, non-positive sizes/counts).

use std::ops::RangeInclusive;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};

use super::atom::strip_forbidden;
use super::feed::{
    media, rel, series_position, timestamp, Entry, Feed, Image, Link, LinkType, NavEntry, Paging,
    Publication,
};

/// Title for facets the caller left without a group; the schema requires one.
const DEFAULT_FACET_GROUP: &str = "Facets";

/// A complete OPDS 2.0 feed document.
///
/// Navigation entries go to `navigation`, publications to `publications`.
/// The schema requires one of `navigation`/`publications`/`groups` and forbids
/// empty `navigation`/`publications` arrays, so an empty feed (e.g. a search
/// without hits) is written with `"groups": []`, the only valid empty form.
pub fn feed(f: &Feed) -> Value {
    let mut doc = Map::new();
    doc.insert("metadata".into(), feed_metadata(f));
    let links: Vec<Value> = f.links.iter().filter(|l| !l.is_facet()).map(link).collect();
    doc.insert("links".into(), links.into());

    let (mut navigation, mut publications) = (Vec::new(), Vec::new());
    for entry in &f.entries {
        match entry {
            Entry::Navigation(nav) => navigation.push(nav_link(nav)),
            Entry::Publication(p) => publications.push(publication(p)),
        }
    }
    if navigation.is_empty() && publications.is_empty() {
        doc.insert("groups".into(), json!([]));
    }
    insert_non_empty(&mut doc, "navigation", navigation);
    insert_non_empty(&mut doc, "publications", publications);
    insert_non_empty(&mut doc, "facets", facets(&f.links));
    Value::Object(doc)
}

/// A publication object, usable inside a feed or as an
/// `application/opds-publication+json` document. A publication needs at least
/// one file: the schema requires an acquisition link.
pub fn publication(p: &Publication) -> Value {
    let mut links = Vec::new();
    if let Some(href) = &p.self_href {
        links
            .push(json!({"rel": "self", "href": text(href), "type": media::OPDS_PUBLICATION_JSON}));
    }
    for file in &p.files {
        let mut l = Map::new();
        l.insert("rel".into(), rel::ACQUISITION.into());
        l.insert("href".into(), text(&file.href));
        l.insert("type".into(), text(&file.media_type));
        insert_opt(&mut l, "title", file.title.as_deref().map(text));
        // Readium `size` is the byte length and must be > 0.
        insert_opt(&mut l, "size", file.length.filter(|n| *n > 0));
        links.push(Value::Object(l));
    }

    let images: Vec<Value> = [(rel::IMAGE, &p.image), (rel::THUMBNAIL, &p.thumbnail)]
        .into_iter()
        .filter_map(|(rel, image)| image.as_ref().map(|i| image_link(rel, i)))
        .collect();

    let mut doc = Map::new();
    doc.insert("metadata".into(), publication_metadata(p));
    doc.insert("links".into(), links.into());
    insert_non_empty(&mut doc, "images", images);
    Value::Object(doc)
}

fn feed_metadata(f: &Feed) -> Value {
    let mut m = Map::new();
    m.insert("title".into(), text(&f.title));
    m.insert("modified".into(), timestamp(&f.updated).into());
    if let Some(paging) = &f.paging {
        insert_paging(&mut m, paging);
    }
    Value::Object(m)
}

/// The schema wants itemsPerPage and currentPage > 0; invalid values are omitted.
fn insert_paging(m: &mut Map<String, Value>, paging: &Paging) {
    m.insert("numberOfItems".into(), paging.total.max(0).into());
    insert_opt(m, "itemsPerPage", Some(paging.per_page).filter(|n| *n > 0));
    insert_opt(m, "currentPage", Some(paging.page).filter(|n| *n > 0));
}

fn json_type(link_type: &LinkType) -> &str {
    match link_type {
        LinkType::Feed(_) => media::OPDS_JSON,
        LinkType::Entry => media::OPDS_PUBLICATION_JSON,
        LinkType::Media(media_type) => media_type,
    }
}

fn link(l: &Link) -> Value {
    let mut m = base_link(l);
    insert_opt(
        &mut m,
        "rel",
        Some(l.rel.as_str()).filter(|r| !r.is_empty()).map(text),
    );
    Value::Object(m)
}

/// Fields shared by feed links and facet links (which differ only in `rel`).
fn base_link(l: &Link) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("href".into(), text(&l.href));
    m.insert("type".into(), text(json_type(&l.link_type)));
    insert_opt(&mut m, "title", l.title.as_deref().map(text));
    if l.templated {
        m.insert("templated".into(), true.into());
    }
    insert_count(&mut m, l.count);
    m
}

/// OPDS 2 has no facet rel: a facet is a link in `facets`, and the active one
/// is marked with rel="self". Groups keep the order of first appearance.
fn facets(links: &[Link]) -> Vec<Value> {
    let mut groups: Vec<(&str, Vec<Value>)> = Vec::new();
    for l in links.iter().filter(|l| l.is_facet()) {
        let name = l.facet_group.as_deref().unwrap_or(DEFAULT_FACET_GROUP);
        let mut m = base_link(l);
        if l.active_facet {
            m.insert("rel".into(), "self".into());
        }
        match groups.iter_mut().find(|(g, _)| *g == name) {
            Some((_, members)) => members.push(Value::Object(m)),
            None => groups.push((name, vec![Value::Object(m)])),
        }
    }
    groups
        .into_iter()
        .map(|(title, links)| json!({"metadata": {"title": text(title)}, "links": links}))
        .collect()
}

/// Navigation entries become links; an explicit rel (sort/new, shelf…) is kept,
/// the implicit `subsection` is not an OPDS 2 relation and is left out.
fn nav_link(nav: &NavEntry) -> Value {
    let mut m = Map::new();
    m.insert("href".into(), text(&nav.href));
    m.insert("title".into(), text(&nav.title));
    m.insert("type".into(), media::OPDS_JSON.into());
    insert_opt(&mut m, "rel", nav.rel.as_deref().map(text));
    insert_count(&mut m, nav.count);
    Value::Object(m)
}

fn image_link(rel: &str, image: &Image) -> Value {
    json!({"rel": rel, "href": text(&image.href), "type": text(&image.media_type)})
}

fn publication_metadata(p: &Publication) -> Value {
    let mut m = Map::new();
    m.insert("@type".into(), "http://schema.org/Book".into());
    m.insert("identifier".into(), p.id.urn().to_string().into());
    m.insert("title".into(), text(&p.title));
    m.insert("modified".into(), timestamp(&p.updated).into());
    let authors: Vec<Value> = p.authors.iter().map(|a| json!({"name": text(a)})).collect();
    insert_non_empty(&mut m, "author", authors);
    insert_opt(&mut m, "language", p.language.as_deref().and_then(bcp47));
    insert_opt(&mut m, "publisher", p.publisher.as_deref().map(text));
    insert_opt(
        &mut m,
        "published",
        p.published.as_deref().and_then(iso_date),
    );
    insert_opt(&mut m, "description", p.summary.as_deref().map(text));
    insert_non_empty(
        &mut m,
        "subject",
        p.genres.iter().map(|g| text(g)).collect(),
    );
    insert_opt(
        &mut m,
        "altIdentifier",
        p.isbn_urn().map(|urn| json!([urn])),
    );
    if let Some((name, position)) = &p.series {
        let mut series = Map::new();
        series.insert("name".into(), text(name));
        insert_opt(&mut series, "position", position.and_then(series_position));
        m.insert("belongsTo".into(), json!({"series": [series]}));
    }
    Value::Object(m)
}

/// `published` with the precision known: a year stays "2019" and a month "2019-05" (ISO 8601
/// reduced precision, as the Readium metadata's prose asks: "a valid ISO 8601 date"), never
/// padded to a first of January nobody stated; a day or a moment as such. Anything else is
/// omitted. (The Readium JSON Schema says `format: date`, RFC 3339's full date, which a strict
/// format checker holds against a year alone; a made-up day would mislead every reader.)
fn iso_date(s: &str) -> Option<String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(timestamp(&t.with_timezone(&Utc)));
    }
    let parts: Vec<&str> = s.split('-').collect();
    let number = |p: &str, digits: RangeInclusive<usize>| {
        (digits.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    let year = number(parts.first()?, 4..=4).filter(|y| *y >= 1)?;
    let month = match parts.get(1) {
        Some(m) => Some(number(m, 1..=2).filter(|m| (1..=12).contains(m))?),
        None => None,
    };
    match (month, parts.get(2), parts.len()) {
        (None, _, 1) => Some(format!("{year:04}")),
        (Some(month), None, 2) => Some(format!("{year:04}-{month:02}")),
        (Some(month), Some(day), 3) => {
            let day = number(day, 1..=2)?;
            // Re-formatted: chrono checks the day exists; the schema wants two digits.
            let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
            Some(date.format("%Y-%m-%d").to_string())
        }
        _ => None,
    }
}

/// Accepts the common subset of BCP 47 (`en`, `eng`, `pt-BR`, `zh-Hant-TW`,
/// `es-419`), with `_` tolerated as separator. Free text such as "English" is
/// dropped: it would match the schema's pattern but mislead clients.
fn bcp47(lang: &str) -> Option<String> {
    let tag = lang.trim().replace('_', "-");
    let mut subtags = tag.split('-');
    if !subtags.next().is_some_and(|s| alpha(s, 2..=3)) {
        return None;
    }
    // Optional script, then optional region, nothing else.
    let mut seen_region = false;
    let mut seen_script = false;
    for s in subtags {
        let region = alpha(s, 2..=2) || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()));
        if alpha(s, 4..=4) && !seen_script && !seen_region {
            seen_script = true;
        } else if region && !seen_region {
            seen_region = true;
        } else {
            return None;
        }
    }
    Some(tag)
}

/// Same sanitising as the Atom writer, so both formats carry the same text
/// (JSON could escape control characters, but they are never meaningful).
fn text(s: &str) -> Value {
    Value::String(strip_forbidden(s).into_owned())
}

fn alpha(s: &str, len: RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn insert_count(m: &mut Map<String, Value>, count: Option<i64>) {
    if let Some(n) = count.filter(|n| *n >= 0) {
        m.insert("properties".into(), json!({"numberOfItems": n}));
    }
}

fn insert_opt(m: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        m.insert(key.into(), v.into());
    }
}

/// The schemas set `minItems: 1` on these arrays, so empty ones are left out.
fn insert_non_empty(m: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if !items.is_empty() {
        m.insert(key.into(), items.into());
    }
}

#[cfg(test)]
mod tests {
    use super::super::feed::{Acquisition, Author, Kind};
    use super::*;
    use chrono::TimeZone;
    use uuid::Uuid;

    fn sample_feed(links: Vec<Link>, entries: Vec<Entry>) -> Feed {
        Feed {
            id: "urn:libris:test".into(),
            title: "t".into(),
            updated: Utc
                .with_ymd_and_hms(2024, 1, 10, 10, 1, 11)
                .single()
                .expect("valid date"),
            kind: Kind::Acquisition,
            author: Author::new("Libris"),
            links,
            paging: None,
            entries,
        }
    }

    #[test]
    fn link_types_map_to_opds2() {
        let links = vec![
            Link::feed("self", "/opds/v2/books", Kind::Acquisition),
            Link::feed("start", "/opds/v2", Kind::Navigation),
            Link::entry("related", "/opds/v2/books/1"),
            Link::new("help", "/help.html", "text/html"),
        ];
        let doc = feed(&sample_feed(links, vec![]));
        let types: Vec<&str> = doc["links"]
            .as_array()
            .expect("links")
            .iter()
            .map(|l| l["type"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            types,
            [
                media::OPDS_JSON,
                media::OPDS_JSON,
                media::OPDS_PUBLICATION_JSON,
                "text/html"
            ]
        );
    }

    #[test]
    fn search_link_is_templated() {
        let search = Link::feed("search", "/opds/v2/search{?query}", Kind::Acquisition).templated();
        let doc = feed(&sample_feed(vec![search], vec![]));
        assert_eq!(doc["links"][0]["templated"], json!(true));
        let plain = feed(&sample_feed(
            vec![Link::feed("self", "/x", Kind::Acquisition)],
            vec![],
        ));
        assert!(plain["links"][0].get("templated").is_none());
    }

    #[test]
    fn facets_are_grouped_and_active_one_is_self() {
        let facet = |href: &str| Link::feed(rel::FACET, href, Kind::Acquisition);
        let links = vec![
            Link::feed("self", "/b", Kind::Acquisition),
            facet("/b?s=t").titled("Title").facet("Sort", true),
            facet("/b?l=fr")
                .titled("French")
                .facet("Language", false)
                .counted(7),
            facet("/b?s=n").titled("New").facet("Sort", false),
        ];
        let doc = feed(&sample_feed(links, vec![]));
        assert_eq!(doc["links"].as_array().map(Vec::len), Some(1));
        let facets = doc["facets"].as_array().expect("facets");
        assert_eq!(facets[0]["metadata"]["title"], "Sort");
        assert_eq!(facets[0]["links"][0]["rel"], "self");
        assert!(facets[0]["links"][1].get("rel").is_none());
        assert_eq!(facets[1]["metadata"]["title"], "Language");
        assert_eq!(facets[1]["links"][0]["properties"]["numberOfItems"], 7);
    }

    #[test]
    fn empty_feed_uses_empty_groups() {
        let doc = feed(&sample_feed(
            vec![Link::feed("self", "/s", Kind::Acquisition)],
            vec![],
        ));
        assert_eq!(doc["groups"], json!([]));
        assert!(doc.get("publications").is_none() && doc.get("navigation").is_none());
    }

    #[test]
    fn paging_omits_values_the_schema_rejects() {
        let mut f = sample_feed(vec![], vec![]);
        f.paging = Some(Paging {
            total: -1,
            per_page: 0,
            page: 0,
        });
        let meta = feed(&f)["metadata"].clone();
        assert_eq!(meta["numberOfItems"], 0);
        assert!(meta.get("itemsPerPage").is_none() && meta.get("currentPage").is_none());
    }

    #[test]
    fn dates_keep_the_precision_known() {
        assert_eq!(
            iso_date("2019").as_deref(),
            Some("2019"),
            "a year stays a year"
        );
        assert_eq!(iso_date("2019-05").as_deref(), Some("2019-05"));
        assert_eq!(iso_date("0987").as_deref(), Some("0987"));
        assert_eq!(iso_date(" 2019-5-1 ").as_deref(), Some("2019-05-01"));
        assert_eq!(
            iso_date("2019-05-01T10:00:00+02:00").as_deref(),
            Some("2019-05-01T08:00:00Z")
        );
        assert_eq!(iso_date("circa 1900"), None);
        assert_eq!(iso_date("2019-13"), None);
        assert_eq!(iso_date("2019-02-30"), None);
        assert_eq!(iso_date("0000"), None);
        assert_eq!(iso_date("19"), None);
        assert_eq!(iso_date("2019-05-01-02"), None);
        assert_eq!(iso_date("+2019"), None);
        assert_eq!(iso_date(""), None);
    }

    proptest::proptest! {
        /// Whatever precision a valid date has, it comes out with exactly that precision.
        #[test]
        fn valid_dates_keep_their_precision(y in 1u32..=9999, m in 1u32..=12, d in 1u32..=28) {
            let year = format!("{y:04}");
            let month = format!("{year}-{m:02}");
            let day = format!("{month}-{d:02}");
            for date in [&year, &month, &day] {
                proptest::prop_assert_eq!(iso_date(date), Some(date.clone()));
            }
        }
    }

    #[test]
    fn languages_are_bcp47_or_dropped() {
        for ok in [
            "en",
            "eng",
            "pt-BR",
            "pt_BR",
            "zh-Hant",
            "zh-Hant-TW",
            "es-419",
        ] {
            assert!(bcp47(ok).is_some(), "{ok}");
        }
        assert_eq!(bcp47("pt_BR").as_deref(), Some("pt-BR"));
        for bad in ["", "English", "e", "en-", "en-US-US", "en-Latn-Latn", "fr;"] {
            assert_eq!(bcp47(bad), None, "{bad}");
        }
    }

    #[test]
    fn publication_metadata_shape() {
        let p = Publication {
            id: Uuid::nil(),
            title: "T\u{1}".into(),
            authors: vec!["A".into(), "B".into()],
            updated: Utc
                .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
                .single()
                .expect("valid date"),
            published: Some("1851".into()),
            language: Some("English".into()),
            publisher: None,
            isbn: None,
            genres: vec!["Sea".into()],
            summary: None,
            series: Some(("S".into(), Some(f64::NAN))),
            files: vec![Acquisition {
                href: "/f".into(),
                media_type: "application/epub+zip".into(),
                length: Some(0),
                title: None,
            }],
            image: Some(Image::jpeg("/c")),
            thumbnail: None,
            pse: None,
            self_href: None,
        };
        let doc = publication(&p);
        let m = &doc["metadata"];
        assert_eq!(m["title"], "T");
        assert_eq!(
            m["identifier"],
            "urn:uuid:00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(m["author"], json!([{"name": "A"}, {"name": "B"}]));
        assert_eq!(m["published"], "1851");
        assert!(m.get("language").is_none());
        assert_eq!(m["belongsTo"]["series"], json!([{"name": "S"}]));
        assert_eq!(doc["links"][0]["rel"], rel::ACQUISITION);
        assert!(doc["links"][0].get("size").is_none());
        assert_eq!(doc["images"][0]["type"], "image/jpeg");
    }
}
