//! FictionBook 2 (`.fb2`, and `.fb2.zip` holding one). The whole document is parsed
//! strictly, streaming: FB2 files carry their images inline as base64 and can be large, and
//! a file that is not well-formed XML is refused.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::charset::{self, Charset};
use super::clean::{self, clean_line, clean_paragraphs, normalize_language, year_from_date};
use super::comic::parse_number;
use super::detect::looks_like_image;
use super::limits::{MAX_COVER_BYTES, MAX_ENTRY_BYTES};
use super::xml::MAX_ATTRIBUTES;
use super::zipsafe::SafeZip;
use super::{isbn, Extracted, Format, FormatError, Metadata, Person, RawCover};

/// A bare .fb2 is streamed, but one text node is held whole: bound the file.
const MAX_FB2_BYTES: u64 = 4 * MAX_ENTRY_BYTES;
/// Far deeper than nested FB2 sections ever go.
const MAX_DEPTH: usize = 512;
/// Base64 characters of a cover of MAX_COVER_BYTES.
const MAX_COVER_B64: usize = MAX_COVER_BYTES / 3 * 4 + 4;

pub fn extract(path: &Path) -> Result<Extracted, FormatError> {
    let file = File::open(path)?;
    if file.metadata()?.len() > MAX_FB2_BYTES {
        return Err(FormatError::Broken(format!(
            "FB2 file is larger than {} MiB",
            MAX_FB2_BYTES >> 20
        )));
    }
    let mut reader = BufReader::new(file);
    let cs = charset::declared(reader.fill_buf()?).map_err(unsupported_charset)?;
    let (metadata, cover) = if cs == Charset::Utf8 {
        parse(reader)?
    } else {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        parse(charset::to_utf8(&bytes, cs).as_bytes())?
    };
    Ok(Extracted {
        format: Format::Fb2,
        metadata,
        cover,
    })
}

pub fn extract_zipped<R: Read + Seek>(
    zip: &mut SafeZip<R>,
    index: usize,
) -> Result<Extracted, FormatError> {
    let bytes = zip.read(index, MAX_ENTRY_BYTES)?;
    let cs = charset::declared(&bytes).map_err(unsupported_charset)?;
    let (metadata, cover) = if cs == Charset::Utf8 {
        parse(&bytes[..])?
    } else {
        parse(charset::to_utf8(&bytes, cs).as_bytes())?
    };
    Ok(Extracted {
        format: Format::Fb2Zip,
        metadata,
        cover,
    })
}

fn unsupported_charset(name: String) -> FormatError {
    FormatError::Broken(format!(
        "FB2 uses an unsupported character encoding: {name}"
    ))
}

fn malformed<E: std::fmt::Display>(e: E) -> FormatError {
    FormatError::Broken(format!("malformed FB2: {e}"))
}

/// The elements whose place in the tree matters; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    FictionBook,
    Description,
    TitleInfo,
    DocumentInfo,
    PublishInfo,
    Author,
    FirstName,
    MiddleName,
    LastName,
    Nickname,
    BookTitle,
    Lang,
    Annotation,
    Keywords,
    Genre,
    Sequence,
    Coverpage,
    Image,
    Publisher,
    Year,
    Isbn,
    ProgramUsed,
    Binary,
    Paragraph,
    Other,
}

fn tag_of(local: &[u8]) -> Tag {
    match local {
        b"FictionBook" => Tag::FictionBook,
        b"description" => Tag::Description,
        b"title-info" => Tag::TitleInfo,
        b"document-info" => Tag::DocumentInfo,
        b"publish-info" => Tag::PublishInfo,
        b"author" => Tag::Author,
        b"first-name" => Tag::FirstName,
        b"middle-name" => Tag::MiddleName,
        b"last-name" => Tag::LastName,
        b"nickname" => Tag::Nickname,
        b"book-title" => Tag::BookTitle,
        b"lang" => Tag::Lang,
        b"annotation" => Tag::Annotation,
        b"keywords" => Tag::Keywords,
        b"genre" => Tag::Genre,
        b"sequence" => Tag::Sequence,
        b"coverpage" => Tag::Coverpage,
        b"image" => Tag::Image,
        b"publisher" => Tag::Publisher,
        b"year" => Tag::Year,
        b"isbn" => Tag::Isbn,
        b"program-used" => Tag::ProgramUsed,
        b"binary" => Tag::Binary,
        b"p" | b"empty-line" | b"v" | b"subtitle" | b"stanza" | b"poem" | b"cite" => Tag::Paragraph,
        _ => Tag::Other,
    }
}

