//! Comic archives: CBZ (zip, with optional ComicInfo.xml) and CBR (RAR, listing only).

use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use super::clean::{self, clean_line, clean_paragraphs, normalize_language};
use super::detect::{is_comicinfo, looks_like_image};
use super::limits::{MAX_COVER_BYTES, MAX_XML_BYTES};
use super::xml::{self, Element};
use super::zipsafe::SafeZip;
use super::{isbn, rar, Extracted, Format, FormatError, Metadata, Person, RawCover};

const IMAGE_EXTENSIONS: [&str; 7] = ["jpg", "jpeg", "png", "gif", "webp", "avif", "bmp"];

/// Files that archivers and file managers add and that are never pages: macOS resource forks
/// (`__MACOSX/`, `._x`), dot-files (`.DS_Store`), Windows thumbnail caches.
pub fn is_junk(name: &str) -> bool {
    let mut parts = name.split(['/', '\\']).filter(|p| !p.is_empty()).peekable();
    while let Some(p) = parts.next() {
        if p.starts_with('.') || p.eq_ignore_ascii_case("__MACOSX") {
            return true;
        }
        if parts.peek().is_none()
            && (p.eq_ignore_ascii_case("Thumbs.db") || p.eq_ignore_ascii_case("desktop.ini"))
        {
            return true;
        }
    }
    false
}

pub fn is_image_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| IMAGE_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// Order people expect for page files: digit runs compare as numbers ("2" < "10"), the rest
/// case-insensitively; exact ties fall back to the raw strings so the order is total.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        match (x.chars().next(), y.chars().next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (nx, rx) = split_digits(x);
                let (ny, ry) = split_digits(y);
                let (tx, ty) = (nx.trim_start_matches('0'), ny.trim_start_matches('0'));
                // Compare as numbers without parsing: longer is bigger, then digit by digit.
                let ord = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if ord != Ordering::Equal {
                    return ord;
                }
                (x, y) = (rx, ry);
            }
            (Some(c), Some(d)) => {
                let ord = c.to_lowercase().cmp(d.to_lowercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                (x, y) = (&x[c.len_utf8()..], &y[d.len_utf8()..]);
            }
        }
    }
}

fn split_digits(s: &str) -> (&str, &str) {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    s.split_at(n)
}

/// The archive's page images in reading order, as entry indexes: what the page count
/// counts and what OPDS page streaming numbers.
pub fn cbz_pages<R: Read + Seek>(zip: &SafeZip<R>) -> Vec<usize> {
    let mut pages: Vec<(usize, &str)> = zip
        .entries()
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.is_dir() && !is_junk(&e.name) && is_image_name(&e.name))
        .map(|(i, e)| (i, e.name.as_str()))
        .collect();
    pages.sort_by(|a, b| natural_cmp(a.1, b.1));
    pages.into_iter().map(|(i, _)| i).collect()
}

pub fn extract_cbz<R: Read + Seek>(zip: &mut SafeZip<R>) -> Result<Extracted, FormatError> {
    let pages = cbz_pages(zip);
    if pages.is_empty() {
        return Err(FormatError::Broken(
            "comic archive contains no page images".into(),
        ));
    }
    let info_index = zip
        .entries()
        .iter()
        .enumerate()
        .filter(|(_, e)| is_comicinfo(&e.name) && !is_junk(&e.name))
        // The root one wins over one in a sub-folder.
        .min_by_key(|(_, e)| e.name.matches('/').count())
        .map(|(i, _)| i);
    // A damaged ComicInfo.xml costs the metadata, not the comic.
    let info = match info_index {
        Some(i) => zip.read(i, MAX_XML_BYTES).unwrap_or_default(),
        None => Vec::new(),
    };
    let root = xml::parse(&info).ok().filter(|r| r.is("ComicInfo"));
    let (mut metadata, front) = match &root {
        Some(r) => comicinfo(r),
        None => (Metadata::default(), None),
    };
    metadata.page_count = i32::try_from(pages.len()).ok();
    let cover_at = front.filter(|&f| f < pages.len()).unwrap_or(0);
    let cover = zip
        .read(pages[cover_at], MAX_COVER_BYTES as u64)
        .ok()
        .filter(|b| looks_like_image(b))
        .map(|bytes| RawCover { bytes });
    Ok(Extracted {
        format: Format::Cbz,
        metadata,
        cover,
    })
}

