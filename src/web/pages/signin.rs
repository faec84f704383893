//! Set-up (the first admin, with the setup token) and signing in and out.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use maud::html;

use crate::auth::sessions::{self, Session};
use crate::auth::{credentials, web as accounts, Service};
use crate::error::Error;
use crate::http::throttle::{self, Login, Presented};
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Field};
use crate::web::session::{self as visit, Visitor};
use crate::{db, AppState};

/// Where to go after signing in: a path of this site only (never `//host` or a URL).
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    if ok {
        next
    } else {
        "/"
    }
}

/// Signs `key_id` in: a new session and its cookie, then on to `to`.
async fn start_session(
    state: &AppState,
    v: &Visitor,
    req: &HttpRequest,
    key_id: uuid::Uuid,
    to: &str,
) -> Result<HttpResponse, WebError> {
    let agent = req
        .headers()
        .get("user-agent")
        .and_then(|a| a.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let lifetimes = crate::auth::sessions::Lifetimes::of(&state.config);
    let token = db::run(&state.pool, move |conn| {
        sessions::start(conn, key_id, &agent, lifetimes)
    })
    .await?;
    let mut resp = layout::see_other(to);
    resp.add_cookie(&visit::session_cookie(token, v.secure, lifetimes.absolute))
        .map_err(|e| Error::Internal(format!("cookie: {e}")))?;
    Ok(resp)
}

fn setup_page(v: &Visitor, form: Option<&Form>, errors: &Errors) -> maud::Markup {
    let value = |name| form.map_or("", |f: &Form| f.get(name));
    layout::bare(
        "Set up libris",
        html! {
            h1 { "Set up libris" }
            p { "Make the first account: the library's admin. The setup token is in the server's log (the line that says "
                em { "libris is not set up yet" } "), and " code { "libris setup-token" } " prints it too." }
            form method="post" action="/setup" novalidate {
                (csrf_field(v))
                (layout::form_error(errors, "form"))
                (Field::new("setup_token", "Setup token").value(value("setup_token"))
                    .hint("Twenty characters such as 1a2b-3c4d-…; case and dashes do not matter.")
                    .autocomplete("off").required().render(errors))
                (Field::new("username", "Your username").value(value("username"))
                    .autocomplete("username").required().render(errors))
                (Field::new("password", "Password").kind("password")
                    .hint("8 characters or more.").autocomplete("new-password").required().render(errors))
                (Field::new("confirm", "Password again").kind("password")
                    .autocomplete("new-password").required().render(errors))
                button.primary type="submit" { "Set up libris" }
            }
        },
    )
}

pub async fn setup_form(v: Visitor) -> Result<HttpResponse, WebError> {
    if v.set_up {
        return Ok(layout::see_other(if v.session.is_some() {
            "/"
        } else {
            "/signin"
        }));
    }
    Ok(layout::ok(setup_page(&v, None, &Errors::default())))
}

/// Checks a new web login's username and password fields; the password confirmed.
pub fn check_login(form: &Form, errors: &mut Errors) {
    if !crate::auth::valid_username(form.get("username").trim()) {
        errors.add(
            "username",
            "Choose a username of 1–255 characters, without ':'.",
        );
    }
    if let Err(Error::Invalid { reason, .. }) = Service::Web.check_password(form.get("password")) {
        errors.add("password", format!("The password {reason}."));
    } else if form.get("password") != form.get("confirm") {
        errors.add("confirm", "The two passwords differ.");
    }
}

pub async fn setup(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let form = Form::read(&state, &v, &body)?;
    if v.set_up {
        return Ok(layout::see_other("/signin"));
    }
    let mut errors = Errors::default();
    if form.get("setup_token").trim().is_empty() {
        errors.add(
            "setup_token",
            "Enter the setup token from the server's log.",
        );
    } else if !state.is_setup_token(form.get("setup_token")) {
        errors.add(
            "setup_token",
            "That is not this server's setup token: copy it from the log again.",
        );
    }
    check_login(&form, &mut errors);
    // The username is the admin's name too: the rules of a key's label hold for it.
    if errors.of("username").is_none() {
        if let Err(Error::Invalid { reason, .. }) =
            crate::auth::keys::valid_label(form.get("username"))
        {
            errors.add("username", format!("The username {reason}."));
        }
    }
    if !errors.is_empty() {
        return Ok(layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            setup_page(&v, Some(&form), &errors),
        ));
    }
    let username = form.get("username").trim().to_owned();
    let password = form.get("password").to_owned();
    let hash = state
        .bcrypt(move || Service::Web.hash_password(&password))
        .await??;
    let label = username.clone();
    let made = db::run(&state.pool, move |conn| {
        accounts::setup(
            conn,
            &label,
            accounts::Login {
                username: &username,
                password_hash: &hash,
            },
        )
    })
    .await;
    let key = match made {
        Ok(key) => key,
        // Someone else finished set-up meanwhile.
        Err(Error::Conflict(_)) => return Ok(layout::see_other("/signin")),
        Err(e) => return Err(e.into()),
    };
    state.web.mark_set_up();
    start_session(&state, &v, &req, key.id, "/").await
}

