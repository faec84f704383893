//! Format detection from the content. Zip-based formats keep the opened archive, so that
//! `extract` parses the central directory once.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::comic::{is_image_name, is_junk};
use super::text::looks_like_text;
use super::zipsafe::SafeZip;
use super::{Format, FormatError};

/// Bytes looked at for magic numbers and the plain-text test.
const HEAD_BYTES: u64 = 64 * 1024;
const RAR4_SIG: &[u8] = b"Rar!\x1a\x07\x00";
const RAR5_SIG: &[u8] = b"Rar!\x1a\x07\x01\x00";

pub type FileZip = SafeZip<BufReader<File>>;

pub enum Sniffed {
    Epub(FileZip),
    Cbz(FileZip),
    /// The archive and the index of its one `.fb2` entry.
    Fb2Zip(FileZip, usize),
    Fb2,
    Cbr,
    /// MOBI or AZW3: the MOBI reader tells them apart.
    Mobi,
    Pdf,
    Djvu,
    Txt,
}

impl Sniffed {
    pub fn format(&self) -> Format {
        match self {
            Sniffed::Epub(_) => Format::Epub,
            Sniffed::Cbz(_) => Format::Cbz,
            Sniffed::Fb2Zip(..) => Format::Fb2Zip,
            Sniffed::Fb2 => Format::Fb2,
            Sniffed::Cbr => Format::Cbr,
            Sniffed::Mobi => Format::Mobi,
            Sniffed::Pdf => Format::Pdf,
            Sniffed::Djvu => Format::Djvu,
            Sniffed::Txt => Format::Txt,
        }
    }
}

/// `name` is the file's (uploaded) name; only its extension is used, as a hint.
pub fn sniff(path: &Path, name: &str) -> Result<Sniffed, FormatError> {
    let mut file = File::open(path)?;
    let mut head = Vec::with_capacity(4096);
    (&mut file).take(HEAD_BYTES).read_to_end(&mut head)?;
    if head.is_empty() {
        return Err(FormatError::Broken("the file is empty".into()));
    }
    let ext = extension(name);
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        file.seek(SeekFrom::Start(0))?;
        return sniff_zip(SafeZip::new(BufReader::new(file))?, &ext);
    }
    if head.starts_with(RAR4_SIG) || head.starts_with(RAR5_SIG) {
        return Ok(Sniffed::Cbr);
    }
    if head.len() >= 16
        && head.starts_with(b"AT&TFORM")
        && matches!(&head[12..16], b"DJVU" | b"DJVM")
    {
        return Ok(Sniffed::Djvu);
    }
    if head[..head.len().min(1024)]
        .windows(5)
        .any(|w| w == b"%PDF-")
    {
        return Ok(Sniffed::Pdf);
    }
    if head.get(60..68) == Some(b"BOOKMOBI") {
        return Ok(Sniffed::Mobi);
    }
    if is_fictionbook(&head) {
        return Ok(Sniffed::Fb2);
    }
    // Plain text is only a book when it says so: a README, a TSV or a script in a folder of
    // books is text too, and is not one.
    let truncated = head.len() as u64 == HEAD_BYTES;
    if ext == "txt" && looks_like_text(&head, truncated) {
        return Ok(Sniffed::Txt);
    }
    Err(FormatError::Unsupported)
}

/// Extensions of the formats libris reads (lower case; `fb2.zip` counts as one). An import
/// walking a folder takes these files and skips the rest.
pub const BOOK_EXTENSIONS: [&str; 14] = [
    "epub", "kepub", "pdf", "cbz", "cbr", "fb2", "fb2.zip", "mobi", "azw", "azw3", "prc", "djvu",
    "djv", "txt",
];

/// Whether a file name has the extension of a format libris reads.
pub fn is_book_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower.ends_with(".kepub.epub") || BOOK_EXTENSIONS.contains(&extension(&lower).as_str())
}

