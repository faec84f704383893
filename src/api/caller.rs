//! Who is calling the REST API: `Authorization: Bearer <key>`, looked up by its SHA-256.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use uuid::Uuid;

use super::error::ApiError;
use crate::auth::{keys, sha256_hex};
use crate::error::Error;
use crate::http::throttle;
use crate::{db, AppState};

/// How stale `api_keys.last_used_at` may get: one write per key per minute at most.
pub const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// An authenticated API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: Uuid,
    pub is_admin: bool,
}

/// An authenticated admin key; anyone else gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

/// When each key's last_used_at was last written by this process.
#[derive(Default)]
pub struct LastUsed(Mutex<HashMap<Uuid, Instant>>);

impl LastUsed {
    /// True when the key's last_used_at is due for a write, and notes it as written.
    pub fn due(&self, key: Uuid, now: Instant) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match seen.get(&key) {
            Some(at) if now.duration_since(*at) < LAST_USED_EVERY => false,
            _ => {
                // Forgotten keys would otherwise pile up for the life of the process.
                if seen.len() > 10_000 {
                    seen.retain(|_, at| now.duration_since(*at) < LAST_USED_EVERY);
                }
                seen.insert(key, now);
                true
            }
        }
    }
}

/// The raw key from an Authorization header, if it is a well-formed Bearer one.
pub fn bearer(req: &HttpRequest) -> Result<String, Error> {
    let header = req
        .headers()
        .get("authorization")
        .ok_or(Error::Unauthorized)?;
    let value = header.to_str().map_err(|_| Error::Unauthorized)?;
    let (scheme, key) = value.trim().split_once(' ').ok_or(Error::Unauthorized)?;
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() || key.len() > 256 {
        return Err(Error::Unauthorized);
    }
    Ok(key.to_owned())
}

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Error::Internal("no app state".into()))?
        .clone();
    let hash = sha256_hex(bearer(&req)?.as_bytes());
    let last_used = state.last_used.clone();
    let caller = db::run(&state.pool, move |conn| {
        let (key_id, is_admin) = keys::by_hash(conn, &hash)?.ok_or(Error::Unauthorized)?;
        if last_used.due(key_id, Instant::now()) {
            keys::touch(conn, key_id)?;
        }
        Ok(Caller { key_id, is_admin })
    })
    .await?;
    Ok(caller)
}

/// The outcome of authenticating a request, left in its extensions by [`middleware`].
#[derive(Clone)]
struct Authenticated(Option<Caller>);

/// Authenticates every /api request that carries an Authorization header before any
/// extractor runs, so a request without a valid key is 401 whatever its body holds (and a
/// reader's is 403 before its body is looked at). Public routes ignore the outcome.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.headers().contains_key("authorization") {
        let outcome = match authenticate(req.request().clone()).await {
            Ok(caller) => {
                throttle::signed_in(req.request());
                Some(caller)
            }
            Err(ApiError(Error::Unauthorized)) => None,
            Err(other) => return Err(other.into()),
        };
        req.extensions_mut().insert(Authenticated(outcome));
    }
    next.call(req).await
}

fn caller_of(req: &HttpRequest) -> Result<Caller, ApiError> {
    req.extensions()
        .get::<Authenticated>()
        .and_then(|a| a.0.clone())
        .ok_or(ApiError(Error::Unauthorized))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_of(req))
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Admin, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_of(req).and_then(|caller| {
            if caller.is_admin {
                Ok(Admin(caller))
            } else {
                Err(Error::Forbidden("this needs an admin key".into()).into())
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_used_is_written_at_most_once_a_minute() {
        let seen = LastUsed::default();
        let key = Uuid::new_v4();
        let t0 = Instant::now();
        assert!(seen.due(key, t0));
        assert!(!seen.due(key, t0 + Duration::from_secs(59)));
        assert!(seen.due(key, t0 + Duration::from_secs(61)));
        assert!(seen.due(Uuid::new_v4(), t0));
    }

    #[test]
    fn bearer_needs_the_scheme_and_a_key() {
        use actix_web::test::TestRequest;
        let with = |v: &str| {
            bearer(
                &TestRequest::default()
                    .insert_header(("authorization", v))
                    .to_http_request(),
            )
        };
        assert_eq!(with("Bearer abc").unwrap(), "abc");
        assert_eq!(with("bearer  abc ").unwrap(), "abc");
        assert!(with("Basic abc").is_err());
        assert!(with("Bearer ").is_err());
        assert!(bearer(&TestRequest::default().to_http_request()).is_err());
    }
}
