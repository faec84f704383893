//! The catalog's HTTP side: who is asking, which flavor they get, and conditional answers
//! (KOReader sends HEAD before each GET and caches on ETag and Last-Modified).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header::{self, EntityTag, HttpDate};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::viewer;
use super::base::base_url;
use super::covers;
use super::error::OpdsError;
use super::feed::{media, Author, Feed, Paging};
use super::pages::{PageData, PageKey, Starts};
use super::render::{self, Ctx, Flavor, ListPage};
use super::{atom, json};
use crate::auth::sha256_hex;
use crate::error::Error;
use crate::library::catalog::{self, Facet, Filter, List, Shelf};
use crate::{db, AppState};

type Reply = Result<HttpResponse, OpdsError>;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// Atom: `q`; OPDS 2.0's template names it `query`.
    q: Option<String>,
    query: Option<String>,
    page: Option<String>,
}

fn page_number(raw: Option<&str>) -> Result<i64, Error> {
    match raw.map(str::trim) {
        None | Some("") => Ok(1),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| Error::invalid("page", "expected a page number from 1")),
    }
}

/// True when the client ranks OPDS 2.0 JSON above Atom (KOReader does since mid-2026).
pub fn prefers_json(req: &HttpRequest) -> bool {
    let Some(accept) = req.get_header::<header::Accept>() else {
        return false;
    };
    let quality = |essence: &str| {
        accept
            .iter()
            .filter(|item| item.item.essence_str() == essence)
            .map(|item| item.quality)
            .max()
    };
    match (
        quality("application/opds+json"),
        quality("application/atom+xml"),
    ) {
        (Some(json), Some(atom)) => json > atom,
        (Some(json), None) => json > header::Quality::ZERO,
        _ => false,
    }
}

/// What cover links are signed with (a key of their own, derived from the server secret).
const COVER_LINKS: &str = "opds cover links";

fn ctx(req: &HttpRequest, state: &AppState, flavor: Flavor) -> Ctx {
    Ctx {
        base: base_url(req, &state.config),
        flavor,
        cover_key: Some(state.key(COVER_LINKS)),
        reading: Default::default(),
    }
}

/// A document ready to send: its bytes, a strong ETag over them (so it changes exactly when
/// what this reader would see changes), and when what it lists last changed.
#[derive(Debug)]
pub struct Rendered {
    content_type: &'static str,
    body: web::Bytes,
    tag: EntityTag,
    updated: DateTime<Utc>,
}

impl Rendered {
    fn new(content_type: &'static str, body: String, updated: DateTime<Utc>) -> Rendered {
        Rendered {
            content_type,
            tag: EntityTag::new_strong(sha256_hex(body.as_bytes())[..32].to_owned()),
            body: body.into(),
            updated,
        }
    }

    fn feed(flavor: Flavor, feed: &Feed) -> Rendered {
        match flavor {
            Flavor::Atom => Rendered::new(feed.kind.atom_type(), atom::feed(feed), feed.updated),
            Flavor::Json => {
                Rendered::new(media::OPDS_JSON, json::feed(feed).to_string(), feed.updated)
            }
        }
    }
}

/// Whether the request's If-None-Match names `tag`; None without that header.
pub(super) fn none_match(req: &HttpRequest, tag: &EntityTag) -> Option<bool> {
    match req.get_header::<header::IfNoneMatch>()? {
        header::IfNoneMatch::Any => Some(true),
        header::IfNoneMatch::Items(tags) => Some(tags.iter().any(|t| t.weak_eq(tag))),
    }
}

/// The document with its ETag and Last-Modified; 304 when the client has it already.
fn reply(req: &HttpRequest, doc: &Rendered) -> HttpResponse {
    let modified = HttpDate::from(std::time::SystemTime::from(doc.updated));
    let fresh = none_match(req, &doc.tag).unwrap_or_else(|| {
        req.get_header::<header::IfModifiedSince>()
            .is_some_and(|since| {
                doc.updated.timestamp()
                    <= std::time::SystemTime::from(since.0)
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64)
            })
    });
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header(header::ETag(doc.tag.clone()))
        .insert_header(header::LastModified(modified))
        // Feeds hold per-reader state: a shared cache must not keep them, a client revalidates.
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::VARY, "Authorization, Accept"));
    if fresh {
        resp.finish()
    } else {
        resp.content_type(doc.content_type).body(doc.body.clone())
    }
}

