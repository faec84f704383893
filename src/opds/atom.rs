//! OPDS 1.2 (Atom) writer.
//!
//! Output validates against the OPDS 1.2 RELAX NG schema (PSE-tolerant variant,
//! because PSE hrefs are URI templates) and is shaped for KOReader: Atom is the
//! default namespace (KOReader matches bare tag names) and every link to a
//! catalog document carries the full `profile=opds-catalog;kind=…` type.
//!
//! Series: written as `<schema:Series schema:name="…" schema:position="…"/>`
//! (schema.org namespace), the element Library Simplified/Palace servers and
//! Calibre-Web emit and their client parsers read (Library Simplified leaves
//! `name` unprefixed; parsers accept both). Atom allows foreign-namespace
//! extension elements in entries, so it is schema-valid; calibre's
//! `<meta name="calibre:series">` is a non-Atom element in the Atom namespace,
//! and `<category>` would lose the position.

use std::borrow::Cow;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::feed::{
    media, rel, series_position, timestamp, Acquisition, Author, Entry, Feed, Image, Kind, Link,
    LinkType, NavEntry, Paging, Pse, Publication,
};

const NS_ATOM: &str = "http://www.w3.org/2005/Atom";
const NS_OPENSEARCH: &str = "http://a9.com/-/spec/opensearch/1.1/";

/// Declared on every document root, used or not: cheaper than tracking usage,
/// and clients resolve prefixes only from declarations.
const NAMESPACES: [(&str, &str); 7] = [
    ("xmlns", NS_ATOM),
    ("xmlns:dc", "http://purl.org/dc/terms/"),
    ("xmlns:opds", "http://opds-spec.org/2010/catalog"),
    ("xmlns:opensearch", NS_OPENSEARCH),
    ("xmlns:thr", "http://purl.org/syndication/thread/1.0"),
    ("xmlns:pse", "http://vaemendis.net/opds-pse/ns"),
    ("xmlns:schema", "http://schema.org/"),
];

/// OpenSearch 1.1 limits; longer values are truncated rather than rejected.
const SHORT_NAME_MAX: usize = 16;
const DESCRIPTION_MAX: usize = 1024;

/// An attribute whose value may be absent; absent attributes are not written.
type Attr<'a> = (&'a str, Option<&'a str>);

