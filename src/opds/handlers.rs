//! The catalog's handlers: each reads its query (`query.rs`), asks for its page of books
//! (`found.rs`, through the cache) or its rows, renders a feed and answers it conditionally
//! (`conditional.rs`).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::DateTime;
use uuid::Uuid;

use super::auth::viewer;
use super::base::base_url;
use super::covers;
use super::error::OpdsError;
use super::feed::{media, Author, Paging};
use super::pages::{PageKey, Starts};
use super::render::{self, Ctx, Flavor, ListPage};
use super::{atom, json};
use crate::error::Error;
use crate::library::catalog::{self, Facet, Filter, List, Shelf};
use crate::library::collections;
use crate::{db, AppState};

use super::conditional::{document, feed_response, prefers_json, Changed, Rendered};
use super::found::{books_reply, found_page, page_data, shared_document, with_reading, within};
use super::query::{
    book_id, page_number, BooksQuery, FacetQuery, PageQuery, SearchQuery, ValueQuery,
};

pub(super) type Reply = Result<HttpResponse, OpdsError>;

/// What cover links are signed with (a key of their own, derived from the server secret).
pub(super) const COVER_LINKS: &str = "opds cover links";

pub(super) fn ctx(req: &HttpRequest, state: &AppState, flavor: Flavor) -> Ctx {
    Ctx {
        base: base_url(req, &state.config),
        flavor,
        cover_key: Some(state.key(COVER_LINKS)),
        reading: Default::default(),
    }
}

pub async fn root(req: HttpRequest, state: web::Data<AppState>, flavor: Flavor) -> Reply {
    let (viewer, _) = viewer(&req, &state).await?;
    // The root shows what there is to browse, nothing of the reader's reading.
    let (now, updated) = db::run(&state.pool, |conn| {
        Ok((
            catalog::library_version(conn)?,
            catalog::library_updated(conn)?,
        ))
    })
    .await?;
    let feed = render::root(
        &ctx(&req, &state, flavor),
        updated.unwrap_or(DateTime::UNIX_EPOCH),
        viewer.reader().is_some(),
    );
    Ok(feed_response(
        &req,
        flavor,
        &feed,
        Changed::of(&now, None, None),
    ))
}

/// `/opds`: Atom, unless the client prefers OPDS 2.0 JSON. Never 406.
/// `/` asked by a reading app: the catalog is at `/opds` (under the public address).
pub async fn to_catalog(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((
            header::LOCATION,
            format!("{}/opds", base_url(&req, &state.config)),
        ))
        .finish()
}

