//! Runs the OPDS validators (fixtures/opds-validate, see its ORIGIN.md) over representative
//! documents from the feed writers.
//!
//! Needs `xmllint` (libxml2-utils) and a python with `lxml`, `jsonschema>=4.18`, `rfc3987` and
//! `uri-template` (else URI formats go unchecked): `make test` provides both and names the
//! python in LIBRIS_TEST_PYTHON.
//! Documents are left in $TMPDIR/opds-validate-<pid>/ for inspection.

mod snapshots;
use libris_test_support::opds_validators as validators;

use chrono::{DateTime, TimeZone, Utc};
use libris::opds::feed::{
    media, rel, Acquisition, Author, Entry, Feed, Image, Kind, Link, NavEntry, Paging, Pse,
    Publication,
};
use libris::opds::{atom, json};
use uuid::Uuid;
use validators::{rng, validate_atom_feed, validate_json, write};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_704_880_871 + secs, 0)
        .single()
        .expect("valid timestamp")
}

/// Per-format differences the caller is responsible for: href prefix and search link.
#[derive(Clone, Copy)]
enum Format {
    Atom,
    Json,
}

impl Format {
    fn href(self, path: &str) -> String {
        match self {
            Format::Atom => format!("/opds{path}"),
            Format::Json => format!("/opds/v2{path}"),
        }
    }

    fn search_links(self) -> Vec<Link> {
        match self {
            Format::Atom => vec![
                Link::new("search", "/opds/opensearch.xml", media::OPENSEARCH).titled("Search"),
                Link::feed("search", "/opds/search?q={searchTerms}", Kind::Acquisition),
            ],
            Format::Json => {
                vec![
                    Link::feed("search", "/opds/v2/search{?query}", Kind::Acquisition)
                        .titled("Search")
                        .templated(),
                ]
            }
        }
    }
}

fn author() -> Author {
    Author {
        name: "Libris".into(),
        uri: Some("https://libris.example/".into()),
    }
}

fn nav(id: &str, title: &str, path: &str, fmt: Format) -> NavEntry {
    NavEntry {
        id: format!("urn:libris:{id}"),
        title: title.into(),
        updated: at(0),
        href: fmt.href(path),
        kind: Kind::Navigation,
        rel: None,
        summary: None,
        count: None,
    }
}

fn navigation_root(fmt: Format) -> Feed {
    let mut links = vec![
        Link::feed("self", fmt.href(""), Kind::Navigation),
        Link::feed("start", fmt.href(""), Kind::Navigation),
    ];
    links.extend(fmt.search_links());
    let new_books = NavEntry {
        kind: Kind::Acquisition,
        rel: Some(rel::SORT_NEW.into()),
        summary: Some("Recently added".into()),
        ..nav("new", "New books", "/new", fmt)
    };
    let authors = NavEntry {
        summary: Some("12 authors".into()),
        count: Some(12),
        ..nav("authors", "Authors", "/authors", fmt)
    };
    Feed {
        id: "urn:libris:root".into(),
        title: "Libris".into(),
        updated: at(0),
        kind: Kind::Navigation,
        author: author(),
        links,
        paging: None,
        entries: vec![
            Entry::Navigation(new_books),
            Entry::Navigation(authors),
            Entry::Navigation(nav("series", "Series", "/series", fmt)),
        ],
    }
}

/// The hard case: markup characters, non-ASCII, a forbidden control character,
/// several authors, series, three files, cover, thumbnail and PSE.
fn rich_publication(fmt: Format) -> Publication {
    let id = Uuid::from_u128(0x6409_a00b_7bf2_405e_826c_3fdf_f0fd_0734);
    let file = |ext: &str, media_type: &str, length: u64| Acquisition {
        href: format!("/opds/books/{id}/file/{ext}"),
        media_type: media_type.into(),
        length: Some(length),
        title: Some(ext.to_uppercase()),
    };
    Publication {
        id,
        title: "Tom & Jerry <\"Ünïcödé\"> 'Ж' \u{1}— 日本語".into(),
        authors: vec!["Brontë, Charlotte".into(), "O'Brien & Sons <Ltd>".into()],
        updated: at(60),
        published: Some("2019".into()),
        language: Some("fr".into()),
        publisher: Some("Éditions \"Quote\" & <Co>".into()),
        isbn: Some("978-0-00-000000-2".into()),
        genres: vec!["Science Fiction & Fantasy".into(), "Полицейский".into()],
        summary: Some("Line one\nline <two> & \"three\"\u{FFFF}".into()),
        series: Some(("Les Misérables & Co".into(), Some(2.5))),
        files: vec![
            file("epub", "application/epub+zip", 123_456),
            file("pdf", "application/pdf", 2_345_678),
            file("cbz", "application/vnd.comicbook+zip", 9_876_543),
        ],
        image: Some(Image::jpeg(format!("/opds/books/{id}/cover"))),
        thumbnail: Some(Image::jpeg(format!("/opds/books/{id}/thumbnail"))),
        pse: Some(Pse {
            href_template: format!("/opds/books/{id}/pages/{{pageNumber}}?width={{maxWidth}}"),
            count: 24,
            last_read: Some(3),
            last_read_date: Some(at(30)),
            media_type: media::JPEG.into(),
        }),
        self_href: Some(fmt.href(&format!("/books/{id}"))),
    }
}

