//! Serving a stored book file: HEAD, Range (206/416), ETag/Last-Modified and 304, and a
//! Content-Disposition naming the file, all by actix-files. The REST API and the OPDS
//! catalog both answer downloads here.

use std::path::Path;

use actix_files::NamedFile;
use actix_web::http::header::{
    Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpRequest, HttpResponse};
use libris_formats::Format;

use super::storage;
use crate::db::models::BookFile;
use crate::error::Error;

/// An ASCII stand-in for clients that ignore `filename*`: accents dropped where the
/// letter survives, anything else becomes '_'.
pub fn ascii_fallback(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            ' '..='~' if !matches!(c, '"' | '\\' | '/' | '%' | ';') => out.push(c),
            _ => out.push('_'),
        }
    }
    out
}

pub fn content_disposition(name: &str) -> ContentDisposition {
    let mut parameters = vec![DispositionParam::Filename(ascii_fallback(name))];
    if !name.is_ascii() || name != ascii_fallback(name) {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        }));
    }
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters,
    }
}

/// The name a download carries: the original name, with the extension the format has
/// (KOReader saves under this name, and picks its reader by the extension).
pub fn download_name(file: &BookFile, format: Format) -> String {
    storage::sanitize_file_name(&file.original_name, format.extension())
}

pub fn serve(req: &HttpRequest, data_dir: &Path, file: &BookFile) -> Result<HttpResponse, Error> {
    let format = Format::parse(&file.format)
        .ok_or_else(|| Error::Internal(format!("unknown stored format {:?}", file.format)))?;
    let path = file
        .location()
        .and_then(|p| storage::resolve(data_dir, p))
        .ok_or_else(|| Error::NotFound("this file is not stored".into()))?;
    let named = NamedFile::open(&path).map_err(|e| {
        log::error!("book file {} missing: {e}", path.display());
        Error::NotFound("the file is missing from storage".into())
    })?;
    let mime: actix_web::mime::Mime = format
        .media_type()
        .parse()
        .map_err(|_| Error::Internal("bad media type".into()))?;
    Ok(named
        .set_content_type(mime)
        .set_content_disposition(content_disposition(&download_name(file, format)))
        .into_response(req))
}

/// Serves a cover or thumbnail image by its stored relative path.
pub fn serve_image(
    req: &HttpRequest,
    data_dir: &Path,
    relative: &str,
) -> Result<HttpResponse, Error> {
    let path =
        storage::resolve(data_dir, relative).ok_or_else(|| Error::NotFound("no cover".into()))?;
    let named = NamedFile::open(&path).map_err(|_| Error::NotFound("no cover".into()))?;
    Ok(named.disable_content_disposition().into_response(req))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_names_are_plain_ascii() {
        assert_eq!(ascii_fallback("Café Crème.epub"), "Caf_ Cr_me.epub");
        assert_eq!(ascii_fallback("a\"b;c.pdf"), "a_b_c.pdf");
        let cd = content_disposition("夏目漱石.epub").to_string();
        assert!(cd.contains("filename=\"____.epub\""), "{cd}");
        assert!(cd.contains("filename*=UTF-8''"), "{cd}");
        let plain = content_disposition("plain.epub").to_string();
        assert!(!plain.contains("filename*"), "{plain}");
    }
}
