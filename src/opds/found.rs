//! Pages of books through the catalog cache (`pages.rs`): read once per library version by
//! one request while the others wait holding no connection, then rendered for each reader
//! (the comics they are reading) or shared by all.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse};
use chrono::DateTime;
use uuid::Uuid;

use super::base::base_url;
use super::conditional::{reply, Changed, Rendered};
use super::feed::Paging;
use super::handlers::ctx;
use super::pages::{PageData, PageKey};
use super::render::{self, Flavor, ListPage};
use crate::error::Error;
use crate::library::catalog::{self, Version};
use crate::reading::changed::changed_at;
use crate::{db, AppState};

/// A page of books (or one book's entry) as a document. One that holds nothing of this reader's own (no comic
/// they are reading) is the same for every reader: it is kept per address and library
/// version and served again without rendering.
pub(super) fn shared_document(
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
        return reply(req, &held.0, Some(found.changed));
    }
    let rendered = Arc::new(build());
    if let Some((k, v)) = key {
        bodies.store(k, v, rendered.clone());
    }
    reply(req, &rendered, Some(found.changed))
}

/// A page of books, and where the reader stands in the comics among them.
pub(super) struct Found {
    pub(super) page: Arc<PageData>,
    pub(super) reading: HashMap<Uuid, render::LastRead>,
    /// The library version the page was read at, or later (none for pages not kept).
    pub(super) version: Option<i64>,
    /// When what it shows last changed: the library, and the reader's reading when the page
    /// shows some of it (a shelf; comics, where the reader stands in them).
    pub(super) changed: Changed,
}

/// A page of books as the database gives it now: `find` gives how many books there are in
/// all and the ids of this page's.
pub(super) fn read_page(
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
pub(super) async fn page_data<F>(
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
                .get(key, version, || state.opds_cache.read(&state.pool, read))
                .await?;
            Ok((page, Some(at)))
        }
        None => Ok((state.opds_cache.read(&state.pool, read).await?, None)),
    }
}

/// Where the reader stands in the comics of the page (a query only when there are some), for
/// a page of library version `version` when the library was at `now`.
pub(super) async fn with_reading(
    state: &AppState,
    reader: Option<Uuid>,
    page: Arc<PageData>,
    version: Option<i64>,
    now: Version,
) -> Result<Found, Error> {
    if reader.is_none() || catalog::comics(&page.books).is_empty() {
        return Ok(Found {
            reading: HashMap::new(),
            changed: Changed::of(&now, None, version),
            page,
            version,
        });
    }
    // A page with comics shows the reader's reading even where they have none yet, or none
    // any more: when it last changed counts.
    db::run(&state.pool, move |conn| {
        let reading_changed = reader_changed(conn, reader)?;
        reading_of(conn, reader, page, version, now, reading_changed)
    })
    .await
}

/// When the reader's reading last changed. Read before the reading a document shows: what
/// is read after is at least as new.
fn reader_changed(
    conn: &mut db::Conn,
    reader: Option<Uuid>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Error> {
    reader.map_or(Ok(None), |reader| changed_at(conn, reader))
}

/// The page with the reader's positions in its comics.
fn reading_of(
    conn: &mut db::Conn,
    reader: Option<Uuid>,
    page: Arc<PageData>,
    version: Option<i64>,
    now: Version,
    reading_changed: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Found, Error> {
    Ok(Found {
        reading: catalog::comic_reading(conn, reader, &page.books)?,
        changed: Changed::of(&now, reading_changed, version),
        page,
        version,
    })
}

/// A page of found books as a feed with this id, title and path.
pub(super) fn books_reply(
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
pub(super) async fn found_page<F>(
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
            let now = db::run(&state.pool, |conn| catalog::library_version(conn)).await?;
            let (page, at) = page_data(state, Some((key, now.number)), find).await?;
            with_reading(state, reader, page, at, now).await?
        }
        // Not kept (a shelf: the reader's own, whose reading it always shows): read in one go,
        // when things last changed first.
        None => {
            state
                .opds_cache
                .read(&state.pool, move |conn| {
                    let now = catalog::library_version(conn)?;
                    let reading_changed = reader_changed(conn, reader)?;
                    let page = read_page(conn, find)?;
                    reading_of(conn, reader, page, None, now, reading_changed)
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
pub(super) fn within(paging: Paging) -> Result<Paging, Error> {
    if paging.page > paging.last_page() {
        return Err(Error::NotFound("no such page".into()));
    }
    Ok(paging)
}
