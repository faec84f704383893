//! Requests counted and timed by route family: few enough label values for any dashboard,
//! whatever paths clients invent.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use super::{HTTP_DURATION, HTTP_REQUESTS};

/// The face a path belongs to: `kosync`, `opds`, `api`, `dav`, `notes`, `metrics`, `static`
/// (the web app's assets) or `web`.
pub fn family(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "users" | "syncs" | "healthcheck" | "kosync" => "kosync",
        "opds" | "s" => "opds",
        "api" => "api",
        "dav" => "dav",
        "index.php" => "notes",
        "metrics" => "metrics",
        "static" | "favicon.ico" => "static",
        _ => "web",
    }
}

/// Counts and times every request (to its response's head: bodies stream afterwards).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let family = family(req.path());
    let started = Instant::now();
    let result = next.call(req).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    metrics::counter!(HTTP_REQUESTS, "family" => family, "status" => status.as_str().to_owned())
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "family" => family).record(started.elapsed().as_secs_f64());
    result
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn paths_fall_into_families() {
        for (path, expected) in [
            ("/syncs/progress", "kosync"),
            ("/syncs/progress/abc", "kosync"),
            ("/users/auth", "kosync"),
            ("/kosync/users/create", "kosync"),
            ("/healthcheck", "kosync"),
            ("/opds", "opds"),
            ("/opds/v2/publications", "opds"),
            ("/api/books", "api"),
            ("/dav/statistics.sqlite3", "dav"),
            ("/index.php/apps/notes/api/v1/notes", "notes"),
            ("/metrics", "metrics"),
            ("/static/app.css", "static"),
            ("/", "web"),
            ("/books/1", "web"),
            ("//weird/../path", "web"),
            ("", "web"),
        ] {
            assert_eq!(family(path), expected, "{path}");
        }
    }
}
