//! A calibre library's book folder: `metadata.opf` (calibre's curated metadata, an OPF 2
//! package document without manifest) beside the formats and `cover.jpg`.

use std::io::Read;
use std::path::Path;

use super::{clean, limits, opf, FormatError, Metadata};

/// calibre's metadata file in each book folder.
pub const OPF: &str = "metadata.opf";
/// calibre's cover in each book folder.
pub const COVER: &str = "cover.jpg";

/// Reads a book folder's `metadata.opf`: title, authors with their `file-as` sort names,
/// series and index, tags (as genres, as an EPUB's subjects are), identifiers (ISBN),
/// publisher, date, language, description. calibre writes year 101 for "no date": it is
/// no year.
pub fn read_opf(path: &Path) -> Result<Metadata, FormatError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limits::MAX_XML_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limits::MAX_XML_BYTES {
        return Err(FormatError::Broken(format!(
            "{OPF} is larger than {} bytes",
            limits::MAX_XML_BYTES
        )));
    }
    let mut metadata = opf::parse(&bytes, OPF)?.metadata;
    clean::tidy(&mut metadata);
    Ok(metadata)
}

/// Reads a cover file, at most the cover size limit.
pub fn read_cover(path: &Path) -> Result<Vec<u8>, FormatError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limits::MAX_COVER_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALIBRE_OPF: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<package xmlns="http://www.idpf.org/2007/opf" unique-identifier="uuid_id" version="2.0">
    <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
        <dc:identifier opf:scheme="calibre" id="calibre_id">42</dc:identifier>
        <dc:identifier opf:scheme="uuid" id="uuid_id">6c1d2a0e-6a4b-4d7e-9f00-1b2c3d4e5f60</dc:identifier>
        <dc:title>The Left Hand of Darkness</dc:title>
        <dc:creator opf:file-as="Le Guin, Ursula K." opf:role="aut">Ursula K. Le Guin</dc:creator>
        <dc:contributor opf:file-as="calibre" opf:role="bkp">calibre (7.0.0) [https://calibre-ebook.com]</dc:contributor>
        <dc:date>0101-01-01T00:00:00+00:00</dc:date>
        <dc:description>&lt;p&gt;A &lt;b&gt;classic&lt;/b&gt;.&lt;/p&gt;</dc:description>
        <dc:publisher>Ace</dc:publisher>
        <dc:identifier opf:scheme="ISBN">9780441478125</dc:identifier>
        <dc:language>eng</dc:language>
        <dc:subject>Science Fiction</dc:subject>
        <dc:subject>Classics</dc:subject>
        <meta name="calibre:author_link_map" content="{&quot;Ursula K. Le Guin&quot;: &quot;&quot;}"/>
        <meta name="calibre:series" content="Hainish Cycle"/>
        <meta name="calibre:series_index" content="4.0"/>
        <meta name="calibre:timestamp" content="2024-01-02T03:04:05+00:00"/>
        <meta name="calibre:title_sort" content="Left Hand of Darkness, The"/>
    </metadata>
    <guide>
        <reference type="cover" title="Cover" href="cover.jpg"/>
    </guide>
</package>"#;

    #[test]
    fn calibre_metadata_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(OPF);
        std::fs::write(&path, CALIBRE_OPF).unwrap();
        let m = read_opf(&path).unwrap();
        assert_eq!(m.title.as_deref(), Some("The Left Hand of Darkness"));
        assert_eq!(m.authors.len(), 1);
        assert_eq!(m.authors[0].name, "Ursula K. Le Guin");
        assert_eq!(m.authors[0].file_as.as_deref(), Some("Le Guin, Ursula K."));
        assert_eq!(m.series.as_deref(), Some("Hainish Cycle"));
        assert_eq!(m.series_index, Some(4.0));
        assert_eq!(m.isbn_13.as_deref(), Some("9780441478125"));
        assert_eq!(m.publisher.as_deref(), Some("Ace"));
        assert_eq!(m.language.as_deref(), Some("en"));
        assert_eq!(m.published_year, None, "calibre's year 101 means no date");
        assert_eq!(m.genres, vec!["Science Fiction", "Classics"]);
        assert_eq!(m.description.as_deref(), Some("A classic."));
    }

    #[test]
    fn an_oversized_opf_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(OPF);
        std::fs::write(&path, vec![b' '; limits::MAX_XML_BYTES as usize + 10]).unwrap();
        assert!(matches!(read_opf(&path), Err(FormatError::Broken(_))));
    }
}
