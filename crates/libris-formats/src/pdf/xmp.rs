//! XMP packets: where calibre (and Adobe tools) keep what the Info dictionary cannot say:
//! publisher, language, ISBN, publication date, series.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

const DC: &[u8] = b"http://purl.org/dc/elements/1.1/";
const RDF: &[u8] = b"http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/";
const CALIBRE: &[u8] = b"http://calibre-ebook.com/xmp-namespace";
const CALIBRE_SI: &[u8] = b"http://calibre-ebook.com/xmp-namespace-series-index";

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Xmp {
    pub title: Option<String>,
    pub creators: Vec<String>,
    pub description: Option<String>,
    pub subjects: Vec<String>,
    pub publisher: Option<String>,
    pub date: Option<String>,
    pub language: Option<String>,
    /// Every value that may be an ISBN; the caller keeps the first valid one.
    pub isbn_candidates: Vec<String>,
    pub series: Option<String>,
    pub series_index: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prop {
    Title,
    Creator,
    Description,
    Subject,
    Publisher,
    Date,
    Language,
    Identifier,
    Isbn,
    Series,
    SeriesIndex,
}

fn prop(ns: &[u8], local: &[u8]) -> Option<Prop> {
    Some(match (ns, local) {
        (DC, b"title") => Prop::Title,
        (DC, b"creator") => Prop::Creator,
        (DC, b"description") => Prop::Description,
        (DC, b"subject") => Prop::Subject,
        (DC, b"publisher") => Prop::Publisher,
        (DC, b"date") => Prop::Date,
        (DC, b"language") => Prop::Language,
        (DC, b"identifier") | (XMP, b"Identifier") => Prop::Identifier,
        // prism:isbn, pdfx:isbn and friends, whatever the namespace version.
        (_, b"isbn") => Prop::Isbn,
        (CALIBRE, b"series") => Prop::Series,
        (CALIBRE_SI, b"series_index") => Prop::SeriesIndex,
        _ => return None,
    })
}

/// Parses what it can: a malformed packet yields the fields read before the damage.
pub fn parse(data: &[u8]) -> Xmp {
    let mut reader = NsReader::from_reader(data);
    reader.config_mut().check_end_names = false;
    let mut xmp = Xmp::default();
    // (property of this element or an ancestor, is rdf:value/other qualifier element)
    let mut stack: Vec<(Option<Prop>, bool)> = Vec::new();
    while let Ok((ns, event)) = reader.read_resolved_event() {
        match event {
            Event::Start(e) => {
                let ns = match ns {
                    ResolveResult::Bound(n) => n.0,
                    _ => &[],
                };
                let local = e.local_name();
                let inherited = stack.last().and_then(|(p, _)| *p);
                let own = prop(ns, local.as_ref());
                // Inside a property, nested calibreSI:series_index still starts its own.
                let current = match (inherited, own) {
                    (Some(Prop::Series), Some(Prop::SeriesIndex)) => own,
                    (Some(p), _) => Some(p),
                    (None, o) => o,
                };
                let is_qualifier =
                    ns != RDF && inherited.is_some() && own != Some(Prop::SeriesIndex);
                stack.push((current, is_qualifier));
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                if let (Some(&(Some(p), qualifier)), Ok(text)) = (stack.last(), t.unescape()) {
                    xmp.add(p, qualifier, text.trim());
                }
            }
            Event::CData(t) => {
                if let Some(&(Some(p), qualifier)) = stack.last() {
                    xmp.add(p, qualifier, String::from_utf8_lossy(&t).trim());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    xmp
}

impl Xmp {
    /// `qualifier`: the text sits in a non-RDF child such as xmpidq:Scheme, which is a
    /// label, not the value (except calibre's series index, handled as its own property).
    fn add(&mut self, p: Prop, qualifier: bool, text: &str) {
        if text.is_empty() || qualifier {
            return;
        }
        let first = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = Some(text.to_string());
            }
        };
        match p {
            Prop::Title => first(&mut self.title),
            Prop::Creator => self.creators.push(text.to_string()),
            Prop::Description => first(&mut self.description),
            Prop::Subject => self.subjects.push(text.to_string()),
            Prop::Publisher => first(&mut self.publisher),
            Prop::Date => first(&mut self.date),
            Prop::Language => first(&mut self.language),
            Prop::Identifier | Prop::Isbn => self.isbn_candidates.push(text.to_string()),
            Prop::Series => first(&mut self.series),
            Prop::SeriesIndex => first(&mut self.series_index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALIBRE_PACKET: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" rdf:about="">
 <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Fish &amp; Chips</rdf:li></rdf:Alt></dc:title>
 <dc:creator><rdf:Seq><rdf:li>A One</rdf:li><rdf:li>B Two</rdf:li></rdf:Seq></dc:creator>
 <dc:subject><rdf:Bag><rdf:li>R&amp;D</rdf:li><rdf:li>&lt;angle&gt;</rdf:li></rdf:Bag></dc:subject>
 <dc:date><rdf:Seq><rdf:li>2019-05-14T00:00:00+00:00</rdf:li></rdf:Seq></dc:date>
 <dc:language><rdf:Bag><rdf:li>en</rdf:li></rdf:Bag></dc:language>
</rdf:Description>
<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:xmpidq="http://ns.adobe.com/xmp/Identifier/qual/1.0/" rdf:about="">
 <xmp:Identifier><rdf:Bag><rdf:li rdf:parseType="Resource">
  <xmpidq:Scheme>isbn</xmpidq:Scheme><rdf:value>9780306406157</rdf:value>
 </rdf:li></rdf:Bag></xmp:Identifier>
</rdf:Description>
<rdf:Description xmlns:calibre="http://calibre-ebook.com/xmp-namespace" xmlns:calibreSI="http://calibre-ebook.com/xmp-namespace-series-index" rdf:about="">
 <calibre:series rdf:parseType="Resource"><rdf:value>Tom &amp; Jerry's "Best"</rdf:value>
 <calibreSI:series_index>1.50</calibreSI:series_index></calibre:series>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;

    #[test]
    fn calibre_packet() {
        let x = parse(CALIBRE_PACKET.as_bytes());
        assert_eq!(x.title.as_deref(), Some("Fish & Chips"));
        assert_eq!(x.creators, ["A One", "B Two"]);
        assert_eq!(x.subjects, ["R&D", "<angle>"]);
        assert_eq!(x.date.as_deref(), Some("2019-05-14T00:00:00+00:00"));
        assert_eq!(x.language.as_deref(), Some("en"));
        assert_eq!(x.isbn_candidates, ["9780306406157"]);
        assert_eq!(x.series.as_deref(), Some("Tom & Jerry's \"Best\""));
        assert_eq!(x.series_index.as_deref(), Some("1.50"));
    }

    #[test]
    fn damaged_packets_do_not_fail() {
        assert_eq!(parse(b""), Xmp::default());
        assert_eq!(parse(b"<<<>>>&&&"), Xmp::default());
        let cut = &CALIBRE_PACKET.as_bytes()[..400];
        assert_eq!(parse(cut).title.as_deref(), Some("Fish & Chips"));
    }
}
