//! PDF metadata: the Info dictionary, the XMP packet and the page count. A small lazy
//! reader (pdf/reader.rs) seeks to the few objects needed instead of loading the file,
//! so a 2 GB scan costs the same few reads as a 40 KB pamphlet.

mod object;
mod reader;
mod stream;
mod text;
mod xmp;
mod xref;

use std::fs::File;
use std::path::Path;

use super::clean::{self, clean_line, dedupe, html_to_text};
use super::isbn::parse_isbn;
use super::{limits, Extracted, Format, FormatError, Metadata, Person};
use object::{Dict, Obj};
use reader::PdfReader;

/// A page tree deeper or larger than this is hostile; /Count is used when present.
const MAX_PAGE_TREE_NODES: usize = 20_000;
const MAX_PAGE_TREE_DEPTH: usize = 64;

pub fn extract(path: &Path) -> Result<Extracted, FormatError> {
    let file = File::open(path)?;
    let mut pdf = PdfReader::open(file)
        .map_err(broken)?
        .ok_or(FormatError::Unsupported)?;
    let trailer = pdf.trailer().clone();
    let root = trailer.get(b"Root").cloned().unwrap_or(Obj::Null);
    let catalog = match pdf.resolve(&root).map_err(broken)? {
        Obj::Dict(d) => d,
        _ => return Err(broken("the document catalog is missing")),
    };
    let page_count = page_count(&mut pdf, &catalog).map_err(broken)?;

    // Strings and streams of an encrypted file are ciphertext: without decrypting them
    // (not supported) only the structure, i.e. the page count, is readable.
    let encrypted = trailer.get(b"Encrypt").is_some();
    let (info, xmp) = if encrypted {
        (Dict::default(), xmp::Xmp::default())
    } else {
        let info = match trailer.get(b"Info") {
            Some(r) => pdf.resolve(r).ok().and_then(|o| o.as_dict().cloned()),
            None => None,
        };
        (info.unwrap_or_default(), read_xmp(&mut pdf, &catalog))
    };
    let mut metadata = metadata(&mut pdf, &info, &xmp);
    metadata.page_count = Some(page_count);
    if metadata.language.is_none() && !encrypted {
        metadata.language =
            info_string(&mut pdf, &catalog, b"Lang").and_then(|l| clean::normalize_language(&l));
    }
    Ok(Extracted {
        format: Format::Pdf,
        metadata,
        cover: None,
    })
}

fn broken(reason: impl std::fmt::Display) -> FormatError {
    FormatError::Broken(format!("damaged PDF file: {reason}"))
}

fn page_count(pdf: &mut PdfReader, catalog: &Dict) -> Result<i32, String> {
    let pages = catalog.get(b"Pages").cloned().unwrap_or(Obj::Null);
    let tree = pdf.resolve(&pages)?;
    let Obj::Dict(tree) = tree else {
        return Err("the page tree is missing".into());
    };
    let count = match tree.int(b"Count") {
        Some(n) if n > 0 => i32::try_from(n).map_err(|_| format!("/Count {n} is not plausible"))?,
        _ => {
            let mut budget = MAX_PAGE_TREE_NODES;
            count_leaves(pdf, &tree, 0, &mut budget)?
        }
    };
    if count == 0 {
        return Err("the document has no pages".into());
    }
    Ok(count)
}

/// Fallback for trees without a usable /Count.
fn count_leaves(
    pdf: &mut PdfReader,
    node: &Dict,
    depth: usize,
    budget: &mut usize,
) -> Result<i32, String> {
    if depth > MAX_PAGE_TREE_DEPTH || *budget == 0 {
        return Err("the page tree is too deep or too large".into());
    }
    *budget -= 1;
    if let Some(n) = node.int(b"Count").filter(|&n| n > 0) {
        return i32::try_from(n).map_err(|_| format!("/Count {n} is not plausible"));
    }
    let Some(Obj::Array(kids)) = node.get(b"Kids").cloned() else {
        // An intermediate node without children holds no pages; anything else is a page.
        return Ok(i32::from(node.name(b"Type") != Some(b"Pages")));
    };
    let mut total = 0i32;
    for kid in &kids {
        if let Obj::Dict(child) = pdf.resolve(kid)? {
            total = total.saturating_add(count_leaves(pdf, &child, depth + 1, budget)?);
        }
    }
    Ok(total)
}

