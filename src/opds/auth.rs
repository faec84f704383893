//! Who is browsing the catalog: HTTP Basic (`auth::basic`: the reader's opds credential, a
//! device password, or an API key as the password), or a Bearer API key. Without credentials,
//! anonymous browsing when the opds.anonymous setting allows it (no personal shelves then).

use actix_web::HttpRequest;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::OpdsError;
use crate::auth::basic;
use crate::auth::device_passwords::Via;
use crate::error::Error;
use crate::http::throttle;
use crate::settings::{self, Settings};
use crate::{db, AppState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Reader(Uuid),
    Anonymous,
}

impl Viewer {
    pub fn reader(self) -> Option<Uuid> {
        match self {
            Viewer::Reader(id) => Some(id),
            Viewer::Anonymous => None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Presented {
    Basic(String, String),
    Bearer(String),
    Nothing,
}

/// The credentials in the Authorization header; a header that is there but unreadable
/// counts as a failed login, not as none.
fn presented(req: &HttpRequest) -> Result<Presented, Error> {
    let Some(header) = req.headers().get("authorization") else {
        return Ok(Presented::Nothing);
    };
    let value = header.to_str().map_err(|_| Error::Unauthorized)?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(Error::Unauthorized)?;
    let rest = rest.trim();
    if rest.is_empty() || rest.len() > 1024 {
        return Err(Error::Unauthorized);
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Presented::Bearer(rest.to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Error::Unauthorized);
    }
    let (user, password) = crate::http::basic::decode(rest).ok_or(Error::Unauthorized)?;
    Ok(Presented::Basic(user, password))
}

/// What the database says about the presented credentials, before any bcrypt.
enum Found {
    Basic(basic::Found),
    Reader(Uuid),
    Anonymous,
    Refused,
}

/// The viewer of this request and the settings in force, or 401 (with the
/// Authentication for OPDS document) for missing or wrong credentials.
pub async fn viewer(req: &HttpRequest, state: &AppState) -> Result<(Viewer, Settings), OpdsError> {
    let unauthorized = || OpdsError::Unauthorized {
        base: super::base::base_url(req, &state.config),
    };
    let presented = presented(req).map_err(|_| unauthorized())?;
    let config = state.config.clone();
    let verifier = state.verifier.clone();
    let (found, settings) = db::run(&state.pool, move |conn| {
        let settings = settings::load(conn, &config)?;
        let found = match presented {
            Presented::Nothing if settings.opds_anonymous => Found::Anonymous,
            Presented::Nothing => Found::Refused,
            Presented::Bearer(key) => {
                basic::key_owner(conn, &key)?.map_or(Found::Refused, Found::Reader)
            }
            Presented::Basic(user, password) => {
                Found::Basic(basic::look_up(conn, &verifier, "opds", &user, &password)?)
            }
        };
        Ok((found, settings))
    })
    .await?;
    let viewer = match found {
        Found::Reader(id) => Viewer::Reader(id),
        Found::Anonymous => Viewer::Anonymous,
        Found::Refused => return Err(unauthorized()),
        Found::Basic(found) => {
            if let basic::Found::Device(opened) = &found {
                state.device_used(&opened.key_sha256, Via::Opds, None);
            }
            let verifier = state.verifier.clone();
            let reader = if found.needs_bcrypt() {
                // bcrypt on the blocking pool, holding no connection.
                state.bcrypt(move || found.verify(&verifier)).await?
            } else {
                found.verify(&verifier)
            };
            Viewer::Reader(reader.ok_or_else(unauthorized)?)
        }
    };
    if let Viewer::Reader(_) = viewer {
        throttle::signed_in(req);
    }
    Ok((viewer, settings))
}

/// The Authentication for OPDS 1.0 document a 401 carries: how to log in.
pub fn authentication_document(base: &str) -> Value {
    json!({
        "id": format!("{base}/opds/auth"),
        "title": "libris",
        "description": "Log in with your libris OPDS username and password, or an API key as the password.",
        "links": [
            { "rel": "start", "href": format!("{base}/opds"), "type": super::feed::Kind::Navigation.atom_type() }
        ],
        "authentication": [{
            "type": "http://opds-spec.org/auth/basic",
            "labels": { "login": "Username", "password": "Password" }
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn with(header: &str) -> Result<Presented, Error> {
        presented(
            &TestRequest::default()
                .insert_header(("authorization", header))
                .to_http_request(),
        )
    }

    #[test]
    fn reads_basic_and_bearer() {
        // "ann:pa:ss" — the password may hold ':'.
        assert_eq!(
            with("Basic YW5uOnBhOnNz").unwrap(),
            Presented::Basic("ann".into(), "pa:ss".into())
        );
        assert_eq!(with("bearer abc").unwrap(), Presented::Bearer("abc".into()));
        assert_eq!(
            presented(&TestRequest::default().to_http_request()).unwrap(),
            Presented::Nothing
        );
    }

    #[test]
    fn a_malformed_header_is_a_failed_login() {
        for bad in ["Basic", "Basic !!!", "Basic YW5u", "Digest x", "Basic /w=="] {
            assert!(matches!(with(bad), Err(Error::Unauthorized)), "{bad}");
        }
    }
}
