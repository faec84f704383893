//! Snapshots of representative documents as libris renders them from library rows (fixed
//! ids, dates and signing key, so they only change when the output does): a reviewer sees
//! every change to what reader apps receive. Each is also checked by the validators.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use libris::db::models::{Book, BookFile, BookStatus};
use libris::library::catalog::{Facet, FacetValue, Filter, List};
use libris::opds::feed::{Author, Paging};
use libris::opds::render::{self, Ctx, Flavor, LastRead, ListPage};
use libris::opds::{atom, json};
use uuid::Uuid;

use crate::validators::{validate_atom_feed, validate_json};

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 9, 30, 0).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x6c69_6272_6973_0000_0000_0000_0000_0000 | n)
}

fn ctx(flavor: Flavor) -> Ctx {
    Ctx {
        base: "https://books.example.org".into(),
        flavor,
        cover_key: Some([7; 32]),
        reading: HashMap::from([(
            id(2),
            LastRead {
                progress: "5".into(),
                device: "Kobo".into(),
                percentage: 0.4167,
                at: at(20),
            },
        )]),
    }
}

fn book(n: u128, title: &str, author: &str) -> Book {
    Book {
        id: id(n),
        status: BookStatus::Organized,
        title: Some(title.into()),
        author: Some(author.into()),
        isbn_10: None,
        isbn_13: None,
        publisher: None,
        published_year: None,
        language: None,
        description: None,
        cover_url: None,
        cover_path: None,
        page_count: None,
        series: None,
        series_index: None,
        genres: vec![],
        tags: vec![],
        hardcover_book_id: None,
        hardcover_edition_id: None,
        created_by: None,
        possible_duplicate_of: None,
        format_of: None,
        approved_at: Some(at(2)),
        created_at: at(1),
        updated_at: at(3),
    }
}

fn file(book: &Book, n: u128, format: &str, name: &str, size: i64) -> BookFile {
    BookFile {
        id: id(100 + n),
        book_id: book.id,
        format: format.into(),
        original_name: name.into(),
        storage_path: Some(format!("library/{name}")),
        inbox_path: None,
        file_size: size,
        checksum: None,
        content_hash: None,
        original_content_hash: None,
        filename_digest: None,
        created_at: at(1),
    }
}

/// A novel with everything (XML-special and non-ASCII text, two authors, two files, a
/// cover, a series), a comic the reader is half-way through, and a bare book.
fn books() -> Vec<(Book, Vec<BookFile>)> {
    let mut rich = book(
        1,
        "Le Petit <Prince> & « l'Aviateur »",
        "Antoine de Saint-Exupéry & 山田 花子",
    );
    rich.isbn_13 = Some("978-0-15-601398-7".into());
    rich.publisher = Some("Gallimard".into());
    rich.published_year = Some(1943);
    rich.language = Some("fr".into());
    rich.description = Some("A \"pilot\" meets a prince\u{1} in the desert.".into());
    rich.cover_path = Some("covers/petit-prince.jpg".into());
    rich.series = Some("Contes".into());
    rich.series_index = Some(2.0);
    rich.genres = vec![Some("Fiction".into()), Some("Conte".into())];
    let files = vec![
        file(&rich, 1, "epub", "Le Petit Prince.epub", 181_234),
        file(&rich, 2, "pdf", "Le Petit Prince.pdf", 2_345_678),
    ];
    let mut comic = book(2, "The Clockwork Harbor", "Mara Quill");
    comic.page_count = Some(12);
    comic.series = Some("Harbor Tales".into());
    comic.series_index = Some(3.0);
    let comic_files = vec![file(&comic, 3, "cbz", "Harbor Tales 003.cbz", 330_596)];
    let bare = book(3, "Notes", "Anonymous");
    let bare_files = vec![file(&bare, 4, "txt", "notes.txt", 1_024)];
    vec![(rich, files), (comic, comic_files), (bare, bare_files)]
}

/// One element per line, indented, so a snapshot's diff shows what changed. Text is written
/// back as it was read (escaped), so the snapshot still shows the escaping.
fn pretty(xml: &str) -> String {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            event => writer.write_event(event).expect("write XML"),
        }
    }
    String::from_utf8(writer.into_inner()).expect("UTF-8")
}

