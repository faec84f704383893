//! The HTTP side of every catalog document: which flavor a client gets (negotiation), and
//! conditional answers (KOReader sends HEAD before each GET and caches on ETag and
//! Last-Modified): a strong ETag over the bytes, and 304 when the client has them already.

use actix_web::http::header::{self, EntityTag, HttpDate};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};

use super::feed::{media, Feed};
use super::render::Flavor;
use super::{atom, json};
use crate::auth::sha256_hex;

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

/// A document ready to send: its bytes, a strong ETag over them (so it changes exactly when
/// what this reader would see changes), and when what it lists last changed.
#[derive(Debug)]
pub struct Rendered {
    pub(super) content_type: &'static str,
    pub(super) body: web::Bytes,
    pub(super) tag: EntityTag,
    pub(super) updated: DateTime<Utc>,
}

impl Rendered {
    pub(super) fn new(
        content_type: &'static str,
        body: String,
        updated: DateTime<Utc>,
    ) -> Rendered {
        Rendered {
            content_type,
            tag: EntityTag::new_strong(sha256_hex(body.as_bytes())[..32].to_owned()),
            body: body.into(),
            updated,
        }
    }

    pub(super) fn feed(flavor: Flavor, feed: &Feed) -> Rendered {
        match flavor {
            Flavor::Atom => Rendered::new(feed.kind.atom_type(), atom::feed(feed), feed.updated),
            Flavor::Json => {
                Rendered::new(media::OPDS_JSON, json::feed(feed).to_string(), feed.updated)
            }
        }
    }
}

/// Whether the request's If-None-Match names `tag`; None without that header.
pub(super) fn none_match(req: &HttpRequest, tag: &EntityTag) -> Option<bool> {
    match req.get_header::<header::IfNoneMatch>()? {
        header::IfNoneMatch::Any => Some(true),
        header::IfNoneMatch::Items(tags) => Some(tags.iter().any(|t| t.weak_eq(tag))),
    }
}

/// The document with its ETag and Last-Modified; 304 when the client has it already.
pub(super) fn reply(req: &HttpRequest, doc: &Rendered) -> HttpResponse {
    let modified = HttpDate::from(std::time::SystemTime::from(doc.updated));
    let fresh = none_match(req, &doc.tag).unwrap_or_else(|| {
        req.get_header::<header::IfModifiedSince>()
            .is_some_and(|since| {
                doc.updated.timestamp()
                    <= std::time::SystemTime::from(since.0)
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64)
            })
    });
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header(header::ETag(doc.tag.clone()))
        .insert_header(header::LastModified(modified))
        // Feeds hold per-reader state: a shared cache must not keep them, a client revalidates.
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::VARY, "Authorization, Accept"));
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
    updated: DateTime<Utc>,
) -> HttpResponse {
    reply(req, &Rendered::new(content_type, body, updated))
}

pub(super) fn feed_response(req: &HttpRequest, flavor: Flavor, feed: &Feed) -> HttpResponse {
    reply(req, &Rendered::feed(flavor, feed))
}

#[cfg(test)]
mod tests {
    use super::wants_catalog;
    use actix_web::http::header;
    use actix_web::HttpMessage;

    fn accept(value: Option<&str>) -> Option<Option<header::Accept>> {
        let mut req = actix_web::test::TestRequest::default();
        if let Some(v) = value {
            req = req.insert_header((header::ACCEPT, v));
        }
        let req = req.to_http_request();
        value.map(|_| req.get_header::<header::Accept>())
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
