//! Library rows → the feed model: pure, so tests reach it without a server.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use libris_formats::Format;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::covers;
use super::feed::{
    media, rel, Acquisition, Author, Entry, Feed, Image, Kind, Link, NavEntry, Paging, Pse,
    Publication,
};
use crate::library::catalog::{authors_of, Facet, FacetValue, Filter, List, Shelf};
use uuid::Uuid;

use crate::db::models::{Book, BookFile};
use crate::library::download::download_name;

/// Which of the two catalogs a document belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// OPDS 1.2, under /opds.
    Atom,
    /// OPDS 2.0, under /opds/v2.
    Json,
}

/// Characters left as they are in a path segment; everything else is percent-encoded, so
/// a file name cannot add a segment, a query or a fragment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where the documents of one response live.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `scheme://host[/prefix]`.
    pub base: String,
    pub flavor: Flavor,
    /// Signs cover links; without it entries carry none.
    pub cover_key: Option<[u8; 32]>,
    /// Where the reader stands in the comics listed (page streaming resumes there).
    pub reading: HashMap<Uuid, LastRead>,
}

pub use crate::reading::state::LastRead;

impl Ctx {
    /// An absolute link to the catalog document at `path` (starting with '/', or empty for
    /// the root) of this flavor.
    pub fn href(&self, path: &str) -> String {
        match self.flavor {
            Flavor::Atom => format!("{}/opds{path}", self.base),
            Flavor::Json => format!("{}/opds/v2{path}", self.base),
        }
    }

    pub fn download(&self, book: &Book, file: &BookFile, format: Format) -> String {
        let name = download_name(file, format);
        format!(
            "{}/opds/books/{}/files/{}/{}",
            self.base,
            book.id,
            file.id,
            utf8_percent_encode(&name, SEGMENT)
        )
    }

    fn search_links(&self) -> Vec<Link> {
        match self.flavor {
            Flavor::Atom => vec![
                Link::new("search", self.href("/opensearch.xml"), media::OPENSEARCH)
                    .titled("Search"),
                // Moon+ Reader and Librera use only a templated Atom link.
                Link::feed(
                    "search",
                    self.href("/search?q={searchTerms}"),
                    Kind::Acquisition,
                )
                .titled("Search"),
            ],
            Flavor::Json => {
                vec![
                    Link::feed("search", self.href("/search{?query}"), Kind::Acquisition)
                        .titled("Search")
                        .templated(),
                ]
            }
        }
    }

    fn feed(&self, id: &str, title: &str, path: &str, kind: Kind, updated: DateTime<Utc>) -> Feed {
        let mut links = vec![
            Link::feed("self", self.href(path), kind),
            Link::feed("start", self.href(""), Kind::Navigation),
        ];
        if !path.is_empty() {
            links.push(Link::feed("up", self.href(""), Kind::Navigation));
        }
        links.extend(self.search_links());
        Feed {
            id: id.to_owned(),
            title: title.to_owned(),
            updated,
            kind,
            author: Author {
                name: "libris".into(),
                uri: Some(self.href("")),
            },
            links,
            paging: None,
            entries: vec![],
        }
    }
}

/// A book as a catalog publication: its metadata, one acquisition link per file with the
/// file's exact media type, and a link to its complete entry.
pub fn publication(ctx: &Ctx, book: &Book, files: &[BookFile]) -> Publication {
    let mut p = Publication::new(
        book.id,
        book.title.clone().unwrap_or_else(|| "Untitled".into()),
        book.updated_at,
    );
    p.authors = book.author.as_deref().map(authors_of).unwrap_or_default();
    p.published = book.published_year.map(|y| y.to_string());
    p.language = book.language.clone();
    p.publisher = book.publisher.clone();
    p.isbn = book.isbn_13.clone().or_else(|| book.isbn_10.clone());
    p.genres = book.genres.iter().flatten().cloned().collect();
    p.summary = book.description.clone();
    p.series = book
        .series
        .clone()
        .map(|s| (s, book.series_index.map(f64::from)));
    p.files = files
        .iter()
        .filter_map(|file| {
            let format = Format::parse(&file.format)?;
            Some(Acquisition {
                href: ctx.download(book, file, format),
                media_type: format.media_type().into(),
                length: u64::try_from(file.file_size).ok().filter(|n| *n > 0),
                title: Some(format.as_str().to_uppercase()),
            })
        })
        .collect();
    p.pse = pse(ctx, book, files);
    p.self_href = Some(ctx.href(&format!("/books/{}", book.id)));
    if let Some(key) = &ctx.cover_key {
        let image = |kind| {
            covers::link(key, book, kind).map(|(path, media_type)| Image {
                href: format!("{}/opds{path}", ctx.base),
                media_type,
            })
        };
        p.image = image(covers::Kind::Image);
        p.thumbnail = image(covers::Kind::Thumbnail);
    }
    p
}

