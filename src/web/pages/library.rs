//! The library: organized books as a cover grid or a compact list, searched (the catalog's
//! full-text search, the last word a prefix), narrowed by author, series, genre, language and
//! format, sorted, a page at a time; and the pages of one author and of one series.

use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::cards;
use crate::error::Error;
use crate::library::browse::Narrow;
use crate::library::catalog::{self, List};
use crate::library::languages;
use crate::web::error::WebError;
use crate::web::layout::{self, Nav};
use crate::web::listing::{self, Choices, PAGE_SIZE};
use crate::web::session::Visitor;
use crate::AppState;

/// Longest value a filter or search takes: anything longer matches nothing anyway.
const MAX_PARAM: usize = 500;
/// A select offers at most this many values (more would swell every page).
const MAX_CHOICES: usize = 100;

/// What the address asks for.
#[derive(Default, Clone)]
struct Asked {
    q: String,
    author: String,
    series: String,
    genre: String,
    language: String,
    format: String,
    sort: Option<List>,
    list_view: bool,
    page: i64,
}

/// The parameters that narrow the list, by name.
const NARROWING: [&str; 6] = ["q", "author", "series", "genre", "language", "format"];

impl Asked {
    /// Read leniently: a repeated parameter counts once, an unknown sort or view is the
    /// default, a value too long is cut. Only a page that is not a number is refused (404).
    fn parse(query: &str) -> Result<Asked, Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().chars().take(MAX_PARAM).collect::<String>())
                .unwrap_or_default()
        };
        let page = match get("page").as_str() {
            "" => 1,
            p => p
                .parse::<i64>()
                .ok()
                .filter(|p| (1..=1_000_000).contains(p))
                .ok_or_else(|| Error::NotFound("no such page".into()))?,
        };
        Ok(Asked {
            q: get("q"),
            author: get("author"),
            series: get("series"),
            genre: get("genre"),
            language: get("language"),
            format: get("format").to_lowercase(),
            sort: List::parse(&get("sort")),
            list_view: get("view") == "list",
            page,
        })
    }

    fn value(&self, name: &str) -> &str {
        match name {
            "q" => &self.q,
            "author" => &self.author,
            "series" => &self.series,
            "genre" => &self.genre,
            "language" => &self.language,
            "format" => &self.format,
            _ => "",
        }
    }

    fn narrow(&self) -> Narrow {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Narrow {
            q: catalog::search_query(&self.q),
            author: some(&self.author),
            series: some(&self.series),
            genre: some(&self.genre),
            language: some(&self.language),
            format: some(&self.format),
        }
    }

    /// This address with `changes` made (an empty value drops the parameter), from page 1
    /// unless a page is among them.
    fn href(&self, changes: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for name in NARROWING {
            pairs.push((name, self.value(name).to_owned()));
        }
        pairs.push(("sort", self.sort.map(List::name).unwrap_or("").to_owned()));
        pairs.push(("view", if self.list_view { "list" } else { "" }.to_owned()));
        pairs.push(("page", String::new()));
        for (name, value) in changes {
            if let Some(p) = pairs.iter_mut().find(|(n, _)| n == name) {
                p.1 = (*value).to_owned();
            }
        }
        pairs.retain(|(_, v)| !v.is_empty());
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            "/library".to_owned()
        } else {
            format!("/library?{query}")
        }
    }
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
) -> Result<HttpResponse, WebError> {
    v.signed()?;
    let asked = Asked::parse(req.query_string())?;
    let heading = if !asked.author.is_empty() && asked.series.is_empty() {
        asked.author.clone()
    } else if !asked.series.is_empty() {
        asked.series.clone()
    } else {
        "Library".to_owned()
    };
    render(&state, &v, asked, &heading).await
}

/// `/authors/{name}`: the library narrowed to one author.
pub async fn author(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    v.signed()?;
    let mut asked = Asked::parse(req.query_string())?;
    asked.author = name.into_inner().chars().take(MAX_PARAM).collect();
    let heading = asked.author.clone();
    render(&state, &v, asked, &heading).await
}

/// `/series/{name}`: the books of one series, by their position in it.
pub async fn series(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Visitor,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    v.signed()?;
    let mut asked = Asked::parse(req.query_string())?;
    asked.series = name.into_inner().chars().take(MAX_PARAM).collect();
    let heading = asked.series.clone();
    render(&state, &v, asked, &heading).await
}