/// Metadata from ComicInfo.xml (the ComicRack schema) and the index of the FrontCover page.
fn comicinfo(root: &Element) -> (Metadata, Option<usize>) {
    let field = |name: &str| root.child(name).and_then(|e| clean_line(&e.text()));
    let list = |name: &str| -> Vec<String> {
        field(name)
            .map(|v| v.split([',', ';']).filter_map(clean_line).collect())
            .unwrap_or_default()
    };
    let mut genres = list("Genre");
    genres.extend(list("Tags"));
    let isbn = field("GTIN").and_then(|g| isbn::parse_isbn(&g));
    let metadata = Metadata {
        title: field("Title"),
        authors: list("Writer")
            .into_iter()
            .map(|name| Person {
                name,
                file_as: None,
            })
            .collect(),
        language: field("LanguageISO").and_then(|l| normalize_language(&l)),
        isbn_10: isbn.as_ref().and_then(|i| i.isbn10.clone()),
        isbn_13: isbn.map(|i| i.isbn13),
        publisher: field("Publisher"),
        // ComicRack writes -1 for "no year".
        published_year: field("Year")
            .and_then(|y| y.parse::<i32>().ok())
            .filter(|y| *y > 0),
        description: root
            .child("Summary")
            .and_then(|e| clean_paragraphs(&e.text())),
        genres: clean::dedupe(genres.into_iter()),
        series: field("Series"),
        series_index: field("Number").and_then(|n| parse_number(&n)),
        page_count: None,
    };
    let front = root.child("Pages").and_then(|pages| {
        pages
            .elements()
            .filter(|p| p.is("Page"))
            .find(|p| {
                p.attr("Type")
                    .is_some_and(|t| t.eq_ignore_ascii_case("FrontCover"))
            })
            .and_then(|p| p.attr("Image"))
            .and_then(|i| i.trim().parse::<usize>().ok())
    });
    (metadata, front)
}

/// Series numbers: "3", "1.5", "1,5"; anything else ("½", "3a") is not a number.
pub fn parse_number(s: &str) -> Option<f32> {
    s.trim()
        .replace(',', ".")
        .parse::<f32>()
        .ok()
        .filter(|n| n.is_finite())
}

pub fn extract_cbr(path: &Path) -> Result<Extracted, FormatError> {
    // Small buffer: headers are small and each is a seek past the previous entry's data.
    let mut r = BufReader::with_capacity(1024, File::open(path)?);
    let entries = rar::list(&mut r)?;
    let pages = entries
        .iter()
        .filter(|e| !e.is_dir && !is_junk(&e.name) && is_image_name(&e.name))
        .count();
    if pages == 0 {
        return Err(FormatError::Broken(
            "comic archive contains no page images".into(),
        ));
    }
    Ok(Extracted {
        format: Format::Cbr,
        metadata: Metadata {
            page_count: i32::try_from(pages).ok(),
            ..Default::default()
        },
        cover: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec![
            "10.jpg",
            "1.jpg",
            "11.jpg",
            "2.jpg",
            "page 10.png",
            "page 9.png",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "1.jpg",
                "2.jpg",
                "10.jpg",
                "11.jpg",
                "page 9.png",
                "page 10.png"
            ]
        );
        assert_eq!(natural_cmp("001.jpg", "1.jpg"), "001.jpg".cmp("1.jpg"));
        assert_eq!(natural_cmp("a2", "A10"), Ordering::Less);
        assert_eq!(natural_cmp("x", "x1"), Ordering::Less);
        assert_eq!(natural_cmp("b", "A"), Ordering::Greater);
        // Digit runs longer than any integer type.
        assert_eq!(
            natural_cmp(
                "p99999999999999999999999.png",
                "p100000000000000000000000.png"
            ),
            Ordering::Less
        );
        assert_eq!(natural_cmp("é2", "é10"), Ordering::Less);
    }

    #[test]
    fn junk_and_images() {
        assert!(is_junk("__MACOSX/Harbor Tales 004/._page 1.png"));
        assert!(is_junk("Harbor Tales 004/Thumbs.db"));
        assert!(is_junk("Harbor Tales 004/.DS_Store"));
        assert!(!is_junk("Harbor Tales 004/page 1.png"));
        assert!(is_image_name("a/B.JPEG"));
        assert!(!is_image_name("ComicInfo.xml"));
        assert!(!is_image_name("jpg"));
    }

    #[test]
    fn comicinfo_fields() {
        let doc = xml::parse(
            br#"<ComicInfo><Title> T </Title><Number>1,5</Number><Writer>A, B</Writer>
            <Year>-1</Year><Genre>X; Y</Genre><Tags>y</Tags><LanguageISO>EN</LanguageISO>
            <Pages><Page Image="0"/><Page Image="2" Type="FrontCover"/></Pages></ComicInfo>"#,
        )
        .unwrap();
        let (m, front) = comicinfo(&doc);
        assert_eq!(m.title.as_deref(), Some("T"));
        assert_eq!(m.series_index, Some(1.5));
        assert_eq!(m.authors.len(), 2);
        assert_eq!(m.published_year, None);
        assert_eq!(m.genres, ["X", "Y"]);
        assert_eq!(m.language.as_deref(), Some("en"));
        assert_eq!(front, Some(2));
    }
}