/// Which collected field a text node belongs to.
#[derive(Clone, Copy)]
enum Field {
    Title,
    AuthorPart(usize),
    Lang,
    Annotation,
    Keywords,
    Genre,
    Publisher,
    Year,
    Isbn,
    Program,
    Cover,
}

#[derive(Default)]
struct Collected {
    title: String,
    authors: Vec<Person>,
    /// first, middle, last, nickname of the author being read.
    author: [String; 4],
    lang: String,
    annotation: String,
    keywords: String,
    genre: String,
    genres: Vec<String>,
    series: Option<(String, Option<f32>)>,
    publish_series: Option<(String, Option<f32>)>,
    publisher: String,
    year: String,
    isbn: String,
    program: String,
    cover_id: Option<String>,
    capturing_cover: bool,
    cover_b64: Vec<u8>,
    cover_too_big: bool,
}

/// Where in the tree `path` is, for text: (field it feeds).
fn field_for(path: &[Tag], capturing_cover: bool) -> Option<Field> {
    use Tag::*;
    match path {
        [FictionBook, Binary] if capturing_cover => Some(Field::Cover),
        [FictionBook, Description, TitleInfo, rest @ ..] => match rest {
            [BookTitle] => Some(Field::Title),
            [Author, FirstName] => Some(Field::AuthorPart(0)),
            [Author, MiddleName] => Some(Field::AuthorPart(1)),
            [Author, LastName] => Some(Field::AuthorPart(2)),
            [Author, Nickname] => Some(Field::AuthorPart(3)),
            [Lang] => Some(Field::Lang),
            [Keywords] => Some(Field::Keywords),
            [Genre] => Some(Field::Genre),
            [Annotation, ..] => Some(Field::Annotation),
            _ => None,
        },
        [FictionBook, Description, PublishInfo, Publisher] => Some(Field::Publisher),
        [FictionBook, Description, PublishInfo, Year] => Some(Field::Year),
        [FictionBook, Description, PublishInfo, Isbn] => Some(Field::Isbn),
        [FictionBook, Description, DocumentInfo, ProgramUsed] => Some(Field::Program),
        _ => None,
    }
}

impl Collected {
    fn text(&mut self, field: Field, s: &str) {
        let target = match field {
            Field::Title => &mut self.title,
            Field::AuthorPart(i) => &mut self.author[i],
            Field::Lang => &mut self.lang,
            Field::Annotation => &mut self.annotation,
            Field::Keywords => &mut self.keywords,
            Field::Genre => &mut self.genre,
            Field::Publisher => &mut self.publisher,
            Field::Year => &mut self.year,
            Field::Isbn => &mut self.isbn,
            Field::Program => &mut self.program,
            Field::Cover => {
                self.cover_b64
                    .extend(s.bytes().filter(|b| !b.is_ascii_whitespace()));
                if self.cover_b64.len() > MAX_COVER_B64 {
                    // Too large to keep: the book is fine, it just has no cover.
                    self.cover_too_big = true;
                    self.capturing_cover = false;
                    self.cover_b64 = Vec::new();
                }
                return;
            }
        };
        // Bound what hostile metadata can make us hold.
        if target.len() < 1 << 20 {
            target.push_str(s);
        }
    }

