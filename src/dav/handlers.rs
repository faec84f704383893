//! The WebDAV methods KOReader's Cloud storage and common clients use: OPTIONS, PROPFIND
//! (Depth 0 and 1), GET and HEAD with a strong ETag, PUT with If-Match / If-None-Match,
//! MKCOL, DELETE. Each works in the signed-in reader's own space (`cloud::space`).

use std::path::PathBuf;

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::error::{DavError, ALLOW};
use super::xml;
use crate::auth::device_passwords::Via;
use crate::cloud::space::{self, Entry, Path, Preconditions, Upload};
use crate::cloud::{highlights, statistics};
use crate::error::Error;
use crate::AppState;

type Reply = Result<HttpResponse, DavError>;

/// The largest PROPFIND body read (its properties are not needed: every property is sent).
const PROPFIND_BODY_LIMIT: usize = 64 * 1024;

/// The signed-in reader (`AppState::basic_login`: a device password, an API key as the
/// password, or the reader's OPDS login).
async fn reader(req: &HttpRequest, state: &AppState) -> Result<Uuid, DavError> {
    state
        .basic_login(req, Via::Webdav)
        .await?
        .ok_or(DavError::Unauthorized)
}

/// The path under /dav/ the request names, percent-decoded and confined.
fn path_of(req: &HttpRequest) -> Result<Path, DavError> {
    let tail = req.match_info().get("tail").unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(tail)
        .decode_utf8()
        .map_err(|_| Error::invalid("path", "not UTF-8"))?;
    Ok(Path::parse(&decoded)?)
}

/// The public URL's path (a proxy may serve libris under one), for hrefs.
fn prefix(req: &HttpRequest, state: &AppState) -> String {
    let base = crate::http::base::base_url(req, &state.config);
    let after_scheme = base.split_once("://").map_or(base.as_str(), |(_, r)| r);
    match after_scheme.find('/') {
        Some(i) => after_scheme[i..].trim_end_matches('/').to_owned(),
        None => String::new(),
    }
}

fn preconditions(headers: &HeaderMap) -> Preconditions {
    let get = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Preconditions {
        if_match: get(header::IF_MATCH),
        if_none_match: get(header::IF_NONE_MATCH),
    }
}

fn content_type(e: &Entry) -> String {
    match e.path.name() {
        Some(name) if name.ends_with(".sqlite3") || name.ends_with(".sqlite") => {
            "application/vnd.sqlite3".into()
        }
        Some(name) => {
            let mime = std::path::Path::new(name)
                .extension()
                .and_then(|x| x.to_str())
                .map(|x| actix_files::file_extension_to_mime(x).to_string())
                .unwrap_or_default();
            // Types a browser would render as a page or run are served as plain bytes.
            let active = ["html", "xml", "svg", "javascript", "xhtml", "ecmascript"]
                .iter()
                .any(|t| mime.contains(t));
            if mime.is_empty() || active {
                "application/octet-stream".into()
            } else {
                mime
            }
        }
        None => "httpd/unix-directory".into(),
    }
}

/// Runs file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, DavError> {
    Ok(web::block(work).await.map_err(Error::from)??)
}