fn document(
    req: &HttpRequest,
    content_type: &'static str,
    body: String,
    updated: DateTime<Utc>,
) -> HttpResponse {
    reply(req, &Rendered::new(content_type, body, updated))
}

fn feed_response(req: &HttpRequest, flavor: Flavor, feed: &Feed) -> HttpResponse {
    reply(req, &Rendered::feed(flavor, feed))
}

/// A page of books (or one book's entry) as a document. One that holds nothing of this reader's own (no comic
/// they are reading) is the same for every reader: it is kept per address and library
/// version and served again without rendering.
fn shared_document(
    req: &HttpRequest,
    state: &AppState,
    flavor: Flavor,
    found: &Found,
    size: i64,
    build: impl FnOnce() -> Rendered,
) -> HttpResponse {
    let personal = !found.reading.is_empty();
    let key = found.version.filter(|_| !personal).map(|version| {
        let key = (
            flavor,
            base_url(req, &state.config),
            req.uri().to_string(),
            size,
        );
        (key, version)
    });
    let bodies = &state.opds_cache.bodies;
    if let Some(held) = key.as_ref().and_then(|(k, v)| bodies.lookup(k, *v)) {
        return reply(req, &held.0);
    }
    let rendered = Arc::new(build());
    if let Some((k, v)) = key {
        bodies.store(k, v, rendered.clone());
    }
    reply(req, &rendered)
}

pub async fn root(req: HttpRequest, state: web::Data<AppState>, flavor: Flavor) -> Reply {
    let (viewer, _) = viewer(&req, &state).await?;
    let updated = db::run(&state.pool, |conn| catalog::library_updated(conn)).await?;
    let feed = render::root(
        &ctx(&req, &state, flavor),
        updated.unwrap_or(DateTime::UNIX_EPOCH),
        viewer.reader().is_some(),
    );
    Ok(feed_response(&req, flavor, &feed))
}

/// `/opds`: Atom, unless the client prefers OPDS 2.0 JSON. Never 406.
pub async fn root_negotiated(req: HttpRequest, state: web::Data<AppState>) -> Reply {
    let flavor = if prefers_json(&req) {
        Flavor::Json
    } else {
        Flavor::Atom
    };
    root(req, state, flavor).await
}

#[derive(Debug, Deserialize)]
pub struct BooksQuery {
    page: Option<String>,
    sort: Option<String>,
    lang: Option<String>,
    format: Option<String>,
}

impl BooksQuery {
    /// The order and filter asked for; 400 for ones libris does not have.
    fn parse(&self) -> Result<(List, Filter), Error> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let list = match given(&self.sort) {
            None => List::Title,
            Some(name) => List::parse(name).ok_or_else(|| {
                Error::invalid("sort", "expected title, author, added or published")
            })?,
        };
        let language = given(&self.lang)
            .map(|l| {
                (l.len() <= 35 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                    .then(|| l.to_owned())
                    .ok_or_else(|| {
                        Error::invalid("lang", "expected a language tag such as en or pt-BR")
                    })
            })
            .transpose()?;
        let format = given(&self.format)
            .map(|f| {
                libris_formats::Format::parse(f)
                    .map(|f| f.as_str().to_owned())
                    .ok_or_else(|| {
                        Error::invalid("format", "expected a file format such as epub or pdf")
                    })
            })
            .transpose()?;
        Ok((list, Filter { language, format }))
    }
}

