//! Synthetic EPUBs for `make bench-ingest`: valid EPUB 2 files of a chosen size, each with
//! its own title, author and a JPEG cover, so that a benchmark exercises the whole pipeline.

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

/// Writes book number `n` to `path`.
pub fn write_epub(path: &Path, n: u64) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(file);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let author = AUTHORS[(n % AUTHORS.len() as u64) as usize];
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
    zip.write_all(&cover(n))?;
    zip.start_file("OEBPS/c1.xhtml", deflated)?;
    zip.write_all(chapter(n, 30_000).as_bytes())?;
    zip.finish()?;
    Ok(())
}