pub async fn dispatch(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> Reply {
    if req.method() == Method::OPTIONS {
        return Ok(HttpResponse::Ok()
            .insert_header(("dav", "1"))
            .insert_header((header::ALLOW, ALLOW))
            .insert_header(("ms-author-via", "DAV"))
            .finish());
    }
    let reader = reader(&req, &state).await?;
    let root = space::root(&state.config.data_dir, reader);
    let path = path_of(&req)?;
    match req.method().as_str() {
        "PROPFIND" => propfind(&req, &state, root, path, body).await,
        "GET" | "HEAD" => get(&req, root, path).await,
        "PUT" => put(&req, &state, reader, root, path, body).await,
        "MKCOL" => mkcol(&state, reader, root, path, body).await,
        "DELETE" => delete(&req, &state, reader, root, path).await,
        _ => Err(DavError::MethodNotAllowed),
    }
}

async fn stat(root: &std::path::Path, path: &Path) -> Result<Option<Entry>, DavError> {
    let (root, path) = (root.to_path_buf(), path.clone());
    blocking(move || space::stat(&root, &path)).await
}

async fn propfind(
    req: &HttpRequest,
    state: &AppState,
    root: PathBuf,
    path: Path,
    body: web::Payload,
) -> Reply {
    let depth = match req.headers().get("depth").map(|v| v.to_str().unwrap_or("")) {
        Some("0") => 0,
        Some("1") | None => 1,
        // RFC 4918 §9.1: a server may refuse infinity.
        _ => {
            return Ok(HttpResponse::Forbidden()
                .content_type("application/xml; charset=utf-8")
                .body("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\"><d:propfind-finite-depth/></d:error>\n"))
        }
    };
    // The body asks for properties; all of them are sent. It must still be XML if there.
    let bytes =
        crate::http::slow_body::read_limited(req.headers(), body, PROPFIND_BODY_LIMIT).await?;
    if !bytes.is_empty() && !well_formed(&bytes) {
        return Ok(HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("The PROPFIND body is not XML.\n"));
    }
    let entries = blocking(move || {
        let Some(entry) = space::stat(&root, &path)? else {
            return Err(Error::NotFound("nothing at this path".into()));
        };
        let mut entries = vec![entry.clone()];
        if depth == 1 && entry.folder {
            entries.extend(space::list(&root, &path)?);
        }
        Ok(entries)
    })
    .await?;
    let body = xml::multistatus(&prefix(req, state), &entries, content_type);
    Ok(HttpResponse::build(StatusCode::MULTI_STATUS)
        .content_type("application/xml; charset=utf-8")
        .body(body))
}

fn well_formed(bytes: &[u8]) -> bool {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut depth = 0usize;
    let mut buf = Vec::new();
    let mut seen = false;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(_)) => {
                depth += 1;
                seen = true;
            }
            Ok(quick_xml::events::Event::End(_)) => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Ok(quick_xml::events::Event::Empty(_)) => seen = true,
            Ok(quick_xml::events::Event::Eof) => return seen && depth == 0,
            Ok(_) => {}
            Err(_) => return false,
        }
        buf.clear();
    }
}

async fn get(req: &HttpRequest, root: PathBuf, path: Path) -> Reply {
    let Some(entry) = stat(&root, &path).await? else {
        return Err(Error::NotFound("nothing at this path".into()).into());
    };
    if entry.folder {
        // A browser looking: the names, one a line (folders end with /).
        let listed = blocking(move || space::list(&root, &path)).await?;
        let text: String = listed
            .iter()
            .map(|e| {
                format!(
                    "{}{}\n",
                    e.path.name().unwrap_or(""),
                    if e.folder { "/" } else { "" }
                )
            })
            .collect();
        return Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(text));
    }
    let etag = entry.etag.clone().unwrap_or_default();
    let fresh = preconditions(req.headers())
        .if_none_match
        .is_some_and(|h| h.split(',').any(|c| c.trim() == etag || c.trim() == "*"));
    if fresh {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let file = path.on_disk(&root);
    let named = blocking(move || {
        actix_files::NamedFile::open(&file)
            .map_err(|e| Error::Internal(format!("WebDAV storage: {e}")))
    })
    .await?
    .use_etag(false)
    .use_last_modified(true)
    .disable_content_disposition();
    // The version opened, which a PUT may have replaced since the stat above.
    let etag = space::etag(named.metadata());
    let mut resp = named.into_response(req);
    let headers = resp.headers_mut();
    let value =
        |v: &str| header::HeaderValue::from_str(v).map_err(|e| Error::Internal(e.to_string()));
    headers.insert(header::ETAG, value(&etag)?);
    headers.insert(header::CONTENT_TYPE, value(&content_type(&entry))?);
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    // A reader's file is never a page of libris's: an uploaded HTML or SVG file must not run
    // on the app's origin. Downloaded, sandboxed, of a type no browser renders as a page.
    headers.insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(resp)
}

