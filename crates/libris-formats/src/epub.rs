//! EPUB 2 and 3: container.xml → OPF → metadata and cover. Reads three or four small
//! entries, never the content documents.

use std::io::{Read, Seek};

use quick_xml::events::Event;
use quick_xml::Reader;

use super::clean::decode_entities;
use super::detect::looks_like_image;
use super::limits::{MAX_COVER_BYTES, MAX_XML_BYTES};
use super::opf::{self, dir_of, resolve_href, CoverRef};
use super::xml;
use super::zipsafe::SafeZip;
use super::{Extracted, Format, FormatError, RawCover};

/// Elements scanned in an XHTML cover page before giving up on finding an image.
const MAX_COVER_PAGE_EVENTS: usize = 10_000;

pub fn extract<R: Read + Seek>(zip: &mut SafeZip<R>) -> Result<Extracted, FormatError> {
    let container = zip
        .read_named("META-INF/container.xml", MAX_XML_BYTES)?
        .ok_or_else(|| broken("META-INF/container.xml is missing"))?;
    let mut opf_path = rootfile(&container)?;
    let mut opf_bytes = zip.read_named(&opf_path, MAX_XML_BYTES)?;
    // full-path is a plain path, but some tools percent-encode it like a URL.
    if opf_bytes.is_none() && opf_path.contains('%') {
        if let Some(decoded) = resolve_href("", &opf_path) {
            opf_bytes = zip.read_named(&decoded, MAX_XML_BYTES)?;
            opf_path = decoded;
        }
    }
    let opf_bytes = opf_bytes.ok_or_else(|| {
        broken(&format!(
            "the package file {opf_path} named in container.xml is missing"
        ))
    })?;
    let opf = opf::parse(&opf_bytes, &opf_path)?;
    let cover = opf.covers.iter().find_map(|c| read_cover(zip, c));
    Ok(Extracted {
        format: Format::Epub,
        metadata: opf.metadata,
        cover,
    })
}

fn broken(why: &str) -> FormatError {
    FormatError::Broken(format!("not a valid EPUB: {why}"))
}

/// The OPF path: the rootfile with the OPF media type, else the first one.
fn rootfile(container: &[u8]) -> Result<String, FormatError> {
    let root = xml::parse(container)
        .map_err(|e| FormatError::Broken(format!("malformed META-INF/container.xml: {e}")))?;
    let rootfiles = root.descendants("rootfile");
    let chosen = rootfiles
        .iter()
        .find(|r| r.attr("media-type").map(str::trim) == Some("application/oebps-package+xml"))
        .or(rootfiles.first())
        .and_then(|r| r.attr("full-path"))
        .map(|p| p.trim().trim_start_matches('/'))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| broken("container.xml names no package file"))?;
    Ok(chosen.to_string())
}

/// A cover that cannot be read (absent, too large, not an image) is no cover, not a broken book.
fn read_cover<R: Read + Seek>(zip: &mut SafeZip<R>, c: &CoverRef) -> Option<RawCover> {
    let path = match c {
        CoverRef::Image(p) => p.clone(),
        CoverRef::Page(page) => {
            let html = zip.read_named(page, MAX_XML_BYTES).ok()??;
            let src = first_image_src(&html)?;
            resolve_href(&dir_of(page), &src)?
        }
    };
    let bytes = zip.read_named(&path, MAX_COVER_BYTES as u64).ok()??;
    looks_like_image(&bytes).then_some(RawCover { bytes })
}

/// `src` of the first `<img>`, or `href` of the first SVG `<image>`. Lenient: cover pages are
/// often HTML with entities XML does not know; a parse error just ends the search.
fn first_image_src(html: &[u8]) -> Option<String> {
    let mut reader = Reader::from_reader(html);
    reader.config_mut().check_end_names = false;
    for _ in 0..MAX_COVER_PAGE_EVENTS {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let local = e.local_name();
                let wanted: &[u8] = match local.as_ref() {
                    n if n.eq_ignore_ascii_case(b"img") => b"src",
                    n if n.eq_ignore_ascii_case(b"image") => b"href",
                    _ => continue,
                };
                for a in e.attributes().take(xml::MAX_ATTRIBUTES).flatten() {
                    if a.key.local_name().as_ref().eq_ignore_ascii_case(wanted) {
                        let raw = String::from_utf8_lossy(&a.value);
                        return Some(decode_entities(&raw));
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_page_images() {
        let svg = br#"<html><body><svg xmlns:xlink="x"><image width="1" xlink:href="../Images/c.jpg"/></svg></body></html>"#;
        assert_eq!(first_image_src(svg).as_deref(), Some("../Images/c.jpg"));
        let html = br#"<html><p>&nbsp;</p><div><IMG SRC="a&amp;b.png"></div>"#;
        assert_eq!(first_image_src(html).as_deref(), Some("a&b.png"));
        assert_eq!(first_image_src(b"<html><p>no image</p></html>"), None);
        assert_eq!(first_image_src(b"\xff\xfe garbage <<<"), None);
    }

    fn epub(opf: &str, extra: &[(&str, &[u8])]) -> SafeZip<std::io::Cursor<Vec<u8>>> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        let container = br#"<container><rootfiles><rootfile full-path="OPS/book.opf"/></rootfiles></container>"#;
        let mut files: Vec<(&str, &[u8])> = vec![
            ("mimetype", b"application/epub+zip"),
            ("META-INF/container.xml", container),
            ("OPS/book.opf", opf.as_bytes()),
        ];
        files.extend_from_slice(extra);
        for (n, d) in files {
            w.start_file(n, opts).unwrap();
            w.write_all(d).unwrap();
        }
        SafeZip::new(std::io::Cursor::new(w.finish().unwrap().into_inner())).unwrap()
    }

    #[test]
    fn cover_through_guide_page() {
        let opf = r#"<package><metadata><dc:title>T</dc:title></metadata>
            <manifest><item id="p" href="text/cover.xhtml" media-type="application/xhtml+xml"/></manifest>
            <guide><reference type="cover" href="text/cover.xhtml"/></guide></package>"#;
        let page: &[u8] = br#"<html><body><img src="../img/c%201.jpg"/></body></html>"#;
        let jpg: &[u8] = b"\xFF\xD8\xFF\xE0jpeg";
        let mut z = epub(
            opf,
            &[("OPS/text/cover.xhtml", page), ("OPS/img/c 1.jpg", jpg)],
        );
        let ex = extract(&mut z).unwrap();
        assert_eq!(ex.cover.unwrap().bytes, jpg);
        assert_eq!(ex.metadata.title.as_deref(), Some("T"));
    }

    #[test]
    fn unreadable_covers_are_no_cover() {
        // Missing file, then a file that is not an image: no cover, but the book is fine.
        let opf = r#"<package><metadata><meta name="cover" content="gone"/></metadata>
            <manifest><item id="gone" href="gone.jpg" media-type="image/jpeg"/>
            <item id="cover-x" href="cover.png" media-type="image/png"/></manifest></package>"#;
        let mut z = epub(opf, &[("OPS/cover.png", b"not a png")]);
        let ex = extract(&mut z).unwrap();
        assert!(ex.cover.is_none());
        assert_eq!(ex.metadata.title, None);
    }

    #[test]
    fn container_rootfile() {
        let c = br#"<container><rootfiles><rootfile full-path="x.pdf" media-type="application/pdf"/>
            <rootfile full-path="/OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#;
        assert_eq!(rootfile(c).unwrap(), "OEBPS/content.opf");
        assert!(rootfile(b"<container/>").is_err());
        assert!(rootfile(b"<container>").is_err());
    }
}