/// Page streaming (OPDS-PSE 1.1) for a book with a CBZ file whose pages were counted; the
/// Atom catalog only (OPDS 2.0 has no such extension).
fn pse(ctx: &Ctx, book: &Book, files: &[BookFile]) -> Option<Pse> {
    let count = i64::from(book.page_count.filter(|n| *n > 0)?);
    let file = files
        .iter()
        .find(|f| Format::parse(&f.format) == Some(Format::Cbz))?;
    if ctx.flavor != Flavor::Atom {
        return None;
    }
    let reading = ctx.reading.get(&book.id);
    Some(Pse {
        href_template: format!(
            "{}/opds/pse/{}/{{pageNumber}}?width={{maxWidth}}",
            ctx.base, file.id
        ),
        count,
        last_read: reading.and_then(|r| r.page(count)),
        last_read_date: reading.map(|r| r.at),
        media_type: media::JPEG.to_owned(),
    })
}

/// The catalog's root: what there is to browse; a reader's own shelves first when there is a
/// reader (anonymous browsing has none).
pub fn root(ctx: &Ctx, updated: DateTime<Utc>, shelves: bool) -> Feed {
    let mut feed = ctx.feed("urn:libris:root", "libris", "", Kind::Navigation, updated);
    let nav = |id: &str, title: &str, path: &str, rel: Option<&str>, summary: &str| {
        Entry::Navigation(NavEntry {
            id: format!("urn:libris:{id}"),
            title: title.into(),
            updated,
            href: ctx.href(path),
            kind: Kind::Acquisition,
            rel: rel.map(Into::into),
            summary: Some(summary.into()),
            count: None,
        })
    };
    if shelves {
        for shelf in Shelf::ALL {
            feed.entries.push(nav(
                shelf.segment(),
                shelf.title(),
                &format!("/shelves/{}", shelf.segment()),
                None,
                shelf.description(),
            ));
        }
        feed.entries.push(Entry::Navigation(NavEntry {
            id: "urn:libris:collections".into(),
            title: "Collections".into(),
            updated,
            href: ctx.href("/collections"),
            kind: Kind::Navigation,
            rel: None,
            summary: Some("Your collections and the library's".into()),
            count: None,
        }));
    }
    feed.entries.extend([
        nav(
            "new",
            "Recently added",
            "/new",
            Some(rel::SORT_NEW),
            "The newest books first",
        ),
        nav("books", "All books", "/books", None, "Every book, by title"),
    ]);
    for facet in Facet::ALL {
        feed.entries.push(Entry::Navigation(NavEntry {
            id: format!("urn:libris:{}", facet.segment()),
            title: facet.title().into(),
            updated,
            href: ctx.href(&format!("/{}", facet.segment())),
            kind: Kind::Navigation,
            rel: None,
            summary: Some(format!("Books by {}", facet.title().to_lowercase())),
            count: None,
        }));
    }
    feed
}

/// The reader's collections (and the library's) as a navigation feed: one entry each, to its
/// books.
pub fn collections(
    ctx: &Ctx,
    listed: &[crate::library::collections::Listed],
    updated: DateTime<Utc>,
) -> Feed {
    let mut feed = ctx.feed(
        "urn:libris:collections",
        "Collections",
        "/collections",
        Kind::Navigation,
        updated,
    );
    feed.entries = listed
        .iter()
        .map(|l| {
            let c = &l.collection;
            let books = if l.books == 1 {
                "1 book".to_owned()
            } else {
                format!("{} books", l.books)
            };
            Entry::Navigation(NavEntry {
                id: format!("urn:libris:collection:{}", c.id),
                title: c.name.clone(),
                updated: c.updated_at,
                href: ctx.href(&format!("/collections/{}", c.id)),
                kind: Kind::Acquisition,
                rel: None,
                summary: Some(match c.description.as_str() {
                    "" => books,
                    d => format!("{d} ({books})"),
                }),
                count: Some(l.books),
            })
        })
        .collect();
    feed
}