    /// An element starts (`empty`: it also ends) with `path` being its parents.
    fn open(&mut self, tag: Tag, e: &BytesStart, path: &[Tag]) -> Result<(), FormatError> {
        use Tag::*;
        match (path, tag) {
            ([FictionBook, Description, TitleInfo], Author) => self.author = Default::default(),
            ([FictionBook, Description, TitleInfo], Genre) => self.genre.clear(),
            ([FictionBook, Description, TitleInfo], Sequence) if self.series.is_none() => {
                self.series = sequence(e)?;
            }
            ([FictionBook, Description, PublishInfo], Sequence)
                if self.publish_series.is_none() =>
            {
                self.publish_series = sequence(e)?;
            }
            ([FictionBook, Description, TitleInfo, Coverpage], Image)
                if self.cover_id.is_none() =>
            {
                self.cover_id = attr(e, b"href")?.map(|h| h.trim_start_matches('#').to_string());
            }
            ([FictionBook, Description, TitleInfo, Annotation, ..], Paragraph) => {
                self.annotation.push('\n');
            }
            ([FictionBook], Binary) => {
                self.capturing_cover = !self.cover_too_big
                    && self.cover_b64.is_empty()
                    && self.cover_id.is_some()
                    && attr(e, b"id")? == self.cover_id;
            }
            _ => {}
        }
        Ok(())
    }

    /// The element `tag` ends; `path` are its parents.
    fn close(&mut self, tag: Tag, path: &[Tag]) {
        use Tag::*;
        match (path, tag) {
            ([FictionBook, Description, TitleInfo], Author) => {
                let a = std::mem::take(&mut self.author);
                if let Some(p) = person(&a) {
                    self.authors.push(p);
                }
            }
            ([FictionBook, Description, TitleInfo], Genre) => {
                self.genres.push(std::mem::take(&mut self.genre));
            }
            ([FictionBook, Description, TitleInfo, Annotation, ..], Paragraph) => {
                self.annotation.push('\n');
            }
            ([FictionBook], Binary) => self.capturing_cover = false,
            _ => {}
        }
    }

    fn finish(self) -> (Metadata, Option<RawCover>) {
        let mut genres: Vec<String> = self
            .keywords
            .split([',', ';'])
            .filter_map(clean_line)
            .collect();
        // calibre writes the FB2 genre "antique" whatever the book; its real tags are keywords.
        let calibre = self.program.to_ascii_lowercase().contains("calibre");
        genres.extend(
            self.genres
                .iter()
                .filter_map(|g| clean_line(g))
                .filter(|g| !(calibre && g == "antique")),
        );
        let (series, series_index) = self
            .series
            .or(self.publish_series)
            .map_or((None, None), |(n, i)| (Some(n), i));
        let isbn = isbn::parse_isbn(&self.isbn);
        let metadata = Metadata {
            title: clean_line(&self.title),
            authors: self.authors,
            language: normalize_language(&self.lang),
            isbn_10: isbn.as_ref().and_then(|i| i.isbn10.clone()),
            isbn_13: isbn.map(|i| i.isbn13),
            publisher: clean_line(&self.publisher),
            published_year: year_from_date(&self.year),
            description: clean_paragraphs(&self.annotation),
            genres: clean::dedupe(genres.into_iter()),
            series,
            series_index,
            page_count: None,
        };
        let cover = decode_base64(&self.cover_b64)
            .filter(|b| looks_like_image(b))
            .map(|bytes| RawCover { bytes });
        (metadata, cover)
    }
}

/// Standard base64, without padding (stripped by [`decode_base64`]); bits past the last whole
/// byte are ignored.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Decodes a `<binary>` image (whitespace already removed by the caller) as leniently as FB2
/// writers need: padding optional (at most two `=`, nothing after them), the URL-safe `-`
/// and `_` read as `+` and `/`. `None` on anything else that is not base64.
fn decode_base64(s: &[u8]) -> Option<Vec<u8>> {
    let end = s.iter().position(|&c| c == b'=').unwrap_or(s.len());
    if s.len() - end > 2 || s[end..].iter().any(|&c| c != b'=') {
        return None;
    }
    let mut s = Cow::Borrowed(&s[..end]);
    if s.iter().any(|&c| c == b'-' || c == b'_') {
        for c in s.to_mut() {
            match *c {
                b'-' => *c = b'+',
                b'_' => *c = b'/',
                _ => {}
            }
        }
    }
    BASE64.decode(s).ok()
}

