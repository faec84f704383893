//! Hand-built PDFs for what the corpus lacks: PDFDocEncoding, xref and object streams,
//! incremental updates, encryption, shifted offsets and hostile structures.

use std::io::Write;

use crate::common::temp_file;
use libris_formats::{Extracted, Format, FormatError};

/// Writes objects and remembers their offsets for the xref table.
struct Builder {
    out: Vec<u8>,
    offsets: Vec<(u32, usize)>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            out: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec(),
            offsets: Vec::new(),
        }
    }

    fn obj(&mut self, num: u32, body: &[u8]) -> &mut Self {
        self.offsets.push((num, self.out.len()));
        self.out
            .extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(b"\nendobj\n");
        self
    }

    fn stream_obj(&mut self, num: u32, dict: &str, data: &[u8]) -> &mut Self {
        let mut body = format!("<<{dict}/Length {}>>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.obj(num, &body)
    }

    /// A classic xref section for the objects written since `from`, plus trailer.
    fn finish_classic(&mut self, trailer: &str) -> Vec<u8> {
        let xref_at = self.out.len();
        let mut offsets = std::mem::take(&mut self.offsets);
        offsets.sort();
        self.out
            .extend_from_slice(b"xref\n0 1\n0000000000 65535 f \n");
        for (num, off) in &offsets {
            self.out
                .extend_from_slice(format!("{num} 1\n{off:010} 00000 n \n").as_bytes());
        }
        self.out.extend_from_slice(
            format!("trailer\n<<{trailer}>>\nstartxref\n{xref_at}\n%%EOF\n").as_bytes(),
        );
        self.out.clone()
    }
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("in memory");
    e.finish().expect("in memory")
}

/// Through the public `extract`, which also tidies the metadata and falls back to the file
/// name for a missing title.
fn extract(name: &str, bytes: &[u8]) -> Result<Extracted, FormatError> {
    let got = libris_formats::extract(&temp_file(name, bytes), name)?;
    assert_eq!(got.format, Format::Pdf, "{name}");
    Ok(got)
}

const CATALOG: &[u8] = b"<</Type/Catalog/Pages 2 0 R/Lang(en-GB)>>";
const PAGES: &[u8] = b"<</Type/Pages/Kids[]/Count 3>>";

fn classic() -> Vec<u8> {
    let mut b = Builder::new();
    b.obj(1, CATALOG).obj(2, PAGES).obj(
        3,
        b"<</Title(Caf\\351 \\223x \\(1\\))/Author(Jane Doe and John Smith)/Keywords(a, b; c)\
          /Subject(About it)/CreationDate(D:20240101000000Z)>>",
    );
    b.finish_classic("/Size 4/Root 1 0 R/Info 3 0 R")
}

#[test]
fn classic_info_in_pdfdocencoding() {
    let m = extract("classic.pdf", &classic())
        .expect("extracts")
        .metadata;
    assert_eq!(m.title.as_deref(), Some("Café ﬁx (1)"));
    let authors: Vec<_> = m.authors.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(authors, ["Jane Doe", "John Smith"]);
    assert_eq!(m.genres, ["a", "b", "c"]);
    assert_eq!(m.description.as_deref(), Some("About it"));
    assert_eq!(
        m.language.as_deref(),
        Some("en-GB"),
        "from the catalog /Lang"
    );
    assert_eq!(m.page_count, Some(3));
    assert_eq!(
        m.published_year, None,
        "CreationDate is not a publication date"
    );
}

