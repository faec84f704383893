//! Ebook format detection and metadata readers. Pure library code: give it a path, get back
//! the format, cleaned metadata and the raw cover bytes, or a `FormatError` saying what is
//! wrong with the file. No reader panics or reads unbounded data on hostile input.
//!
//! Also [`hash`]: KOReader's partial MD5 of a file (its document id) and SHA-256, and
//! [`page_cover`]: the first page of a PDF or DjVu rendered as its cover, by an outside
//! program run confined.
//! No database, no HTTP, no async runtime: `cargo test -p libris-formats` needs the
//! repository's `fixtures/`, and `mutool` and `ddjvu` for the page covers (`make deps`).

mod types;
pub use types::*;

pub mod calibre;
pub mod clean;
pub mod covers;
pub mod hash;
pub mod isbn;
pub mod koreader_highlights;
pub mod koreader_statistics;
pub mod lang;
pub mod zipsafe;

mod charset;
pub mod comic;
mod detect;
pub mod epub;
mod fb2;
mod html;
mod mobi;
pub mod opf;
pub mod page_cover;
mod pdf;
pub mod rar;
mod text;
mod xml;

use std::path::Path;

pub use comic::{cbz_pages, natural_cmp};
use detect::Sniffed;
pub use detect::{is_book_name, BOOK_EXTENSIONS};

/// Detects the format from the content (magic bytes, zip entries); the extension of `path`
/// only breaks ties (plain text) and words errors (a broken `.epub`).
pub fn detect(path: &Path) -> Result<Format, FormatError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    detect::sniff(path, name).map(|s| s.format())
}

/// The format alone, for a file whose metadata comes from elsewhere (a calibre library's
/// `metadata.opf`): the content is sniffed, and only a MOBI's first record is read to tell
/// MOBI from AZW3. Nothing else of the book is parsed.
pub fn identify(path: &Path, file_name: &str) -> Result<Format, FormatError> {
    match detect::sniff(path, file_name)? {
        Sniffed::Mobi => mobi::extract(path).map(|e| e.format),
        sniffed => Ok(sniffed.format()),
    }
}

/// Detects the format and reads the metadata and cover. `file_name` is the name the file was
/// uploaded under (the path may be a temporary file): it supplies the title when the book has
/// none, and its extension is a hint as for [`detect`].
pub fn extract(path: &Path, file_name: &str) -> Result<Extracted, FormatError> {
    let mut out = match detect::sniff(path, file_name)? {
        Sniffed::Epub(mut zip) => epub::extract(&mut zip)?,
        Sniffed::Cbz(mut zip) => comic::extract_cbz(&mut zip)?,
        Sniffed::Fb2Zip(mut zip, index) => fb2::extract_zipped(&mut zip, index)?,
        Sniffed::Fb2 => fb2::extract(path)?,
        Sniffed::Cbr => comic::extract_cbr(path)?,
        Sniffed::Mobi => mobi::extract(path)?,
        Sniffed::Pdf => pdf::extract(path)?,
        Sniffed::Djvu => text::extract_djvu(path)?,
        Sniffed::Txt => text::extract_txt(),
    };
    clean::tidy(&mut out.metadata);
    if out.metadata.title.is_none() {
        out.metadata.title = Some(clean::title_from_file_name(file_name));
    }
    Ok(out)
}

/// Fills `buf` as far as the reader allows: short only at the end of the data.
fn read_up_to<R: std::io::Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
