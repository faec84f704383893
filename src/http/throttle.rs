//! Failed logins, counted per client address and per username, across KoSync, OPDS Basic
//! and API keys: past the limit in a minute, a client gets 429 with Retry-After (in the
//! protocol's own error format) before its credentials are even checked. Requests that
//! present no credentials are not counted, and nothing is counted or delayed for a success.
//!
//! The counters are shared by the whole server; each face wraps its own scope with
//! [`guard`], naming how its requests present a username and how it renders the refusal.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::error::Error;

const WINDOW: Duration = Duration::from_secs(60);
/// Counters kept before old ones are swept out: a flood of addresses cannot grow it without
/// bound.
const SWEEP_AT: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Addr(IpAddr),
    /// A username of a protocol ("kosync", "opds").
    User(&'static str, String),
}

pub struct Throttle {
    per_minute: u32,
    /// Whether the client's address is the one a proxy appended to X-Forwarded-For.
    trust_proxy: bool,
    counts: Mutex<HashMap<Key, (Instant, u32)>>,
}

impl Throttle {
    /// `per_minute` failures allowed per key and minute; 0 turns it off.
    pub fn new(per_minute: u32, trust_proxy: bool) -> Throttle {
        Throttle {
            per_minute,
            trust_proxy,
            counts: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_minute > 0
    }

    /// How long until the first of `keys` that reached the limit may try again.
    pub fn blocked(&self, keys: &[Key], now: Instant) -> Option<Duration> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|k| counts.get(k))
            .filter(|(start, n)| *n >= self.per_minute && now < *start + WINDOW)
            .map(|(start, _)| *start + WINDOW - now)
            .max()
    }

    /// Counts a failed login against each key.
    pub fn failed(&self, keys: &[Key], now: Instant) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= SWEEP_AT {
            counts.retain(|_, (start, _)| now < *start + WINDOW);
        }
        for key in keys {
            let entry = counts.entry(key.clone()).or_insert((now, 0));
            if now >= entry.0 + WINDOW {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
        }
    }
}

/// The client's address: the peer, or behind a trusted proxy the address it appended last
/// to X-Forwarded-For (entries before it come from the client and prove nothing).
fn client_addr(req: &ServiceRequest, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.peer_addr().map(|a| a.ip())
}

/// A face's part in the throttle: how its requests present credentials, and how it refuses
/// one whose address or username failed too often.
pub struct Scope {
    /// Whether the request presents credentials, and the username among them (`None` inside
    /// when it names none, e.g. a bearer key).
    pub presented: fn(&ServiceRequest) -> Option<Option<String>>,
    /// The namespace its usernames are counted in ("kosync", "opds").
    pub users: &'static str,
    /// [`Error::TooManyFailures`] in the face's own format.
    pub refuse: fn(Error) -> HttpResponse,
}

/// The user of an HTTP Basic `Authorization` header, if the request sends any authorization.
pub fn basic_user(req: &ServiceRequest) -> Option<Option<String>> {
    let value = req.headers().get("authorization")?.to_str().ok();
    let user = value
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, rest)| super::basic::decode(rest))
        .map(|(user, _)| user);
    Some(user)
}

fn too_many(scope: &Scope, wait: Duration) -> HttpResponse {
    let mut resp = (scope.refuse)(Error::TooManyFailures);
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(value) = seconds.max(1).to_string().parse() {
        resp.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    resp
}

/// The middleware of one face's scope: refuses a client over the limit before its
/// credentials are checked, and counts a 401 against its address and username.
pub async fn guard(
    scope: &'static Scope,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(throttle) = req.app_data::<web::Data<Throttle>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(user) = throttle
        .enabled()
        .then(|| (scope.presented)(&req))
        .flatten()
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let mut keys = vec![];
    if let Some(addr) = client_addr(&req, throttle.trust_proxy) {
        keys.push(Key::Addr(addr));
    }
    if let Some(u) = user {
        keys.push(Key::User(scope.users, u));
    }
    if let Some(wait) = throttle.blocked(&keys, Instant::now()) {
        let resp = too_many(scope, wait);
        return Ok(req.into_response(resp).map_into_boxed_body());
    }
    let resp = next.call(req).await?;
    if resp.status() == StatusCode::UNAUTHORIZED {
        throttle.failed(&keys, Instant::now());
    }
    Ok(resp.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_for_a_minute_per_key() {
        let t = Throttle::new(3, false);
        let now = Instant::now();
        let ip = Key::Addr("10.0.0.1".parse().unwrap());
        let ann = Key::User("kosync", "ann".into());
        let keys = [ip.clone(), ann.clone()];
        for _ in 0..2 {
            t.failed(&keys, now);
        }
        assert_eq!(t.blocked(&keys, now), None, "two of three");
        t.failed(&keys, now + Duration::from_secs(10));
        assert_eq!(
            t.blocked(&keys, now + Duration::from_secs(10)),
            Some(Duration::from_secs(50))
        );
        // Another address trying ann is refused too; ann's address with another name as well.
        let other_ip = Key::Addr("10.0.0.2".parse().unwrap());
        assert!(t.blocked(&[other_ip.clone(), ann.clone()], now).is_some());
        assert!(t
            .blocked(&[ip.clone(), Key::User("kosync", "bob".into())], now)
            .is_some());
        assert_eq!(
            t.blocked(&[other_ip, Key::User("kosync", "bob".into())], now),
            None
        );
        assert_eq!(t.blocked(&keys, now + WINDOW), None, "a minute later");
        t.failed(&keys, now + WINDOW);
        assert_eq!(
            t.blocked(&keys, now + WINDOW),
            None,
            "a new window starts counting"
        );
    }

    #[test]
    fn off_means_off() {
        assert!(!Throttle::new(0, false).enabled());
    }
}