/// Removes characters XML 1.0 does not allow anywhere in a document (C0 controls
/// other than tab, LF and CR, and U+FFFE/U+FFFF). Book metadata comes from
/// arbitrary files, and a single such character makes the whole feed unparsable.
/// Surrogates cannot occur in a Rust `str`.
pub fn strip_forbidden(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_forbidden) {
        Cow::Owned(s.chars().filter(|c| !is_forbidden(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Event writer that sanitises every caller-supplied value. quick-xml escapes
/// markup characters; `strip_forbidden` removes what escaping cannot express.
struct Xml(Writer<Vec<u8>>);

impl Xml {
    fn document() -> Self {
        let mut x = Xml(Writer::new(Vec::new()));
        x.emit(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        x
    }

    /// The only place a write result is discarded: the sink is a `Vec<u8>`,
    /// whose `io::Write` impl never fails, so the `expect` cannot fire.
    fn emit(&mut self, event: Event<'_>) {
        self.0
            .write_event(event)
            .expect("writing XML into a Vec<u8> cannot fail");
    }

    fn tag<'a>(name: &'a str, attrs: &[Attr<'_>]) -> BytesStart<'a> {
        let mut tag = BytesStart::new(name);
        for (key, value) in attrs {
            if let Some(value) = value {
                tag.push_attribute((*key, strip_forbidden(value).as_ref()));
            }
        }
        tag
    }

    fn start(&mut self, name: &str, attrs: &[Attr<'_>]) {
        self.emit(Event::Start(Self::tag(name, attrs)));
    }

    fn end(&mut self, name: &str) {
        self.emit(Event::End(BytesEnd::new(name)));
    }

    fn empty(&mut self, name: &str, attrs: &[Attr<'_>]) {
        self.emit(Event::Empty(Self::tag(name, attrs)));
    }

    fn text(&mut self, name: &str, attrs: &[Attr<'_>], text: &str) {
        self.start(name, attrs);
        self.emit(Event::Text(BytesText::new(&strip_forbidden(text))));
        self.end(name);
    }

    fn root(&mut self, name: &str) {
        let attrs: Vec<Attr<'_>> = NAMESPACES.iter().map(|(k, v)| (*k, Some(*v))).collect();
        self.start(name, &attrs);
    }

    fn finish(self) -> String {
        // Only `&str` input was written, so the bytes are UTF-8; the lossy
        // fallback merely avoids a panic path.
        String::from_utf8(self.0.into_inner())
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// A complete OPDS 1.2 feed document.
pub fn feed(f: &Feed) -> String {
    let mut x = Xml::document();
    x.root("feed");
    x.text("id", &[], &f.id);
    x.text("title", &[], &f.title);
    x.text("updated", &[], &timestamp(&f.updated));
    write_author(&mut x, &f.author);
    if let Some(paging) = &f.paging {
        write_paging(&mut x, paging);
    }
    for link in &f.links {
        write_link(&mut x, link);
    }
    for entry in &f.entries {
        match entry {
            Entry::Navigation(nav) => write_nav_entry(&mut x, nav),
            Entry::Publication(p) => write_publication(&mut x, p, Context::InFeed),
        }
    }
    x.end("feed");
    x.finish()
}

/// A complete entry document (OPDS "complete catalog entry", served at the
/// publication's `self_href`). Atom requires an author on a standalone entry,
/// so `fallback_author` is used when the publication has none.
pub fn entry_document(p: &Publication, fallback_author: &Author) -> String {
    let mut x = Xml::document();
    write_publication(&mut x, p, Context::Document(fallback_author));
    x.finish()
}

/// OpenSearch 1.1 description pointing at an acquisition-feed search URL.
/// `template_url` must contain `{searchTerms}` (and may use `{startPage?}`).
pub fn opensearch_description(short_name: &str, description: &str, template_url: &str) -> String {
    let mut x = Xml::document();
    x.start("OpenSearchDescription", &[("xmlns", Some(NS_OPENSEARCH))]);
    x.text("ShortName", &[], truncate(short_name, SHORT_NAME_MAX));
    x.text("Description", &[], truncate(description, DESCRIPTION_MAX));
    x.text("InputEncoding", &[], "UTF-8");
    x.text("OutputEncoding", &[], "UTF-8");
    let acquisition = Kind::Acquisition.atom_type();
    x.empty(
        "Url",
        &[
            ("type", Some(acquisition)),
            ("template", Some(template_url)),
        ],
    );
    x.end("OpenSearchDescription");
    x.finish()
}

fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => &s[..cut],
        None => s,
    }
}

fn write_author(x: &mut Xml, author: &Author) {
    x.start("author", &[]);
    x.text("name", &[], &author.name);
    if let Some(uri) = &author.uri {
        x.text("uri", &[], uri);
    }
    x.end("author");
}

fn write_paging(x: &mut Xml, paging: &Paging) {
    x.text(
        "opensearch:totalResults",
        &[],
        &paging.total.max(0).to_string(),
    );
    x.text(
        "opensearch:itemsPerPage",
        &[],
        &paging.per_page.max(0).to_string(),
    );
    x.text(
        "opensearch:startIndex",
        &[],
        &paging.start_index().to_string(),
    );
}

fn atom_type(link_type: &LinkType) -> &str {
    match link_type {
        LinkType::Feed(kind) => kind.atom_type(),
        LinkType::Entry => media::ATOM_ENTRY,
        LinkType::Media(media_type) => media_type,
    }
}

/// `thr:count` is a non-negative integer; anything else is left out.
fn count_attr(count: Option<i64>) -> Option<String> {
    count.filter(|n| *n >= 0).map(|n| n.to_string())
}

fn write_link(x: &mut Xml, link: &Link) {
    let count = count_attr(link.count);
    // opds:* attributes are only valid on facet links (OPDS 1.2 schema).
    let (group, active) = if link.is_facet() {
        (
            link.facet_group.as_deref(),
            link.active_facet.then_some("true"),
        )
    } else {
        (None, None)
    };
    x.empty(
        "link",
        &[
            // An empty rel is invalid (atomNCName has minLength 1); none means "alternate".
            ("rel", Some(link.rel.as_str()).filter(|r| !r.is_empty())),
            ("href", Some(link.href.as_str())),
            ("type", Some(atom_type(&link.link_type))),
            ("title", link.title.as_deref()),
            ("opds:facetGroup", group),
            ("opds:activeFacet", active),
            ("thr:count", count.as_deref()),
        ],
    );
}

fn write_nav_entry(x: &mut Xml, nav: &NavEntry) {
    x.start("entry", &[]);
    x.text("title", &[], &nav.title);
    x.text("id", &[], &nav.id);
    x.text("updated", &[], &timestamp(&nav.updated));
    // Always present: an entry without an alternate link needs atom:content (RFC 4287 4.1.1.1).
    x.text(
        "content",
        &[("type", Some("text"))],
        nav.summary.as_deref().unwrap_or(""),
    );
    let count = count_attr(nav.count);
    x.empty(
        "link",
        &[
            ("rel", Some(nav.rel.as_deref().unwrap_or(rel::SUBSECTION))),
            ("href", Some(nav.href.as_str())),
            ("type", Some(nav.kind.atom_type())),
            ("thr:count", count.as_deref()),
        ],
    );
    x.end("entry");
}

/// Where a publication entry is written; decides namespaces, author fallback
/// and the rel of the link to the complete entry.
#[derive(Clone, Copy)]
enum Context<'a> {
    InFeed,
    Document(&'a Author),
}

fn write_publication(x: &mut Xml, p: &Publication, ctx: Context<'_>) {
    match ctx {
        Context::InFeed => x.start("entry", &[]),
        Context::Document(_) => x.root("entry"),
    }
    x.text("title", &[], &p.title);
    x.text("id", &[], &p.id.urn().to_string());
    x.text("updated", &[], &timestamp(&p.updated));
    write_authors(x, p, ctx);
    write_dc_metadata(x, p);
    for genre in &p.genres {
        x.empty(
            "category",
            &[
                ("term", Some(genre.as_str())),
                ("label", Some(genre.as_str())),
            ],
        );
    }
    write_description(x, p, ctx);
    if let Some((name, position)) = &p.series {
        let position = position.and_then(series_position).map(|n| n.to_string());
        x.empty(
            "schema:Series",
            &[
                ("schema:name", Some(name.as_str())),
                ("schema:position", position.as_deref()),
            ],
        );
    }
    write_publication_links(x, p, ctx);
    x.end("entry");
}

fn write_authors(x: &mut Xml, p: &Publication, ctx: Context<'_>) {
    for name in &p.authors {
        write_author(x, &Author::new(name.as_str()));
    }
    // Inside a feed the feed's author covers author-less entries.
    if let (true, Context::Document(fallback)) = (p.authors.is_empty(), ctx) {
        write_author(x, fallback);
    }
}

fn write_dc_metadata(x: &mut Xml, p: &Publication) {
    if let Some(urn) = p.isbn_urn() {
        x.text("dc:identifier", &[], &urn);
    }
    let optional = [
        ("dc:language", &p.language),
        ("dc:issued", &p.published),
        ("dc:publisher", &p.publisher),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            x.text(name, &[], value);
        }
    }
}

/// `atom:summary` carries the description. An entry with no rel="alternate"
/// link must have `atom:content` (RFC 4287 4.1.1.1); clients differ in which
/// of the two they show, so in that case content repeats the summary.
fn write_description(x: &mut Xml, p: &Publication, ctx: Context<'_>) {
    if let Some(summary) = &p.summary {
        x.text("summary", &[("type", Some("text"))], summary);
    }
    if alternate_rel(p, ctx) != Some("alternate") {
        x.text(
            "content",
            &[("type", Some("text"))],
            p.summary.as_deref().unwrap_or(""),
        );
    }
}

/// In a feed the link to the complete entry is rel="alternate"; in the complete
/// entry document itself it is the document's own address, rel="self".
fn alternate_rel(p: &Publication, ctx: Context<'_>) -> Option<&'static str> {
    p.self_href.as_ref().map(|_| match ctx {
        Context::InFeed => "alternate",
        Context::Document(_) => "self",
    })
}

fn write_publication_links(x: &mut Xml, p: &Publication, ctx: Context<'_>) {
    if let (Some(href), Some(rel)) = (&p.self_href, alternate_rel(p, ctx)) {
        x.empty(
            "link",
            &[
                ("rel", Some(rel)),
                ("href", Some(href.as_str())),
                ("type", Some(media::ATOM_ENTRY)),
            ],
        );
    }
    if let Some(image) = &p.image {
        write_image(x, rel::IMAGE, image);
    }
    if let Some(thumbnail) = &p.thumbnail {
        write_image(x, rel::THUMBNAIL, thumbnail);
    }
    for file in &p.files {
        write_acquisition(x, file);
    }
    if let Some(pse) = &p.pse {
        write_pse(x, pse);
    }
}

fn write_image(x: &mut Xml, rel: &str, image: &Image) {
    x.empty(
        "link",
        &[
            ("rel", Some(rel)),
            ("href", Some(image.href.as_str())),
            ("type", Some(image.media_type.as_str())),
        ],
    );
}

fn write_acquisition(x: &mut Xml, file: &Acquisition) {
    let length = file.length.map(|n| n.to_string());
    x.empty(
        "link",
        &[
            ("rel", Some(rel::ACQUISITION)),
            ("href", Some(file.href.as_str())),
            ("type", Some(file.media_type.as_str())),
            ("length", length.as_deref()),
            ("title", file.title.as_deref()),
        ],
    );
}

fn write_pse(x: &mut Xml, pse: &Pse) {
    let count = pse.count.max(0).to_string();
    let last_read = pse.last_read.map(|n| n.to_string());
    let last_read_date = pse.last_read_date.as_ref().map(timestamp);
    x.empty(
        "link",
        &[
            ("rel", Some(rel::PSE_STREAM)),
            ("href", Some(pse.href_template.as_str())),
            ("type", Some(pse.media_type.as_str())),
            ("pse:count", Some(count.as_str())),
            ("pse:lastRead", last_read.as_deref()),
            ("pse:lastReadDate", last_read_date.as_deref()),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use quick_xml::events::Event;
    use quick_xml::Reader;
    use uuid::Uuid;

    /// An element as parsed back: name, unescaped attributes, text, depth.
    #[derive(Debug)]
    struct El {
        name: String,
        attrs: Vec<(String, String)>,
        text: String,
        depth: usize,
    }

    impl El {
        fn attr(&self, key: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        }
    }

    /// Parses the output back; any well-formedness error fails the test.
    fn parse(xml: &str) -> Vec<El> {
        let mut reader = Reader::from_str(xml);
        let (mut out, mut depth) = (Vec::new(), 0);
        loop {
            let event = reader.read_event().expect("well-formed XML");
            match &event {
                Event::Start(e) | Event::Empty(e) => {
                    let attrs = e
                        .attributes()
                        .map(|a| {
                            let a = a.expect("valid attribute");
                            let value = a.unescape_value().expect("valid escape");
                            (
                                String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                                value.into_owned(),
                            )
                        })
                        .collect();
                    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    out.push(El {
                        name,
                        attrs,
                        text: String::new(),
                        depth,
                    });
                    if matches!(event, Event::Start(_)) {
                        depth += 1;
                    }
                }
                Event::Text(t) => {
                    if let Some(el) = out.last_mut() {
                        el.text.push_str(&t.unescape().expect("valid escape"));
                    }
                }
                Event::End(_) => depth -= 1,
                Event::Eof => return out,
                _ => {}
            }
        }
    }

    fn time() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 10, 10, 1, 11)
            .single()
            .expect("valid date")
    }

    fn sample_feed(title: &str, links: Vec<Link>) -> Feed {
        Feed {
            id: "urn:libris:test".into(),
            title: title.into(),
            updated: time(),
            kind: Kind::Acquisition,
            author: Author::new("Libris"),
            links,
            paging: None,
            entries: vec![],
        }
    }

    fn authors_entry(summary: Option<&str>) -> Entry {
        Entry::Navigation(NavEntry {
            id: "urn:libris:a".into(),
            title: "Authors".into(),
            updated: time(),
            href: "/opds/authors".into(),
            kind: Kind::Navigation,
            rel: None,
            summary: summary.map(Into::into),
            count: Some(3),
        })
    }

    fn publication() -> Publication {
        Publication::new(Uuid::nil(), "T", time())
    }

    #[test]
    fn strip_forbidden_removes_only_forbidden_chars() {
        let dirty = "a\u{0}b\u{8}\t\n\r\u{B}\u{C}\u{1F}c\u{FFFE}\u{FFFF}d é\u{7F}\u{FFFD}𝄞";
        assert_eq!(strip_forbidden(dirty), "ab\t\n\rcd é\u{7F}\u{FFFD}𝄞");
    }

    #[test]
    fn strip_forbidden_borrows_clean_input() {
        assert!(matches!(
            strip_forbidden("Brontë & <Co>\t"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn text_and_attributes_round_trip_escaped() {
        let nasty = "Tom & Jerry <b>\"quoted\"</b> 'x' ]]> Ж";
        let link = Link::feed("next", "/opds?a=1&b=2", Kind::Acquisition).titled(nasty);
        let xml = feed(&sample_feed(nasty, vec![link]));
        assert!(!xml.contains("<b>"), "markup leaked: {xml}");
        let els = parse(&xml);
        let title = els.iter().find(|e| e.name == "title").expect("title");
        assert_eq!(title.text, nasty);
        let link = els.iter().find(|e| e.name == "link").expect("link");
        assert_eq!(link.attr("title"), Some(nasty));
        assert_eq!(link.attr("href"), Some("/opds?a=1&b=2"));
    }

    #[test]
    fn forbidden_chars_never_reach_output() {
        let link = Link::feed("next", "/x\u{1}y", Kind::Acquisition).titled("t\u{FFFF}");
        let xml = feed(&sample_feed("bad\u{0}\u{1B}title", vec![link]));
        assert!(!xml.chars().any(is_forbidden));
        let els = parse(&xml);
        assert!(els
            .iter()
            .any(|e| e.name == "title" && e.text == "badtitle"));
        assert!(els.iter().any(|e| e.attr("href") == Some("/xy")));
    }

    #[test]
    fn atom_is_the_default_namespace() {
        let xml = feed(&sample_feed("t", vec![]));
        assert!(xml.starts_with(
            r#"<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom""#
        ));
        assert!(!xml.contains("<atom:"));
        let doc = entry_document(&publication(), &Author::new("Libris"));
        assert!(doc.contains(r#"<entry xmlns="http://www.w3.org/2005/Atom""#));
    }

    #[test]
    fn every_feed_link_carries_the_full_type() {
        let links = vec![
            Link::feed("self", "/opds/books", Kind::Acquisition),
            Link::feed("start", "/opds", Kind::Navigation),
            Link::feed("next", "/opds/books?page=2", Kind::Acquisition),
            Link::feed(rel::FACET, "/opds/books?s=t", Kind::Acquisition).facet("Sort", true),
        ];
        let mut f = sample_feed("t", links);
        f.entries.push(authors_entry(None));
        let els = parse(&feed(&f));
        let links: Vec<&El> = els.iter().filter(|e| e.name == "link").collect();
        assert_eq!(links.len(), 5);
        for l in links {
            let ty = l.attr("type").unwrap_or_default();
            assert!(
                ty.starts_with("application/atom+xml;profile=opds-catalog;kind="),
                "{l:?}"
            );
        }
    }

    #[test]
    fn nav_entry_defaults_to_subsection_with_count() {
        let mut f = sample_feed("t", vec![]);
        f.entries.push(authors_entry(Some("3 authors")));
        let els = parse(&feed(&f));
        let link = els.iter().find(|e| e.name == "link").expect("link");
        assert_eq!(link.attr("rel"), Some("subsection"));
        assert_eq!(link.attr("thr:count"), Some("3"));
        let content = els.iter().find(|e| e.name == "content").expect("content");
        assert_eq!(
            (content.attr("type"), content.text.as_str()),
            (Some("text"), "3 authors")
        );
    }

    #[test]
    fn paging_writes_opensearch_counts() {
        let mut f = sample_feed("t", vec![]);
        f.paging = Some(Paging {
            total: 120,
            per_page: 50,
            page: 2,
        });
        let els = parse(&feed(&f));
        let value = |name: &str| els.iter().find(|e| e.name == name).map(|e| e.text.clone());
        assert_eq!(value("opensearch:totalResults").as_deref(), Some("120"));
        assert_eq!(value("opensearch:itemsPerPage").as_deref(), Some("50"));
        assert_eq!(value("opensearch:startIndex").as_deref(), Some("51"));
        assert!(els
            .iter()
            .all(|e| !e.name.starts_with("opensearch:") || e.depth == 1));
    }

    #[test]
    fn facet_attributes_only_on_facet_links() {
        let mut stray = Link::feed("next", "/n", Kind::Acquisition);
        stray.facet_group = Some("Sort".into());
        stray.active_facet = true;
        let xml = feed(&sample_feed("t", vec![stray]));
        assert!(!xml.contains("opds:facetGroup") && !xml.contains("opds:activeFacet"));
    }

    #[test]
    fn publication_entry_metadata() {
        let mut p = publication();
        p.authors = vec!["A".into(), "B".into()];
        p.isbn = Some("978-0-00-000000-2".into());
        p.series = Some(("S".into(), Some(2.0)));
        p.self_href = Some("/opds/books/x".into());
        let els = parse(&feed(&Feed {
            entries: vec![Entry::Publication(p)],
            ..sample_feed("t", vec![])
        }));
        assert_eq!(
            els.iter()
                .filter(|e| e.name == "author" && e.depth == 2)
                .count(),
            2
        );
        let id = els
            .iter()
            .find(|e| e.name == "dc:identifier")
            .expect("isbn");
        assert_eq!(id.text, "urn:isbn:9780000000002");
        let series = els
            .iter()
            .find(|e| e.name == "schema:Series")
            .expect("series");
        assert_eq!(series.attr("schema:position"), Some("2"));
        let alt = els
            .iter()
            .find(|e| e.attr("rel") == Some("alternate"))
            .expect("alternate");
        assert_eq!(alt.attr("type"), Some(media::ATOM_ENTRY));
        // An alternate link satisfies RFC 4287, so no duplicate content.
        assert!(els.iter().all(|e| e.name != "content"));
    }

    #[test]
    fn entry_document_falls_back_to_given_author() {
        let els = parse(&entry_document(&publication(), &Author::new("Libris")));
        let names: Vec<&str> = els
            .iter()
            .filter(|e| e.name == "name")
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(names, ["Libris"]);
        let mut p = publication();
        p.authors = vec!["Real".into()];
        let els = parse(&entry_document(&p, &Author::new("Libris")));
        let names: Vec<&str> = els
            .iter()
            .filter(|e| e.name == "name")
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(names, ["Real"]);
    }

    #[test]
    fn opensearch_description_respects_length_limits() {
        let els = parse(&opensearch_description(
            "Ünïcödé library name",
            "d",
            "/s?q={searchTerms}",
        ));
        let short = els
            .iter()
            .find(|e| e.name == "ShortName")
            .expect("ShortName");
        assert_eq!(short.text.chars().count(), SHORT_NAME_MAX);
        let url = els.iter().find(|e| e.name == "Url").expect("Url");
        assert_eq!(url.attr("template"), Some("/s?q={searchTerms}"));
        assert_eq!(url.attr("type"), Some(Kind::Acquisition.atom_type()));
    }
}