/// A list feed made over into a shared collection's (`/s/{token}/opds`): its own pages, no
/// search or way up into the catalog, downloads through the share (`/s/{token}/books/…`, which
/// the token alone opens), no links to entries or page streaming that need a login. Cover
/// links are signed and need none: they stay.
pub fn shared(mut feed: Feed, base: &str, token: &str) -> Feed {
    let own = format!("{base}/s/{token}/opds");
    let catalog = format!("{base}/opds");
    feed.links
        .retain(|l| !matches!(l.rel.as_str(), "up" | "search"));
    for link in &mut feed.links {
        let query = link.href.split_once('?').map(|(_, q)| q);
        link.href = match (link.rel.as_str(), query) {
            ("start", _) | (_, None) => own.clone(),
            (_, Some(q)) => format!("{own}?{q}"),
        };
    }
    feed.author.uri = None;
    for entry in &mut feed.entries {
        if let Entry::Publication(p) = entry {
            p.self_href = None;
            p.pse = None;
            for file in &mut p.files {
                // {base}/opds/books/{id}/files/{file}/{name} → {base}/s/{token}/books/{id}/files/{file}
                if let Some(rest) = file.href.strip_prefix(&format!("{catalog}/books/")) {
                    let parts: Vec<&str> = rest.splitn(4, '/').collect();
                    if let [id, "files", file_id, _] = parts[..] {
                        file.href = format!("{base}/s/{token}/books/{id}/files/{file_id}");
                    }
                }
            }
        }
    }
    feed
}

/// The path of All books in `list`'s order, narrowed by `filter` (defaults left out).
pub fn books_path(list: List, filter: &Filter) -> String {
    let mut params = vec![];
    if list != List::Title {
        params.push(format!("sort={}", list.name()));
    }
    if let Some(l) = &filter.language {
        params.push(format!("lang={}", query_value(l)));
    }
    if let Some(f) = &filter.format {
        params.push(format!("format={}", query_value(f)));
    }
    if params.is_empty() {
        "/books".into()
    } else {
        format!("/books?{}", params.join("&"))
    }
}

/// The facets of All books: sort by title, author, recently added or published; narrow to a
/// language or a file format (each with its number of books). Each keeps the other choices.
pub fn book_facets(
    ctx: &Ctx,
    current: List,
    filter: &Filter,
    languages: &[FacetValue],
    formats: &[(String, i64)],
) -> Vec<Link> {
    let link = |list: List, filter: &Filter, title: &str| {
        Link::feed(
            rel::FACET,
            ctx.href(&books_path(list, filter)),
            Kind::Acquisition,
        )
        .titled(title)
    };
    let mut links: Vec<Link> = List::SORTS
        .into_iter()
        .map(|l| link(l, filter, l.title()).facet("Sort", l == current))
        .collect();
    let any_language = Filter {
        language: None,
        ..filter.clone()
    };
    links.push(
        link(current, &any_language, "All languages").facet("Language", filter.language.is_none()),
    );
    for language in languages {
        let only = Filter {
            language: Some(language.value.clone()),
            ..filter.clone()
        };
        let active = filter.language.as_deref() == Some(language.value.as_str());
        links.push(
            link(current, &only, &language.title)
                .facet("Language", active)
                .counted(language.count),
        );
    }
    let any_format = Filter {
        format: None,
        ..filter.clone()
    };
    links.push(link(current, &any_format, "All formats").facet("Format", filter.format.is_none()));
    for (format, n) in formats {
        let only = Filter {
            format: Some(format.clone()),
            ..filter.clone()
        };
        let active = filter.format.as_deref() == Some(format.as_str());
        links.push(
            link(current, &only, &format.to_uppercase())
                .facet("Format", active)
                .counted(*n),
        );
    }
    links
}

/// Facets with more values than this are first grouped by initial letter.
pub const GROUP_ABOVE: usize = 100;

/// The group a facet value is listed under (give it what the value sorts as): its first
/// letter or digit, upper-cased and without accents (Ōe under O, ßeta under S); a Korean
/// syllable under its initial consonant, written as the compatibility jamo every font draws
/// (한강 under ㅎ, not under the conjoining U+1112 that decomposing gives); '#' for anything
/// else.
pub fn initial(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    match value.chars().find(|c| !c.is_whitespace()) {
        Some(c) if hangul_initial(c).is_some() => hangul_initial(c).unwrap_or(c).to_string(),
        Some(c) if c.is_alphanumeric() => {
            let base = std::iter::once(c).nfd().next().unwrap_or(c);
            base.to_uppercase().next().unwrap_or(base).to_string()
        }
        _ => "#".into(),
    }
}

