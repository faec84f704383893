//! A reader's highlights and notes, from KOReader's Exporter (Nextcloud notes and JSON
//! exports, parsed by `libris_formats::koreader_highlights`): stored once per highlight
//! (a re-export updates its row: see the migration's `fingerprint`), linked to a book by the
//! file's name digest, else by title and authors (the one organized book with both), else
//! listed to be linked by hand; read back per book, across books, and as Markdown.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use libris_formats::koreader_highlights::BookHighlights;
use uuid::Uuid;

use crate::db::schema::annotations as an;
use crate::error::Error;

/// Where highlights came from (the `source` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The Notes API (KOReader's Nextcloud target).
    Notes,
    /// A JSON export uploaded over WebDAV.
    Json,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Notes => "notes",
            Source::Json => "json",
        }
    }
}

/// What storing an export did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stored {
    pub highlights: usize,
    /// Books of the export that found their book in the library.
    pub books_linked: usize,
    pub books_unlinked: usize,
}

fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The key of a highlight across re-exports (and across the Markdown and JSON exports of it).
pub fn fingerprint(title: &str, authors: &str, page: Option<&str>, text: &str) -> String {
    crate::auth::sha256_hex(
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            norm(title),
            norm(authors),
            page.unwrap_or(""),
            norm(text)
        )
        .as_bytes(),
    )
}

#[derive(QueryableByName)]
struct BookId {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    id: Option<Uuid>,
}

/// The book an export's book is: its file's name (KOReader's filename digest, through the
/// document links), else the one organized book with its title and authors.
fn book_of(conn: &mut PgConnection, book: &BookHighlights) -> Result<Option<Uuid>, Error> {
    if let Some(file) = &book.file {
        let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let digest = crate::auth::md5_hex(name);
        let found: BookId = diesel::sql_query("SELECT (libris_document_book($1)).book_id AS id")
            .bind::<Text, _>(&digest)
            .get_result(conn)?;
        if found.id.is_some() {
            return Ok(found.id);
        }
    }
    let found: BookId = diesel::sql_query(
        "SELECT (SELECT min(b.id::text)::uuid FROM books b WHERE b.status = 'organized'
            AND libris_norm(b.title) = libris_norm($1) AND libris_norm(b.author) = libris_norm($2)
            HAVING count(*) = 1) AS id",
    )
    .bind::<Text, _>(&book.title)
    .bind::<Text, _>(&book.authors)
    .get_result(conn)?;
    Ok(found.id)
}

/// Stores an export's highlights for `reader` (part of the caller's transaction). A highlight
/// exported again updates its note, chapter and style; a book linked by hand stays so.
pub fn store(
    conn: &mut PgConnection,
    reader: Uuid,
    source: Source,
    books: &[BookHighlights],
) -> Result<Stored, Error> {
    let mut stored = Stored::default();
    for book in books {
        let book_id = book_of(conn, book)?;
        if book_id.is_some() {
            stored.books_linked += 1;
        } else {
            stored.books_unlinked += 1;
        }
        for h in &book.highlights {
            let print = fingerprint(&book.title, &book.authors, h.page.as_deref(), &h.text);
            diesel::insert_into(an::table)
                .values((
                    an::api_key_id.eq(reader),
                    an::book_id.eq(book_id),
                    an::book_title.eq(&book.title),
                    an::book_authors.eq(&book.authors),
                    an::chapter.eq(&h.chapter),
                    an::page.eq(&h.page),
                    an::text.eq(&h.text),
                    an::note.eq(&h.note),
                    an::drawer.eq(&h.drawer),
                    an::color.eq(&h.color),
                    an::highlighted_at.eq(h.time),
                    an::source.eq(source.as_str()),
                    an::fingerprint.eq(&print),
                ))
                .on_conflict((an::api_key_id, an::fingerprint))
                .do_update()
                .set((
                    an::book_id.eq(diesel::dsl::sql::<Nullable<SqlUuid>>(
                        "coalesce(annotations.book_id, excluded.book_id)",
                    )),
                    an::chapter.eq(diesel::dsl::sql::<Nullable<Text>>(
                        "coalesce(excluded.chapter, annotations.chapter)",
                    )),
                    an::note.eq(&h.note),
                    an::drawer.eq(diesel::dsl::sql::<Nullable<Text>>(
                        "coalesce(excluded.drawer, annotations.drawer)",
                    )),
                    an::color.eq(diesel::dsl::sql::<Nullable<Text>>(
                        "coalesce(excluded.color, annotations.color)",
                    )),
                    an::highlighted_at.eq(diesel::dsl::sql::<
                        Nullable<diesel::sql_types::Timestamptz>,
                    >(
                        "coalesce(annotations.highlighted_at, excluded.highlighted_at)",
                    )),
                    an::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
            stored.highlights += 1;
        }
    }
    Ok(stored)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = an)]
pub struct Annotation {
    pub id: Uuid,
    pub book_id: Option<Uuid>,
    pub book_title: String,
    pub book_authors: String,
    pub chapter: Option<String>,
    /// As KOReader names it: a number, or a page label.
    pub page: Option<String>,
    pub text: String,
    pub note: Option<String>,
    /// KOReader's highlight style: lighten, underscore, strikeout, invert.
    pub drawer: Option<String>,
    pub color: Option<String>,
    pub highlighted_at: Option<DateTime<Utc>>,
    /// notes (the Notes API) or json (a JSON export over WebDAV).
    pub source: String,
}

/// What to show: words in the text or note, a chapter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub words: Option<String>,
    pub chapter: Option<String>,
}