/// A page of a long list (keyset from cached page starts), with the sort and filter facets
/// when `facets` (All books).
async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    flavor: Flavor,
    list: List,
    filter: Filter,
    page: i64,
    facets: bool,
) -> Reply {
    let (viewer, settings) = viewer(&req, &state).await?;
    let size = settings.opds_page_size;
    let (cache, pool) = (&state.opds_cache, &state.pool);
    let version = db::run(pool, |conn| catalog::library_version(conn)).await?;
    let (starts, starts_at) = cache
        .starts
        .get((list, filter.clone(), size), version, || {
            let wanted = filter.clone();
            db::run(pool, move |conn| {
                let (total, firsts) = catalog::page_starts(conn, list, &wanted, size)?;
                Ok(Starts {
                    total,
                    firsts: Arc::new(firsts),
                })
            })
        })
        .await?;
    let paging = within(Paging {
        total: starts.total,
        per_page: size,
        page,
    })?;
    let key = PageKey::List(list, filter.clone(), size, page);
    let (total, first) = (starts.total, starts.firsts.get(page as usize - 1).copied());
    let wanted = filter.clone();
    // The page is read at the version of its starts (later, while they are computed
    // anew after a change).
    let (data, page_at) = page_data(&state, Some((key, starts_at)), move |conn| {
        let ids = match first {
            Some(first) => catalog::page_from(conn, list, &wanted, first, size)?,
            None => vec![],
        };
        Ok((total, ids))
    })
    .await?;
    // The document is as old as its oldest part: it is kept under that version.
    let mut oldest = page_at.map_or(starts_at, |p| p.min(starts_at));
    let choices = if facets {
        let (languages, languages_at) = cache
            .facets
            .get(Facet::Language, version, || {
                db::run(pool, |conn| {
                    Ok(Arc::new(catalog::facet_values(conn, Facet::Language)?))
                })
            })
            .await?;
        let (formats, formats_at) = cache
            .formats
            .get((), version, || {
                db::run(pool, |conn| Ok(Arc::new(catalog::format_counts(conn)?)))
            })
            .await?;
        oldest = oldest.min(languages_at).min(formats_at);
        Some((languages, formats))
    } else {
        None
    };
    let found = with_reading(&state, viewer.reader(), data, Some(oldest)).await?;
    let (id, title, path) = if facets {
        (
            "urn:libris:books",
            "All books",
            render::books_path(list, &filter),
        )
    } else {
        ("urn:libris:new", "Recently added", "/new".to_owned())
    };
    Ok(shared_document(&req, &state, flavor, &found, size, || {
        let mut c = ctx(&req, &state, flavor);
        c.reading = found.reading.clone();
        let page = ListPage {
            id,
            title,
            path: &path,
            paging,
            books: &found.page.books,
        };
        let mut feed = render::list(&c, page, found.page.updated.unwrap_or(DateTime::UNIX_EPOCH));
        if let Some((languages, formats)) = &choices {
            feed.links
                .extend(render::book_facets(&c, list, &filter, languages, formats));
        }
        Rendered::feed(flavor, &feed)
    }))
}

/// All books, in the order and narrowed as asked.
pub async fn all_books(
    req: HttpRequest,
    state: web::Data<AppState>,
    flavor: Flavor,
    q: BooksQuery,
) -> Reply {
    let page = page_number(q.page.as_deref())?;
    let (order, filter) = q.parse()?;
    list(req, state, flavor, order, filter, page, true).await
}

pub async fn recent(
    req: HttpRequest,
    state: web::Data<AppState>,
    flavor: Flavor,
    q: PageQuery,
) -> Reply {
    let page = page_number(q.page.as_deref())?;
    list(
        req,
        state,
        flavor,
        List::Added,
        Filter::default(),
        page,
        false,
    )
    .await
}

pub async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    flavor: Flavor,
    query: SearchQuery,
) -> Reply {
    let page = page_number(query.page.as_deref())?;
    let terms = query.q.or(query.query).unwrap_or_default();
    let (viewer, settings) = viewer(&req, &state).await?;
    let size = settings.opds_page_size;
    let tsquery = catalog::search_query(&terms);
    let key = tsquery.clone().map(|q| PageKey::Search(q, size, page));
    let (paging, found) =
        found_page(
            &state,
            viewer.reader(),
            (page, size),
            key,
            move |conn| match &tsquery {
                Some(q) => catalog::search(conn, q, page, size),
                None => Ok((0, vec![])),
            },
        )
        .await?;
    let param = match flavor {
        Flavor::Atom => "q",
        Flavor::Json => "query",
    };
    let path = format!("/search?{param}={}", render::query_value(&terms));
    let title = format!("Search: {terms}");
    Ok(books_reply(
        &req,
        &state,
        flavor,
        ("urn:libris:search", &title, &path),
        paging,
        found,
    ))
}

