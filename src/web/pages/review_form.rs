//! The review form's fields: what each shows (the book's value, a candidate's value) and how
//! a posted form becomes approve's `fields` (`library::review::approve`): per field, the
//! picked candidate's value (`{"candidate": id}`) or the typed one, each typed value checked
//! by the same validation as `PATCH /api/books/{id}` (`BookEdit::validate`) so that every
//! wrong field is named at once.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::db::models::{Book, Candidate};
use crate::library::edit::BookEdit;
use crate::web::form::{Errors, Form};

/// The fields of the review table, in order, with their labels (`library::edit::FIELDS`).
pub const FIELDS: &[(&str, &str)] = &[
    ("title", "Title"),
    ("author", "Author"),
    ("series", "Series"),
    ("series_index", "Number in series"),
    ("published_year", "Year"),
    ("publisher", "Publisher"),
    ("language", "Language"),
    ("isbn_13", "ISBN-13"),
    ("isbn_10", "ISBN-10"),
    ("page_count", "Pages"),
    ("genres", "Genres"),
    ("tags", "Tags"),
    ("description", "Description"),
];

/// The value a pick radio of the file's own reading carries.
pub const FILE: &str = "file";
/// The value of the radio that keeps what is typed.
pub const TYPED: &str = "typed";

fn list(items: &[Option<String>]) -> String {
    items
        .iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number as a person types it: 3, not 3.0.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The book's current value of a field, as its text input shows it.
pub fn current(book: &Book, field: &str) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    match field {
        "title" => text(&book.title),
        "author" => text(&book.author),
        "series" => text(&book.series),
        "series_index" => book
            .series_index
            .map(|n| number(n as f64))
            .unwrap_or_default(),
        "published_year" => book
            .published_year
            .map(|y| y.to_string())
            .unwrap_or_default(),
        "publisher" => text(&book.publisher),
        "language" => text(&book.language),
        "isbn_13" => text(&book.isbn_13),
        "isbn_10" => text(&book.isbn_10),
        "page_count" => book.page_count.map(|n| n.to_string()).unwrap_or_default(),
        "genres" => list(&book.genres),
        "tags" => list(&book.tags),
        "description" => text(&book.description),
        _ => String::new(),
    }
}

/// A candidate's value of a field as text; `None` when it proposes nothing for it.
pub fn proposed(candidate: &Candidate, field: &str) -> Option<String> {
    let shown = match candidate.normalized.get(field)? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.as_f64().map(number)?,
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => return None,
    };
    (!shown.is_empty()).then_some(shown)
}

/// The candidate holding the file's own reading of itself (the first, when files merged).
pub fn file_candidate(candidates: &[Candidate]) -> Option<&Candidate> {
    candidates
        .iter()
        .find(|c| c.source == "file")
        .or_else(|| candidates.iter().find(|c| c.source == "calibre"))
}

/// What the pick radio of a candidate's cell carries.
pub fn pick_value(candidates: &[Candidate], candidate: &Candidate) -> String {
    match file_candidate(candidates) {
        Some(f) if f.id == candidate.id => FILE.to_owned(),
        _ => candidate.id.to_string(),
    }
}

/// A typed value as approve's JSON wants it, or why it cannot be.
fn typed_value(field: &str, typed: &str) -> Result<Value, String> {
    let typed = typed.trim();
    match field {
        "published_year" | "page_count" => typed
            .parse::<i32>()
            .map(Value::from)
            .map_err(|_| "must be a whole number".to_owned()),
        "series_index" => typed
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Value::from)
            .ok_or_else(|| "must be a number, like 2 or 2.5".to_owned()),
        "genres" | "tags" => Ok(Value::from(
            typed
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>(),
        )),
        _ => Ok(Value::from(typed)),
    }
}

/// Approve's `fields` from a posted review form, and what is wrong with it, field by field.
/// A typed value equal to the book's current one, or absent, is left out (unchanged).
pub fn fields(
    form: &Form,
    book: &Book,
    candidates: &[Candidate],
    this_year: i32,
) -> (Map<String, Value>, Errors) {
    let mut out = Map::new();
    let mut errors = Errors::default();
    for &(field, _) in FIELDS {
        let pick = form.get(&format!("pick_{field}"));
        let candidate = match pick {
            "" | TYPED => None,
            FILE => file_candidate(candidates).map(|c| c.id),
            id => match id.parse::<Uuid>() {
                Ok(id) if candidates.iter().any(|c| c.id == id) => Some(id),
                _ => {
                    errors.add(field, "that choice is not one of this book's proposals");
                    continue;
                }
            },
        };
        if let Some(id) = candidate {
            out.insert(field.into(), json!({ "candidate": id }));
            continue;
        }
        // A field the form did not send is left as it is, never cleared.
        let typed = form.get(field);
        if !form.has(field) || typed.trim() == current(book, field) {
            continue;
        }
        if typed.trim().is_empty()
            && matches!(field, "published_year" | "page_count" | "series_index")
        {
            errors.add(field, "cannot be emptied here; type a number");
            continue;
        }
        let value = match typed_value(field, typed) {
            Ok(v) => v,
            Err(why) => {
                errors.add(field, why);
                continue;
            }
        };
        let one = Map::from_iter([(field.to_owned(), value.clone())]);
        let checked = serde_json::from_value::<BookEdit>(Value::Object(one))
            .map_err(|e| crate::error::Error::invalid(field, e.to_string()))
            .and_then(|edit| edit.validate(this_year));
        match checked {
            Ok(_) => {
                out.insert(field.into(), value);
            }
            Err(crate::error::Error::Invalid { reason, .. }) => errors.add(field, reason),
            Err(e) => errors.add(field, e.to_string()),
        }
    }
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_are_numbers_or_named_errors() {
        assert_eq!(typed_value("published_year", " 1999 "), Ok(json!(1999)));
        assert!(typed_value("published_year", "19x9").is_err());
        assert!(typed_value("page_count", "99999999999").is_err());
        assert_eq!(typed_value("series_index", "2.5"), Ok(json!(2.5)));
        assert!(typed_value("series_index", "NaN").is_err());
        assert_eq!(typed_value("genres", "a, ,b"), Ok(json!(["a", "b"])));
        assert_eq!(typed_value("title", " T "), Ok(json!("T")));
    }

    #[test]
    fn numbers_read_as_typed() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1.5), "1.5");
    }
}
