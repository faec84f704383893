//! Failed logins, across KoSync, OPDS Basic and API keys: limits that stop guessing without
//! locking households out. The rules are in [`ledger`]: failures count per client address,
//! per username and per pair of the two, a minute at a time; the same wrong secret again
//! counts once (a device with a stale password is not a guesser); and an address whose
//! account signed in from it in the last 30 days is still checked while others' guesses
//! hold the address or the username, so the right password is not refused there.
//!
//! Past the limit a client gets 429 with Retry-After, in the protocol's own error format,
//! before its credentials are checked: refusing costs a lookup, never bcrypt. Requests
//! that present no credentials are not counted. The ledger lives in this process's memory;
//! with [`Throttle::with_shared`], each failure is also counted where every instance on the
//! same database sees it ([`Shared`]), and the shared count is taken into the ledger, so
//! several instances hold one limit (each further instance allows at most one more guess
//! before it learns the count). Trusted pairs stay per process (see docs/security.md).
//!
//! The ledger is shared by the whole server; each face wraps its own scope with [`guard`],
//! naming how its requests present credentials and how it renders the refusal, and calls
//! [`signed_in`] when it has verified them.

mod ledger;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use self::ledger::Ledger;
pub use self::ledger::{Account, Fingerprint, Login, WINDOW};
use crate::error::Error;

/// Where the throttle reads the time: the monotonic clock in a server; a test may hand in a
/// clock it moves itself, so that minutes and days of a scenario pass without waiting.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

pub struct Throttle {
    enabled: bool,
    /// Whether the client's address is the one a proxy appended to X-Forwarded-For.
    trust_proxy: bool,
    ledger: Mutex<Ledger>,
    /// The key of secrets' fingerprints: random per process, or derived from the server
    /// secret when counts are shared (every instance must fingerprint alike). Fingerprints
    /// are keyed hashes: without the key, no one can test a guess against one.
    key: [u8; 32],
    clock: Clock,
    /// With a clock of a test's: an instant of it and the wall clock's time then, so that the
    /// shared counts move as that clock does. `None`: the shared counts keep the database's
    /// time, one clock for every instance.
    epoch: Option<(Instant, chrono::DateTime<chrono::Utc>)>,
    shared: Option<Arc<dyn Shared>>,
}

/// Failure counts every instance on one database shares (`auth::login_failures`).
pub trait Shared: Send + Sync {
    /// Counts one failure with the fingerprint `secret` against each named key at the time
    /// `at` (`None`: the shared store's own clock), as the ledger counts; each key's window
    /// as it then is.
    fn count(
        &self,
        keys: Vec<String>,
        secret: Fingerprint,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> futures_util::future::BoxFuture<'static, Result<Vec<SharedWindow>, Error>>;
}

/// A key's window as all instances together counted it.
pub struct SharedWindow {
    pub key: String,
    pub failures: u32,
    /// How long ago the window began.
    pub age: Duration,
}

impl Throttle {
    /// `per_minute` failures allowed per key and minute; 0 turns it off.
    pub fn new(per_minute: u32, trust_proxy: bool) -> Throttle {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Throttle {
            enabled: per_minute > 0,
            trust_proxy,
            ledger: Mutex::new(Ledger::new(per_minute)),
            key,
            clock: Arc::new(Instant::now),
            epoch: None,
            shared: None,
        }
    }

    /// The same throttle reading the time from `clock`.
    pub fn with_clock(self, clock: Clock) -> Throttle {
        Throttle {
            epoch: Some((clock(), chrono::Utc::now())),
            clock,
            ..self
        }
    }

    /// A throttle like this one, with an empty ledger, reading the time from `clock` (tests).
    pub fn clocked(&self, clock: Clock) -> Throttle {
        Throttle {
            enabled: self.enabled,
            trust_proxy: self.trust_proxy,
            ledger: Mutex::new(Ledger::new(self.ledger().limit())),
            key: self.key,
            epoch: Some((clock(), chrono::Utc::now())),
            clock,
            shared: self.shared.clone(),
        }
    }

