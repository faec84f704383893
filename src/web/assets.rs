//! The stylesheet, the script and the icon, embedded in the binary and served under names
//! that carry a hash of their content (`app.3f2a9c1d.css`), so a page always names the file it
//! was written for and a browser may keep each one for good (`immutable`).

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

pub struct Asset {
    /// `app.css`: what templates ask for.
    pub name: &'static str,
    /// `app.<hash>.css`: what they link to.
    pub hashed: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

fn asset(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
    let digest = crate::auth::sha256_hex(bytes);
    let (stem, ext) = name.rsplit_once('.').expect("assets have an extension");
    Asset {
        name,
        hashed: format!("{stem}.{}.{ext}", &digest[..10]),
        content_type,
        bytes,
    }
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        asset(
            "app.css",
            "text/css; charset=utf-8",
            include_bytes!("static/app.css"),
        ),
        asset(
            "app.js",
            "text/javascript; charset=utf-8",
            include_bytes!("static/app.js"),
        ),
        asset(
            "upload.js",
            "text/javascript; charset=utf-8",
            include_bytes!("static/upload.js"),
        ),
        asset(
            "review.js",
            "text/javascript; charset=utf-8",
            include_bytes!("static/review.js"),
        ),
        asset(
            "connect.js",
            "text/javascript; charset=utf-8",
            include_bytes!("static/connect.js"),
        ),
        asset(
            "icon.svg",
            "image/svg+xml",
            include_bytes!("static/icon.svg"),
        ),
    ]
});

/// The path a page links to for `name`.
pub fn url(name: &str) -> String {
    let found = ASSETS
        .iter()
        .find(|a| a.name == name)
        .expect("templates name only embedded assets");
    format!("/static/{}", found.hashed)
}

pub async fn serve(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.hashed == *name) {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(a.bytes),
        // An old page's hash after an upgrade, or a guess: plain 404, never cached for good.
        None => HttpResponse::NotFound()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/plain; charset=utf-8")
            .body("no such file"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_carry_their_content_s_hash() {
        let css = super::url("app.css");
        assert!(
            css.starts_with("/static/app.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/static/app.0123456789.css".len());
        assert_ne!(super::url("app.js"), css);
    }
}
