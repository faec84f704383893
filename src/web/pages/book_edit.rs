//! Admins' changes to a book: its metadata (validated as `PATCH /api/books/{id}` is, by
//! `BookEdit::validate`; an error goes next to its field and nothing is stored), its cover
//! (an uploaded image, stored as ingest stores covers), and deleting it after a confirmation.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Datelike;
use futures_util::StreamExt;
use maud::{html, Markup};
use uuid::Uuid;

use super::book::book_id;
use super::cards;
use crate::db::models::Book;
use crate::error::Error;
use crate::library::edit::BookEdit;
use crate::library::{books, covers, review};
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Field, Nav};
use crate::web::session::Visitor;
use crate::{db, AppState};

/// The text fields of the form, with their labels, in order.
const TEXT: [(&str, &str); 10] = [
    ("title", "Title"),
    ("author", "Author"),
    ("series", "Series"),
    ("series_index", "Number in the series"),
    ("published_year", "Year published"),
    ("publisher", "Publisher"),
    ("language", "Language"),
    ("isbn_13", "ISBN-13"),
    ("isbn_10", "ISBN-10"),
    ("page_count", "Pages"),
];

/// The form's values, as stored or as sent.
struct Values(Vec<(&'static str, String)>);

impl Values {
    fn of(book: &Book) -> Values {
        let join = |v: &[Option<String>]| {
            v.iter()
                .flatten()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let n = |v: Option<String>| v.unwrap_or_default();
        Values(vec![
            ("title", s(&book.title)),
            ("author", s(&book.author)),
            ("series", s(&book.series)),
            ("series_index", n(book.series_index.map(|i| i.to_string()))),
            (
                "published_year",
                n(book.published_year.map(|y| y.to_string())),
            ),
            ("publisher", s(&book.publisher)),
            ("language", s(&book.language)),
            ("isbn_13", s(&book.isbn_13)),
            ("isbn_10", s(&book.isbn_10)),
            ("page_count", n(book.page_count.map(|p| p.to_string()))),
            ("genres", join(&book.genres)),
            ("tags", join(&book.tags)),
            ("description", s(&book.description)),
        ])
    }

    fn sent(form: &Form) -> Values {
        let names = TEXT
            .iter()
            .map(|(n, _)| *n)
            .chain(["genres", "tags", "description"]);
        Values(names.map(|n| (n, form.get(n).to_owned())).collect())
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The edit they ask for; a number that is not one is an error on its field. An empty
    /// number leaves the stored one as it is (the API cannot clear them either).
    fn edit(&self, errors: &mut Errors) -> BookEdit {
        fn number<T: std::str::FromStr>(
            v: &str,
            field: &'static str,
            errors: &mut Errors,
        ) -> Option<T> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            v.parse()
                .map_err(|_| errors.add(field, "Not a number."))
                .ok()
        }
        let list = |v: &str| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        };
        let text = |n: &str| Some(self.get(n).to_owned());
        BookEdit {
            title: text("title"),
            author: text("author"),
            isbn_10: text("isbn_10"),
            isbn_13: text("isbn_13"),
            publisher: text("publisher"),
            published_year: number(self.get("published_year"), "published_year", errors),
            language: text("language"),
            description: text("description"),
            page_count: number(self.get("page_count"), "page_count", errors),
            series: text("series"),
            series_index: number(self.get("series_index"), "series_index", errors),
            genres: Some(list(self.get("genres"))),
            tags: Some(list(self.get("tags"))),
        }
    }
}

fn hint(name: &str) -> Option<&'static str> {
    match name {
        "author" => Some("Several authors as “A & B”."),
        "language" => Some("A language tag: en, fr, pt-BR."),
        "isbn_13" | "isbn_10" => Some("Hyphens and spaces are fine."),
        _ => None,
    }
}

async fn book_of(state: &AppState, id: Uuid) -> Result<Book, Error> {
    db::run(&state.pool, move |conn| books::visible(conn, id, true)).await
}

fn edit_page(
    v: &Visitor,
    book: &Book,
    values: &Values,
    errors: &Errors,
    cover_errors: &Errors,
) -> Markup {
    let title = cards::title(book);
    let area = |name: &'static str, label: &str, hint: &str| {
        let id = format!("f-{name}");
        let error = errors.of(name);
        html! {
            div.field.invalid[error.is_some()] {
                label for=(id) { (label) }
                small.hint id={ (id) "-hint" } { (hint) }
                textarea id=(id) name=(name) rows=(if name == "description" { 8 } else { 2 })
                    aria-invalid=[error.is_some().then_some("true")]
                    aria-describedby={ (id) @if error.is_some() { "-error" } @else { "-hint" } } { (values.get(name)) }
                @if let Some(e) = error { p.error id={ (id) "-error" } role="alert" { (e) } }
            }
        }
    };
    layout::page(
        v,
        &format!("Edit {title}"),
        Nav::Library,
        html! {
            p { a href={ "/books/" (book.id) } { "← " (title) } }
            h1 { "Edit " (title) }
            div.columns {
                form method="post" action={ "/books/" (book.id) "/edit" } novalidate {
                    (csrf_field(v))
                    (layout::form_error(errors, "form"))
                    @for (name, label) in TEXT {
                        @let field = Field::new(name, label).value(values.get(name));
                        @let field = match hint(name) { Some(h) => field.hint(h), None => field };
                        (field.render(errors))
                    }
                    (area("genres", "Genres", "Separated by commas."))
                    (area("tags", "Tags", "Separated by commas."))
                    (area("description", "Description", "Plain text; a blank line starts a paragraph."))
                    div.actions {
                        button.primary type="submit" { "Save" }
                        a href={ "/books/" (book.id) } { "Cancel" }
                    }
                }
                section.panel aria-labelledby="cover-h" {
                    h2 #cover-h { "Cover" }
                    (cards::thumbnail(book))
                    form method="post" action={ "/books/" (book.id) "/cover" } enctype="multipart/form-data" {
                        (csrf_field(v))
                        div.field.invalid[cover_errors.of("file").is_some()] {
                            label for="f-file" { "A new cover image" }
                            small.hint id="f-file-hint" { "JPEG, PNG, GIF or WebP, up to 20 MB." }
                            input #f-file type="file" name="file" accept="image/jpeg,image/png,image/gif,image/webp"
                                aria-describedby="f-file-hint";
                            @if let Some(e) = cover_errors.of("file") { p.error role="alert" { (e) } }
                        }
                        button type="submit" { "Replace the cover" }
                    }
                }
            }
        },
    )
}