async fn render(
    state: &AppState,
    v: &Visitor,
    asked: Asked,
    heading: &str,
) -> Result<HttpResponse, WebError> {
    let version = listing::version(state).await?;
    let listed = listing::page(state, version, asked.narrow(), asked.sort, asked.page).await?;
    let last = ((listed.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    if asked.page > last {
        return Err(Error::NotFound("no such page".into()).into());
    }
    let choices = listing::choices(state, version).await?;
    let title = if asked.page > 1 {
        format!("{heading} · page {}", asked.page)
    } else {
        heading.to_owned()
    };
    Ok(layout::ok(layout::page(
        v,
        &title,
        Nav::Library,
        html! {
            h1 { (heading) }
            p { a href="/collections" { "Collections" } }
            (toolbar(&asked, &choices))
            (chips(&asked))
            p.muted role="status" {
                (listed.total) " " (if listed.total == 1 { "book" } else { "books" })
            }
            @if listed.books.is_empty() {
                p { "No book matches." }
            } @else if asked.list_view {
                (table(&listed.books))
            } @else {
                (cards::grid(listed.books.iter().map(|b| (b, None))))
            }
            (pager(&asked, last))
        },
    )))
}

fn toolbar(asked: &Asked, choices: &Choices) -> Markup {
    let sorts = [
        (None, "Relevance or title"),
        (Some(List::Title), "Title"),
        (Some(List::Author), "Author"),
        (Some(List::Added), "Recently added"),
        (Some(List::Published), "Newest published"),
    ];
    let languages: Vec<(String, String)> = choices
        .languages
        .iter()
        .map(|l| (l.value.clone(), l.title.clone()))
        .collect();
    let genres: Vec<(String, String)> = choices
        .genres
        .iter()
        .map(|g| (g.value.clone(), g.title.clone()))
        .collect();
    let formats: Vec<(String, String)> = choices
        .formats
        .iter()
        .map(|(f, _)| (f.clone(), f.to_uppercase()))
        .collect();
    html! {
        form.toolbar method="get" action="/library" role="search" {
            div.field.search {
                label for="f-q" { "Search" }
                input #f-q type="search" name="q" value=(asked.q) placeholder="Title, author, series…";
            }
            @if !asked.author.is_empty() { input type="hidden" name="author" value=(asked.author); }
            @if !asked.series.is_empty() { input type="hidden" name="series" value=(asked.series); }
            (select("genre", "Genre", &asked.genre, &genres))
            (select("language", "Language", &asked.language, &languages))
            (select("format", "Format", &asked.format, &formats))
            div.field {
                label for="f-sort" { "Sort by" }
                select #f-sort name="sort" {
                    @for (sort, text) in sorts {
                        option value=(sort.map(List::name).unwrap_or(""))
                            selected[sort == asked.sort] { (text) }
                    }
                }
            }
            div.field {
                label for="f-view" { "Show as" }
                select #f-view name="view" {
                    option value="" selected[!asked.list_view] { "Covers" }
                    option value="list" selected[asked.list_view] { "List" }
                }
            }
            button.primary type="submit" { "Show" }
        }
    }
}

/// A select of a filter's values; a text field when there are too many to list (or the
/// value asked for is not among them).
fn select(name: &str, label: &str, current: &str, values: &[(String, String)]) -> Markup {
    let id = format!("f-{name}");
    let listed = values.len() <= MAX_CHOICES
        && (current.is_empty() || values.iter().any(|(v, _)| v == current));
    html! {
        div.field {
            label for=(id) { (label) }
            @if listed {
                select id=(id) name=(name) {
                    option value="" { "Any" }
                    @for (value, text) in values {
                        option value=(value) selected[value == current] { (text) }
                    }
                }
            } @else {
                input id=(id) name=(name) value=(current);
            }
        }
    }
}

/// The active filters, each a link that drops it.
fn chips(asked: &Asked) -> Markup {
    let active: Vec<(&str, &str, String)> = [
        ("q", "Search"),
        ("author", "Author"),
        ("series", "Series"),
        ("genre", "Genre"),
        ("language", "Language"),
        ("format", "Format"),
    ]
    .into_iter()
    .filter(|(name, _)| !asked.value(name).is_empty())
    .map(|(name, label)| {
        let value = match name {
            "language" => languages::name(&asked.language),
            "format" => asked.format.to_uppercase(),
            _ => asked.value(name).to_owned(),
        };
        (name, label, value)
    })
    .collect();
    html! {
        @if !active.is_empty() {
            ul.chips aria-label="Active filters" {
                @for (name, label, value) in &active {
                    li {
                        a href=(asked.href(&[(name, "")])) {
                            (label) ": " (value)
                            span aria-hidden="true" { " ×" }
                            span.sr-only { " (remove)" }
                        }
                    }
                }
            }
        }
    }
}

fn table(books: &[crate::db::models::Book]) -> Markup {
    html! {
        table.list {
            thead {
                tr {
                    th scope="col" { "Title" }
                    th scope="col" { "Author" }
                    th scope="col" { "Series" }
                    th scope="col" { "Published" }
                    th scope="col" { "Language" }
                }
            }
            tbody {
                @for b in books {
                    tr {
                        th scope="row" { a href={ "/books/" (b.id) } { (cards::title(b)) } }
                        td { (b.author.as_deref().unwrap_or("")) }
                        td {
                            @if let Some(s) = &b.series {
                                (s) @if let Some(i) = b.series_index { " #" (i) }
                            }
                        }
                        td { @if let Some(y) = b.published_year { (y) } }
                        td { @if let Some(l) = &b.language { (languages::name(l)) } }
                    }
                }
            }
        }
    }
}

fn pager(asked: &Asked, last: i64) -> Markup {
    let page = asked.page;
    html! {
        @if last > 1 {
            nav.pager aria-label="Pages" {
                @if page > 1 {
                    a href=(asked.href(&[("page", "1")])) { "First" }
                    a rel="prev" href=(asked.href(&[("page", &(page - 1).to_string())])) { "Previous" }
                }
                span aria-current="page" { "Page " (page) " of " (last) }
                @if page < last {
                    a rel="next" href=(asked.href(&[("page", &(page + 1).to_string())])) { "Next" }
                    a href=(asked.href(&[("page", &last.to_string())])) { "Last" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_the_other_parameters() {
        let asked = Asked::parse("q=dune&format=epub&sort=added&page=3").unwrap();
        assert_eq!(asked.href(&[("format", "")]), "/library?q=dune&sort=added");
        assert_eq!(
            asked.href(&[("page", "4")]),
            "/library?q=dune&format=epub&sort=added&page=4"
        );
        assert!(Asked::parse("page=zero").is_err());
        assert_eq!(Asked::parse("sort=nonsense").unwrap().sort, None);
    }
}