/// The 19 initial consonants of modern Hangul, in order, as compatibility jamo.
const CHOSEONG: [char; 19] = [
    'ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ', 'ㅋ',
    'ㅌ', 'ㅍ', 'ㅎ',
];

/// A Hangul syllable's (U+AC00–U+D7A3) or a leading conjoining jamo's (U+1100–U+1112)
/// initial consonant as a compatibility jamo.
fn hangul_initial(c: char) -> Option<char> {
    let index = match c as u32 {
        // Syllables are laid out initial × 21 vowels × 28 finals.
        code @ 0xAC00..=0xD7A3 => (code - 0xAC00) / (21 * 28),
        code @ 0x1100..=0x1112 => code - 0x1100,
        _ => return None,
    };
    CHOSEONG.get(index as usize).copied()
}

/// `value` made safe as a query parameter value.
pub fn query_value(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// Adds the typed first/previous/next/last links and the paging figures to `feed`, whose
/// pages are `path` plus `?page=N` (or `&page=N` after a query).
fn paginate(ctx: &Ctx, feed: &mut Feed, path: &str, paging: Paging) {
    let kind = feed.kind;
    let paged = |n: i64| {
        let sep = if path.contains('?') { '&' } else { '?' };
        ctx.href(&format!("{path}{sep}page={n}"))
    };
    feed.links[0].href = paged(paging.page);
    let (current, last) = (paging.page, paging.last_page());
    feed.links.push(Link::feed("first", paged(1), kind));
    if current > 1 {
        feed.links
            .push(Link::feed("previous", paged((current - 1).min(last)), kind));
    }
    if current < last {
        feed.links
            .push(Link::feed("next", paged(current + 1), kind));
    }
    feed.links.push(Link::feed("last", paged(last), kind));
    feed.paging = Some(paging);
}

/// A page of a facet's values (each a link to its books), or of its initial letters when
/// it has many and no `letter` was chosen. None: past the last page.
pub fn facet(
    ctx: &Ctx,
    facet: Facet,
    values: &[FacetValue],
    letter: Option<&str>,
    page: i64,
    size: i64,
    updated: DateTime<Utc>,
) -> Option<Feed> {
    let segment = facet.segment();
    let noun = facet.title().to_lowercase();
    let mut path = format!("/{segment}");
    let mut title = facet.title().to_owned();
    let entries: Vec<NavEntry> = if letter.is_none() && values.len() > GROUP_ABOVE {
        let mut groups: Vec<(String, i64)> = vec![];
        for value in values {
            let i = initial(&value.sort);
            match groups.iter_mut().find(|(g, _)| *g == i) {
                Some((_, n)) => *n += 1,
                None => groups.push((i, 1)),
            }
        }
        groups.sort();
        groups
            .into_iter()
            .map(|(group, n)| NavEntry {
                id: format!("urn:libris:{segment}:letter:{}", query_value(&group)),
                href: ctx.href(&format!("/{segment}?letter={}", query_value(&group))),
                title: group,
                updated,
                kind: Kind::Navigation,
                rel: None,
                summary: Some(format!("{n} {noun}")),
                count: Some(n),
            })
            .collect()
    } else {
        if let Some(l) = letter {
            path = format!("/{segment}?letter={}", query_value(l));
            title = format!("{title}: {l}");
        }
        values
            .iter()
            .filter(|v| letter.is_none_or(|l| initial(&v.sort) == l))
            .map(|v| NavEntry {
                id: format!("urn:libris:{segment}:{}", query_value(&v.value)),
                title: v.title.clone(),
                updated,
                href: ctx.href(&format!("/{segment}/books?value={}", query_value(&v.value))),
                kind: Kind::Acquisition,
                rel: None,
                summary: Some(if v.count == 1 {
                    "1 book".into()
                } else {
                    format!("{} books", v.count)
                }),
                count: Some(v.count),
            })
            .collect()
    };
    let paging = Paging {
        total: entries.len() as i64,
        per_page: size,
        page,
    };
    if page > paging.last_page() {
        return None;
    }
    let mut feed = ctx.feed(
        &format!("urn:libris:{segment}"),
        &title,
        &path,
        Kind::Navigation,
        updated,
    );
    paginate(ctx, &mut feed, &path, paging);
    let skip = usize::try_from((page - 1) * size).unwrap_or(usize::MAX);
    let take = usize::try_from(size).unwrap_or(0);
    feed.entries = entries
        .into_iter()
        .skip(skip)
        .take(take)
        .map(Entry::Navigation)
        .collect();
    Some(feed)
}

/// One page of a list of books, with first/previous/next/last links (`path` is the list's
/// own path; pages add `?page=N`, or `&page=N` after a query).
pub struct ListPage<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub path: &'a str,
    pub paging: Paging,
    pub books: &'a [(Book, Vec<BookFile>)],
}