pub async fn edit_form(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    let book = book_of(&state, id).await?;
    let none = Errors::default();
    Ok(layout::ok(edit_page(
        &v,
        &book,
        &Values::of(&book),
        &none,
        &none,
    )))
}

pub async fn edit(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    let form = Form::read(&state, &v, &body)?;
    let values = Values::sent(&form);
    let mut errors = Errors::default();
    let edit = values.edit(&mut errors);
    let result = if errors.is_empty() {
        match edit.validate(chrono::Utc::now().year()) {
            Ok(changes) => {
                db::run(&state.pool, move |conn| {
                    crate::library::edit::apply_to_book(conn, id, &changes)
                })
                .await
            }
            Err(e) => Err(e),
        }
    } else {
        Ok(())
    };
    if let Err(e) = result {
        errors = Errors::from_error(e, "form")?;
    }
    if !errors.is_empty() {
        let book = book_of(&state, id).await?;
        return Ok(layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            edit_page(&v, &book, &values, &errors, &Errors::default()),
        ));
    }
    Ok(layout::see_other(&format!("/books/{id}?done=edited")))
}

/// A new cover: the form's CSRF token first, then the image (at most the cover limit).
pub async fn replace_cover(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    let limit = libris_formats::limits::MAX_COVER_BYTES;
    let mut multipart = Multipart::new(req.headers(), payload);
    let expired = || -> WebError {
        Error::Forbidden(
            "This form has expired or did not come from this page. Go back, reload the page and \
             try again."
                .into(),
        )
        .into()
    };
    let key = state.key("web csrf");
    // The token comes first (a header from a script, else the form's first field) and is
    // checked before any image is read.
    let mut checked = v.header_csrf.as_deref().is_some_and(|t| v.csrf_ok(&key, t));
    let mut image: Option<Vec<u8>> = None;
    let mut cover_errors = Errors::default();
    while let Some(field) = multipart.next().await {
        let Ok(mut field) = field else {
            return Err(Error::invalid("file", "the form could not be read").into());
        };
        let name = field.name().unwrap_or("").to_owned();
        if !checked && name != crate::web::csrf::FIELD {
            return Err(expired());
        }
        let mut bytes = Vec::new();
        let cap = if name == "file" { limit + 1 } else { 4096 };
        while let Some(chunk) = field.next().await {
            let Ok(chunk) = chunk else {
                return Err(Error::invalid("file", "the form could not be read").into());
            };
            if bytes.len() + chunk.len() > cap {
                if name == "file" {
                    cover_errors.add("file", "The image is larger than 20 MB.");
                }
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            crate::web::csrf::FIELD if !checked => {
                if !v.csrf_ok(&key, &String::from_utf8_lossy(&bytes)) {
                    return Err(expired());
                }
                checked = true;
            }
            "file" if cover_errors.is_empty() => image = Some(bytes),
            _ => {}
        }
        if !cover_errors.is_empty() {
            break;
        }
    }
    if !checked {
        return Err(expired());
    }
    let cover = match image.filter(|i| !i.is_empty()) {
        Some(bytes) if cover_errors.is_empty() => web::block(move || covers::read(&bytes, "file"))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| match e {
                Error::Invalid { reason, .. } => {
                    cover_errors.add("file", format!("Not a cover libris can use: {reason}."))
                }
                _ => cover_errors.add("file", "Not a cover libris can use."),
            })
            .ok(),
        _ => {
            if cover_errors.is_empty() {
                cover_errors.add("file", "Choose an image.");
            }
            None
        }
    };
    let Some(cover) = cover else {
        let book = book_of(&state, id).await?;
        return Ok(layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            edit_page(
                &v,
                &book,
                &Values::of(&book),
                &Errors::default(),
                &cover_errors,
            ),
        ));
    };
    let data_dir = state.config.data_dir.clone();
    db::run(&state.pool, move |conn| {
        covers::replace(conn, &data_dir, id, &cover)
    })
    .await?;
    Ok(layout::see_other(&format!("/books/{id}?done=cover")))
}

pub async fn delete_form(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    let book = book_of(&state, id).await?;
    let title = cards::title(&book);
    Ok(layout::ok(layout::page(
        &v,
        &format!("Delete {title}"),
        Nav::Library,
        html! {
            h1 { "Delete " (title) "?" }
            p { "Its files and cover are removed from the library for good. Reading progress synced for it stays, no longer linked to a book." }
            form method="post" action={ "/books/" (book.id) "/delete" } {
                (csrf_field(&v))
                div.actions {
                    button.danger type="submit" { "Delete the book" }
                    a href={ "/books/" (book.id) } { "Keep it" }
                }
            }
        },
    )))
}

pub async fn delete(
    state: web::Data<AppState>,
    v: Visitor,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = book_id(&id)?;
    Form::read(&state, &v, &body)?;
    let data_dir = state.config.data_dir.clone();
    db::run(&state.pool, move |conn| review::delete(conn, &data_dir, id)).await?;
    Ok(layout::see_other("/library?done=deleted"))
}
