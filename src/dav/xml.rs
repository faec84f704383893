//! PROPFIND's multistatus answer. Every element is prefixed (`d:`): KOReader's WebDAV client
//! matches `<x:response>` with a pattern that needs a prefix.

use std::fmt::Write;
use std::time::SystemTime;

use quick_xml::escape::escape;

use crate::cloud::space::Entry;

fn http_date(t: SystemTime) -> String {
    let t: chrono::DateTime<chrono::Utc> = t.into();
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn iso(t: SystemTime) -> String {
    let t: chrono::DateTime<chrono::Utc> = t.into();
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A path's segments percent-encoded for an href (everything but unreserved characters).
pub fn href(prefix: &str, segments: &[String], folder: bool) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut out = format!("{prefix}/dav/");
    for (i, s) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(utf8_percent_encode(s, SEGMENT));
    }
    if folder && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// The multistatus body for `entries` (the requested one first).
pub fn multistatus(
    prefix: &str,
    entries: &[Entry],
    content_type: impl Fn(&Entry) -> String,
) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:multistatus xmlns:d=\"DAV:\">\n",
    );
    for e in entries {
        let name = e.path.name().unwrap_or("");
        let _ = write!(
            out,
            "<d:response><d:href>{}</d:href><d:propstat><d:prop>\
             <d:displayname>{}</d:displayname>\
             <d:getlastmodified>{}</d:getlastmodified>\
             <d:creationdate>{}</d:creationdate>",
            escape(href(prefix, e.path.segments(), e.folder)),
            escape(name),
            http_date(e.modified),
            iso(e.modified),
        );
        if e.folder {
            out.push_str("<d:resourcetype><d:collection/></d:resourcetype>");
        } else {
            let _ = write!(
                out,
                "<d:resourcetype/><d:getcontentlength>{}</d:getcontentlength>\
                 <d:getcontenttype>{}</d:getcontenttype><d:getetag>{}</d:getetag>",
                e.size,
                escape(content_type(e)),
                escape(e.etag.as_deref().unwrap_or("")),
            );
        }
        out.push_str("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>\n");
    }
    out.push_str("</d:multistatus>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_are_encoded_per_segment() {
        let segs = vec!["My Books".to_owned(), "é?#.txt".to_owned()];
        assert_eq!(href("", &segs, false), "/dav/My%20Books/%C3%A9%3F%23.txt");
        assert_eq!(href("/libris", &segs[..1], true), "/libris/dav/My%20Books/");
        assert_eq!(href("", &[], true), "/dav/");
    }
}