/// Nothing optional set, no link to a complete entry.
fn bare_publication() -> Publication {
    Publication {
        files: vec![Acquisition {
            href: "/opds/books/1/file/epub".into(),
            media_type: "application/epub+zip".into(),
            length: None,
            title: None,
        }],
        ..Publication::new(Uuid::from_u128(1), "Untitled", at(0))
    }
}

fn acquisition_page(fmt: Format) -> Feed {
    let page = |n: i64| fmt.href(&format!("/books?page={n}"));
    let books = |r: &str, n: i64| Link::feed(r, page(n), Kind::Acquisition);
    let mut links = vec![
        books("self", 2),
        Link::feed("start", fmt.href(""), Kind::Navigation),
        Link::feed("up", fmt.href(""), Kind::Navigation),
        books("first", 1),
        books("previous", 1),
        books("next", 3),
        books("last", 3),
    ];
    links.extend(fmt.search_links());
    let facet = |query: &str| Link::feed(rel::FACET, fmt.href(query), Kind::Acquisition);
    links.extend([
        facet("/books?sort=title")
            .titled("Title")
            .facet("Sort", true),
        facet("/books?sort=new")
            .titled("Newest")
            .facet("Sort", false)
            .counted(120),
        facet("/books?lang=fr")
            .titled("Français")
            .facet("Language", false)
            .counted(7),
    ]);
    Feed {
        id: "urn:libris:books".into(),
        title: "All books".into(),
        updated: at(60),
        kind: Kind::Acquisition,
        author: author(),
        links,
        paging: Some(Paging {
            total: 120,
            per_page: 50,
            page: 2,
        }),
        entries: vec![
            Entry::Publication(rich_publication(fmt)),
            Entry::Publication(bare_publication()),
        ],
    }
}

fn empty_search(fmt: Format) -> Feed {
    Feed {
        id: "urn:libris:search".into(),
        title: "Search: nothing".into(),
        updated: at(0),
        kind: Kind::Acquisition,
        author: author(),
        links: vec![
            Link::feed("self", fmt.href("/search?q=nothing"), Kind::Acquisition),
            Link::feed("start", fmt.href(""), Kind::Navigation),
        ],
        paging: Some(Paging {
            total: 0,
            per_page: 50,
            page: 1,
        }),
        entries: vec![],
    }
}

#[test]
fn atom_navigation_root() {
    validate_atom_feed("root.xml", &atom::feed(&navigation_root(Format::Atom)));
    // Only the search template needs the tolerant schema; without it the strict one must pass.
    let mut strict = navigation_root(Format::Atom);
    strict.links.retain(|l| !l.href.contains('{'));
    let strict_file = write("root-strict.xml", &atom::feed(&strict));
    rng("v1.2/rng/opds.rng", &strict_file);
}

#[test]
fn atom_acquisition_page() {
    validate_atom_feed("books.xml", &atom::feed(&acquisition_page(Format::Atom)));
}

#[test]
fn atom_empty_feed() {
    let file = validate_atom_feed("empty.xml", &atom::feed(&empty_search(Format::Atom)));
    rng("v1.2/rng/opds.rng", &file);
}

#[test]
fn atom_entry_documents() {
    let rich = write(
        "entry.xml",
        &atom::entry_document(&rich_publication(Format::Atom), &author()),
    );
    rng("v1.2/rng-pse/opds.rng", &rich);
    let bare = write(
        "entry-bare.xml",
        &atom::entry_document(&bare_publication(), &author()),
    );
    rng("v1.2/rng/opds.rng", &bare);
}

#[test]
fn opensearch_description() {
    let osd = atom::opensearch_description(
        "Libris & Co: a very long short name",
        "Search <the> library",
        "https://libris.example/opds/search?q={searchTerms}&page={startPage?}",
    );
    rng(
        "cops-relax-ng/opensearchdescription.rng",
        &write("opensearch.xml", &osd),
    );
}

#[test]
fn json_navigation_root() {
    validate_json(
        "feed",
        "root.json",
        &json::feed(&navigation_root(Format::Json)),
    );
}

#[test]
fn json_acquisition_page() {
    validate_json(
        "feed",
        "books.json",
        &json::feed(&acquisition_page(Format::Json)),
    );
}

#[test]
fn json_empty_feed() {
    validate_json(
        "feed",
        "empty.json",
        &json::feed(&empty_search(Format::Json)),
    );
}

#[test]
fn json_publications() {
    let rich = json::publication(&rich_publication(Format::Json));
    validate_json("publication", "publication.json", &rich);
    validate_json(
        "publication",
        "publication-bare.json",
        &json::publication(&bare_publication()),
    );
}