#[test]
fn xref_and_object_streams() {
    let mut b = Builder::new();
    // Objects 1–3 live in object stream 4; the xref stream (5) has a PNG-Up predictor.
    let title = "Ελληνικά 📚";
    let hex: String = std::iter::once(0xFEFFu16)
        .chain(title.encode_utf16())
        .map(|u| format!("{u:04X}"))
        .collect();
    let objs = [
        CATALOG.to_vec(),
        PAGES.to_vec(),
        format!("<</Title<{hex}>/Author(A One; B Two)>>").into_bytes(),
    ];
    let mut body = Vec::new();
    let mut header = String::new();
    for (i, o) in objs.iter().enumerate() {
        header.push_str(&format!("{} {} ", i + 1, body.len()));
        body.extend_from_slice(o);
        body.push(b' ');
    }
    let mut objstm = header.clone().into_bytes();
    objstm.extend_from_slice(&body);
    let dict = format!("/Type/ObjStm/N 3/First {}/Filter/FlateDecode", header.len());
    b.stream_obj(4, &dict, &zlib(&objstm));
    let objstm_at = b.offsets[0].1;
    let xref_at = b.out.len();
    // Rows: type(1) field2(2) field3(1); each prefixed by PNG filter byte 2 (Up).
    let rows: Vec<[u8; 4]> = vec![
        [0, 0, 0, 0],
        [2, 0, 4, 0],
        [2, 0, 4, 1],
        [2, 0, 4, 2],
        [1, (objstm_at >> 8) as u8, objstm_at as u8, 0],
        [1, (xref_at >> 8) as u8, xref_at as u8, 0],
    ];
    let mut prev = [0u8; 4];
    let mut encoded = Vec::new();
    for row in &rows {
        encoded.push(2);
        encoded.extend(row.iter().zip(prev).map(|(c, p)| c.wrapping_sub(p)));
        prev = *row;
    }
    let xref_dict = "/Type/XRef/Size 6/W[1 2 1]/Root 1 0 R/Info 3 0 R/Filter/FlateDecode\
                     /DecodeParms<</Predictor 12/Columns 4>>";
    b.stream_obj(5, xref_dict, &zlib(&encoded));
    b.out
        .extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
    let m = extract("objstm.pdf", &b.out).expect("extracts").metadata;
    assert_eq!(m.title.as_deref(), Some(title));
    assert_eq!(m.authors.len(), 2);
    assert_eq!(m.page_count, Some(3));
}

#[test]
fn incremental_update_wins() {
    let mut bytes = classic();
    let prev = String::from_utf8_lossy(&bytes)
        .rsplit("startxref\n")
        .next()
        .and_then(|s| s.lines().next())
        .expect("startxref")
        .to_string();
    let mut b = Builder {
        out: bytes.clone(),
        offsets: Vec::new(),
    };
    b.obj(3, b"<</Title(Second Edition)>>");
    bytes = b.finish_classic(&format!("/Size 4/Root 1 0 R/Info 3 0 R/Prev {prev}"));
    let m = extract("incremental.pdf", &bytes)
        .expect("extracts")
        .metadata;
    assert_eq!(m.title.as_deref(), Some("Second Edition"));
    assert_eq!(m.page_count, Some(3), "catalog from the older section");
}

#[test]
fn encrypted_file_gives_pages_only() {
    let mut b = Builder::new();
    b.obj(1, CATALOG)
        .obj(2, PAGES)
        .obj(3, b"<</Title(\x8a\x01ciphertext)>>")
        .obj(4, b"<</Filter/Standard/V 1/R 2>>");
    let bytes = b.finish_classic("/Size 5/Root 1 0 R/Info 3 0 R/Encrypt 4 0 R");
    let m = extract("encrypted.pdf", &bytes).expect("extracts").metadata;
    assert_eq!(
        m.title.as_deref(),
        Some("encrypted"),
        "file name, not ciphertext"
    );
    assert_eq!(m.page_count, Some(3));
}

#[test]
fn junk_before_the_header_and_shifted_offsets() {
    let mut prefixed = b"From: mailer\r\nContent-Type: application/pdf\r\n\r\n".to_vec();
    prefixed.extend_from_slice(&classic());
    let m = extract("prefixed.pdf", &prefixed)
        .expect("prefixed extracts")
        .metadata;
    assert_eq!(m.page_count, Some(3));

    // Drop one byte of the binary comment: every offset now points 1 byte too far.
    let mut shifted = classic();
    shifted.remove(10);
    let m = extract("shifted.pdf", &shifted)
        .expect("shifted extracts")
        .metadata;
    assert_eq!(m.title.as_deref(), Some("Café ﬁx (1)"));
}

