//! The GraphQL operations libris sends to Hardcover, and the pure readers of their answers
//! (field names as Hardcover's API and its open-source clients use them).

use serde::Serialize;
use serde_json::Value;

/// Book search (Typesense behind Hasura): `results.hits[].document`.
pub const SEARCH: &str = "query ($q: String!) { search(query: $q, query_type: \"Book\", per_page: 5, page: 1) { results } }";

/// Editions carrying any of these ISBNs, with their book.
pub const EDITIONS_BY_ISBN: &str = "query ($isbns: [String!]!) { editions(where: {_or: [{isbn_13: {_in: $isbns}}, {isbn_10: {_in: $isbns}}]}) { id book_id pages isbn_10 isbn_13 release_date publisher { name } } }";

/// The reader's shelf entries for these books, with their reads.
pub const USER_BOOKS: &str = "query ($ids: [Int!]!) { me { user_books(where: {book_id: {_in: $ids}}) { id book_id status_id edition_id edition { pages } user_book_reads(order_by: {id: asc}) { id started_at finished_at progress_pages edition_id } } } }";

pub const INSERT_USER_BOOK: &str =
    "mutation ($object: UserBookCreateInput!) { insert_user_book(object: $object) { id error } }";
pub const UPDATE_USER_BOOK: &str = "mutation ($id: Int!, $object: UserBookUpdateInput!) { update_user_book(id: $id, object: $object) { id error } }";
pub const INSERT_READ: &str = "mutation ($user_book_id: Int!, $read: DatesReadInput!) { insert_user_book_read(user_book_id: $user_book_id, user_book_read: $read) { id error } }";
pub const UPDATE_READ: &str = "mutation ($id: Int!, $read: DatesReadInput!) { update_user_book_read(id: $id, object: $read) { id error } }";

/// An integer that Hardcover may send as a number or a string (search documents use strings).
pub fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// An edition found by ISBN.
#[derive(Debug, Clone, PartialEq)]
pub struct Edition {
    pub id: i64,
    pub book_id: i64,
    pub pages: Option<i32>,
    pub isbn_10: Option<String>,
    pub isbn_13: Option<String>,
    pub publisher: Option<String>,
    pub year: Option<i32>,
}

pub fn editions(data: &Value) -> Vec<Edition> {
    let Some(list) = data["editions"].as_array() else {
        return vec![];
    };
    list.iter()
        .filter_map(|e| {
            Some(Edition {
                id: int(&e["id"])?,
                book_id: int(&e["book_id"])?,
                pages: int(&e["pages"])
                    .and_then(|p| i32::try_from(p).ok())
                    .filter(|p| *p > 0),
                isbn_10: text(&e["isbn_10"]),
                isbn_13: text(&e["isbn_13"]),
                publisher: text(&e["publisher"]["name"]),
                year: text(&e["release_date"])
                    .and_then(|d| d.get(..4).and_then(|y| y.parse().ok())),
            })
        })
        .collect()
}

/// The edition for a book's ISBNs: one matching its ISBN-13 first, then its ISBN-10.
pub fn edition_for<'a>(
    editions: &'a [Edition],
    isbn_13: Option<&str>,
    isbn_10: Option<&str>,
) -> Option<&'a Edition> {
    isbn_13
        .and_then(|i| editions.iter().find(|e| e.isbn_13.as_deref() == Some(i)))
        .or_else(|| isbn_10.and_then(|i| editions.iter().find(|e| e.isbn_10.as_deref() == Some(i))))
}

/// A read (a dated reading of a shelf entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub id: i64,
    pub finished: bool,
}

/// A reader's shelf entry on Hardcover.
#[derive(Debug, Clone, PartialEq)]
pub struct UserBook {
    pub id: i64,
    pub book_id: i64,
    pub status_id: i64,
    pub edition_id: Option<i64>,
    pub edition_pages: Option<i32>,
    /// Oldest first.
    pub reads: Vec<Read>,
}

impl UserBook {
    /// The read progress goes to: the newest one not finished.
    pub fn open_read(&self) -> Option<&Read> {
        self.reads.iter().rev().find(|r| !r.finished)
    }

