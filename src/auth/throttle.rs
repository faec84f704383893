//! Failed logins, counted per client address and per username, across KoSync, OPDS Basic
//! and API keys: past the limit in a minute, a client gets 429 with Retry-After (in the
//! protocol's own error format) before its credentials are even checked. Requests that
//! present no credentials are not counted, and nothing is counted or delayed for a success.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

use crate::error::{ApiError, Error, KosyncError, OpdsError};
use crate::AppState;

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
    counts: Mutex<HashMap<Key, (Instant, u32)>>,
}

impl Throttle {
    /// `per_minute` failures allowed per key and minute; 0 turns it off.
    pub fn new(per_minute: u32) -> Throttle {
        Throttle {
            per_minute,
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Kosync,
    Opds,
    Api,
}

fn protocol(path: &str) -> Protocol {
    if path == "/api" || path.starts_with("/api/") {
        Protocol::Api
    } else if path == "/opds" || path.starts_with("/opds/") {
        Protocol::Opds
    } else {
        Protocol::Kosync
    }
}

/// Whether the request presents credentials, and the username among them: KoSync's
/// x-auth-user, or the user of HTTP Basic. (An API key identifies no one until verified.)
fn presented(req: &ServiceRequest, protocol: Protocol) -> Option<Option<String>> {
    let headers = req.headers();
    if protocol == Protocol::Kosync {
        let user = headers.get("x-auth-user")?;
        return Some(user.to_str().ok().map(|u| u.trim().to_owned()));
    }
    let value = headers.get("authorization")?.to_str().ok();
    let user = value
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, rest)| super::decode_basic(rest))
        .map(|(user, _)| user);
    Some(user)
}

fn too_many(protocol: Protocol, wait: Duration) -> HttpResponse {
    let error = Error::TooManyFailures;
    let mut resp = match protocol {
        Protocol::Kosync => KosyncError(error).error_response(),
        Protocol::Api => ApiError(error).error_response(),
        Protocol::Opds => OpdsError::Other(error).error_response(),
    };
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(value) = seconds.max(1).to_string().parse() {
        resp.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    resp
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let protocol = protocol(req.path());
    let throttle = &state.throttle;
    let Some(user) = throttle
        .enabled()
        .then(|| presented(&req, protocol))
        .flatten()
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let mut keys = vec![];
    if let Some(addr) = client_addr(&req, state.config.trust_proxy) {
        keys.push(Key::Addr(addr));
    }
    match (protocol, user) {
        (Protocol::Kosync, Some(u)) => keys.push(Key::User("kosync", u)),
        (Protocol::Opds | Protocol::Api, Some(u)) => keys.push(Key::User("opds", u)),
        _ => {}
    }
    if let Some(wait) = throttle.blocked(&keys, Instant::now()) {
        let resp = too_many(protocol, wait);
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
        let t = Throttle::new(3);
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
        assert!(!Throttle::new(0).enabled());
    }

    #[test]
    fn paths_pick_the_protocol() {
        assert!(protocol("/api/keys") == Protocol::Api);
        assert!(protocol("/opds/v2") == Protocol::Opds);
        assert!(protocol("/users/auth") == Protocol::Kosync);
        assert!(protocol("/apiary") == Protocol::Kosync);
    }
}
