//! Format-neutral model of an OPDS catalog page.
//!
//! The same model feeds both writers (`atom` for OPDS 1.2, `json` for OPDS 2.0).
//! Build one `Feed` per output format: hrefs differ (`/opds/…` vs `/opds/v2/…`)
//! and so does the search link (OpenSearch description vs `{?query}` template).
//! Media types of links to other catalog documents are *not* spelled out by the
//! caller: `LinkType::Feed`/`LinkType::Entry` let each writer pick its own type.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Well-known link relations, so callers do not retype long URIs.
pub mod rel {
    pub const ACQUISITION: &str = "http://opds-spec.org/acquisition";
    pub const IMAGE: &str = "http://opds-spec.org/image";
    pub const THUMBNAIL: &str = "http://opds-spec.org/image/thumbnail";
    pub const FACET: &str = "http://opds-spec.org/facet";
    pub const CRAWLABLE: &str = "http://opds-spec.org/crawlable";
    pub const SORT_NEW: &str = "http://opds-spec.org/sort/new";
    pub const SORT_POPULAR: &str = "http://opds-spec.org/sort/popular";
    /// Valid OPDS, but KOReader does not follow entries with this rel.
    pub const SHELF: &str = "http://opds-spec.org/shelf";
    pub const SUBSECTION: &str = "subsection";
    pub const PSE_STREAM: &str = "http://vaemendis.net/opds-pse/stream";
}

/// Media types that are fixed by the specifications.
pub mod media {
    pub const ATOM_ENTRY: &str = "application/atom+xml;type=entry;profile=opds-catalog";
    pub const OPDS_JSON: &str = "application/opds+json";
    pub const OPDS_PUBLICATION_JSON: &str = "application/opds-publication+json";
    pub const OPENSEARCH: &str = "application/opensearchdescription+xml";
    pub const JPEG: &str = "image/jpeg";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Navigation,
    Acquisition,
}

impl Kind {
    /// Full OPDS 1.2 type; KOReader ignores feed links whose type lacks it.
    pub fn atom_type(self) -> &'static str {
        match self {
            Kind::Navigation => "application/atom+xml;profile=opds-catalog;kind=navigation",
            Kind::Acquisition => "application/atom+xml;profile=opds-catalog;kind=acquisition",
        }
    }
}

/// What a link points at. Catalog documents are typed per output format by the
/// writers; anything else (files, images, OpenSearch) carries a literal type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkType {
    /// Another catalog feed: Atom `…;kind=…`, JSON `application/opds+json`.
    Feed(Kind),
    /// A complete publication entry: Atom `…;type=entry…`, JSON `application/opds-publication+json`.
    Entry,
    /// A fixed media type, written as is by both writers.
    Media(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// Empty means none (Atom then implies "alternate").
    pub rel: String,
    /// Percent-encoded URI reference: both schemas reject spaces and raw non-ASCII.
    pub href: String,
    pub link_type: LinkType,
    pub title: Option<String>,
    /// Only written for `rel::FACET` links: the OPDS schema allows `opds:*` attributes nowhere else.
    pub facet_group: Option<String>,
    pub active_facet: bool,
    /// Atom `thr:count`, JSON `properties.numberOfItems`.
    pub count: Option<i64>,
    /// The href is a URI template (JSON `templated: true`; Atom has no equivalent).
    pub templated: bool,
}

impl Link {
    fn with_type(rel: impl Into<String>, href: impl Into<String>, link_type: LinkType) -> Self {
        Link {
            rel: rel.into(),
            href: href.into(),
            link_type,
            title: None,
            facet_group: None,
            active_facet: false,
            count: None,
            templated: false,
        }
    }

    /// Link to another catalog feed (self, start, up, next, …).
    pub fn feed(rel: impl Into<String>, href: impl Into<String>, kind: Kind) -> Self {
        Self::with_type(rel, href, LinkType::Feed(kind))
    }

    /// Link to a complete publication entry document.
    pub fn entry(rel: impl Into<String>, href: impl Into<String>) -> Self {
        Self::with_type(rel, href, LinkType::Entry)
    }

    /// Link with a literal media type, e.g. the OpenSearch description.
    pub fn new(
        rel: impl Into<String>,
        href: impl Into<String>,
        media_type: impl Into<String>,
    ) -> Self {
        Self::with_type(rel, href, LinkType::Media(media_type.into()))
    }