/// Highlights shown on one page at most.
pub const LIMIT: i64 = 2_000;

/// `%`, `_` and `\` taken literally in a LIKE pattern.
fn like(words: &str) -> String {
    let escaped = words
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A reader's highlights of a book (or, `book` None, of every book, linked or not), in
/// reading order: by book, then chapter order as highlighted, then time.
pub fn list(
    conn: &mut PgConnection,
    reader: Uuid,
    book: Option<Uuid>,
    filter: &Filter,
) -> Result<Vec<Annotation>, Error> {
    let mut q = an::table
        .filter(an::api_key_id.eq(reader))
        .select(Annotation::as_select())
        .into_boxed();
    if let Some(book) = book {
        q = q.filter(an::book_id.eq(book));
    }
    if let Some(words) = filter
        .words
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let pattern = like(words);
        q = q.filter(
            an::text
                .ilike(pattern.clone())
                .or(an::note.ilike(pattern.clone()))
                .or(an::book_title.ilike(pattern)),
        );
    }
    if let Some(chapter) = filter.chapter.as_deref().filter(|c| !c.is_empty()) {
        q = q.filter(an::chapter.eq(chapter.to_owned()));
    }
    Ok(q.order((
        an::book_title,
        an::book_authors,
        an::highlighted_at.asc().nulls_last(),
        an::created_at,
    ))
    .limit(LIMIT)
    .load(conn)?)
}

/// Whether the reader has any highlight of the book.
pub fn any_of_book(conn: &mut PgConnection, reader: Uuid, book: Uuid) -> Result<bool, Error> {
    Ok(diesel::select(diesel::dsl::exists(
        an::table.filter(an::api_key_id.eq(reader).and(an::book_id.eq(book))),
    ))
    .get_result(conn)?)
}

