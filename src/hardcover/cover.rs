//! Downloading a proposed cover from a URL that came from outside (a Hardcover answer).
//! The server must not become a way into its own network: the host's addresses are checked
//! before connecting, the connection goes to exactly the checked addresses (no second DNS
//! answer in between), and each redirect is checked the same way. Only images, at most
//! 10 MB, are read.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use libris_formats::covers;
use uuid::Uuid;

use crate::db::{self, DbPool};
use crate::error::Error;
use crate::library::review;

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);
const REDIRECTS: usize = 3;
const TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the cover URL is not an http(s) URL with a host")]
    BadUrl,
    #[error("refusing to fetch a cover from a loopback, private or reserved address")]
    PrivateAddress,
    #[error("the cover could not be fetched: {0}")]
    Failed(String),
    #[error("the cover URL does not point at an image (JPEG, PNG, GIF or WebP)")]
    NotAnImage,
    #[error("the cover is larger than 10 MB")]
    TooLarge,
}

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast, broadcast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // Documentation 2001:db8::/32, Teredo 2001::/32 and 6to4 2002::/16 (they
                // carry IPv4 addresses), and the deprecated site-local fec0::/10.
                || (first == 0x2001 && matches!(v6.segments()[1], 0x0db8 | 0))
                || first == 0x2002
                || (first & 0xffc0) == 0xfec0
                // IPv4-compatible and NAT64 forms reach IPv4 space.
                || v6.segments()[..6].iter().all(|s| *s == 0)
                || (first == 0x64 && v6.segments()[1] == 0xff9b))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || a >= 240)
}

/// Resolves `url`'s host and checks every address.
async fn checked_addresses(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::BadUrl);
    }
    let host = url.host_str().ok_or(FetchError::BadUrl)?;
    let port = url.port_or_known_default().ok_or(FetchError::BadUrl)?;
    // An IPv6 literal comes bracketed.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| FetchError::Failed(format!("cannot resolve {bare}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(FetchError::Failed(format!("{bare} has no address")));
    }
    if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(FetchError::PrivateAddress);
    }
    Ok(addrs)
}

/// The image at `url`. `allow_private` lets tests fetch from their local server.
pub async fn fetch(url: &str, allow_private: bool) -> Result<Vec<u8>, FetchError> {
    let mut url = reqwest::Url::parse(url).map_err(|_| FetchError::BadUrl)?;
    for _ in 0..=REDIRECTS {
        let addrs = checked_addresses(&url, allow_private).await?;
        let host = url.host_str().ok_or(FetchError::BadUrl)?.to_owned();
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the host again, past the check.
            .no_proxy()
            .resolve_to_addrs(&host, &addrs)
            .user_agent(concat!("libris/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Failed(e.to_string()))?;
        let resp = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| FetchError::Failed(e.without_url().to_string()))?;
        if resp.status().is_redirection() {
            let next = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| FetchError::Failed("a redirect without a location".into()))?;
            url = next;
            continue;
        }
        if !resp.status().is_success() {
            return Err(FetchError::Failed(format!("HTTP {}", resp.status())));
        }
        let media_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if !TYPES.contains(&media_type.as_str()) {
            return Err(FetchError::NotAnImage);
        }
        if resp.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        let mut bytes = Vec::new();
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| FetchError::Failed(e.without_url().to_string()))?;
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err(FetchError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(bytes);
    }
    Err(FetchError::Failed("too many redirects".into()))
}

/// A candidate's proposed cover for approval: its URL (the book must be in review), the
/// image fetched as [`fetch`] does and checked as a book's own cover is. Errors about the
/// cover are `Invalid { field: "fields" }`, saying "cover: …".
pub async fn take(
    pool: &DbPool,
    allow_private: bool,
    book_id: Uuid,
    candidate: Uuid,
) -> Result<review::TakenCover, Error> {
    let url = db::run(pool, move |conn| {
        review::candidate_cover_url(conn, book_id, candidate)
    })
    .await?;
    let bytes = fetch(&url, allow_private)
        .await
        .map_err(|e| Error::invalid("fields", format!("cover: {e}")))?;
    let image = actix_web::web::block(move || covers::render(&bytes))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::invalid("fields", format!("cover: {e}")))?;
    Ok(review::TakenCover {
        candidate,
        url,
        cover: image,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "2001::1",
            "2002:7f00:1::1",
            "192.0.0.8",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[actix_web::test]
    async fn private_and_odd_urls_are_refused_before_any_connection() {
        for (url, error) in [
            ("http://127.0.0.1:9/c.jpg", FetchError::PrivateAddress),
            ("http://[::1]:9/c.jpg", FetchError::PrivateAddress),
            ("http://localhost:9/c.jpg", FetchError::PrivateAddress),
            (
                "http://169.254.169.254/latest/meta-data",
                FetchError::PrivateAddress,
            ),
            ("file:///etc/passwd", FetchError::BadUrl),
            ("ftp://example.com/c.jpg", FetchError::BadUrl),
            ("not a url", FetchError::BadUrl),
        ] {
            assert_eq!(fetch(url, false).await, Err(error), "{url}");
        }
    }
}