fn read_xmp(pdf: &mut PdfReader, catalog: &Dict) -> xmp::Xmp {
    match catalog.get(b"Metadata") {
        // XMP is optional: a damaged packet must not cost the Info metadata.
        Some(r) => pdf
            .stream(r, limits::MAX_XML_BYTES as usize)
            .map(|(_, data)| xmp::parse(&data))
            .unwrap_or_default(),
        None => xmp::Xmp::default(),
    }
}

fn info_string(pdf: &mut PdfReader, dict: &Dict, key: &[u8]) -> Option<String> {
    let value = dict.get(key)?;
    match pdf.resolve(value).ok()? {
        Obj::Str(s) => clean_line(&text::decode_text(&s)),
        _ => None,
    }
}

/// Info gives the title (what viewers show); XMP gives the structured lists (one author
/// per entry rather than a joined string) and everything Info cannot hold.
fn metadata(pdf: &mut PdfReader, info: &Dict, xmp: &xmp::Xmp) -> Metadata {
    let authors = if xmp.creators.is_empty() {
        info_string(pdf, info, b"Author")
            .map(|field| clean::split_authors(&field))
            .unwrap_or_default()
    } else {
        dedupe(xmp.creators.iter().filter_map(|c| clean_line(c)))
    };
    let genres = if xmp.subjects.is_empty() {
        let keywords = info_string(pdf, info, b"Keywords").unwrap_or_default();
        dedupe(keywords.split([',', ';']).filter_map(clean_line))
    } else {
        dedupe(xmp.subjects.iter().filter_map(|s| clean_line(s)))
    };
    let isbn = xmp.isbn_candidates.iter().find_map(|c| parse_isbn(c));
    let series = xmp.series.as_deref().and_then(clean_line);
    let series_index = series
        .as_ref()
        .and(xmp.series_index.as_deref())
        .and_then(|i| i.trim().parse::<f32>().ok())
        .filter(|i| i.is_finite() && *i >= 0.0);
    Metadata {
        title: info_string(pdf, info, b"Title")
            .and_then(|t| plausible_title(&t))
            .or_else(|| {
                xmp.title
                    .as_deref()
                    .and_then(clean_line)
                    .and_then(|t| plausible_title(&t))
            }),
        authors: authors.into_iter().map(Person::named).collect(),
        language: xmp.language.as_deref().and_then(clean::normalize_language),
        isbn_10: isbn.as_ref().and_then(|i| i.isbn10.clone()),
        isbn_13: isbn.map(|i| i.isbn13),
        publisher: xmp.publisher.as_deref().and_then(clean_line),
        // The publication date only: Info's CreationDate is when the PDF was rendered.
        published_year: xmp.date.as_deref().and_then(clean::year_from_date),
        description: xmp
            .description
            .as_deref()
            .map(html_to_text)
            .filter(|d| !d.is_empty())
            .or_else(|| info_string(pdf, info, b"Subject")),
        genres,
        series,
        series_index,
        page_count: None,
    }
}

/// Word processors and typesetters fill Title with the source file name or a placeholder;
/// such a "title" is worse than the upload's file name the library falls back to.
fn plausible_title(title: &str) -> Option<String> {
    let title = title
        .strip_prefix("Microsoft Word - ")
        .unwrap_or(title)
        .trim();
    let lower = title.to_lowercase();
    const PLACEHOLDERS: [&str; 5] = [
        "untitled",
        "no title",
        "title",
        "document",
        "untitled document",
    ];
    const FILE_EXTENSIONS: [&str; 10] = [
        ".doc", ".docx", ".pdf", ".indd", ".tex", ".dvi", ".ps", ".rtf", ".odt", ".qxd",
    ];
    let placeholder = PLACEHOLDERS.contains(&lower.as_str()) || lower.starts_with("untitled-");
    let file_name = FILE_EXTENSIONS.iter().any(|ext| lower.ends_with(ext)) && !lower.contains(' ');
    (!title.is_empty() && !placeholder && !file_name).then(|| title.to_string())
}

#[cfg(test)]
mod tests {
    use super::plausible_title;

    #[test]
    fn placeholder_titles_are_dropped() {
        assert_eq!(
            plausible_title("Microsoft Word - Thesis Final").as_deref(),
            Some("Thesis Final")
        );
        assert_eq!(
            plausible_title("The Lighthouse Keeper").as_deref(),
            Some("The Lighthouse Keeper")
        );
        assert_eq!(
            plausible_title("Notes on file.doc handling").as_deref(),
            Some("Notes on file.doc handling")
        );
        for junk in [
            "Untitled",
            "untitled-3",
            "main.tex",
            "Microsoft Word - report_v2.docx",
            "Document",
            "",
        ] {
            assert_eq!(plausible_title(junk), None, "{junk}");
        }
    }
}