/// Lower-case extension; `fb2.zip` counts as one.
fn extension(name: &str) -> String {
    let lower = name.to_lowercase();
    if lower.ends_with(".fb2.zip") {
        return "fb2.zip".into();
    }
    match lower.rsplit_once('.') {
        Some((_, ext)) if !ext.contains(['/', '\\']) => ext.to_string(),
        _ => String::new(),
    }
}

fn sniff_zip(mut zip: FileZip, ext: &str) -> Result<Sniffed, FormatError> {
    let mimetype = match zip.find("mimetype") {
        Some(i) => Some(
            String::from_utf8_lossy(&zip.read(i, 1024)?)
                .trim()
                .to_ascii_lowercase(),
        ),
        None => None,
    };
    let says_epub = mimetype.as_deref() == Some("application/epub+zip");
    if zip.find("META-INF/container.xml").is_some() {
        // Other OCF containers (e.g. with their own mimetype) are not books we read.
        if mimetype
            .as_deref()
            .is_none_or(|m| m.contains("epub") || m.contains("oebps"))
        {
            return Ok(Sniffed::Epub(zip));
        }
    } else if says_epub {
        return Err(FormatError::Broken(
            "not a valid EPUB: META-INF/container.xml is missing".into(),
        ));
    }
    let files: Vec<(usize, &str)> = zip
        .entries()
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.is_dir() && !is_junk(&e.name))
        .map(|(i, e)| (i, e.name.as_str()))
        .collect();
    let has_comicinfo = files.iter().any(|(_, n)| is_comicinfo(n));
    let fb2: Vec<usize> = files
        .iter()
        .filter(|(_, n)| n.to_ascii_lowercase().ends_with(".fb2"))
        .map(|(i, _)| *i)
        .collect();
    let images = files.iter().filter(|(_, n)| is_image_name(n)).count();
    if has_comicinfo {
        return Ok(Sniffed::Cbz(zip));
    }
    // Before the image test: an FB2.ZIP may carry its illustrations beside the .fb2.
    if let [only] = fb2[..] {
        return Ok(Sniffed::Fb2Zip(zip, only));
    }
    if images > 0 && images * 2 > files.len() {
        return Ok(Sniffed::Cbz(zip));
    }
    match ext {
        "epub" => Err(FormatError::Broken(
            "not a valid EPUB: the zip archive has no META-INF/container.xml".into(),
        )),
        "cbz" => Err(FormatError::Broken(
            "not a valid comic archive: it holds no page images".into(),
        )),
        "fb2.zip" => Err(FormatError::Broken(
            "not a valid FB2.ZIP: it must hold exactly one .fb2 file".into(),
        )),
        _ => Err(FormatError::Unsupported),
    }
}

pub fn is_comicinfo(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|f| f.eq_ignore_ascii_case("ComicInfo.xml"))
}

/// Root element `FictionBook` (any prefix), after an optional BOM, XML declaration,
/// comments, processing instructions and DOCTYPE.
fn is_fictionbook(head: &[u8]) -> bool {
    let mut s = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        s = trim_start(s);
        let skip_to = |s: &[u8], end: &[u8]| -> Option<usize> {
            s.windows(end.len())
                .position(|w| w == end)
                .map(|p| p + end.len())
        };
        let next = if s.starts_with(b"<?") {
            skip_to(s, b"?>")
        } else if s.starts_with(b"<!--") {
            skip_to(s, b"-->")
        } else if s.starts_with(b"<!") {
            skip_to(s, b">")
        } else {
            break;
        };
        match next {
            Some(n) => s = &s[n..],
            None => return false,
        }
    }
    let Some(tag) = s.strip_prefix(b"<") else {
        return false;
    };
    let name_end = tag
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))
        .unwrap_or(tag.len());
    let name = &tag[..name_end];
    let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
    local == b"FictionBook"
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