/// Atom and JSON of the same feed, validated, then compared with the stored snapshots.
fn check(name: &str, build: impl Fn(&Ctx) -> libris::opds::feed::Feed) {
    let atom_feed = atom::feed(&build(&ctx(Flavor::Atom)));
    validate_atom_feed(&format!("snapshot-{name}.xml"), &atom_feed);
    insta::assert_snapshot!(format!("{name}.atom"), pretty(&atom_feed));
    let json_feed = json::feed(&build(&ctx(Flavor::Json)));
    validate_json("feed", &format!("snapshot-{name}.json"), &json_feed);
    insta::assert_snapshot!(
        format!("{name}.json"),
        serde_json::to_string_pretty(&json_feed).unwrap()
    );
}

#[test]
fn root_of_a_logged_in_reader() {
    check("root", |c| render::root(c, at(3), true));
}

#[test]
fn a_middle_page_of_all_books_with_its_facets() {
    let rows = books();
    check("all-books-page-2", |c| {
        let mut feed = render::list(
            c,
            ListPage {
                id: "urn:libris:books",
                title: "All books",
                path: &render::books_path(List::Title, &Filter::default()),
                paging: Paging {
                    total: 7,
                    per_page: 3,
                    page: 2,
                },
                books: &rows,
            },
            at(3),
        );
        feed.links.extend(render::book_facets(
            c,
            List::Title,
            &Filter::default(),
            &[
                FacetValue::new(Facet::Language, "en-GB", 4, None),
                FacetValue::new(Facet::Language, "fr", 3, None),
            ],
            &[("epub".into(), 5), ("cbz".into(), 1), ("pdf".into(), 2)],
        ));
        feed
    });
}

/// Authors grouped by the initial of their sort names and listed by their names: surnames
/// first, particles and suffixes kept aside, a sort name a source gave (Le Guin), Korean names
/// under their initial consonant, Japanese ones as written.
#[test]
fn many_authors_are_grouped_by_initial() {
    let people: [(&str, Option<&str>); 12] = [
        ("Jorge {M}. Borges", None),
        ("Charlotte {M}. Brontë", None),
        ("Ludwig {M}. van Beethoven", None),
        ("Italo {M}. Calvino", None),
        ("Kenzaburō {M}. Ōe", None),
        ("Émile {M}. Zola", None),
        ("Martin {M}. King Jr.", None),
        ("Ursula {M}. Le Guin", Some("Le Guin, Ursula {M}.")),
        ("山田 花子 {M}", None),
        ("한강 {M}", None),
        ("김영하 {M}", None),
        ("ßeta {M}. Gamma", None),
    ];
    let mut values: Vec<FacetValue> = (0..120)
        .map(|i| {
            let (name, sort) = people[i % people.len()];
            let middle = char::from(b'A' + (i / people.len()) as u8).to_string();
            FacetValue::new(
                Facet::Author,
                name.replace("{M}", &middle),
                1 + (i as i64 % 4),
                sort.map(|s| s.replace("{M}", &middle)),
            )
        })
        .collect();
    libris::library::catalog::in_browsing_order(&mut values);
    check("authors-letters", |c| {
        render::facet(c, Facet::Author, &values, None, 1, 50, at(3)).unwrap()
    });
    check("authors-letter-b", |c| {
        render::facet(c, Facet::Author, &values, Some("B"), 1, 50, at(3)).unwrap()
    });
}

#[test]
fn entry_documents() {
    let rows = books();
    for (name, (book, files)) in ["entry-rich", "entry-comic"].iter().zip(&rows) {
        let atom_ctx = ctx(Flavor::Atom);
        let entry = atom::entry_document(
            &render::publication(&atom_ctx, book, files),
            &Author::new("libris"),
        );
        crate::validators::validate_entry(&format!("snapshot-{name}.xml"), &entry);
        insta::assert_snapshot!(format!("{name}.atom"), pretty(&entry));
        let publication = json::publication(&render::publication(&ctx(Flavor::Json), book, files));
        validate_json(
            "publication",
            &format!("snapshot-{name}.json"),
            &publication,
        );
        insta::assert_snapshot!(
            format!("{name}.json"),
            serde_json::to_string_pretty(&publication).unwrap()
        );
    }
}