    /// The same throttle counting failures in `shared` too, fingerprinting with `key` (the
    /// same in every instance).
    pub fn with_shared(self, shared: Arc<dyn Shared>, key: [u8; 32]) -> Throttle {
        Throttle {
            shared: Some(shared),
            key,
            ..self
        }
    }

    /// Counts `login` as a failed login here and in the shared counts, if any.
    pub async fn failure(&self, login: &Login) {
        self.failed(login, self.now());
        self.failed_shared(login).await;
    }

    /// Counts `login` as failed in the shared counts, and takes their windows in.
    async fn failed_shared(&self, login: &Login) {
        let Some(shared) = &self.shared else {
            return;
        };
        let keys = Ledger::keys(login);
        let names = keys.iter().map(ledger::Key::name).collect();
        let now = self.now();
        let at = self.epoch.map(|(instant, wall)| {
            wall + chrono::Duration::from_std(now.saturating_duration_since(instant))
                .unwrap_or_default()
        });
        match shared.count(names, login.secret, at).await {
            Ok(windows) => {
                let mut ledger = self.ledger();
                for w in windows {
                    if let Some(key) = keys.iter().find(|k| k.name() == w.key) {
                        ledger.absorb(key.clone(), w.failures, w.age, now);
                    }
                }
            }
            // The limit of this instance still holds.
            Err(e) => log::warn!("login failures not shared: {e}"),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn now(&self) -> Instant {
        (self.clock)()
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `presented` from `addr`, its username counted among `users`, as the ledger sees it.
    pub fn login(&self, addr: Option<IpAddr>, users: &'static str, presented: &Presented) -> Login {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(users.as_bytes());
        mac.update(&[0]);
        // Length-prefixed: no username and secret can be read as another pair.
        if let Some(user) = &presented.user {
            mac.update(&(user.len() as u64).to_be_bytes());
            mac.update(user.as_bytes());
        } else {
            mac.update(&u64::MAX.to_be_bytes());
        }
        mac.update(&presented.secret);
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        let secret = Fingerprint::from_be_bytes(first);
        let account = match &presented.user {
            Some(user) => Account::User(users, user.clone()),
            None => Account::Key(secret),
        };
        Login {
            addr,
            account,
            secret,
        }
    }

    /// How long `login` must wait, or `None` when its credentials may be checked now.
    pub fn refused(&self, login: &Login, now: Instant) -> Option<Duration> {
        self.ledger().refused(login, now)
    }

    /// Counts `login` as a failed login (a repeated secret once a window).
    pub fn failed(&self, login: &Login, now: Instant) {
        self.ledger().failed(login, now)
    }

    /// Remembers that `login`'s address and account signed in.
    pub fn succeeded(&self, login: &Login, now: Instant) {
        self.ledger().succeeded(login, now)
    }
}

/// Credentials a request presents, as the throttle reads them before anyone checks them.
pub struct Presented {
    /// The username they name; `None` for a bearer key or a header nothing can be read from.
    pub user: Option<String>,
    /// Only ever fingerprinted, never kept.
    pub secret: Vec<u8>,
}

/// Left in a request's extensions by a face that verified its credentials.
#[derive(Clone, Copy)]
struct SignedIn;

/// A face calls this once it has verified the request's credentials: the throttle then
/// remembers the address and account. A status cannot say it: a request can fail before its
/// credentials are looked at (a malformed body, a missing book) without being a sign-in.
pub fn signed_in(req: &HttpRequest) {
    req.extensions_mut().insert(SignedIn);
}

impl Throttle {
    /// The client's address as this throttle counts it (for a face that checks a login in
    /// its handler, as the web app's sign-in form does).
    pub fn client_addr(&self, req: &HttpRequest) -> Option<IpAddr> {
        client_addr(req, self.trust_proxy)
    }
}

/// The client's address: the peer, or behind a trusted proxy the address it appended last
/// to X-Forwarded-For (entries before it come from the client and prove nothing).
fn client_addr(req: &HttpRequest, trust_proxy: bool) -> Option<IpAddr> {
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
/// one that must wait.
pub struct Scope {
    /// The credentials a request presents, if any.
    pub presented: fn(&ServiceRequest) -> Option<Presented>,
    /// The namespace its usernames are counted in ("kosync", "opds").
    pub users: &'static str,
    /// [`Error::TooManyFailures`] in the face's own format.
    pub refuse: fn(Error) -> HttpResponse,
}

/// The credentials of an `Authorization` header: HTTP Basic's username and password, else
/// the whole value (a bearer key, or something unreadable) as a secret naming nobody.
pub fn authorization(req: &ServiceRequest) -> Option<Presented> {
    let value = req.headers().get("authorization")?;
    let basic = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, rest)| super::basic::decode(rest));
    Some(match basic {
        Some((user, password)) => Presented {
            user: Some(user),
            secret: password.into_bytes(),
        },
        None => Presented {
            user: None,
            secret: value.as_bytes().to_vec(),
        },
    })
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

/// The middleware of one face's scope: refuses a login that must wait before its
/// credentials are checked, counts a 401 as a failure, and remembers a sign-in.
pub async fn guard(
    scope: &'static Scope,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(throttle) = req.app_data::<web::Data<Throttle>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(presented) = throttle
        .enabled()
        .then(|| (scope.presented)(&req))
        .flatten()
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let addr = client_addr(req.request(), throttle.trust_proxy);
    let login = throttle.login(addr, scope.users, &presented);
    if let Some(wait) = throttle.refused(&login, throttle.now()) {
        let resp = too_many(scope, wait);
        return Ok(req.into_response(resp).map_into_boxed_body());
    }
    let resp = next.call(req).await?;
    if resp.request().extensions().contains::<SignedIn>() {
        throttle.succeeded(&login, throttle.now());
    } else if resp.status() == StatusCode::UNAUTHORIZED {
        throttle.failure(&login).await;
    }
    Ok(resp.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::ledger::REMEMBERED;
    use super::*;

    fn presented(user: Option<&str>, secret: &str) -> Presented {
        Presented {
            user: user.map(str::to_owned),
            secret: secret.as_bytes().to_vec(),
        }
    }

    #[test]
    fn fingerprints_tell_secrets_and_accounts_apart_and_hold_neither() {
        let t = Throttle::new(3, false);
        let fp = |users, user, secret| t.login(None, users, &presented(user, secret)).secret;
        let ann = fp("kosync", Some("ann"), "pw");
        assert_eq!(
            ann,
            fp("kosync", Some("ann"), "pw"),
            "the same secret again"
        );
        assert_ne!(ann, fp("kosync", Some("ann"), "pw2"));
        assert_ne!(ann, fp("kosync", Some("bob"), "pw"), "another account");
        assert_ne!(ann, fp("opds", Some("ann"), "pw"), "another protocol");
        assert_ne!(
            fp("kosync", Some("an"), "npw"),
            fp("kosync", Some("ann"), "pw"),
            "no username and secret read as another pair"
        );
        assert_ne!(fp("kosync", None, "pw"), fp("kosync", Some(""), "pw"));
        let other_process = Throttle::new(3, false);
        assert_ne!(
            ann,
            other_process
                .login(None, "kosync", &presented(Some("ann"), "pw"))
                .secret,
            "keyed per process"
        );
    }

    #[test]
    fn a_bearer_key_is_its_own_account() {
        let t = Throttle::new(3, false);
        let login = t.login(None, "opds", &presented(None, "Bearer abc"));
        assert_eq!(login.account, Account::Key(login.secret));
        let basic = t.login(None, "opds", &presented(Some("ann"), "abc"));
        assert_eq!(basic.account, Account::User("opds", "ann".into()));
    }

    #[test]
    fn a_test_clock_is_the_throttle_s_time() {
        let start = Instant::now();
        let t = Throttle::new(3, false).with_clock(Arc::new(move || start + REMEMBERED));
        assert_eq!(t.now(), start + REMEMBERED);
    }

    #[test]
    fn off_means_off() {
        assert!(!Throttle::new(0, false).enabled());
        assert!(Throttle::new(1, false).enabled());
    }
}
