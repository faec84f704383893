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
use uuid::Uuid;

use super::storage;
use crate::db::models::BookFile;
use crate::error::Error;

/// Longest ASCII stem a download name gets: transliteration makes a name longer (夏 is
/// "Xia "), and devices' file systems stop at 255 bytes.
const MAX_ASCII_STEM: usize = 150;

/// An ASCII stand-in for clients that read only `filename`, not `filename*` (KOReader among
/// them): the name transliterated ("夏目漱石" → "Xia Mu Shu Shi"), so that books whose names
/// differ only outside ASCII still save under different names. Characters a header or a
/// device's file system cannot take (quotes, slashes, `\`, `%`, `;`, and what FAT refuses)
/// become '_', controls a space. A name with no letter or digit left (only emoji the transliteration
/// does not know, say) becomes `book-` and the start of `id`: stable, and distinct per file.
pub fn ascii_fallback(name: &str, id: &Uuid) -> String {
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext)) if ext.is_ascii() => (stem, ext),
        _ => (name, ""),
    };
    let mut ascii = String::with_capacity(stem.len());
    for c in deunicode::deunicode_with_tofu(stem, "_")
        .chars()
        .map(header_safe)
    {
        if c == ' ' && (ascii.is_empty() || ascii.ends_with(' ')) {
            continue;
        }
        ascii.push(c);
    }
    ascii.truncate(MAX_ASCII_STEM);
    // No hidden file (a leading dot), nothing Windows refuses (a trailing dot or space).
    let mut ascii = ascii.trim_matches(['.', ' ']).to_owned();
    if !ascii.chars().any(|c| c.is_ascii_alphanumeric()) {
        ascii = format!("book-{}", &id.simple().to_string()[..8]);
    }
    if !extension.is_empty() {
        ascii.push('.');
        ascii.extend(extension.chars().map(header_safe).filter(|c| *c != ' '));
    }
    ascii
}

/// `c` if a quoted header value and a file name on any device can hold it; controls and
/// anything past ASCII become a space, the rest of what they cannot hold '_'.
fn header_safe(c: char) -> char {
    match c {
        '"' | '\\' | '/' | '%' | ';' | ':' | '*' | '?' | '<' | '>' | '|' => '_',
        ' '..='~' => c,
        _ => ' ',
    }
}

/// `filename` in ASCII (see [`ascii_fallback`]), and `filename*` in UTF-8 when the name is
/// not that ASCII name.
pub fn content_disposition(name: &str, id: &Uuid) -> ContentDisposition {
    let ascii = ascii_fallback(name, id);
    let utf8 = (ascii != name).then(|| {
        DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        })
    });
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    parameters.extend(utf8);
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
        .set_content_disposition(content_disposition(&download_name(file, format), &file.id))
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
    use proptest::prelude::*;

    fn id() -> Uuid {
        Uuid::parse_str("1a2b3c4d-0000-4000-8000-000000000000").unwrap()
    }

    #[test]
    fn fallback_names_are_transliterated() {
        assert_eq!(ascii_fallback("Café Crème.epub", &id()), "Cafe Creme.epub");
        assert_eq!(
            ascii_fallback("夏目漱石 - 吾輩は猫である.epub", &id()),
            "Xia Mu Shu Shi - Wu Bei haMao dearu.epub"
        );
        assert_eq!(
            ascii_fallback("Война и мир.fb2.zip", &id()),
            "Voina i mir.fb2.zip"
        );
        assert_eq!(ascii_fallback("plain.pdf", &id()), "plain.pdf");
    }

    #[test]
    fn names_of_the_same_length_stay_apart() {
        let a = ascii_fallback("夏目漱石 - こころ.epub", &id());
        let b = ascii_fallback("夏目漱石 - 羅生門.epub", &id());
        assert_ne!(a, b);
        assert_eq!(b, "Xia Mu Shu Shi - Luo Sheng Men.epub");
    }

    #[test]
    fn unsafe_characters_are_replaced() {
        // Fullwidth slashes transliterate to real ones; a quote would end the header value.
        assert_eq!(
            ascii_fallback("a／b＼c\"d;e%f\u{7}g:h.epub", &id()),
            "a_b_c_d_e_fg_h.epub"
        );
    }

    #[test]
    fn a_name_with_nothing_readable_falls_back_to_the_file_id() {
        for name in [
            "\u{e000}\u{e001}.epub",
            "\u{200b}.epub",
            "「」.epub",
            "_.epub",
            ".epub",
        ] {
            assert_eq!(
                ascii_fallback(name, &id()),
                "book-1a2b3c4d.epub",
                "{name:?}"
            );
        }
        let other = Uuid::parse_str("99999999-0000-4000-8000-000000000000").unwrap();
        assert_eq!(
            ascii_fallback("\u{e000}.epub", &other),
            "book-99999999.epub"
        );
    }

    #[test]
    fn the_header_carries_both_names() {
        let cd = content_disposition("夏目漱石.epub", &id()).to_string();
        assert!(cd.contains("filename=\"Xia Mu Shu Shi.epub\""), "{cd}");
        assert!(
            cd.contains("filename*=UTF-8''%E5%A4%8F%E7%9B%AE%E6%BC%B1%E7%9F%B3.epub"),
            "{cd}"
        );
        let plain = content_disposition("plain.epub", &id()).to_string();
        assert!(!plain.contains("filename*"), "{plain}");
        // Once found by the property below: a name that is only an extension.
        let bare = ascii_fallback(".a", &id());
        assert!(bare.starts_with("book-") && bare.ends_with(".a"), "{bare}");
    }

    proptest! {
        #[test]
        fn any_name_gives_a_safe_readable_ascii_name(stem in "\\PC{0,80}", ext in "[a-z0-9]{1,4}") {
            let ascii = ascii_fallback(&format!("{stem}.{ext}"), &id());
            prop_assert!(ascii.chars().all(|c| (' '..='~').contains(&c)), "{}", ascii);
            prop_assert!(!ascii.contains(['"', '\\', '/', '%', ';', ':', '*', '?', '<', '>', '|']), "{}", ascii);
            let (base, got_ext) = ascii.rsplit_once('.').unwrap();
            prop_assert_eq!(got_ext, ext.as_str());
            prop_assert!(base.chars().any(|c| c.is_ascii_alphanumeric()), "{}", ascii);
            prop_assert!(base.len() <= MAX_ASCII_STEM && !base.ends_with(' '), "{}", ascii);
        }
    }
}