pub fn list(ctx: &Ctx, page: ListPage<'_>, library_updated: DateTime<Utc>) -> Feed {
    let updated = page
        .books
        .iter()
        .map(|(b, _)| b.updated_at)
        .max()
        .unwrap_or(library_updated);
    let mut feed = ctx.feed(page.id, page.title, page.path, Kind::Acquisition, updated);
    paginate(ctx, &mut feed, page.path, page.paging);
    feed.entries = page
        .books
        .iter()
        .map(|(b, f)| Entry::Publication(publication(ctx, b, f)))
        .collect();
    feed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(flavor: Flavor) -> Ctx {
        Ctx {
            base: "http://h".into(),
            flavor,
            cover_key: None,
            reading: Default::default(),
        }
    }

    fn values(n: usize) -> Vec<FacetValue> {
        (0..n)
            .map(|i| {
                FacetValue::new(
                    Facet::Author,
                    format!("{}{i:03}", ["Alpha", "beta", "Çedille", "42"][i % 4]),
                    1,
                    None,
                )
            })
            .collect()
    }

    #[test]
    fn initials_fold_case_and_group_what_is_not_a_letter() {
        assert_eq!(initial("beta"), "B");
        assert_eq!(initial("  émile"), "E");
        assert_eq!(initial("Ōe"), "O");
        assert_eq!(initial("ßeta"), "S");
        assert_eq!(initial("山田"), "山");
        assert_eq!(initial("한강"), "ㅎ");
        assert_eq!(initial("김영하"), "ㄱ");
        assert_eq!(initial("까치"), "ㄲ");
        assert_eq!(initial("\u{1100}\u{1161}"), "ㄱ", "a conjoining jamo");
        assert_eq!(initial("\u{1112}"), "ㅎ");
        assert_eq!(initial("ㅎ"), "ㅎ", "already compatibility jamo");
        assert_eq!(initial("42 stories"), "4");
        assert_eq!(initial("(untitled)"), "#");
        assert_eq!(initial(""), "#");
    }

    proptest::proptest! {
        /// Every modern syllable falls under one of the 19 consonants, in the order syllables
        /// sort in (so the groups come in dictionary order).
        #[test]
        fn syllables_group_under_their_initial_consonant(a in 0xAC00u32..=0xD7A3, b in 0xAC00u32..=0xD7A3) {
            let (a, b) = (char::from_u32(a).unwrap(), char::from_u32(b).unwrap());
            let (ia, ib) = (initial(&a.to_string()), initial(&b.to_string()));
            proptest::prop_assert!(CHOSEONG.iter().any(|c| c.to_string() == ia));
            if a <= b {
                proptest::prop_assert!(ia <= ib);
            }
        }
    }

    #[test]
    fn authors_group_by_their_sort_name_and_show_their_name() {
        let c = ctx(Flavor::Atom);
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let mut values: Vec<FacetValue> = (0..=GROUP_ABOVE)
            .map(|i| FacetValue::new(Facet::Author, format!("Jane{i:03} Doe"), 1, None))
            .collect();
        values.push(FacetValue::new(
            Facet::Author,
            "Ursula K. Le Guin",
            2,
            Some("Le Guin, Ursula K.".into()),
        ));
        values.push(FacetValue::new(Facet::Author, "한강", 1, None));
        let titles = |feed: Feed| -> Vec<String> {
            feed.entries
                .into_iter()
                .map(|e| match e {
                    Entry::Navigation(n) => n.title,
                    Entry::Publication(_) => unreachable!(),
                })
                .collect()
        };
        let letters = facet(&c, Facet::Author, &values, None, 1, 500, at).unwrap();
        assert_eq!(titles(letters), ["D", "L", "ㅎ"]);
        let under_l = facet(&c, Facet::Author, &values, Some("L"), 1, 500, at).unwrap();
        assert_eq!(titles(under_l), ["Ursula K. Le Guin"]);
        let under_d = facet(&c, Facet::Author, &values, Some("D"), 1, 500, at).unwrap();
        assert_eq!(titles(under_d)[0], "Jane000 Doe", "the name as written");
    }

    #[test]
    fn many_values_are_grouped_by_letter_first() {
        let c = ctx(Flavor::Atom);
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let few = facet(&c, Facet::Author, &values(GROUP_ABOVE), None, 1, 500, at).unwrap();
        assert_eq!(few.entries.len(), GROUP_ABOVE, "listed as they are");
        let many = values(GROUP_ABOVE + 1);
        let letters = facet(&c, Facet::Author, &many, None, 1, 500, at).unwrap();
        let titles: Vec<String> = letters
            .entries
            .iter()
            .map(|e| match e {
                Entry::Navigation(n) => format!("{}={:?}", n.title, n.count),
                Entry::Publication(_) => unreachable!(),
            })
            .collect();
        assert_eq!(
            titles,
            ["4=Some(25)", "A=Some(26)", "B=Some(25)", "C=Some(25)"],
            "in order, Ç under C"
        );
        let under_b = facet(&c, Facet::Author, &many, Some("B"), 1, 10, at).unwrap();
        assert_eq!(under_b.entries.len(), 10);
        assert_eq!(under_b.paging.unwrap().total, 25);
        assert!(facet(&c, Facet::Author, &many, Some("B"), 4, 10, at).is_none());
        match &under_b.entries[0] {
            Entry::Navigation(n) => {
                assert_eq!(n.href, "http://h/opds/authors/books?value=beta001");
                assert_eq!(n.kind, Kind::Acquisition);
            }
            Entry::Publication(_) => unreachable!(),
        }
    }

    #[test]
    fn each_shelf_says_what_it_holds() {
        let root = root(&ctx(Flavor::Atom), DateTime::<Utc>::UNIX_EPOCH, true);
        let summaries: Vec<(String, String)> = root
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Navigation(n) if n.id.starts_with("urn:libris:") => {
                    Some((n.title.clone(), n.summary.clone().unwrap_or_default()))
                }
                _ => None,
            })
            .take(Shelf::ALL.len())
            .collect();
        let titles: Vec<&str> = summaries.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(titles, Shelf::ALL.map(Shelf::title));
        let mut distinct: Vec<&str> = summaries.iter().map(|(_, s)| s.as_str()).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), Shelf::ALL.len(), "{summaries:?}");
        assert!(summaries[4].1.contains("not started"), "{summaries:?}");
    }

    #[test]
    fn hrefs_of_each_flavor() {
        assert_eq!(ctx(Flavor::Atom).href("/books"), "http://h/opds/books");
        assert_eq!(ctx(Flavor::Json).href(""), "http://h/opds/v2");
    }

    #[test]
    fn a_file_name_cannot_escape_its_path_segment() {
        assert_eq!(
            utf8_percent_encode("a b/../c?d#é.epub", SEGMENT).to_string(),
            "a%20b%2F..%2Fc%3Fd%23%C3%A9.epub"
        );
    }

    #[test]
    fn the_last_page_read_is_the_reported_page_else_the_percentage() {
        let at = DateTime::UNIX_EPOCH;
        let read = |progress: &str, percentage: f64| LastRead {
            progress: progress.into(),
            device: "Kobo".into(),
            percentage,
            at,
        };
        assert_eq!(read("5", 0.1).page(12), Some(5));
        assert_eq!(read(" 12 ", 1.0).page(12), Some(12));
        assert_eq!(read("40", 1.0).page(12), Some(12), "past the end");
        assert_eq!(read("0", 0.0).page(12), Some(1));
        assert_eq!(read("/body/DocFragment[3]", 0.5).page(12), Some(6));
        assert_eq!(read("x", f64::NAN).page(12), None);
        assert_eq!(read("5", 0.5).page(0), None);
    }

    #[test]
    fn the_first_page_has_no_previous_and_the_last_no_next() {
        let c = ctx(Flavor::Atom);
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let rels = |page: i64, total: i64| {
            let feed = list(
                &c,
                ListPage {
                    id: "urn:x",
                    title: "x",
                    path: "/books",
                    paging: Paging {
                        total,
                        per_page: 10,
                        page,
                    },
                    books: &[],
                },
                at,
            );
            feed.links
                .iter()
                .map(|l| l.rel.clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(rels(1, 0), "self,start,up,search,search,first,last");
        assert_eq!(rels(1, 25), "self,start,up,search,search,first,next,last");
        assert_eq!(
            rels(2, 25),
            "self,start,up,search,search,first,previous,next,last"
        );
        assert_eq!(
            rels(3, 25),
            "self,start,up,search,search,first,previous,last"
        );
    }
}