    /// The read a push updates, None to start one: the one libris wrote last while it is
    /// open, else the open one; a finish goes to the one libris wrote last, else the open
    /// one, else the newest, so re-sending a finish never adds reads. Reading again after a
    /// finish starts a new read.
    pub fn read_to_update(&self, logged: Option<i64>, finishing: bool) -> Option<i64> {
        if let Some(read) = logged.and_then(|id| self.reads.iter().find(|r| r.id == id)) {
            if finishing || !read.finished {
                return Some(read.id);
            }
        }
        self.open_read()
            .or_else(|| self.reads.last().filter(|_| finishing))
            .map(|r| r.id)
    }
}

/// The user of an answer's `me`, which Hardcover gives as a list of one.
pub fn me(data: &Value) -> &Value {
    match &data["me"] {
        Value::Array(users) => users.first().unwrap_or(&Value::Null),
        other => other,
    }
}

pub fn user_books(data: &Value) -> Vec<UserBook> {
    let Some(list) = me(data)["user_books"].as_array() else {
        return vec![];
    };
    list.iter()
        .filter_map(|u| {
            Some(UserBook {
                id: int(&u["id"])?,
                book_id: int(&u["book_id"])?,
                status_id: int(&u["status_id"])?,
                edition_id: int(&u["edition_id"]),
                edition_pages: int(&u["edition"]["pages"])
                    .and_then(|p| i32::try_from(p).ok())
                    .filter(|p| *p > 0),
                reads: u["user_book_reads"]
                    .as_array()
                    .map(|reads| {
                        reads
                            .iter()
                            .filter_map(|r| {
                                Some(Read {
                                    id: int(&r["id"])?,
                                    finished: !r["finished_at"].is_null(),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The id a mutation answered with; its `error` as an error.
pub fn mutation_id(data: &Value, field: &str) -> Result<i64, String> {
    let answer = &data[field];
    if let Some(error) = text(&answer["error"]) {
        return Err(error.chars().take(300).collect());
    }
    int(&answer["id"])
        .or_else(|| int(&answer["user_book"]["id"]))
        .or_else(|| int(&answer["user_book_read"]["id"]))
        .ok_or_else(|| format!("{field} answered without an id"))
}

/// What libris knows of a book it looks up.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub title: Option<String>,
    pub author: Option<String>,
    pub isbn_13: Option<String>,
    pub isbn_10: Option<String>,
}

impl Lookup {
    /// What to search for: an ISBN when there is one, else "title author".
    pub fn query(&self) -> Option<String> {
        if let Some(isbn) = self.isbn_13.as_ref().or(self.isbn_10.as_ref()) {
            return Some(isbn.clone());
        }
        let words: Vec<&str> = [self.title.as_deref(), self.author.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        (!words.is_empty()).then(|| words.join(" "))
    }
}

/// A Hardcover proposal in the fields of a book edit (book_metadata_candidates.normalized).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Proposal {
    pub title: Option<String>,
    pub author: Option<String>,
    pub isbn_13: Option<String>,
    pub isbn_10: Option<String>,
    pub publisher: Option<String>,
    pub published_year: Option<i32>,
    pub description: Option<String>,
    pub page_count: Option<i32>,
    pub series: Option<String>,
    pub series_index: Option<f32>,
    pub cover_url: Option<String>,
    pub hardcover_book_id: Option<i64>,
    pub hardcover_edition_id: Option<i64>,
}

fn is_isbn13(s: &str) -> bool {
    s.len() == 13 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_isbn10(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[..9].iter().all(u8::is_ascii_digit)
        && matches!(b[9], b'0'..=b'9' | b'X' | b'x')
}

/// Letters and digits, lower-cased: how titles are compared.
fn folded(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The best of a search's hits as a proposal, with its confidence (0–1): rank gives up to
/// 0.6 (first hit 0.6, each later one 0.1 less), the book's ISBN among the hit's 0.35, and
/// the same title 0.05 more. A hit carrying the book's ISBN beats better-ranked ones.
pub fn best_hit(book: &Lookup, results: &Value) -> Option<(Proposal, f64, usize)> {
    let hits = results["hits"].as_array()?;
    let isbns: Vec<&str> = [book.isbn_13.as_deref(), book.isbn_10.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let title = book.title.as_deref().map(folded);
    hits.iter()
        .enumerate()
        .filter_map(|(rank, hit)| {
            let doc = &hit["document"];
            let id = int(&doc["id"])?;
            let hit_isbns: Vec<String> = doc["isbns"]
                .as_array()
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default();
            let agrees = isbns.iter().any(|i| hit_isbns.iter().any(|h| h == i));
            let same_title = title.is_some() && text(&doc["title"]).map(|t| folded(&t)) == title;
            let confidence = (0.6 - 0.1 * rank as f64).max(0.1)
                + if agrees { 0.35 } else { 0.0 }
                + if same_title { 0.05 } else { 0.0 };
            let isbn_13 = book
                .isbn_13
                .clone()
                .filter(|_| agrees)
                .or_else(|| hit_isbns.iter().find(|i| is_isbn13(i)).cloned());
            let isbn_10 = book
                .isbn_10
                .clone()
                .filter(|i| hit_isbns.contains(i))
                .or_else(|| hit_isbns.iter().find(|i| is_isbn10(i)).cloned());
            let authors: Vec<String> = doc["author_names"]
                .as_array()
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default();
            let series = &doc["featured_series"];
            let proposal = Proposal {
                title: text(&doc["title"]),
                author: (!authors.is_empty()).then(|| authors.join(" & ")),
                isbn_13,
                isbn_10,
                publisher: None,
                published_year: int(&doc["release_year"]).and_then(|y| i32::try_from(y).ok()),
                description: text(&doc["description"]),
                page_count: int(&doc["pages"])
                    .and_then(|p| i32::try_from(p).ok())
                    .filter(|p| *p > 0),
                series: text(&series["series"]["name"]).or_else(|| {
                    doc["series_names"]
                        .as_array()
                        .and_then(|a| a.iter().find_map(text))
                }),
                series_index: series["position"].as_f64().map(|p| p as f32),
                cover_url: text(&doc["image"]["url"]),
                hardcover_book_id: Some(id),
                hardcover_edition_id: None,
            };
            Some((proposal, confidence.min(1.0), rank))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.2.cmp(&a.2)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hit(id: &str, title: &str, isbns: &[&str]) -> Value {
        json!({ "document": {
            "id": id, "title": title, "author_names": ["Ursula K. Le Guin"], "isbns": isbns,
            "release_year": 1969, "pages": 304, "description": "Genly Ai on Gethen.",
            "image": { "url": "https://assets.hardcover.app/b/1.jpg" },
            "featured_series": { "position": 4, "series": { "name": "Hainish Cycle" } }
        }})
    }

    #[test]
    fn the_query_is_the_isbn_else_title_and_author() {
        let mut book = Lookup {
            title: Some("The Left Hand of Darkness".into()),
            author: Some("Ursula K. Le Guin".into()),
            ..Lookup::default()
        };
        assert_eq!(
            book.query().as_deref(),
            Some("The Left Hand of Darkness Ursula K. Le Guin")
        );
        book.isbn_10 = Some("0441478123".into());
        assert_eq!(book.query().as_deref(), Some("0441478123"));
        book.isbn_13 = Some("9780441478125".into());
        assert_eq!(book.query().as_deref(), Some("9780441478125"));
        assert_eq!(Lookup::default().query(), None);
    }

    #[test]
    fn odd_isbns_are_not_isbns() {
        assert!(is_isbn10("044147812X") && is_isbn13("9780441478125"));
        for odd in ["12345678é", "1234567890123é", "ééééé", "", "978044147812"] {
            assert!(!is_isbn10(odd) && !is_isbn13(odd), "{odd}");
        }
    }

    #[test]
    fn an_isbn_agreement_beats_rank() {
        let book = Lookup {
            title: Some("The Left Hand of Darkness".into()),
            isbn_13: Some("9780441478125".into()),
            ..Lookup::default()
        };
        let results = json!({ "hits": [
            hit("11", "The Left Hand of Darkness (Graphic)", &["9999999999999"]),
            hit("12", "The Left Hand of Darkness", &["9780441478125", "0441478123"]),
        ]});
        let (p, confidence, rank) = best_hit(&book, &results).unwrap();
        assert_eq!((p.hardcover_book_id, rank), (Some(12), 1));
        assert!((confidence - 0.9).abs() < 1e-9, "{confidence}");
        assert_eq!(p.isbn_13.as_deref(), Some("9780441478125"));
        assert_eq!(p.isbn_10.as_deref(), Some("0441478123"));
        assert_eq!(p.series.as_deref(), Some("Hainish Cycle"));
        assert_eq!(p.series_index, Some(4.0));
        assert_eq!(p.published_year, Some(1969));
        assert_eq!(p.author.as_deref(), Some("Ursula K. Le Guin"));

        let no_isbn = Lookup {
            isbn_13: None,
            ..book
        };
        let (p, confidence, _) = best_hit(&no_isbn, &results).unwrap();
        assert_eq!(
            p.hardcover_book_id,
            Some(11),
            "without an ISBN, rank decides"
        );
        assert!((confidence - 0.6).abs() < 1e-9, "{confidence}");
        assert_eq!(best_hit(&no_isbn, &json!({ "hits": [] })), None);
        assert_eq!(best_hit(&no_isbn, &json!(null)), None);
    }

    #[test]
    fn editions_match_isbn_13_then_10() {
        let data = json!({ "editions": [
            { "id": 1, "book_id": 7, "pages": 0, "isbn_10": "0441478123", "isbn_13": null },
            { "id": 2, "book_id": 7, "pages": 304, "isbn_13": "9780441478125",
              "release_date": "2000-07-01", "publisher": { "name": "Ace" } },
            { "id": "x", "book_id": 7 },
        ]});
        let all = editions(&data);
        assert_eq!(all.len(), 2, "an edition without a numeric id is skipped");
        assert_eq!(all[0].pages, None, "zero pages is unknown");
        let e = edition_for(&all, Some("9780441478125"), Some("0441478123")).unwrap();
        assert_eq!((e.id, e.pages, e.year), (2, Some(304), Some(2000)));
        assert_eq!(e.publisher.as_deref(), Some("Ace"));
        assert_eq!(
            edition_for(&all, Some("978"), Some("0441478123"))
                .unwrap()
                .id,
            1
        );
        assert_eq!(edition_for(&all, None, None), None);
    }

    #[test]
    fn shelf_entries_and_mutations() {
        let data = json!({ "me": [{ "user_books": [
            { "id": 5, "book_id": 7, "status_id": 2, "edition_id": 2, "edition": { "pages": 304 },
              "user_book_reads": [
                { "id": 1, "finished_at": "2020-01-01" }, { "id": 3, "finished_at": null } ] },
            { "id": 6, "book_id": 8, "status_id": 5, "edition_id": null, "user_book_reads": [] },
        ]}]});
        let books = user_books(&data);
        assert_eq!(books.len(), 2);
        assert_eq!(books[0].open_read().map(|r| r.id), Some(3));
        assert_eq!(books[0].edition_pages, Some(304));
        assert_eq!(books[1].open_read(), None);
        let ub = &books[0];
        assert_eq!(ub.read_to_update(Some(3), false), Some(3));
        assert_eq!(
            ub.read_to_update(Some(1), false),
            Some(3),
            "a finished read is not reopened"
        );
        assert_eq!(
            ub.read_to_update(Some(1), true),
            Some(1),
            "a finish goes where it went"
        );
        assert_eq!(ub.read_to_update(None, true), Some(3));
        let done = UserBook {
            reads: vec![Read {
                id: 1,
                finished: true,
            }],
            ..ub.clone()
        };
        assert_eq!(
            done.read_to_update(None, true),
            Some(1),
            "no second read for a finish"
        );
        assert_eq!(
            done.read_to_update(Some(1), false),
            None,
            "reading again: a new read"
        );
        assert_eq!(books[1].read_to_update(None, true), None);
        assert_eq!(
            mutation_id(
                &json!({ "insert_user_book": { "id": 9, "error": null } }),
                "insert_user_book"
            ),
            Ok(9)
        );
        assert_eq!(
            mutation_id(
                &json!({ "insert_user_book": { "id": null, "error": "Book not found" } }),
                "insert_user_book"
            ),
            Err("Book not found".into())
        );
        assert!(mutation_id(&json!({}), "update_user_book").is_err());
    }
}