fn signin_page(v: &Visitor, username: &str, next: &str, errors: &Errors) -> maud::Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in" }
            form method="post" action="/signin" novalidate {
                (csrf_field(v))
                input type="hidden" name="next" value=(next);
                (layout::form_error(errors, "form"))
                (Field::new("username", "Username").value(username)
                    .autocomplete("username").required().render(errors))
                (Field::new("password", "Password").kind("password")
                    .autocomplete("current-password").required().render(errors))
                button.primary type="submit" { "Sign in" }
            }
            p.muted { "No web login yet? The library's admin sets one for you on the Readers page." }
        },
    )
}

#[derive(serde::Deserialize)]
pub struct Next {
    next: Option<String>,
}

pub async fn signin_form(v: Visitor, q: web::Query<Next>) -> Result<HttpResponse, WebError> {
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    if v.session.is_some() {
        return Ok(layout::see_other(next));
    }
    if !v.set_up {
        return Ok(layout::see_other("/setup"));
    }
    Ok(layout::ok(signin_page(&v, "", next, &Errors::default())))
}

/// A web password check as the login throttle sees it: refused before bcrypt runs when
/// `username` or this address failed too often; `None` when the throttle is off.
pub fn attempt(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    password: &str,
) -> Result<Option<Login>, WebError> {
    let throttle = &state.throttle;
    if !throttle.enabled() {
        return Ok(None);
    }
    let login = throttle.login(
        throttle.client_addr(req),
        "web",
        &Presented {
            user: Some(username.to_owned()),
            secret: password.as_bytes().to_vec(),
        },
    );
    match throttle.refused(&login, throttle.now()) {
        Some(wait) => Err(WebError::Throttled(wait.as_secs().max(1))),
        None => Ok(Some(login)),
    }
}

/// Counts an [`attempt`]'s outcome.
pub async fn counted(state: &AppState, login: Option<&Login>, right: bool) {
    let throttle = &state.throttle;
    if let Some(login) = login {
        if right {
            throttle.succeeded(login, throttle.now());
        } else {
            throttle.failure(login).await;
        }
    }
}

/// Stands in for a stored hash when the username is unknown, so a wrong username costs the
/// same bcrypt as a wrong password (and says nothing by its timing).
static NOBODY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    credentials::hash_secret("nobody has this password").expect("bcrypt hashes")
});

pub async fn signin(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let form = Form::read(&state, &v, &body)?;
    let username = form.get("username").trim().to_owned();
    let password = form.get("password").to_owned();
    let next = safe_next(form.get("next")).to_owned();
    let mut errors = Errors::default();
    if username.is_empty() || password.is_empty() || username.len() > 1024 || password.len() > 1024
    {
        errors.add("form", "Enter your username and password.");
        return Ok(layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            signin_page(&v, form.get("username"), &next, &errors),
        ));
    }
    let login = attempt(&state, &req, &username, &password)?;
    let name = username.clone();
    let found = db::run(&state.pool, move |conn| {
        credentials::lookup(conn, Service::Web.as_str(), &name)
    })
    .await?;
    let hash = found
        .as_ref()
        .map_or_else(|| NOBODY.clone(), |(_, hash)| hash.clone());
    let right = state
        .bcrypt(move || bcrypt::verify(&password, &hash).unwrap_or(false))
        .await?;
    let right = found.is_some() && right;
    counted(&state, login.as_ref(), right).await;
    match found {
        Some((key_id, _)) if right => {
            throttle::signed_in(&req);
            start_session(&state, &v, &req, key_id, &next).await
        }
        _ => {
            errors.add("form", "Wrong username or password.");
            Ok(layout::respond(
                StatusCode::UNAUTHORIZED,
                signin_page(&v, &username, &next, &errors),
            ))
        }
    }
}

pub async fn signout(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    // A session that already ended: only the cookie is left to forget (nothing to forge).
    if v.session.is_some() {
        Form::read(&state, &v, &body)?;
    }
    if let Some(Session { id, key_id, .. }) = v.session.clone() {
        db::run(&state.pool, move |conn| {
            match sessions::revoke(conn, key_id, id) {
                Err(Error::NotFound(_)) => Ok(()),
                other => other,
            }
        })
        .await?;
    }
    let mut resp = layout::see_other("/signin");
    resp.add_cookie(&visit::removal(v.secure))
        .map_err(|e| Error::Internal(format!("cookie: {e}")))?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sign_in_returns_only_to_this_site() {
        use super::safe_next;
        assert_eq!(safe_next("/library?q=x"), "/library?q=x");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "library",
            "/\nx",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn the_stand_in_hash_is_a_bcrypt_hash() {
        assert!(!bcrypt::verify("anything", &super::NOBODY).unwrap());
    }
}
