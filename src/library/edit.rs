//! Metadata edits (PATCH and approve): one validated shape, applied in one statement.

use diesel::prelude::*;
use libris_formats::{clean, isbn, lang};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::books;
use crate::error::Error;

/// Fields a person may set. Absent: unchanged. An empty string (or empty list) clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BookEdit {
    pub title: Option<String>,
    /// Several authors as "A & B".
    pub author: Option<String>,
    pub isbn_10: Option<String>,
    pub isbn_13: Option<String>,
    pub publisher: Option<String>,
    pub published_year: Option<i32>,
    /// BCP 47, e.g. "en", "pt-BR".
    pub language: Option<String>,
    pub description: Option<String>,
    pub page_count: Option<i32>,
    pub series: Option<String>,
    pub series_index: Option<f32>,
    pub genres: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
}

/// Names of the editable fields, for "take field X from candidate Y".
pub const FIELDS: &[&str] = &[
    "title",
    "author",
    "isbn_10",
    "isbn_13",
    "publisher",
    "published_year",
    "language",
    "description",
    "page_count",
    "series",
    "series_index",
    "genres",
    "tags",
];

/// What an edit writes: `Some(None)` clears a column.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = books)]
pub struct Changes {
    pub title: Option<Option<String>>,
    pub author: Option<Option<String>>,
    pub isbn_10: Option<Option<String>>,
    pub isbn_13: Option<Option<String>>,
    pub publisher: Option<Option<String>>,
    pub published_year: Option<Option<i32>>,
    pub language: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub page_count: Option<Option<i32>>,
    pub series: Option<Option<String>>,
    pub series_index: Option<Option<f32>>,
    pub genres: Option<Vec<Option<String>>>,
    pub tags: Option<Vec<Option<String>>>,
}

fn text(
    value: Option<String>,
    field: &'static str,
    max: usize,
) -> Result<Option<Option<String>>, Error> {
    value
        .map(|v| {
            let v = clean::collapse_whitespace(&v);
            if v.chars().count() > max {
                return Err(Error::invalid(field, format!("at most {max} characters")));
            }
            Ok((!v.is_empty()).then_some(v))
        })
        .transpose()
}

fn list(
    value: Option<Vec<String>>,
    field: &'static str,
) -> Result<Option<Vec<Option<String>>>, Error> {
    value
        .map(|items| {
            if items.len() > 100 {
                return Err(Error::invalid(field, "at most 100 entries"));
            }
            let mut out: Vec<Option<String>> = Vec::new();
            for item in items {
                let item = clean::collapse_whitespace(&item);
                if item.chars().count() > 200 {
                    return Err(Error::invalid(field, "entries of at most 200 characters"));
                }
                if !item.is_empty() && !out.contains(&Some(item.clone())) {
                    out.push(Some(item));
                }
            }
            Ok(out)
        })
        .transpose()
}

/// An ISBN as typed (hyphens, spaces, a lower-case x) checked and kept compact.
fn isbn_field(
    value: Option<String>,
    field: &'static str,
    kind: &str,
    valid: fn(&str) -> bool,
) -> Result<Option<Option<String>>, Error> {
    match text(value, field, 20)? {
        Some(Some(typed)) => {
            let compact: String = typed
                .chars()
                .filter(|c| !matches!(c, '-' | ' '))
                .collect::<String>()
                .to_uppercase();
            if valid(&compact) {
                Ok(Some(Some(compact)))
            } else {
                Err(Error::invalid(
                    field,
                    format!("not a valid {kind} (check digit)"),
                ))
            }
        }
        other => Ok(other),
    }
}