pub async fn opensearch(req: HttpRequest, state: web::Data<AppState>) -> Reply {
    viewer(&req, &state).await?;
    let c = ctx(&req, &state, Flavor::Atom);
    let body = atom::opensearch_description(
        "libris",
        "Search the libris catalog by title, author, series or words of the description.",
        &c.href("/search?q={searchTerms}"),
    );
    Ok(document(
        &req,
        media::OPENSEARCH,
        body,
        DateTime::UNIX_EPOCH,
    ))
}

#[derive(Debug, Deserialize)]
pub struct FacetQuery {
    letter: Option<String>,
    page: Option<String>,
}

/// A facet's values (or their initial letters, when there are many).
pub async fn facet_values(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: FacetQuery,
    facet: Facet,
    flavor: Flavor,
) -> Reply {
    let page = page_number(query.page.as_deref())?;
    let (_, settings) = viewer(&req, &state).await?;
    let pool = &state.pool;
    // When the library last changed is read with its version: the values are as new or newer.
    let (version, updated) = db::run(pool, |conn| {
        Ok((
            catalog::library_version(conn)?,
            catalog::library_updated(conn)?,
        ))
    })
    .await?;
    let (values, _) = state
        .opds_cache
        .facets
        .get(facet, version, || {
            db::run(pool, move |conn| {
                Ok(Arc::new(catalog::facet_values(conn, facet)?))
            })
        })
        .await?;
    let letter = query
        .letter
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let feed = render::facet(
        &ctx(&req, &state, flavor),
        facet,
        &values,
        letter,
        page,
        settings.opds_page_size,
        updated.unwrap_or(DateTime::UNIX_EPOCH),
    )
    .ok_or_else(|| Error::NotFound("no such page".into()))?;
    Ok(feed_response(&req, flavor, &feed))
}

#[derive(Debug, Deserialize)]
pub struct ValueQuery {
    value: Option<String>,
    page: Option<String>,
}

/// The books of one author, series, genre, language or publisher.
pub async fn facet_books(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: ValueQuery,
    facet: Facet,
    flavor: Flavor,
) -> Reply {
    let page = page_number(query.page.as_deref())?;
    let value = query
        .value
        .filter(|v| !v.trim().is_empty() && v.len() <= 1024)
        .ok_or_else(|| Error::invalid("value", "expected the value to list the books of"))?;
    let (viewer, settings) = viewer(&req, &state).await?;
    let size = settings.opds_page_size;
    let v = value.clone();
    let key = PageKey::Facet(facet, value.clone(), size, page);
    let (paging, found) = found_page(
        &state,
        viewer.reader(),
        (page, size),
        Some(key),
        move |conn| catalog::facet_books(conn, facet, &v, page, size),
    )
    .await?;
    let segment = facet.segment();
    let encoded = render::query_value(&value);
    let (id, path) = (
        format!("urn:libris:{segment}:{encoded}"),
        format!("/{segment}/books?value={encoded}"),
    );
    Ok(books_reply(
        &req,
        &state,
        flavor,
        (&id, &value, &path),
        paging,
        found,
    ))
}

/// A page of books, and where the reader stands in the comics among them.
struct Found {
    page: Arc<PageData>,
    reading: HashMap<Uuid, render::LastRead>,
    /// The library version the page was read at, or later (none for pages not kept).
    version: Option<i64>,
}

/// A page of books as the database gives it now: `find` gives how many books there are in
/// all and the ids of this page's.
fn read_page(
    conn: &mut db::Conn,
    find: impl FnOnce(&mut db::Conn) -> Result<(i64, Vec<Uuid>), Error>,
) -> Result<Arc<PageData>, Error> {
    let (total, ids) = find(conn)?;
    Ok(Arc::new(PageData {
        total,
        books: catalog::books_with_files(conn, &ids)?,
        updated: catalog::library_updated(conn)?,
    }))
}

/// The page `key` names, held from an earlier request at this library version or read
/// now (by one request: the others asking for it meanwhile wait, holding no connection).
/// Without a key (pages that are not the library's alone, such as shelves) it is always read.
async fn page_data<F>(
    state: &AppState,
    key: Option<(PageKey, i64)>,
    find: F,
) -> Result<(Arc<PageData>, Option<i64>), Error>
where
    F: FnOnce(&mut db::Conn) -> Result<(i64, Vec<Uuid>), Error> + Send + 'static,
{
    let read = move |conn: &mut db::Conn| read_page(conn, find);
    match key {
        Some((key, version)) => {
            let (page, at) = state
                .opds_cache
                .pages
                .get(key, version, || db::run(&state.pool, read))
                .await?;
            Ok((page, Some(at)))
        }
        None => Ok((db::run(&state.pool, read).await?, None)),
    }
}

