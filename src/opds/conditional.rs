//! The HTTP side of every catalog document: which flavor a client gets (negotiation), and
//! conditional answers (KOReader sends HEAD before each GET and caches on ETag and
//! Last-Modified): a strong ETag over the bytes, and 304 when the client has them already.

use actix_web::http::header::{self, EntityTag, HttpDate};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use chrono::{DateTime, TimeDelta, Utc};

use super::feed::{media, Feed};
use super::render::Flavor;
use super::{atom, json};
use crate::auth::sha256_hex;
use crate::library::catalog::Version;

/// True when the client ranks OPDS 2.0 JSON above Atom (KOReader does since mid-2026).
pub fn prefers_json(req: &HttpRequest) -> bool {
    let Some(accept) = req.get_header::<header::Accept>() else {
        return false;
    };
    let quality = |essence: &str| {
        accept
            .iter()
            .filter(|item| item.item.essence_str() == essence)
            .map(|item| item.quality)
            .max()
    };
    match (
        quality("application/opds+json"),
        quality("application/atom+xml"),
    ) {
        (Some(json), Some(atom)) => json > atom,
        (Some(json), None) => json > header::Quality::ZERO,
        _ => false,
    }
}

/// Whether a request for `/` with this Accept comes from a reading app rather than a browser:
/// it ranks Atom or OPDS JSON above HTML, or names no HTML at all (or sends no Accept).
/// `accept` is the parsed header, `None` when the request has none; one that does not parse
/// is not a reading app's.
pub fn wants_catalog(accept: Option<Option<header::Accept>>) -> bool {
    let Some(accept) = accept else {
        return true;
    };
    let Some(items) = accept else {
        return false;
    };
    let quality = |essences: &[&str]| {
        items
            .iter()
            .filter(|item| essences.contains(&item.item.essence_str()))
            .map(|item| item.quality)
            .max()
    };
    let html = quality(&["text/html", "application/xhtml+xml"]);
    let catalog = quality(&[
        "application/atom+xml",
        "application/opds+json",
        "application/xml",
    ]);
    match (html, catalog) {
        (None, _) => true,
        (Some(html), Some(catalog)) => catalog > html,
        (Some(_), None) => false,
    }
}

/// A document ready to send: its bytes and a strong ETag over them (so it changes exactly when
/// what this reader would see changes).
#[derive(Debug)]
pub struct Rendered {
    pub(super) content_type: &'static str,
    pub(super) body: web::Bytes,
    pub(super) tag: EntityTag,
}

impl Rendered {
    pub(super) fn new(content_type: &'static str, body: String) -> Rendered {
        Rendered {
            content_type,
            tag: EntityTag::new_strong(sha256_hex(body.as_bytes())[..32].to_owned()),
            body: body.into(),
        }
    }

    pub(super) fn feed(flavor: Flavor, feed: &Feed) -> Rendered {
        match flavor {
            Flavor::Atom => Rendered::new(feed.kind.atom_type(), atom::feed(feed)),
            Flavor::Json => Rendered::new(media::OPDS_JSON, json::feed(feed).to_string()),
        }
    }
}

/// How long after its stamp a change may still be invisible to readers: stamps are taken as
/// a write commits (the library's) or as its statement starts (the reading's), a little
/// before others can see it.
const COMMIT_LAG: TimeDelta = TimeDelta::seconds(2);

/// When what a document shows last changed: what its Last-Modified says, and what an
/// If-Modified-Since is held against. HTTP dates have whole seconds, so a client holding a
/// Last-Modified cannot tell two changes within one second apart; Last-Modified is therefore
/// only sent once the second of the newest change is over (and its writes visible): every
/// change stamped within it is then in the body, and any later one has a later second. Until
/// then the document goes without (the ETag still serves), as servers do for a file modified
/// within the current second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changed {
    /// The newest change among what the document shows: the library's, and the reader's
    /// reading where the document shows it. Read before what it shows.
    pub at: DateTime<Utc>,
    /// The database's time when `at` was read.
    pub read_at: DateTime<Utc>,
    /// The body shows the state `at` was read in, or a later one (not a page kept from
    /// before a change that another request is reading anew).
    pub current: bool,
}

impl Changed {
    /// The library's change as read in `now`, the reader's reading change if the document
    /// shows it, for a body of library version `shown` (None: read after `now`).
    pub fn of(now: &Version, reading: Option<DateTime<Utc>>, shown: Option<i64>) -> Changed {
        Changed {
            at: reading.map_or(now.changed_at, |r| r.max(now.changed_at)),
            read_at: now.read_at,
            current: shown.is_none_or(|v| v >= now.number),
        }
    }

    /// Last-Modified: the second of the newest change, once that second is settled.
    pub fn last_modified(&self) -> Option<DateTime<Utc>> {
        let second = DateTime::from_timestamp(self.at.timestamp(), 0)?;
        let settled = self.read_at >= second + TimeDelta::seconds(1) + COMMIT_LAG;
        (self.current && settled).then_some(second)
    }

    /// Whether a client holding the Last-Modified `since` has what this shows: nothing
    /// changed after the second it names.
    pub fn unchanged_since(&self, since: DateTime<Utc>) -> bool {
        self.at < since + TimeDelta::seconds(1)
    }
}

