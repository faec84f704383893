//! OPDS page streaming (PSE 1.1): one page of a CBZ at a time, scaled down to the width the
//! client asks for, so a comic can be read without downloading the whole archive.

use std::path::Path;

use actix_web::http::header::{self, EntityTag};
use actix_web::{web, HttpRequest, HttpResponse};
use libris_formats::{covers, zipsafe};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::viewer;
use super::error::OpdsError;
use crate::error::Error;
use crate::library::catalog;
use crate::library::storage;
use crate::{db, AppState};

/// A page is an image in the archive; larger than this is not a page.
const MAX_PAGE_BYTES: u64 = 64 * 1024 * 1024;
/// Wider than any screen; a larger `width` is served unscaled.
const MAX_WIDTH: u32 = 10_000;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    width: Option<String>,
}

/// `width` as a client sends it: a number of pixels, or nothing (also the template's
/// `{maxWidth}` left unexpanded, which some clients send as it is).
fn max_width(raw: Option<&str>) -> Result<Option<u32>, Error> {
    match raw.map(str::trim) {
        None | Some("") | Some("{maxWidth}") => Ok(None),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|w| *w >= 1)
            .map(|w| (w < MAX_WIDTH).then_some(w))
            .ok_or_else(|| Error::invalid("width", "expected a width in pixels")),
    }
}

/// `GET /opds/pse/{file}/{page}?width=`: page N (0-based) of a CBZ, in reading order.
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, OpdsError> {
    let (file, number) = path.into_inner();
    let no_page = || Error::NotFound("no such page".into());
    let file = Uuid::parse_str(&file).map_err(|_| Error::NotFound("no such comic".into()))?;
    let number: usize = number.parse().map_err(|_| no_page())?;
    let width = max_width(query.width.as_deref())?;
    viewer(&req, &state).await?;
    let file = db::run(&state.pool, move |conn| catalog::comic_file(conn, file))
        .await?
        .ok_or_else(|| Error::NotFound("no such comic".into()))?;
    // A stored file never changes (a new upload is a new file), so neither does its page.
    let tag = EntityTag::new_strong(format!(
        "{}-{number}-{}",
        file.id.simple(),
        width.unwrap_or(0)
    ));
    let cached = super::conditional::none_match(&req, &tag).unwrap_or(false);
    let mut resp = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header(header::ETag(tag)).insert_header((
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    ));
    if cached {
        return Ok(resp.finish());
    }
    let location = file
        .location()
        .and_then(|p| storage::resolve(&state.config.data_dir, p))
        .ok_or_else(|| Error::NotFound("this file is not stored".into()))?;
    let (bytes, media_type) = web::block(move || read_page(&location, number, width))
        .await
        .map_err(|e| Error::Internal(format!("page reader stopped: {e}")))??;
    Ok(resp.content_type(media_type).body(bytes))
}

/// The page's bytes and media type: as stored, or a scaled-down JPEG when it is wider
/// than `width`.
fn read_page(
    path: &Path,
    number: usize,
    width: Option<u32>,
) -> Result<(Vec<u8>, &'static str), Error> {
    let broken = |e: libris_formats::FormatError| {
        log::error!("comic {} unreadable: {e}", path.display());
        Error::NotFound("the comic cannot be read".into())
    };
    let mut zip = zipsafe::open_file(path).map_err(broken)?;
    let index = *libris_formats::cbz_pages(&zip)
        .get(number)
        .ok_or_else(|| Error::NotFound("no such page".into()))?;
    let bytes = zip.read(index, MAX_PAGE_BYTES).map_err(broken)?;
    let Some(media_type) = covers::image_type(&bytes) else {
        return Err(Error::UnsupportedMedia(
            "this page is not a JPEG, PNG, GIF or WebP image".into(),
        ));
    };
    match width.map(|w| covers::fit_width(&bytes, w)) {
        Some(Ok(Some(scaled))) => Ok((scaled, "image/jpeg")),
        Some(Err(e)) => {
            // The client still gets the page, as it is.
            log::warn!("page {number} of {} not scaled: {e}", path.display());
            Ok((bytes, media_type))
        }
        _ => Ok((bytes, media_type)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(max_width(None).unwrap(), None);
        assert_eq!(max_width(Some("")).unwrap(), None);
        assert_eq!(max_width(Some("{maxWidth}")).unwrap(), None);
        assert_eq!(max_width(Some("800")).unwrap(), Some(800));
        assert_eq!(max_width(Some("20000")).unwrap(), None);
        for bad in ["0", "-5", "wide", "1.5"] {
            assert!(max_width(Some(bad)).is_err(), "{bad}");
        }
    }
}
