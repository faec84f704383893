//! What every format reader returns. Pure data: no database, no HTTP.

use serde::{Deserialize, Serialize};

/// Formats libris stores. Detected from the content, never from the extension alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Epub,
    Pdf,
    Cbz,
    Cbr,
    Fb2,
    /// A zip holding one .fb2 file.
    Fb2Zip,
    Mobi,
    Azw3,
    Djvu,
    Txt,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::Epub,
        Format::Pdf,
        Format::Cbz,
        Format::Cbr,
        Format::Fb2,
        Format::Fb2Zip,
        Format::Mobi,
        Format::Azw3,
        Format::Djvu,
        Format::Txt,
    ];

    /// The value of book_files.format.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Epub => "epub",
            Format::Pdf => "pdf",
            Format::Cbz => "cbz",
            Format::Cbr => "cbr",
            Format::Fb2 => "fb2",
            Format::Fb2Zip => "fb2.zip",
            Format::Mobi => "mobi",
            Format::Azw3 => "azw3",
            Format::Djvu => "djvu",
            Format::Txt => "txt",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// File name extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The exact media type reader apps expect (never application/octet-stream).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Epub => "application/epub+zip",
            Format::Pdf => "application/pdf",
            Format::Cbz => "application/vnd.comicbook+zip",
            Format::Cbr => "application/vnd.comicbook-rar",
            Format::Fb2 => "application/x-fictionbook+xml",
            Format::Fb2Zip => "application/x-zip-compressed-fb2",
            Format::Mobi => "application/x-mobipocket-ebook",
            Format::Azw3 => "application/x-mobi8-ebook",
            Format::Djvu => "image/vnd.djvu",
            Format::Txt => "text/plain; charset=utf-8",
        }
    }
}

/// A person named by the book. Only authors (no role, or role "aut") go into `Metadata::authors`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    /// Sort form, e.g. "Doe, Jane" (OPF file-as).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_as: Option<String>,
}

impl Person {
    /// A person known by name only.
    pub fn named(name: String) -> Person {
        Person {
            name,
            file_as: None,
        }
    }
}

/// Metadata as read from the file, already cleaned: trimmed, whitespace collapsed, HTML
/// stripped from the description, ISBNs checksum-validated, language as BCP 47.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub title: Option<String>,
    pub authors: Vec<Person>,
    pub language: Option<String>,
    pub isbn_10: Option<String>,
    pub isbn_13: Option<String>,
    pub publisher: Option<String>,
    pub published_year: Option<i32>,
    pub description: Option<String>,
    pub genres: Vec<String>,
    pub series: Option<String>,
    pub series_index: Option<f32>,
    pub page_count: Option<i32>,
}

/// A cover image as found in the book: its bytes are not decoded yet.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCover {
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Extracted {
    pub format: Format,
    pub metadata: Metadata,
    pub cover: Option<RawCover>,
}

/// Why a file was refused. The message is shown to the person who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("unsupported format")]
    Unsupported,
    /// The file claims a supported format but is damaged or hostile; says what is wrong.
    #[error("{0}")]
    Broken(String),
    #[error("could not read the file: {0}")]
    Io(String),
}

impl From<std::io::Error> for FormatError {
    fn from(e: std::io::Error) -> FormatError {
        FormatError::Io(e.to_string())
    }
}

/// Limits every reader obeys, so that a hostile file costs bounded memory and time.
pub mod limits {
    /// Bytes read from any one archive entry (OPF, ComicInfo.xml, an FB2 inside a zip, a cover).
    pub const MAX_ENTRY_BYTES: u64 = 32 * 1024 * 1024;
    /// Bytes of XML metadata documents (OPF, container.xml, ComicInfo.xml).
    pub const MAX_XML_BYTES: u64 = 4 * 1024 * 1024;
    /// Entries in an archive.
    pub const MAX_ENTRIES: usize = 50_000;
    /// Uncompressed/compressed ratio above which an entry is a zip bomb.
    pub const MAX_RATIO: u64 = 200;
    /// Bytes of a cover image.
    pub const MAX_COVER_BYTES: usize = 20 * 1024 * 1024;
    /// Pixels of a decoded image (width × height).
    pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;
}