fn person(parts: &[String; 4]) -> Option<Person> {
    let [first, middle, last] = [0, 1, 2].map(|i| clean_line(&parts[i]));
    let given: Vec<&str> = [&first, &middle]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let name = given
        .iter()
        .copied()
        .chain(last.as_deref())
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        return clean_line(&parts[3]).map(|name| Person {
            name,
            file_as: None,
        });
    }
    let file_as = match (&last, given.is_empty()) {
        (Some(l), false) => Some(format!("{l}, {}", given.join(" "))),
        _ => None,
    };
    Some(Person { name, file_as })
}

fn sequence(e: &BytesStart) -> Result<Option<(String, Option<f32>)>, FormatError> {
    let Some(name) = attr(e, b"name")?.and_then(|n| clean_line(&n)) else {
        return Ok(None);
    };
    let number = attr(e, b"number")?.and_then(|n| parse_number(&n));
    Ok(Some((name, number)))
}

/// Attribute by local name (`l:href`, `xlink:href` → `href`), unescaped.
fn attr(e: &BytesStart, local: &[u8]) -> Result<Option<String>, FormatError> {
    for a in e.attributes().take(MAX_ATTRIBUTES) {
        let a = a.map_err(malformed)?;
        if a.key.local_name().as_ref() == local {
            return Ok(Some(a.unescape_value().map_err(malformed)?.into_owned()));
        }
    }
    Ok(None)
}

/// Every attribute must parse and unescape: this is where a stray quote shows.
fn check_attributes(e: &BytesStart) -> Result<(), FormatError> {
    for (n, a) in e.attributes().enumerate() {
        if n >= MAX_ATTRIBUTES {
            return Err(malformed("too many attributes on one element"));
        }
        a.map_err(malformed)?.unescape_value().map_err(malformed)?;
    }
    Ok(())
}

fn parse<B: BufRead>(src: B) -> Result<(Metadata, Option<RawCover>), FormatError> {
    let mut reader = Reader::from_reader(src);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut path: Vec<Tag> = Vec::new();
    let mut c = Collected::default();
    let mut root_done = false;
    loop {
        buf.clear();
        let event = reader.read_event_into(&mut buf).map_err(malformed)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                check_attributes(e)?;
                let tag = tag_of(e.local_name().as_ref());
                if path.is_empty() && (root_done || tag != Tag::FictionBook) {
                    return Err(malformed("the root element must be one <FictionBook>"));
                }
                if path.len() >= MAX_DEPTH {
                    return Err(malformed("elements nested too deeply"));
                }
                c.open(tag, e, &path)?;
                if matches!(event, Event::Start(_)) {
                    path.push(tag);
                } else {
                    c.close(tag, &path);
                    root_done |= path.is_empty();
                }
            }
            Event::End(_) => {
                let tag = path.pop().ok_or_else(|| malformed("unexpected end tag"))?;
                c.close(tag, &path);
                root_done |= path.is_empty();
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(malformed)?;
                match field_for(&path, c.capturing_cover) {
                    Some(f) => c.text(f, &s),
                    None if path.is_empty() && !s.trim().is_empty() => {
                        return Err(malformed("text outside the root element"))
                    }
                    None => {}
                }
            }
            Event::CData(t) => {
                let s = std::str::from_utf8(&t).map_err(malformed)?;
                if let Some(f) = field_for(&path, c.capturing_cover) {
                    c.text(f, s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(malformed(
            "the document ends before its elements are closed",
        ));
    }
    if !root_done {
        return Err(malformed("no <FictionBook> element"));
    }
    Ok(c.finish())
}

#[cfg(test)]
#[path = "fb2_tests.rs"]
mod tests;