impl BookEdit {
    /// Validates every field (ISBN check digits, year range, BCP 47 language) and turns
    /// the edit into column changes. Nothing is written when any field is wrong.
    pub fn validate(self, this_year: i32) -> Result<Changes, Error> {
        let isbn_10 = isbn_field(self.isbn_10, "isbn_10", "ISBN-10", isbn::valid_isbn10)?;
        let isbn_13 = isbn_field(self.isbn_13, "isbn_13", "ISBN-13", isbn::valid_isbn13)?;
        if let Some(year) = self.published_year {
            if !(1..=this_year + 1).contains(&year) {
                return Err(Error::invalid(
                    "published_year",
                    format!("must be from 1 to {}", this_year + 1),
                ));
            }
        }
        if let Some(pages) = self.page_count {
            if !(1..=100_000).contains(&pages) {
                return Err(Error::invalid("page_count", "must be from 1 to 100000"));
            }
        }
        if let Some(index) = self.series_index {
            if !index.is_finite() || !(0.0..=100_000.0).contains(&index) {
                return Err(Error::invalid(
                    "series_index",
                    "must be a number from 0 to 100000",
                ));
            }
        }
        let language = text(self.language, "language", 35)?
            .map(|v| {
                v.map(|tag| {
                    if lang::valid_language_tag(&tag) {
                        Ok(tag)
                    } else {
                        Err(Error::invalid(
                            "language",
                            "not a BCP 47 language tag (e.g. en, pt-BR)",
                        ))
                    }
                })
                .transpose()
            })
            .transpose()?;
        Ok(Changes {
            title: text(self.title, "title", 1000)?,
            author: text(self.author, "author", 1000)?,
            isbn_10,
            isbn_13,
            publisher: text(self.publisher, "publisher", 500)?,
            published_year: self.published_year.map(Some),
            language,
            description: self
                .description
                .map(|d| {
                    let d = d.trim().to_owned();
                    if d.len() > 100_000 {
                        return Err(Error::invalid("description", "at most 100000 bytes"));
                    }
                    Ok((!d.is_empty()).then_some(d))
                })
                .transpose()?,
            page_count: self.page_count.map(Some),
            series: text(self.series, "series", 500)?,
            series_index: self.series_index.map(Some),
            genres: list(self.genres, "genres")?,
            tags: list(self.tags, "tags")?,
        })
    }
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.author.is_none()
            && self.isbn_10.is_none()
            && self.isbn_13.is_none()
            && self.publisher.is_none()
            && self.published_year.is_none()
            && self.language.is_none()
            && self.description.is_none()
            && self.page_count.is_none()
            && self.series.is_none()
            && self.series_index.is_none()
            && self.genres.is_none()
            && self.tags.is_none()
    }
}

/// Applies validated changes to a book that exists (NotFound otherwise), in one transaction
/// with the check.
pub fn apply_to_book(conn: &mut PgConnection, id: Uuid, changes: &Changes) -> Result<(), Error> {
    conn.transaction(|conn| {
        super::books::visible(conn, id, true)?;
        apply(conn, id, changes)
    })
}

/// Applies validated changes. A (series, series_index) already used by another book is a
/// conflict the caller can fix.
pub fn apply(conn: &mut PgConnection, id: Uuid, changes: &Changes) -> Result<(), Error> {
    if changes.is_empty() {
        return Ok(());
    }
    diesel::update(books::table.find(id))
        .set(changes)
        .execute(conn)
        .map_err(|e| match &e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                info,
            ) if info.constraint_name() == Some("books_series_index_key") => {
                Error::Conflict("another book already has this series and series_index".into())
            }
            _ => e.into(),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let bad = |e: BookEdit| e.validate(2026).unwrap_err().to_string();
        assert!(bad(BookEdit {
            isbn_13: Some("9780000000000".into()),
            ..Default::default()
        })
        .contains("isbn_13"));
        assert!(bad(BookEdit {
            isbn_10: Some("1558608321".into()),
            ..Default::default()
        })
        .contains("isbn_10"));
        assert!(bad(BookEdit {
            published_year: Some(2100),
            ..Default::default()
        })
        .contains("published_year"));
        assert!(bad(BookEdit {
            language: Some("english!".into()),
            ..Default::default()
        })
        .contains("language"));
        assert!(bad(BookEdit {
            series_index: Some(f32::NAN),
            ..Default::default()
        })
        .contains("series_index"));
    }

    #[test]
    fn valid_edits_are_normalised() {
        let c = BookEdit {
            title: Some("  A   Title ".into()),
            isbn_13: Some("978-3-16-148410-0".into()),
            isbn_10: Some("155860832x".into()),
            publisher: Some("".into()),
            genres: Some(vec!["a".into(), "a".into(), " ".into(), "b".into()]),
            ..Default::default()
        }
        .validate(2026)
        .unwrap();
        assert_eq!(c.title, Some(Some("A Title".into())));
        assert_eq!(c.isbn_13, Some(Some("9783161484100".into())));
        assert_eq!(c.isbn_10, Some(Some("155860832X".into())));
        assert_eq!(c.publisher, Some(None), "an empty string clears");
        assert_eq!(c.genres, Some(vec![Some("a".into()), Some("b".into())]));
        assert!(c.author.is_none());
    }
}