async fn put(
    req: &HttpRequest,
    state: &AppState,
    reader: Uuid,
    root: PathBuf,
    path: Path,
    mut body: web::Payload,
) -> Reply {
    if path.is_root() {
        return Err(DavError::MethodNotAllowed);
    }
    let limit = state.config.max_upload_bytes;
    if crate::http::slow_body::declared_length(req.headers()).is_some_and(|n| n > limit) {
        return Err(Error::PayloadTooLarge.into());
    }
    if stat(&root, &path).await?.is_some_and(|e| e.folder) {
        return Err(DavError::MethodNotAllowed);
    }
    let (r, p) = (root.clone(), path.clone());
    let (upload, file) = blocking(move || Upload::start(&r, &p)).await?;
    // The body goes to the hidden temporary file; dropping `upload` on any error removes it.
    let mut file = tokio::fs::File::from_std(file);
    let mut written: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => Error::PayloadTooLarge,
            other => Error::BadJson(format!("the upload was cut off: {other}")),
        })?;
        written += chunk.len() as u64;
        if written > limit {
            return Err(Error::PayloadTooLarge.into());
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::Internal(format!("WebDAV storage: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| Error::Internal(format!("WebDAV storage: {e}")))?;
    drop(file);

    // Check and replace under the reader's lock: of two uploads naming the same ETag, the
    // second finds the first's new file and fails. The work runs as its own task, holding the
    // lock to the end even when the client goes away meanwhile.
    let state = state.clone();
    let conditions = preconditions(req.headers());
    let done = actix_web::rt::spawn(async move {
        let _held = state.dav_locks.of(reader).lock_owned().await;
        let current = stat(&root, &path).await?;
        if current.as_ref().is_some_and(|e| e.folder) {
            return Err(DavError::MethodNotAllowed);
        }
        if !conditions.hold(current.as_ref()) {
            return Err(DavError::PreconditionFailed);
        }
        let (r, quota) = (root.clone(), state.config.dav_quota_bytes);
        let replacing = current.as_ref().map_or(0, |e| e.size);
        let new_entries = u64::from(current.is_none());
        if !blocking(move || {
            Ok(space::fits(
                space::usage(&r),
                written,
                replacing,
                new_entries,
                quota,
            ))
        })
        .await?
        {
            return Err(DavError::InsufficientStorage);
        }
        if statistics::is_statistics(path.name()) {
            statistics::ingest(&state.pool, reader, &upload.temp).await?;
        } else if highlights::may_be_export(path.name()) {
            highlights::ingest(&state.pool, reader, &upload.temp).await?;
        }
        let p = path.clone();
        let entry = blocking(move || upload.commit(&p)).await?;
        Ok((current.is_some(), entry))
    });
    let (replaced, entry) = done
        .await
        .map_err(|e| Error::Internal(format!("a WebDAV upload's task: {e}")))??;
    let status = if replaced {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    };
    Ok(HttpResponse::build(status)
        .insert_header((header::ETAG, entry.etag.unwrap_or_default()))
        .finish())
}

async fn mkcol(
    state: &AppState,
    reader: Uuid,
    root: PathBuf,
    path: Path,
    mut body: web::Payload,
) -> Reply {
    if body
        .next()
        .await
        .is_some_and(|c| c.map_or(true, |c| !c.is_empty()))
    {
        return Err(Error::UnsupportedMedia("MKCOL takes no body".into()).into());
    }
    if path.is_root() {
        return Err(DavError::MethodNotAllowed);
    }
    let _held = state.dav_locks.of(reader).lock_owned().await;
    let r = root.clone();
    if !blocking(move || Ok(space::fits(space::usage(&r), 0, 0, 1, u64::MAX))).await? {
        return Err(DavError::InsufficientStorage);
    }
    blocking(move || space::make_folder(&root, &path)).await?;
    Ok(HttpResponse::Created().finish())
}

async fn delete(
    req: &HttpRequest,
    state: &AppState,
    reader: Uuid,
    root: PathBuf,
    path: Path,
) -> Reply {
    if path.is_root() {
        return Err(Error::Forbidden("your space itself is not deleted".into()).into());
    }
    let _held = state.dav_locks.of(reader).lock_owned().await;
    let Some(entry) = stat(&root, &path).await? else {
        return Err(Error::NotFound("nothing at this path".into()).into());
    };
    if !preconditions(req.headers()).hold(Some(&entry)) {
        return Err(DavError::PreconditionFailed);
    }
    blocking(move || space::delete(&root, &entry)).await?;
    Ok(HttpResponse::NoContent().finish())
}
