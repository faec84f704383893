//! The absolute URLs feeds and pages carry. LIBRIS_PUBLIC_URL when set; else the request's own scheme
//! and Host, and X-Forwarded-Proto and X-Forwarded-Host only with LIBRIS_TRUST_PROXY on
//! (otherwise any client could point the links of a feed at another server).

use actix_web::HttpRequest;

use crate::config::Config;

/// `scheme://host[/prefix]`, without a trailing '/'.
pub fn base_url(req: &HttpRequest, config: &Config) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
    };
    let forwarded = |name: &str| config.trust_proxy.then(|| header(name)).flatten();
    let scheme = forwarded("x-forwarded-proto")
        .filter(|s| s == "http" || s == "https")
        .unwrap_or_else(|| {
            if req.app_config().secure() {
                "https"
            } else {
                "http"
            }
            .to_owned()
        });
    let host = forwarded("x-forwarded-host")
        .filter(|h| valid_host(h))
        .or_else(|| header("host").filter(|h| valid_host(h)))
        .unwrap_or_else(|| req.app_config().host().to_owned());
    format!("{scheme}://{host}")
}

/// A host[:port] as it may appear in a URL: nothing that could end the authority or break
/// out of an attribute.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn config(public: Option<&str>, trust: bool) -> Config {
        let mut c = Config::for_database("");
        c.public_url = public.map(Into::into);
        c.trust_proxy = trust;
        c
    }

    #[test]
    fn the_public_url_wins() {
        let req = TestRequest::default()
            .insert_header(("host", "internal:8080"))
            .to_http_request();
        assert_eq!(
            base_url(&req, &config(Some("https://books.example.org/lib"), false)),
            "https://books.example.org/lib"
        );
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_proxy() {
        let req = TestRequest::default()
            .insert_header(("host", "internal:8080"))
            .insert_header(("x-forwarded-proto", "https"))
            .insert_header(("x-forwarded-host", "books.example.org, other"))
            .to_http_request();
        assert_eq!(base_url(&req, &config(None, false)), "http://internal:8080");
        assert_eq!(
            base_url(&req, &config(None, true)),
            "https://books.example.org"
        );
    }

    #[test]
    fn a_hostile_host_is_not_copied_into_links() {
        let req = TestRequest::default()
            .insert_header(("host", "evil.example\"><x"))
            .to_http_request();
        assert_eq!(
            base_url(&req, &config(None, false)),
            "http://localhost:8080"
        );
    }
}