/// Where the reader stands in the comics of the page (a query only when there are some).
async fn with_reading(
    state: &AppState,
    reader: Option<Uuid>,
    page: Arc<PageData>,
    version: Option<i64>,
) -> Result<Found, Error> {
    if reader.is_none() || catalog::comics(&page.books).is_empty() {
        return Ok(Found {
            reading: HashMap::new(),
            page,
            version,
        });
    }
    db::run(&state.pool, move |conn| {
        reading_of(conn, reader, page, version)
    })
    .await
}

fn reading_of(
    conn: &mut db::Conn,
    reader: Option<Uuid>,
    page: Arc<PageData>,
    version: Option<i64>,
) -> Result<Found, Error> {
    Ok(Found {
        reading: catalog::comic_reading(conn, reader, &page.books)?,
        page,
        version,
    })
}

/// A page of found books as a feed with this id, title and path.
fn books_reply(
    req: &HttpRequest,
    state: &AppState,
    flavor: Flavor,
    (id, title, path): (&str, &str, &str),
    paging: Paging,
    found: Found,
) -> HttpResponse {
    shared_document(req, state, flavor, &found, paging.per_page, || {
        let mut c = ctx(req, state, flavor);
        c.reading = found.reading.clone();
        let page = ListPage {
            id,
            title,
            path,
            paging,
            books: &found.page.books,
        };
        let updated = found.page.updated.unwrap_or(DateTime::UNIX_EPOCH);
        Rendered::feed(flavor, &render::list(&c, page, updated))
    })
}

/// Runs `find` (a page of book ids, and how many there are in all) and loads those books,
/// unless the page `key` names is held: the paging (404 past the last page), the books with
/// their files, and when the library last changed.
async fn found_page<F>(
    state: &AppState,
    reader: Option<Uuid>,
    (page, per_page): (i64, i64),
    key: Option<PageKey>,
    find: F,
) -> Result<(Paging, Found), Error>
where
    F: FnOnce(&mut db::Conn) -> Result<(i64, Vec<Uuid>), Error> + Send + 'static,
{
    let found = match key {
        Some(key) => {
            let version = db::run(&state.pool, |conn| catalog::library_version(conn)).await?;
            let (page, at) = page_data(state, Some((key, version)), find).await?;
            with_reading(state, reader, page, at).await?
        }
        // Not kept: read in one go.
        None => {
            db::run(&state.pool, move |conn| {
                let page = read_page(conn, find)?;
                reading_of(conn, reader, page, None)
            })
            .await?
        }
    };
    let paging = within(Paging {
        total: found.page.total,
        per_page,
        page,
    })?;
    Ok((paging, found))
}

/// The paging, or 404 for a page past the last.
fn within(paging: Paging) -> Result<Paging, Error> {
    if paging.page > paging.last_page() {
        return Err(Error::NotFound("no such page".into()));
    }
    Ok(paging)
}

/// One of the reader's shelves; anonymous browsing has none (404).
pub async fn shelf(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: PageQuery,
    shelf: Shelf,
    flavor: Flavor,
) -> Reply {
    let page = page_number(query.page.as_deref())?;
    let (viewer, settings) = viewer(&req, &state).await?;
    let reader = viewer
        .reader()
        .ok_or_else(|| Error::NotFound("shelves belong to a logged-in reader".into()))?;
    let size = settings.opds_page_size;
    let (paging, found) = found_page(&state, Some(reader), (page, size), None, move |conn| {
        catalog::shelf_books(conn, reader, shelf, page, size)
    })
    .await?;
    let segment = shelf.segment();
    let (id, path) = (
        format!("urn:libris:shelf:{segment}"),
        format!("/shelves/{segment}"),
    );
    Ok(books_reply(
        &req,
        &state,
        flavor,
        (&id, shelf.title(), &path),
        paging,
        found,
    ))
}

