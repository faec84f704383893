//! Who is asking: the session a request's cookie names (looked up once per request by
//! [`super::guard`]), whether libris is set up yet, and the CSRF token of the page.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use uuid::Uuid;

use super::csrf;
use super::error::WebError;
use crate::auth::keys;
use crate::auth::sessions::{self, Lifetimes, Session};
use crate::config::Config;
use crate::error::Error;
use crate::{db, AppState};

pub const COOKIE: &str = "libris_session";
/// Before sign-in: a random value the set-up and sign-in forms' CSRF tokens are made from.
pub const PRE_COOKIE: &str = "libris_pre";
/// How stale `web_sessions.last_seen_at` may get: one write per session per minute at most.
const SEEN_EVERY: Duration = Duration::from_secs(60);

/// What the web app keeps in memory, per server process.
#[derive(Default)]
pub struct WebState {
    /// Once an admin exists, signed-out visitors are no longer sent to set-up; only ever
    /// turns true (a server whose keys are all deleted from the command line shows sign-in
    /// until it restarts).
    set_up: AtomicBool,
    /// When each session's last_seen_at was last written.
    seen: Mutex<HashMap<Uuid, Instant>>,
    /// Readers' statistics charts as drawn (`/stats`).
    pub charts: super::charts::Drawn,
}

impl WebState {
    fn seen_due(&self, id: Uuid, now: Instant) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen.get(&id) {
            Some(at) if now.duration_since(*at) < SEEN_EVERY => false,
            _ => {
                if seen.len() > 10_000 {
                    seen.retain(|_, at| now.duration_since(*at) < SEEN_EVERY);
                }
                seen.insert(id, now);
                true
            }
        }
    }

    pub fn mark_set_up(&self) {
        self.set_up.store(true, Ordering::Relaxed);
    }
}

/// The visitor of one request.
#[derive(Clone)]
pub struct Visitor {
    pub session: Option<Session>,
    /// Whether an admin exists (always true with a session).
    pub set_up: bool,
    /// The CSRF token every form of this page carries.
    pub csrf: String,
    /// What the CSRF token is made from (the session id, or the pre-session cookie).
    seed: String,
    /// A pre-session cookie to set with the response.
    pub new_pre: Option<String>,
    /// Whether cookies must be `Secure` (https, said by the public URL or a trusted proxy).
    pub secure: bool,
    /// The request's path and query: where sign-in returns to.
    pub here: String,
    /// The `x-csrf-token` header a script sent, if any (forms send a field instead).
    pub header_csrf: Option<String>,
}

impl Visitor {
    /// The signed-in reader, or a redirect to sign-in (set-up on a fresh server).
    pub fn signed(&self) -> Result<&Session, WebError> {
        match &self.session {
            Some(s) => Ok(s),
            None if !self.set_up => Err(WebError::Redirect("/setup".into())),
            None => Err(WebError::Redirect(format!(
                "/signin?next={}",
                percent_encoding::utf8_percent_encode(
                    &self.here,
                    percent_encoding::NON_ALPHANUMERIC
                )
            ))),
        }
    }

    /// The signed-in admin; a reader gets the 403 page.
    pub fn admin(&self) -> Result<&Session, WebError> {
        let s = self.signed()?;
        if !s.is_admin {
            return Err(Error::Forbidden("This page is for the library's admins.".into()).into());
        }
        Ok(s)
    }

    pub fn is_admin(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.is_admin)
    }

    /// Whether `given` is this page's CSRF token (constant time).
    pub fn csrf_ok(&self, key: &[u8; 32], given: &str) -> bool {
        csrf::check(key, &self.seed, given)
    }
}

impl FromRequest for Visitor {
    type Error = WebError;
    type Future = Ready<Result<Visitor, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions().get::<Visitor>().cloned().ok_or_else(|| {
                Error::Internal("no visitor: the web guard did not run".into()).into()
            }),
        )
    }
}

/// Reads the session cookie and works out who is asking.
pub async fn visitor(state: &AppState, req: &HttpRequest) -> Result<Visitor, Error> {
    let lifetimes = Lifetimes::of(&state.config);
    let token = req.cookie(COOKIE).map(|c| c.value().to_owned());
    let session = match token {
        Some(token) => {
            let web = state.web.clone();
            db::run(&state.pool, move |conn| {
                let found = sessions::find(conn, &token, lifetimes)?;
                if let Some(s) = &found {
                    if web.seen_due(s.id, Instant::now()) {
                        sessions::touch(conn, s.id)?;
                    }
                }
                Ok(found)
            })
            .await?
        }
        None => None,
    };
    let set_up = session.is_some() || state.web.set_up.load(Ordering::Relaxed) || {
        let any = db::run(&state.pool, |conn| keys::any(conn)).await?;
        if any {
            state.web.mark_set_up();
        }
        any
    };
    let (seed, new_pre) = match (&session, req.cookie(PRE_COOKIE)) {
        (Some(s), _) => (s.id.to_string(), None),
        (None, Some(pre)) if valid_pre(pre.value()) => (pre.value().to_owned(), None),
        (None, _) => {
            let pre = sessions::new_token();
            (pre.clone(), Some(pre))
        }
    };
    let key = state.key("web csrf");
    let here = match req.uri().path_and_query() {
        Some(pq) => pq.as_str().to_owned(),
        None => "/".into(),
    };
    let header_csrf = req
        .headers()
        .get(csrf::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Visitor {
        header_csrf,
        csrf: csrf::token(&key, &seed),
        seed,
        session,
        set_up,
        new_pre,
        secure: secure(&state.config, req),
        here,
    })
}

fn valid_pre(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Cookies are `Secure` when clients reach libris over https: its public URL says so, or a
/// trusted proxy does, or the connection itself is TLS.
fn secure(config: &Config, req: &HttpRequest) -> bool {
    config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || req.app_config().secure()
        || (config.trust_proxy
            && req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")))
}

/// The session cookie: `HttpOnly`, `SameSite=Lax`, for the whole site, kept as long as the
/// session may live (the server decides when it ends).
pub fn session_cookie(token: String, secure: bool, max_age: chrono::Duration) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(
            max_age.num_seconds(),
        ))
        .finish()
}

pub fn pre_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(PRE_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

/// Tells the browser to forget the session cookie.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build(COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish();
    c.make_removal();
    c
}