/// Whether the request's If-None-Match names `tag`; None without that header.
pub(super) fn none_match(req: &HttpRequest, tag: &EntityTag) -> Option<bool> {
    match req.get_header::<header::IfNoneMatch>()? {
        header::IfNoneMatch::Any => Some(true),
        header::IfNoneMatch::Items(tags) => Some(tags.iter().any(|t| t.weak_eq(tag))),
    }
}

/// The document with its ETag and, when `changed` gives one, Last-Modified; 304 when the
/// client has it already. If-None-Match, when sent, decides alone (RFC 9110 13.1.3: it takes
/// precedence); If-Modified-Since is held against `changed` (a document without it never
/// matches one).
pub(super) fn reply(req: &HttpRequest, doc: &Rendered, changed: Option<Changed>) -> HttpResponse {
    let fresh = none_match(req, &doc.tag).unwrap_or_else(|| {
        let since = req.get_header::<header::IfModifiedSince>();
        match (changed, since) {
            (Some(changed), Some(since)) => {
                changed.unchanged_since(DateTime::<Utc>::from(std::time::SystemTime::from(since.0)))
            }
            _ => false,
        }
    });
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header(header::ETag(doc.tag.clone()))
        // Feeds hold per-reader state: a shared cache must not keep them, a client revalidates.
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::VARY, "Authorization, Accept"));
    if let Some(modified) = changed.and_then(|c| c.last_modified()) {
        resp.insert_header(header::LastModified(HttpDate::from(
            std::time::SystemTime::from(modified),
        )));
    }
    if fresh {
        resp.finish()
    } else {
        resp.content_type(doc.content_type).body(doc.body.clone())
    }
}

pub(super) fn document(
    req: &HttpRequest,
    content_type: &'static str,
    body: String,
    changed: Option<Changed>,
) -> HttpResponse {
    reply(req, &Rendered::new(content_type, body), changed)
}

pub(super) fn feed_response(
    req: &HttpRequest,
    flavor: Flavor,
    feed: &Feed,
    changed: Changed,
) -> HttpResponse {
    reply(req, &Rendered::feed(flavor, feed), Some(changed))
}

#[cfg(test)]
mod tests {
    use super::{wants_catalog, Changed};
    use actix_web::http::header;
    use actix_web::HttpMessage;
    use chrono::{DateTime, Utc};

    fn accept(value: Option<&str>) -> Option<Option<header::Accept>> {
        let mut req = actix_web::test::TestRequest::default();
        if let Some(v) = value {
            req = req.insert_header((header::ACCEPT, v));
        }
        let req = req.to_http_request();
        value.map(|_| req.get_header::<header::Accept>())
    }

    fn at(secs: f64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis((1_800_000_000.0 * 1000.0 + secs * 1000.0) as i64).unwrap()
    }

    fn changed(at_secs: f64, read_secs: f64) -> Changed {
        Changed {
            at: at(at_secs),
            read_at: at(read_secs),
            current: true,
        }
    }

    #[test]
    fn last_modified_waits_for_its_second_to_settle() {
        assert_eq!(changed(0.4, 1.9).last_modified(), None, "same second");
        assert_eq!(
            changed(0.4, 2.9).last_modified(),
            None,
            "writes may still land"
        );
        assert_eq!(changed(0.4, 3.0).last_modified(), Some(at(0.0)));
        let kept_from_before = Changed {
            current: false,
            ..changed(0.4, 60.0)
        };
        assert_eq!(kept_from_before.last_modified(), None);
        assert!(changed(0.4, 9.0).unchanged_since(at(0.0)));
        assert!(!changed(1.0, 9.0).unchanged_since(at(0.0)));
    }

    proptest::proptest! {
        /// The promise: a client replaying a Last-Modified it was given never gets 304 once a
        /// later change is in (committed within the lag of its stamp, after the read).
        #[test]
        fn a_later_change_is_never_not_modified(
            first in 0.0f64..5.0,
            read_after in 0.0f64..10.0,
            later in 0.001f64..10.0,
        ) {
            let given = changed(first, first + read_after);
            // A change the read did not see was stamped no earlier than the lag before it.
            let second_change = (first + later).max(first + read_after - 2.0);
            if let Some(since) = given.last_modified() {
                let now = changed(second_change, second_change + 1.0);
                proptest::prop_assert!(!now.unchanged_since(since));
                proptest::prop_assert!(given.unchanged_since(since), "unchanged: 304");
            }
        }
    }

    #[test]
    fn reading_apps_want_the_catalog_and_browsers_do_not() {
        assert!(wants_catalog(accept(None)));
        assert!(wants_catalog(accept(Some("*/*"))));
        assert!(wants_catalog(accept(Some("application/atom+xml"))));
        assert!(wants_catalog(accept(Some(
            "application/opds+json, application/atom+xml;q=0.9"
        ))));
        assert!(wants_catalog(accept(Some(
            "application/atom+xml, text/html;q=0.5"
        ))));
        assert!(!wants_catalog(accept(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ))));
        assert!(!wants_catalog(accept(Some("text/html"))));
    }
}