    pub fn titled(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    pub fn counted(mut self, count: i64) -> Self {
        self.count = Some(count);
        self
    }

    pub fn templated(mut self) -> Self {
        self.templated = true;
        self
    }

    /// Turns the link into a facet of `group`; the rel is forced to `rel::FACET`
    /// because facet attributes are invalid on any other link.
    pub fn facet(mut self, group: impl Into<String>, active: bool) -> Self {
        self.rel = rel::FACET.to_owned();
        self.facet_group = Some(group.into());
        self.active_facet = active;
        self
    }

    pub fn is_facet(&self) -> bool {
        self.rel == rel::FACET
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub total: i64,
    pub per_page: i64,
    /// 1-based.
    pub page: i64,
}

impl Paging {
    /// OpenSearch `startIndex` is 1-based: page 2 of 50 starts at 51.
    /// Saturating so that absurd query parameters cannot overflow.
    pub fn start_index(&self) -> i64 {
        (self.page.max(1) - 1)
            .saturating_mul(self.per_page.max(0))
            .saturating_add(1)
    }

    /// Number of the last page (at least 1, so an empty result still has a page).
    pub fn last_page(&self) -> i64 {
        if self.per_page <= 0 {
            return 1;
        }
        let total = self.total.max(0);
        (total / self.per_page + i64::from(total % self.per_page != 0)).max(1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub uri: Option<String>,
}

impl Author {
    pub fn new(name: impl Into<String>) -> Self {
        Author {
            name: name.into(),
            uri: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// A URI, e.g. `urn:libris:root`.
    pub id: String,
    pub title: String,
    pub updated: DateTime<Utc>,
    /// The Atom response's Content-Type is `kind.atom_type()`.
    pub kind: Kind,
    /// Atom requires a feed author unless every entry has one; books may have none.
    pub author: Author,
    /// All feed-level links, facets included, in output order; supplied by the caller.
    pub links: Vec<Link>,
    pub paging: Option<Paging>,
    pub entries: Vec<Entry>,
}

// Not boxed: a page holds at most a few dozen entries, nearly all of one kind,
// so the padding on navigation entries costs nothing worth an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Navigation(NavEntry),
    Publication(Publication),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NavEntry {
    /// A URI, e.g. `urn:libris:authors`.
    pub id: String,
    pub title: String,
    pub updated: DateTime<Utc>,
    pub href: String,
    pub kind: Kind,
    /// Defaults to `subsection`, the rel every client follows.
    pub rel: Option<String>,
    /// Plain text, e.g. "12 books".
    pub summary: Option<String>,
    pub count: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    pub id: Uuid,
    pub title: String,
    pub authors: Vec<String>,
    pub updated: DateTime<Utc>,
    /// Free text such as "2019" or "2019-05-01" (Atom `dc:issued`).
    pub published: Option<String>,
    pub language: Option<String>,
    pub publisher: Option<String>,
    pub isbn: Option<String>,
    pub genres: Vec<String>,
    /// Plain text; OPDS forbids markup in `atom:summary`.
    pub summary: Option<String>,
    /// Series name and position in it.
    pub series: Option<(String, Option<f64>)>,
    pub files: Vec<Acquisition>,
    pub image: Option<Image>,
    pub thumbnail: Option<Image>,
    pub pse: Option<Pse>,
    /// Href of the complete entry document for this publication.
    pub self_href: Option<String>,
}

impl Publication {
    /// A publication with only what every entry has; the caller fills in the rest.
    pub fn new(id: Uuid, title: impl Into<String>, updated: DateTime<Utc>) -> Publication {
        Publication {
            id,
            title: title.into(),
            authors: vec![],
            updated,
            published: None,
            language: None,
            publisher: None,
            isbn: None,
            genres: vec![],
            summary: None,
            series: None,
            files: vec![],
            image: None,
            thumbnail: None,
            pse: None,
            self_href: None,
        }
    }

    /// `urn:isbn:` URI from the stored ISBN, keeping only digits and the check
    /// character so that hyphens or spaces cannot produce an invalid URI.
    pub fn isbn_urn(&self) -> Option<String> {
        let digits: String = self
            .isbn
            .as_deref()?
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'X' || *c == 'x')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (!digits.is_empty()).then(|| format!("urn:isbn:{digits}"))
    }
}

/// RFC 3339 in UTC with a `Z` suffix and whole seconds: valid as `xsd:dateTime`
/// (Atom) and JSON Schema `date-time` (OPDS 2).
pub(crate) fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Series position; `None` for NaN/infinite values, which neither format can carry.
pub(crate) fn series_position(p: f64) -> Option<f64> {
    p.is_finite().then_some(p)
}

/// Image links need a type: clients only accept GIF/JPEG/PNG covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub href: String,
    pub media_type: String,
}

impl Image {
    pub fn jpeg(href: impl Into<String>) -> Self {
        Image {
            href: href.into(),
            media_type: media::JPEG.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquisition {
    pub href: String,
    pub media_type: String,
    /// Bytes.
    pub length: Option<u64>,
    pub title: Option<String>,
}

/// OPDS Page Streaming Extension 1.1 (page-by-page comic streaming).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pse {
    /// Contains `{pageNumber}` and optionally `{maxWidth}`.
    pub href_template: String,
    pub count: i64,
    pub last_read: Option<i64>,
    pub last_read_date: Option<DateTime<Utc>>,
    pub media_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paging(total: i64, per_page: i64, page: i64) -> Paging {
        Paging {
            total,
            per_page,
            page,
        }
    }

    #[test]
    fn start_index_is_one_based() {
        assert_eq!(paging(120, 50, 1).start_index(), 1);
        assert_eq!(paging(120, 50, 2).start_index(), 51);
        assert_eq!(paging(120, 50, 3).start_index(), 101);
    }

    #[test]
    fn start_index_tolerates_bad_input() {
        assert_eq!(paging(0, 50, 0).start_index(), 1);
        assert_eq!(paging(0, 50, -3).start_index(), 1);
        assert_eq!(paging(0, 0, 7).start_index(), 1);
        assert_eq!(paging(0, i64::MAX, i64::MAX).start_index(), i64::MAX);
    }

    #[test]
    fn last_page_rounds_up() {
        assert_eq!(paging(120, 50, 1).last_page(), 3);
        assert_eq!(paging(100, 50, 1).last_page(), 2);
        assert_eq!(paging(0, 50, 1).last_page(), 1);
        assert_eq!(paging(10, 0, 1).last_page(), 1);
    }

    #[test]
    fn facet_builder_forces_facet_rel() {
        let l = Link::feed("related", "/x", Kind::Acquisition).facet("Sort", true);
        assert!(l.is_facet());
        assert_eq!(l.facet_group.as_deref(), Some("Sort"));
        assert!(l.active_facet);
    }

    #[test]
    fn atom_types_carry_profile_and_kind() {
        for k in [Kind::Navigation, Kind::Acquisition] {
            assert!(k
                .atom_type()
                .starts_with("application/atom+xml;profile=opds-catalog;kind="));
        }
    }
}