pub async fn root_negotiated(req: HttpRequest, state: web::Data<AppState>) -> Reply {
    let flavor = if prefers_json(&req) {
        Flavor::Json
    } else {
        Flavor::Atom
    };
    root(req, state, flavor).await
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
    let now = db::run(pool, |conn| catalog::library_version(conn)).await?;
    let version = now.number;
    let (starts, starts_at) = cache
        .starts
        .get((list, filter.clone(), size), version, || {
            let wanted = filter.clone();
            cache.read(pool, move |conn| {
                if list.listed_whole() {
                    let whole = catalog::by_author(conn, &wanted)?;
                    return Ok(Starts {
                        total: whole.len() as i64,
                        firsts: Arc::new(
                            whole
                                .iter()
                                .step_by(size.max(1) as usize)
                                .copied()
                                .collect(),
                        ),
                        whole: Some(Arc::new(whole)),
                    });
                }
                let (total, firsts) = catalog::page_starts(conn, list, &wanted, size)?;
                Ok(Starts {
                    total,
                    firsts: Arc::new(firsts),
                    whole: None,
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
    let whole = starts.whole.clone();
    // The page is read at the version of its starts (later, while they are computed
    // anew after a change).
    let (data, page_at) = page_data(&state, Some((key, starts_at)), move |conn| {
        let ids = match (whole, first) {
            (Some(whole), _) => {
                let skip = usize::try_from((page - 1) * size).unwrap_or(usize::MAX);
                let take = usize::try_from(size).unwrap_or(0);
                whole.iter().skip(skip).take(take).copied().collect()
            }
            (None, Some(first)) => catalog::page_from(conn, list, &wanted, first, size)?,
            (None, None) => vec![],
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
                cache.read(pool, |conn| {
                    Ok(Arc::new(catalog::facet_values(conn, Facet::Language)?))
                })
            })
            .await?;
        let (formats, formats_at) = cache
            .formats
            .get((), version, || {
                cache.read(pool, |conn| Ok(Arc::new(catalog::format_counts(conn)?)))
            })
            .await?;
        oldest = oldest.min(languages_at).min(formats_at);
        Some((languages, formats))
    } else {
        None
    };
    let found = with_reading(&state, viewer.reader(), data, Some(oldest), now).await?;
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
    // Nothing in the library changes it (a new release may): its ETag is its validator.
    Ok(document(&req, media::OPENSEARCH, body, None))
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
    // When a book last changed (the feed's <updated>) is read with the version. Values kept
    // under a newer version (another request stored them meanwhile) may be newer than that:
    // then it is read again, so <updated> is never older than what the page shows.
    // Last-Modified comes from the version read first: at worst older than the values, which
    // costs a client a fetch, never a change.
    let (now, updated) = db::run(pool, |conn| {
        Ok((
            catalog::library_version(conn)?,
            catalog::library_updated(conn)?,
        ))
    })
    .await?;
    let version = now.number;
    let (values, values_at) = state
        .opds_cache
        .facets
        .get(facet, version, || {
            state.opds_cache.read(pool, move |conn| {
                Ok(Arc::new(catalog::facet_values(conn, facet)?))
            })
        })
        .await?;
    let updated = if values_at > version {
        db::run(pool, |conn| catalog::library_updated(conn)).await?
    } else {
        updated
    };
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
    Ok(feed_response(
        &req,
        flavor,
        &feed,
        Changed::of(&now, None, Some(values_at)),
    ))
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
    let title = catalog::value_title(facet, &value);
    Ok(books_reply(
        &req,
        &state,
        flavor,
        (&id, &title, &path),
        paging,
        found,
    ))
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

/// The reader's collections and the library-wide ones.
pub async fn collections(req: HttpRequest, state: web::Data<AppState>, flavor: Flavor) -> Reply {
    let (viewer, _) = viewer(&req, &state).await?;
    let who = asker(&viewer)?;
    let (now, listed) = db::run(&state.pool, move |conn| {
        Ok((
            catalog::library_version(conn)?,
            collections::list(conn, who)?,
        ))
    })
    .await?;
    let newest = listed.iter().map(|l| l.collection.updated_at).max();
    let feed = render::collections(
        &ctx(&req, &state, flavor),
        &listed,
        newest.unwrap_or(now.changed_at).max(now.changed_at),
    );
    // A deleted collection moves no stamp: no Last-Modified, so no If-Modified-Since hides
    // a deletion (the ETag of the body still answers If-None-Match).
    let mut changed = Changed::of(&now, newest, None);
    changed.current = false;
    Ok(feed_response(&req, flavor, &feed, changed))
}

/// One collection's books, in its order.
pub async fn collection(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: PageQuery,
    id: String,
    flavor: Flavor,
) -> Reply {
    let page = page_number(query.page.as_deref())?;
    let (viewer, settings) = viewer(&req, &state).await?;
    let who = asker(&viewer)?;
    let id = Uuid::parse_str(&id).map_err(|_| Error::NotFound("no such collection".into()))?;
    let size = settings.opds_page_size;
    let found_collection =
        db::run(&state.pool, move |conn| collections::get(conn, who, id)).await?;
    let (paging, mut found) =
        found_page(&state, Some(who.reader), (page, size), None, move |conn| {
            collections::page_of(conn, who, id, page, size)
        })
        .await?;
    // Its order and membership change without the library's version moving.
    found.changed.at = found.changed.at.max(found_collection.updated_at);
    let (urn, path) = (
        format!("urn:libris:collection:{id}"),
        format!("/collections/{id}"),
    );
    Ok(books_reply(
        &req,
        &state,
        flavor,
        (&urn, &found_collection.name, &path),
        paging,
        found,
    ))
}

/// A collection shared by a link, as an Atom feed (`/s/{token}/opds`): no credentials, the
/// token opens it while the share lasts; downloads go through the share.
pub async fn shared(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Reply {
    let page = page_number(query.page.as_deref())?;
    let token = token.into_inner();
    let t = token.clone();
    let config = state.config.clone();
    let (collection, settings) = db::run(&state.pool, move |conn| {
        Ok((
            collections::shared(conn, &t)?,
            crate::settings::load(conn, &config)?,
        ))
    })
    .await?;
    let size = settings.opds_page_size;
    let t = token.clone();
    let (paging, mut found) = found_page(&state, None, (page, size), None, move |conn| {
        collections::shared_page_of(conn, &t, page, size)
    })
    .await?;
    found.changed.at = found.changed.at.max(collection.updated_at);
    let c = ctx(&req, &state, Flavor::Atom);
    let listed = render::list(
        &c,
        render::ListPage {
            id: &format!("urn:libris:share:{}", collection.id),
            title: &collection.name,
            path: "",
            paging,
            books: &found.page.books,
        },
        found.page.updated.unwrap_or(DateTime::UNIX_EPOCH),
    );
    let feed = render::shared(listed, &c.base, &token);
    let mut res = feed_response(&req, Flavor::Atom, &feed, found.changed);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// Collections belong to a logged-in reader (the catalog only reads them: admin or not, they
/// see their own and the library's).
fn asker(viewer: &super::auth::Viewer) -> Result<collections::Asker, Error> {
    let reader = viewer
        .reader()
        .ok_or_else(|| Error::NotFound("collections belong to a logged-in reader".into()))?;
    Ok(collections::Asker {
        reader,
        admin: false,
    })
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
            ),
            Flavor::Json => Rendered::new(
                media::OPDS_PUBLICATION_JSON,
                json::publication(&publication).to_string(),
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