/// A cover or thumbnail by its signed link: no credentials, cached for good (a changed book
/// gets new links). 403 for a link libris did not sign, 404 for one a newer cover replaced.
pub async fn cover(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
) -> Reply {
    let (id, version, kind, file) = path.into_inner();
    let refused = || Error::Forbidden("not a valid image link".into());
    let id = Uuid::parse_str(&id).map_err(|_| refused())?;
    let version: i64 = version.parse().map_err(|_| refused())?;
    let kind = covers::Kind::parse(&kind).ok_or_else(refused)?;
    let signature = file.split('.').next().unwrap_or_default();
    if !covers::verify(&state.key(COVER_LINKS), id, version, kind, signature) {
        return Err(refused().into());
    }
    let book = db::run(&state.pool, move |conn| catalog::organized_book(conn, id))
        .await?
        .filter(|b| covers::version(b) == version)
        .ok_or_else(|| Error::NotFound("this image was replaced".into()))?;
    let image = book
        .cover_path
        .ok_or_else(|| Error::NotFound("no cover".into()))?;
    let path = match kind {
        covers::Kind::Image => image,
        covers::Kind::Thumbnail => crate::library::paths::thumbnail_of(&image)
            .ok_or_else(|| Error::NotFound("no thumbnail".into()))?,
    };
    let mut resp = crate::library::download::serve_image(&req, &state.config.data_dir, &path)?;
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(resp)
}

fn book_id(raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFound("no such book".into()))
}

pub async fn entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    flavor: Flavor,
    id: String,
) -> Reply {
    let id = book_id(&id)?;
    let (viewer, _) = viewer(&req, &state).await?;
    let key = Some(PageKey::Book(id));
    let (_, found) = found_page(&state, viewer.reader(), (1, 1), key, move |_| {
        Ok((1, vec![id]))
    })
    .await?;
    let (book, files) = found
        .page
        .books
        .first()
        .ok_or_else(|| Error::NotFound("no such book".into()))?;
    Ok(shared_document(&req, &state, flavor, &found, 0, || {
        let mut c = ctx(&req, &state, flavor);
        c.reading = found.reading.clone();
        let publication = render::publication(&c, book, files);
        match flavor {
            Flavor::Atom => Rendered::new(
                media::ATOM_ENTRY,
                atom::entry_document(&publication, &Author::new("libris")),
                book.updated_at,
            ),
            Flavor::Json => Rendered::new(
                media::OPDS_PUBLICATION_JSON,
                json::publication(&publication).to_string(),
                book.updated_at,
            ),
        }
    }))
}

/// A book file. The last path segment is the file's name, for clients that name the saved
/// file after the URL; it is not looked at.
pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let (book, file, _) = path.into_inner();
    let (book, file) = (book_id(&book)?, book_id(&file)?);
    viewer(&req, &state).await?;
    let file = db::run(&state.pool, move |conn| catalog::file_of(conn, book, file))
        .await?
        .ok_or_else(|| Error::NotFound("no such file".into()))?;
    Ok(crate::library::download::serve(
        &req,
        &state.config.data_dir,
        &file,
    )?)
}

/// The Authentication for OPDS document, also linked from every 401.
pub async fn authentication(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let base = base_url(&req, &state.config);
    HttpResponse::build(StatusCode::OK)
        .content_type("application/opds-authentication+json")
        .body(super::auth::authentication_document(&base).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn accepts(accept: &str) -> bool {
        prefers_json(
            &TestRequest::default()
                .insert_header(("accept", accept))
                .to_http_request(),
        )
    }

    #[test]
    fn json_only_when_preferred() {
        assert!(accepts("application/opds+json, application/atom+xml;q=0.9"));
        assert!(accepts("application/opds+json"));
        assert!(!accepts(
            "application/atom+xml, application/opds+json;q=0.8"
        ));
        assert!(!accepts("application/atom+xml;profile=opds-catalog"));
        assert!(!accepts("*/*"));
        assert!(!accepts("not a media type"));
        assert!(!prefers_json(&TestRequest::default().to_http_request()));
    }

    #[test]
    fn page_numbers() {
        assert_eq!(page_number(None).unwrap(), 1);
        assert_eq!(page_number(Some("3")).unwrap(), 3);
        for bad in ["0", "-1", "x", "99999999999"] {
            assert!(page_number(Some(bad)).is_err(), "{bad}");
        }
    }
}
