//! A small strict XML tree for metadata documents (container.xml, OPF, ComicInfo.xml).
//! They are capped at `limits::MAX_XML_BYTES`, so a tree is cheap, and it keeps the readers
//! simple. Names are kept without their namespace prefix: books disagree on prefixes
//! (`dc:title`, `title`, `opf:role`) far more than on namespaces.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::charset::{self, Charset};

/// Deeper than any real metadata document; bounds the work on hostile ones.
const MAX_DEPTH: usize = 256;
/// Elements in one document: a large OPF manifest has tens of thousands.
const MAX_ELEMENTS: usize = 500_000;
/// Attributes on one element. quick-xml's duplicate check is quadratic in their number, so a
/// hostile element with a million attributes would stall; real ones have a handful.
pub const MAX_ATTRIBUTES: usize = 256;

#[derive(Debug, Clone, Default)]
pub struct Element {
    /// Local name, as written (case kept).
    pub name: String,
    /// Local attribute names (namespace declarations dropped) and unescaped values.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    /// Local name, compared case-insensitively (OEB 1 wrote `dc:Title`).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Attribute by local name, case-insensitive.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(name))
    }

    /// All descendants (depth first, document order) with this local name.
    pub fn descendants<'a>(&'a self, name: &'a str) -> Vec<&'a Element> {
        let mut out = Vec::new();
        let mut stack: Vec<&Element> = vec![self];
        while let Some(e) = stack.pop() {
            if e.is(name) && !std::ptr::eq(e, self) {
                out.push(e);
            }
            let before = stack.len();
            stack.extend(e.elements());
            stack[before..].reverse();
        }
        out
    }

    /// All text inside, in document order.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.collect_text(&mut out);
        out
    }

    fn collect_text(&self, out: &mut String) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => e.collect_text(out),
            }
        }
    }
}

/// Parses a whole document strictly: mismatched or missing end tags, bad attributes, unknown
/// entities and invalid UTF-8 are errors. UTF-16 (with a BOM) is transcoded first.
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let text = to_utf8(bytes)?;
    let mut reader = Reader::from_str(&text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| describe(&reader, e))?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err("content after the root element".into());
            }
            Event::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err("document too deep or too large".into());
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err("document too large".into());
                }
                let el = element(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err("unexpected end tag".into());
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(done)),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| describe(&reader, e))?;
                push_text(&mut stack, &s, root.is_some())?;
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|e| e.to_string())?;
                push_text(&mut stack, s, root.is_some())?;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("element <{}> is not closed", open.name));
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn push_text(stack: &mut [Element], s: &str, after_root: bool) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(Node::Text(s.to_string()));
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None if after_root => Err("text after the root element".into()),
        None => Err("text before the root element".into()),
    }
}

fn describe<E: std::fmt::Display>(reader: &Reader<&[u8]>, e: E) -> String {
    format!("{e} (near byte {})", reader.buffer_position())
}

fn element(e: &BytesStart) -> Result<Element, String> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for (n, a) in e.attributes().enumerate() {
        if n >= MAX_ATTRIBUTES {
            return Err(format!("too many attributes in <{name}>"));
        }
        let a = a.map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
        let key = a.key;
        if key.as_ref() == b"xmlns" || key.prefix().is_some_and(|p| p.as_ref() == b"xmlns") {
            continue;
        }
        let value = a
            .unescape_value()
            .map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
        let local = String::from_utf8_lossy(key.local_name().as_ref()).into_owned();
        attrs.push((local, value.into_owned()));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
    })
}

/// UTF-8 (BOM stripped) as is; UTF-16 with a BOM, or a declared single-byte encoding,
/// transcoded.
fn to_utf8(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, String> {
    let utf16 = |b: &[u8], be: bool| -> Result<String, String> {
        let units = b.chunks_exact(2).map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| "invalid UTF-16".to_string())
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest)
            .map(Into::into)
            .map_err(|e| format!("invalid UTF-8: {e}")),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, false).map(Into::into),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, true).map(Into::into),
        _ => match charset::declared(bytes) {
            Ok(Charset::Utf8) => std::str::from_utf8(bytes)
                .map(Into::into)
                .map_err(|e| format!("invalid UTF-8: {e}")),
            Ok(cs) => Ok(charset::to_utf8(bytes, cs).into()),
            Err(name) => Err(format!("unsupported encoding {name}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tree() {
        let doc = parse(
            br#"<?xml version="1.0"?><p xmlns:dc="x"><dc:title id="t">A &amp; B<![CDATA[<c>]]></dc:title><m a='1'/></p>"#,
        )
        .unwrap();
        assert_eq!(doc.name, "p");
        assert!(doc.attrs.is_empty());
        let t = doc.child("TITLE").unwrap();
        assert_eq!(t.attr("id"), Some("t"));
        assert_eq!(t.text(), "A & B<c>");
        assert_eq!(doc.descendants("m").len(), 1);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b"<a><b></a>"[..],
            b"<a>",
            b"<a>x & y</a>",
            b"<a>&nbsp;</a>",
            b"<a x=\"1\" x=\"2\"/>",
            b"<a name=\"x \"y\"\"/>",
            b"<a/><b/>",
            b"",
            b"\xff\xfe<\x00",
            b"<a>\xff</a>",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn utf16_bom() {
        let mut b = vec![0xFF, 0xFE];
        for u in "<a>é</a>".encode_utf16() {
            b.extend(u.to_le_bytes());
        }
        assert_eq!(parse(&b).unwrap().text(), "é");
    }

    #[test]
    fn declared_latin1() {
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>";
        assert_eq!(parse(doc).unwrap().text(), "\u{e9}");
        assert!(parse(b"<?xml version=\"1.0\" encoding=\"ebcdic\"?><a/>").is_err());
    }

    #[test]
    fn attribute_flood_is_refused() {
        let doc = format!(
            "<a {}/>",
            (0..100_000).map(|i| format!("a{i}=''")).collect::<String>()
        );
        assert!(parse(doc.as_bytes()).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let doc = "<a>".repeat(10_000);
        assert!(parse(doc.as_bytes()).is_err());
    }
}
