//! Synthetic books for `make bench-ingest`: valid EPUB 2 files, each with its own title,
//! author and a JPEG cover, so that a benchmark exercises the whole pipeline; and a
//! calibre-shaped library of them (tests and `make bench-calibre`).

use std::io::Write;
use std::path::Path;

use image::{ImageEncoder, RgbImage};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

const AUTHORS: &[&str] = &[
    "Jane Doe",
    "Ravi Patel",
    "Ingrid Bergström",
    "Kenji Watanabe",
    "Amara Okafor",
    "Lucía Fernández",
    "Olga Petrova",
    "Tomás Novák",
];

/// A 600×900 JPEG cover whose noise makes it weigh what real covers do (~150 KB).
fn cover(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let img = RgbImage::from_fn(600, 900, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state & 0x1f) as u8;
        image::Rgb([
            ((x / 3) as u8).wrapping_add(noise),
            ((y / 4) as u8).wrapping_add(noise / 2),
            (seed as u8).wrapping_add(noise),
        ])
    });
    let mut out = Vec::new();
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).write_image(
        img.as_raw(),
        600,
        900,
        image::ExtendedColorType::Rgb8,
    );
    out
}

fn chapter(n: u64, words: usize) -> String {
    const WORDS: &[&str] = &[
        "harbor", "lantern", "tide", "keeper", "storm", "gull", "rope", "salt", "night", "beacon",
        "shore", "wave", "ship", "fog", "stone", "light",
    ];
    let mut state = n.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
    let mut text = String::with_capacity(words * 7);
    for i in 0..words {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        text.push_str(WORDS[(state % WORDS.len() as u64) as usize]);
        text.push(if i % 15 == 14 { '.' } else { ' ' });
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>Chapter</title></head><body><p>{text}</p></body></html>"
    )
}

fn author(n: u64) -> &'static str {
    AUTHORS[(n % AUTHORS.len() as u64) as usize]
}

/// Writes book number `n` to `path`: about 200 KB with its cover.
pub fn write_epub(path: &Path, n: u64) -> std::io::Result<()> {
    epub(path, n, 30_000, true)
}

fn epub(path: &Path, n: u64, words: usize, with_cover: bool) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(file);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let author = author(n);
    let title = format!("Bench Book {n}");
    zip.start_file("mimetype", stored)?;
    zip.write_all(b"application/epub+zip")?;
    zip.start_file("META-INF/container.xml", deflated)?;
    zip.write_all(br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#)?;
    zip.start_file("OEBPS/content.opf", deflated)?;
    write!(
        zip,
        r#"<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
<dc:title>{title}</dc:title><dc:creator opf:role="aut">{author}</dc:creator>
<dc:language>en</dc:language><dc:identifier id="id">bench-{n}</dc:identifier>
<dc:description>A generated book for benchmarks.</dc:description>
<meta name="cover" content="cover"/></metadata>
<manifest><item id="cover" href="cover.jpg" media-type="image/jpeg"/>
<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>
<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/></manifest>
<spine toc="ncx"><itemref idref="c1"/></spine></package>"#
    )?;
    zip.start_file("OEBPS/toc.ncx", deflated)?;
    zip.write_all(br#"<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap/></ncx>"#)?;
    zip.start_file("OEBPS/cover.jpg", stored)?;
    if with_cover {
        zip.write_all(&cover(n))?;
    }
    zip.start_file("OEBPS/c1.xhtml", deflated)?;
    zip.write_all(chapter(n, words).as_bytes())?;
    zip.finish()?;
    Ok(())
}

/// A one-page PDF naming book `n` (the smallest file a PDF reader opens).
fn pdf(n: u64) -> Vec<u8> {
    let text = format!("BT /F1 24 Tf 72 720 Td (Bench Book {n}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    out
}

/// calibre's `metadata.opf` for book `n`, as calibre 7 writes it.
fn calibre_opf(n: u64) -> String {
    let author = author(n);
    let file_as = match author.rsplit_once(' ') {
        Some((given, family)) => format!("{family}, {given}"),
        None => author.to_owned(),
    };
    let isbn = isbn13(n);
    format!(
        r#"<?xml version='1.0' encoding='utf-8'?>
<package xmlns="http://www.idpf.org/2007/opf" unique-identifier="uuid_id" version="2.0">
    <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
        <dc:identifier opf:scheme="calibre" id="calibre_id">{n}</dc:identifier>
        <dc:identifier opf:scheme="uuid" id="uuid_id">00000000-0000-4000-8000-{n:012}</dc:identifier>
        <dc:title>Bench Book {n}</dc:title>
        <dc:creator opf:file-as="{file_as}" opf:role="aut">{author}</dc:creator>
        <dc:contributor opf:file-as="calibre" opf:role="bkp">calibre (7.0.0) [https://calibre-ebook.com]</dc:contributor>
        <dc:date>{year}-06-01T00:00:00+00:00</dc:date>
        <dc:description>&lt;p&gt;Book {n} of a generated calibre library.&lt;/p&gt;</dc:description>
        <dc:publisher>Bench House</dc:publisher>
        <dc:identifier opf:scheme="ISBN">{isbn}</dc:identifier>
        <dc:language>eng</dc:language>
        <dc:subject>Bench</dc:subject>
        <dc:subject>Tag {tag}</dc:subject>
        <meta name="calibre:series" content="Bench Saga {saga}"/>
        <meta name="calibre:series_index" content="{index}.0"/>
        <meta name="calibre:timestamp" content="2024-01-02T03:04:05+00:00"/>
        <meta name="calibre:title_sort" content="Bench Book {n}"/>
    </metadata>
    <guide>
        <reference type="cover" title="Cover" href="cover.jpg"/>
    </guide>
</package>"#,
        year = 1950 + n % 70,
        tag = n % 7,
        saga = n / 10,
        index = n % 10 + 1,
    )
}

/// A valid ISBN-13 for book `n` (978 prefix, check digit computed).
pub fn isbn13(n: u64) -> String {
    let body = format!("978{:09}", n % 1_000_000_000);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Writes a calibre-shaped library of `count` books into `dir`: `metadata.db` at the top,
/// and for each book `Author/Bench Book N (N)/` with an EPUB and a PDF of it, calibre's
/// `metadata.opf` (authors with file-as, series, ISBN, tags, date, language) and, when
/// `covers`, a 600×900 `cover.jpg`. Formats carry no cover of their own: calibre's is the
/// one an import must use.
pub fn write_calibre_library(dir: &Path, count: u64, covers: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    // Only its name matters to an import, which must skip it.
    std::fs::write(dir.join("metadata.db"), b"SQLite format 3\0")?;
    for n in 1..=count {
        let author = author(n);
        let title = format!("Bench Book {n}");
        let book = dir.join(author).join(format!("{title} ({n})"));
        std::fs::create_dir_all(&book)?;
        epub(
            &book.join(format!("{title} - {author}.epub")),
            n,
            2_000,
            false,
        )?;
        std::fs::write(book.join(format!("{title} - {author}.pdf")), pdf(n))?;
        std::fs::write(book.join("metadata.opf"), calibre_opf(n))?;
        if covers {
            std::fs::write(book.join("cover.jpg"), cover(n))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_isbns_are_valid() {
        for n in [1, 42, 1999, 123_456_789] {
            let isbn = isbn13(n);
            assert_eq!(
                libris_formats::isbn::parse_isbn(&isbn).map(|i| i.isbn13),
                Some(isbn.clone()),
                "{isbn}"
            );
        }
    }
}