/// The chapters a reader highlighted in a book, in the order first highlighted.
pub fn chapters(conn: &mut PgConnection, reader: Uuid, book: Uuid) -> Result<Vec<String>, Error> {
    let rows: Vec<(Option<String>, Option<DateTime<Utc>>)> = an::table
        .filter(an::api_key_id.eq(reader).and(an::book_id.eq(book)))
        .select((an::chapter, an::highlighted_at))
        .order(an::highlighted_at.asc().nulls_last())
        .load(conn)?;
    let mut out: Vec<String> = vec![];
    for (chapter, _) in rows {
        if let Some(c) = chapter {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// A book of an export that matched no book in the library.
#[derive(Debug, Clone, PartialEq, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct Unlinked {
    pub title: String,
    pub authors: String,
    pub highlights: i64,
}

pub fn unlinked(conn: &mut PgConnection, reader: Uuid) -> Result<Vec<Unlinked>, Error> {
    Ok(an::table
        .filter(an::api_key_id.eq(reader).and(an::book_id.is_null()))
        .group_by((an::book_title, an::book_authors))
        .select((an::book_title, an::book_authors, diesel::dsl::count_star()))
        .order((an::book_title, an::book_authors))
        .load(conn)?)
}

/// Links a reader's highlights of an exported book (title and authors as exported) to a
/// book, by hand. The number of highlights linked; 0 when there were none.
pub fn link(
    conn: &mut PgConnection,
    reader: Uuid,
    title: &str,
    authors: &str,
    book: Uuid,
) -> Result<usize, Error> {
    Ok(diesel::update(
        an::table.filter(
            an::api_key_id
                .eq(reader)
                .and(an::book_title.eq(title))
                .and(an::book_authors.eq(authors)),
        ),
    )
    .set((an::book_id.eq(book), an::updated_at.eq(diesel::dsl::now)))
    .execute(conn)?)
}

/// Highlights as Markdown, in the layout of KOReader's own template (template/md.lua), so an
/// export from libris reads like one from the device.
pub fn markdown(title: &str, authors: &str, highlights: &[Annotation]) -> String {
    let mut out = vec![format!("# {title}")];
    out.push(format!(
        "##### {}\n",
        if authors.is_empty() { "N/A" } else { authors }
    ));
    let mut chapter: Option<&str> = None;
    for h in highlights {
        if h.chapter.is_some() && h.chapter.as_deref() != chapter {
            chapter = h.chapter.as_deref();
            out.push(format!("## {}", chapter.unwrap_or("")));
        }
        let when = h
            .highlighted_at
            .map(|t| format!(" @ {}", t.format("%d %B %Y %I:%M:%S %p")))
            .unwrap_or_default();
        out.push(format!(
            "### Page {}{when}",
            h.page.as_deref().unwrap_or("?")
        ));
        out.push(h.text.clone());
        if let Some(note) = &h.note {
            out.push(format!("\n---\n{note}"));
        }
    }
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use libris_formats::koreader_highlights::parse_markdown;

    #[test]
    fn a_highlight_keeps_its_fingerprint_across_exports_and_spacing() {
        let a = fingerprint("The  Book", "Jane Doe", Some("5"), "Some text.");
        assert_eq!(
            a,
            fingerprint("the book", "jane  doe", Some("5"), " Some text. ")
        );
        assert_ne!(
            a,
            fingerprint("The Book", "Jane Doe", Some("6"), "Some text.")
        );
        assert_ne!(
            a,
            fingerprint("The Book", "Jane Doe", Some("5"), "Other text.")
        );
    }

    #[test]
    fn markdown_reads_back_as_koreaders_own() {
        let at = |s: &str| Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
        let h = |chapter: &str, page: &str, text: &str, note: Option<&str>, t: &str| Annotation {
            id: Uuid::nil(),
            book_id: None,
            book_title: "Example Book".into(),
            book_authors: "Jane Doe".into(),
            chapter: Some(chapter.into()),
            page: Some(page.into()),
            text: text.into(),
            note: note.map(Into::into),
            drawer: None,
            color: None,
            highlighted_at: at(t),
            source: "json".into(),
        };
        let list = [
            h("Chapter 1", "5", "First.", None, "2024-03-05T14:15:30Z"),
            h(
                "Chapter 1",
                "7",
                "Second.",
                Some("My note."),
                "2024-03-05T14:20:00Z",
            ),
            h("Chapter 2", "12", "Third.", None, "2024-03-06T09:05:10Z"),
        ];
        let md = markdown("Example Book", "Jane Doe", &list);
        assert!(md.starts_with("# Example Book\n##### Jane Doe\n\n## Chapter 1\n### Page 5 @ 05 March 2024 02:15:30 PM\nFirst.\n"), "{md}");
        let back = parse_markdown(&md).unwrap();
        assert_eq!(back.highlights.len(), 3);
        assert_eq!(back.highlights[1].note.as_deref(), Some("My note."));
        assert_eq!(back.highlights[2].chapter.as_deref(), Some("Chapter 2"));
        assert_eq!(back.highlights[2].time, list[2].highlighted_at);
    }
}
