//! Notes as KOReader's Exporter sends them to a Nextcloud Notes server (libris's Notes API):
//! kept as sent, listed by category, updated by id. A note whose content is the Exporter's
//! Markdown is read into highlights (`annotations`) in the same transaction; any other note is
//! kept as it is.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use libris_formats::koreader_highlights::parse_markdown;
use uuid::Uuid;

use super::annotations::{self, Source};
use crate::db::schema::export_notes as en;
use crate::error::Error;

/// The largest note kept (a book's highlights fit many times over).
pub const MAX_CONTENT: usize = 2 * 1024 * 1024;
const MAX_TITLE: usize = 1_000;
/// Notes a reader may keep (the Exporter makes one a book).
pub const MAX_NOTES: i64 = 10_000;
const MAX_CATEGORY: usize = 200;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = en)]
pub struct Note {
    pub id: i64,
    pub title: String,
    pub content: String,
    pub category: String,
    pub favorite: bool,
    pub modified: DateTime<Utc>,
}

impl Note {
    /// Nextcloud's etag of a note: what changes when the note does.
    pub fn etag(&self) -> String {
        crate::auth::md5_hex(&format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.title,
            self.content,
            self.category,
            self.favorite,
            self.modified.timestamp_micros()
        ))
    }
}

/// A note as sent: any field may be left out.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub title: Option<String>,
    pub content: Option<String>,
    pub category: Option<String>,
    pub favorite: Option<bool>,
}

impl Change {
    /// The limits of a note's fields.
    pub fn check(&self) -> Result<(), Error> {
        if self.content.as_ref().is_some_and(|c| c.len() > MAX_CONTENT) {
            return Err(Error::invalid("content", "longer than 2 MiB"));
        }
        if self
            .title
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TITLE)
        {
            return Err(Error::invalid("title", "longer than 1,000 characters"));
        }
        if self
            .category
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_CATEGORY)
        {
            return Err(Error::invalid("category", "longer than 200 characters"));
        }
        let nul = |s: &Option<String>| s.as_ref().is_some_and(|s| s.contains('\0'));
        if nul(&self.title) || nul(&self.content) || nul(&self.category) {
            return Err(Error::invalid("content", "holds a NUL character"));
        }
        Ok(())
    }
}

/// A title for a note sent without one: its first line, as Nextcloud does.
fn title_from(content: &str) -> String {
    let first = content
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .find(|l| !l.is_empty())
        .unwrap_or("New note");
    first.chars().take(100).collect()
}

pub fn list(
    conn: &mut PgConnection,
    reader: Uuid,
    category: Option<&str>,
) -> Result<Vec<Note>, Error> {
    let mut q = en::table
        .filter(en::api_key_id.eq(reader))
        .select(Note::as_select())
        .into_boxed();
    if let Some(c) = category {
        q = q.filter(en::category.eq(c.to_owned()));
    }
    Ok(q.order(en::id).load(conn)?)
}

pub fn get(conn: &mut PgConnection, reader: Uuid, id: i64) -> Result<Note, Error> {
    en::table
        .filter(en::api_key_id.eq(reader).and(en::id.eq(id)))
        .select(Note::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such note".into()))
}

/// Reads the note's content into highlights, when it is the Exporter's Markdown.
fn read_highlights(conn: &mut PgConnection, reader: Uuid, note: &Note) -> Result<(), Error> {
    if let Ok(book) = parse_markdown(&note.content) {
        if !book.highlights.is_empty() {
            annotations::store(conn, reader, Source::Notes, std::slice::from_ref(&book))?;
        }
    }
    Ok(())
}

pub fn create(conn: &mut PgConnection, reader: Uuid, change: Change) -> Result<Note, Error> {
    change.check()?;
    let content = change.content.unwrap_or_default();
    let title = change
        .title
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| title_from(&content));
    conn.transaction(|conn| {
        let held: i64 = en::table
            .filter(en::api_key_id.eq(reader))
            .count()
            .get_result(conn)?;
        if held >= MAX_NOTES {
            return Err(Error::invalid(
                "notes",
                "you keep 10,000 notes: delete some first",
            ));
        }
        let note = diesel::insert_into(en::table)
            .values((
                en::api_key_id.eq(reader),
                en::title.eq(title),
                en::content.eq(content),
                en::category.eq(change.category.unwrap_or_default()),
                en::favorite.eq(change.favorite.unwrap_or(false)),
            ))
            .returning(Note::as_returning())
            .get_result(conn)?;
        read_highlights(conn, reader, &note)?;
        Ok(note)
    })
}

pub fn update(
    conn: &mut PgConnection,
    reader: Uuid,
    id: i64,
    change: Change,
) -> Result<Note, Error> {
    change.check()?;
    conn.transaction(|conn| {
        let old = get(conn, reader, id)?;
        let note = diesel::update(en::table.filter(en::id.eq(old.id)))
            .set((
                en::title.eq(change.title.unwrap_or(old.title)),
                en::content.eq(change.content.unwrap_or(old.content)),
                en::category.eq(change.category.unwrap_or(old.category)),
                en::favorite.eq(change.favorite.unwrap_or(old.favorite)),
                en::modified.eq(diesel::dsl::now),
            ))
            .returning(Note::as_returning())
            .get_result(conn)?;
        read_highlights(conn, reader, &note)?;
        Ok(note)
    })
}

/// Deletes a note (the highlights read from it stay: they are the reader's).
pub fn delete(conn: &mut PgConnection, reader: Uuid, id: i64) -> Result<(), Error> {
    match diesel::delete(en::table.filter(en::api_key_id.eq(reader).and(en::id.eq(id))))
        .execute(conn)?
    {
        0 => Err(Error::NotFound("no such note".into())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untitled_notes_take_their_first_line() {
        assert_eq!(title_from("\n# Example Book\n##### Jane"), "Example Book");
        assert_eq!(title_from(""), "New note");
    }

    #[test]
    fn fields_are_bounded() {
        let ok = Change {
            title: Some("Jane Doe - Example Book".into()),
            content: Some("# x".into()),
            ..Change::default()
        };
        assert!(ok.check().is_ok());
        let long = Change {
            content: Some("x".repeat(MAX_CONTENT + 1)),
            ..Change::default()
        };
        assert!(long.check().is_err());
        let nul = Change {
            title: Some("a\0b".into()),
            ..Change::default()
        };
        assert!(nul.check().is_err());
    }
}