#[test]
fn hostile_structures_fail_cleanly() {
    // /Prev pointing at itself: read once, not forever.
    let mut b = Builder::new();
    b.obj(1, CATALOG).obj(2, PAGES);
    let xref_at = b.out.len();
    let looped = b.finish_classic(&format!("/Size 3/Root 1 0 R/Prev {xref_at}"));
    assert_eq!(
        extract("loop.pdf", &looped)
            .expect("loop")
            .metadata
            .page_count,
        Some(3)
    );

    // A page tree that contains itself and has no /Count.
    let mut b = Builder::new();
    b.obj(1, CATALOG)
        .obj(2, b"<</Type/Pages/Kids[2 0 R 2 0 R]>>");
    let cyclic = b.finish_classic("/Size 3/Root 1 0 R");
    assert!(matches!(
        extract("cyclic.pdf", &cyclic),
        Err(FormatError::Broken(_))
    ));

    // Deeply nested Info: the Info is dropped, the file still reads.
    let mut b = Builder::new();
    let deep = [vec![b'['; 10_000], vec![b']'; 10_000]].concat();
    let mut info = b"<</Title".to_vec();
    info.extend_from_slice(&deep);
    info.extend_from_slice(b">>");
    b.obj(1, CATALOG).obj(2, PAGES).obj(3, &info);
    let nested = b.finish_classic("/Size 4/Root 1 0 R/Info 3 0 R");
    let m = extract("nested.pdf", &nested).expect("nested").metadata;
    assert_eq!(
        (m.title.as_deref(), m.page_count),
        (Some("nested"), Some(3)),
        "file name as title"
    );

    // A compression bomb as XMP: refused by the size cap, the rest still reads.
    let mut b = Builder::new();
    b.obj(1, b"<</Type/Catalog/Pages 2 0 R/Metadata 3 0 R>>")
        .obj(2, PAGES);
    b.stream_obj(
        3,
        "/Type/Metadata/Subtype/XML/Filter/FlateDecode",
        &zlib(&vec![b' '; 16 << 20]),
    );
    let bomb = b.finish_classic("/Size 4/Root 1 0 R");
    assert_eq!(
        extract("bomb.pdf", &bomb)
            .expect("bomb")
            .metadata
            .page_count,
        Some(3)
    );

    // No pages, no catalog, absurd counts.
    for (name, pages) in [
        ("zero.pdf", b"<</Type/Pages/Count 0>>".as_slice()),
        ("huge.pdf", b"<</Type/Pages/Count 99999999999>>"),
    ] {
        let mut b = Builder::new();
        b.obj(1, CATALOG).obj(2, pages);
        let bytes = b.finish_classic("/Size 3/Root 1 0 R");
        assert!(
            matches!(extract(name, &bytes), Err(FormatError::Broken(_))),
            "{name}"
        );
    }
    let mut b = Builder::new();
    b.obj(2, PAGES);
    let no_root = b.finish_classic("/Size 3");
    assert!(matches!(
        extract("noroot.pdf", &no_root),
        Err(FormatError::Broken(_))
    ));
}

#[test]
fn not_a_pdf_or_cut_off() {
    assert!(matches!(
        libris_formats::extract(&temp_file("empty.pdf", b""), "empty.pdf"),
        Err(FormatError::Broken(_))
    ));
    // Not a PDF whatever the name says: detection goes by the content.
    let text = libris_formats::extract(&temp_file("text.pdf", b"hello world"), "text.pdf");
    assert!(
        !matches!(&text, Ok(e) if e.format == Format::Pdf),
        "{text:?}"
    );
    let full = classic();
    for cut in [20, full.len() / 2, full.len() - 20] {
        let r = extract("cut.pdf", &full[..cut]);
        assert!(
            matches!(r, Err(FormatError::Broken(_))),
            "cut at {cut}: {r:?}"
        );
    }
}

/// Two damaged copies of one object header near a wrong xref offset: each is the other's
/// nearest alternative. The search around a bad offset must not bounce between them (it
/// used to recurse until the stack overflowed and aborted the process).
#[test]
fn damaged_duplicate_headers_do_not_recurse() {
    let mut b = Builder::new();
    b.obj(1, CATALOG).obj(2, PAGES);
    b.out.extend_from_slice(b"3 0 obj\n}\nendobj\n");
    let junk_at = b.out.len();
    b.out
        .extend_from_slice(b"junk junk junk junk\n3 0 obj\n}\nendobj\n");
    b.offsets.push((3, junk_at));
    let bytes = b.finish_classic("/Size 4/Root 1 0 R/Info 3 0 R");
    let m = extract("pingpong.pdf", &bytes).expect("extracts").metadata;
    assert_eq!(m.title.as_deref(), Some("pingpong"), "damaged Info dropped");
    assert_eq!(m.page_count, Some(3));
}
