//! Cover and thumbnail links that need no credentials: several reader apps fetch images
//! without sending the login they browse with. Each link carries an HMAC of the book, the
//! cover's version (when the book last changed) and the kind of image, under a key derived
//! from the server secret; nothing else can be fetched that way, and a changed book gets new
//! links, so an image may be cached for good.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::db::models::Book;

/// Bytes of the MAC kept in a link: 128 bits.
const KEPT: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Thumbnail,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Thumbnail => "thumbnail",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "image" => Some(Kind::Image),
            "thumbnail" => Some(Kind::Thumbnail),
            _ => None,
        }
    }
}

/// The version a link names: the book's last change, in microseconds.
pub fn version(book: &Book) -> i64 {
    book.updated_at.timestamp_micros()
}

fn mac(key: &[u8; 32], book: Uuid, version: i64, kind: Kind) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("{book}:{version}:{}", kind.as_str()).as_bytes());
    mac
}

pub fn sign(key: &[u8; 32], book: Uuid, version: i64, kind: Kind) -> String {
    hex::encode(&mac(key, book, version, kind).finalize().into_bytes()[..KEPT])
}

/// Compares in constant time.
pub fn verify(key: &[u8; 32], book: Uuid, version: i64, kind: Kind, signature: &str) -> bool {
    let mut given = [0u8; KEPT];
    hex::decode_to_slice(signature, &mut given).is_ok()
        && mac(key, book, version, kind)
            .verify_truncated_left(&given)
            .is_ok()
}

/// `(path under /opds, media type)` of the book's image of `kind`, if it has a cover.
pub fn link(key: &[u8; 32], book: &Book, kind: Kind) -> Option<(String, String)> {
    let cover = book.cover_path.as_deref()?;
    let (extension, media_type) = match kind {
        Kind::Thumbnail => ("jpg", "image/jpeg"),
        Kind::Image => match cover.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()) {
            Some(e) if e == "png" => ("png", "image/png"),
            Some(e) if e == "gif" => ("gif", "image/gif"),
            Some(e) if e == "webp" => ("webp", "image/webp"),
            _ => ("jpg", "image/jpeg"),
        },
    };
    let v = version(book);
    Some((
        format!(
            "/covers/{}/{v}/{}/{}.{extension}",
            book.id,
            kind.as_str(),
            sign(key, book.id, v, kind)
        ),
        media_type.to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_exactly_what_it_signed() {
        let key = [7u8; 32];
        let book = Uuid::from_u128(1);
        let sig = sign(&key, book, 42, Kind::Image);
        assert_eq!(sig.len(), 32);
        assert!(verify(&key, book, 42, Kind::Image, &sig));
        assert!(!verify(&key, book, 43, Kind::Image, &sig));
        assert!(!verify(&key, book, 42, Kind::Thumbnail, &sig));
        assert!(!verify(&key, Uuid::from_u128(2), 42, Kind::Image, &sig));
        assert!(!verify(&[8u8; 32], book, 42, Kind::Image, &sig));
        assert!(!verify(&key, book, 42, Kind::Image, &sig[..30]));
        assert!(!verify(&key, book, 42, Kind::Image, "zz"));
    }
}