/// Magic numbers of the raster formats a cover can be in.
pub fn looks_like_image(b: &[u8]) -> bool {
    b.starts_with(b"\xFF\xD8\xFF")
        || b.starts_with(b"\x89PNG\r\n\x1a\n")
        || b.starts_with(b"GIF87a")
        || b.starts_with(b"GIF89a")
        || (b.len() >= 12 && b.starts_with(b"RIFF") && &b[8..12] == b"WEBP")
        || b.starts_with(b"BM")
        || (b.len() >= 12 && &b[4..8] == b"ftyp" && matches!(&b[8..12], b"avif" | b"avis"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fictionbook_roots() {
        assert!(is_fictionbook(
            b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- c -->\n<FictionBook xmlns=\"x\">"
        ));
        assert!(is_fictionbook(b"<fb:FictionBook>"));
        assert!(!is_fictionbook(b"<html><FictionBook>"));
        assert!(!is_fictionbook(b"<?xml version=\"1.0\""));
        assert!(!is_fictionbook(b"FictionBook"));
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("A.FB2.ZIP"), "fb2.zip");
        assert_eq!(extension("x.Txt"), "txt");
        assert_eq!(extension("noext"), "");
    }

    fn sniff_zip_of(name: &str, entries: &[(&str, &[u8])]) -> Result<Format, FormatError> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (n, data) in entries {
            w.start_file(*n, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let dir = std::env::temp_dir().join(format!("fmt-a-detect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let got = sniff(&path, name).map(|s| s.format());
        let _ = std::fs::remove_file(&path);
        got
    }

    #[test]
    fn zip_kinds() {
        let jpg: &[u8] = b"\xFF\xD8\xFF";
        assert_eq!(
            sniff_zip_of("a.zip", &[("1.jpg", jpg), ("2.jpg", jpg), ("x.nfo", b"")]),
            Ok(Format::Cbz)
        );
        assert_eq!(
            sniff_zip_of(
                "a.zip",
                &[("ComicInfo.xml", b"<ComicInfo/>"), ("a.txt", b"")]
            ),
            Ok(Format::Cbz)
        );
        assert_eq!(
            sniff_zip_of(
                "a.zip",
                &[("b.fb2", b"<FictionBook/>"), ("1.jpg", jpg), ("2.jpg", jpg)]
            ),
            Ok(Format::Fb2Zip)
        );
        assert_eq!(
            sniff_zip_of("a.zip", &[("a.fb2", b""), ("b.fb2", b"")]),
            Err(FormatError::Unsupported)
        );
        assert_eq!(
            sniff_zip_of(
                "a.zip",
                &[
                    ("mimetype", b"application/epub+zip"),
                    ("META-INF/container.xml", b"")
                ]
            ),
            Ok(Format::Epub)
        );
        assert_eq!(
            sniff_zip_of("a.zip", &[("META-INF/container.xml", b"")]),
            Ok(Format::Epub)
        );
        assert_eq!(
            sniff_zip_of(
                "a.zip",
                &[
                    ("mimetype", b"application/vnd.other"),
                    ("META-INF/container.xml", b"")
                ]
            ),
            Err(FormatError::Unsupported)
        );
        assert!(matches!(
            sniff_zip_of("a.zip", &[("mimetype", b"application/epub+zip")]),
            Err(FormatError::Broken(_))
        ));
        assert!(matches!(
            sniff_zip_of("a.epub", &[("README", b"")]),
            Err(FormatError::Broken(_))
        ));
        assert!(matches!(
            sniff_zip_of("a.cbz", &[("README", b"")]),
            Err(FormatError::Broken(_))
        ));
        assert_eq!(
            sniff_zip_of("a.zip", &[("README", b"")]),
            Err(FormatError::Unsupported)
        );
        assert_eq!(
            sniff_zip_of("empty.zip", &[]),
            Err(FormatError::Unsupported)
        );
    }

    #[test]
    fn image_magic() {
        assert!(looks_like_image(b"\xFF\xD8\xFF\xE0...."));
        assert!(looks_like_image(b"\x89PNG\r\n\x1a\n...."));
        assert!(!looks_like_image(b"<svg"));
    }
}
