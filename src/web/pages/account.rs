//! A reader's own account: their sessions (revoke one, or all) and their
//! web password.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use maud::html;

use super::cards::when;
use crate::auth::sessions::{self, Lifetimes};
use crate::auth::{web as accounts, Service};
use crate::error::Error;
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Field, Nav};
use crate::web::session::Visitor;
use crate::{db, AppState};

/// A short name for a browser from its user agent.
pub fn browser_name(agent: &str) -> String {
    let browser = ["Firefox", "Edg", "OPR", "Chrome", "Safari", "KOReader"]
        .into_iter()
        .find(|b| agent.contains(b))
        .map(|b| match b {
            "Edg" => "Edge",
            "OPR" => "Opera",
            other => other,
        });
    let os = [
        "Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux", "Kindle",
    ]
    .into_iter()
    .find(|o| agent.contains(o))
    .map(|o| if o == "Mac OS" { "macOS" } else { o });
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => format!("a browser on {o}"),
        (None, None) if agent.is_empty() => "an unnamed browser".to_owned(),
        (None, None) => agent.chars().take(60).collect(),
    }
}

async fn page(
    state: &AppState,
    v: &Visitor,
    form: Option<&Form>,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let lifetimes = Lifetimes::of(&state.config);
    let key_id = s.key_id;
    let (list, username) = db::run(&state.pool, move |conn| {
        let list = sessions::list(conn, key_id, lifetimes)?;
        let username = crate::auth::credentials::list(conn, key_id)?
            .into_iter()
            .find(|c| c.service == Service::Web.as_str())
            .map(|c| c.username);
        Ok((list, username))
    })
    .await?;
    let _ = form;
    let notice = match v.here.split_once("done=") {
        Some((_, "password")) => {
            Some("Your password is changed; your other sessions are signed out.")
        }
        Some((_, "revoked")) => Some("That session is signed out."),
        Some((_, "all")) => Some("Every other session is signed out."),
        _ => None,
    };
    Ok(layout::respond(
        status,
        layout::page(
            v,
            "Account",
            Nav::Account,
            html! {
                h1 { "Your account" }
                @if let Some(n) = notice { p.notice role="status" { (n) } }
                p { "Signed in as " strong { (s.label) }
                    @if let Some(u) = &username { " (web username " code { (u) } ")" }
                    @if s.is_admin { ", an admin of this library" } "." }
                section {
                    h2 { "Sessions" }
                    p.muted { "Browsers signed in to your account. A session ends after "
                        (state.config.session_idle.as_secs() / 86_400) " days unused." }
                    table.list {
                        thead { tr { th scope="col" { "Browser" } th scope="col" { "Signed in" } th scope="col" { "Last seen" } th scope="col" { span.sr-only { "Action" } } } }
                        tbody {
                            @for item in &list {
                                tr {
                                    td { (browser_name(&item.user_agent))
                                        @if item.id == s.id { " " span.badge { "this one" } } }
                                    td { (when(item.created_at)) }
                                    td { (when(item.last_seen_at)) }
                                    td {
                                        @if item.id != s.id {
                                            form method="post" action="/account/sessions/revoke" {
                                                (csrf_field(v))
                                                input type="hidden" name="id" value=(item.id);
                                                button.small type="submit" { "Sign out" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form method="post" action="/account/sessions/revoke-all" {
                        (csrf_field(v))
                        button type="submit" { "Sign out everywhere else" }
                    }
                }
                section {
                    h2 { "Change your password" }
                    form method="post" action="/account/password" novalidate {
                        (csrf_field(v))
                        (layout::form_error(errors, "form"))
                        (Field::new("current", "Current password").kind("password")
                            .autocomplete("current-password").required().render(errors))
                        (Field::new("password", "New password").kind("password")
                            .hint("8 characters or more.").autocomplete("new-password").required().render(errors))
                        (Field::new("confirm", "New password again").kind("password")
                            .autocomplete("new-password").required().render(errors))
                        button.primary type="submit" { "Change password" }
                    }
                }
            },
        ),
    ))
}

pub async fn show(state: web::Data<AppState>, v: Visitor) -> Result<HttpResponse, WebError> {
    page(&state, &v, None, &Errors::default(), StatusCode::OK).await
}

pub async fn change_password(
    state: web::Data<AppState>,
    v: Visitor,
    req: actix_web::HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let form = Form::read(&state, &v, &body)?;
    let mut errors = Errors::default();
    if let Err(Error::Invalid { reason, .. }) = Service::Web.check_password(form.get("password")) {
        errors.add("password", format!("The password {reason}."));
    } else if form.get("password") != form.get("confirm") {
        errors.add("confirm", "The two passwords differ.");
    }
    let key_id = s.key_id;
    let stored = db::run(&state.pool, move |conn| {
        let creds = crate::auth::credentials::list(conn, key_id)?;
        let username = creds
            .into_iter()
            .find(|c| c.service == Service::Web.as_str())
            .map(|c| c.username);
        let hash = crate::auth::credentials::stored(conn, Service::Web.as_str(), key_id)?;
        Ok(username.zip(hash))
    })
    .await?;
    let Some((username, hash)) = stored else {
        return Err(Error::NotFound("you have no web login".into()).into());
    };
    // Guessing the current password from a stolen session is guessing a sign-in: the same
    // throttle counts it.
    let current = form.get("current").to_owned();
    let login = super::signin::attempt(&state, &req, &username, &current)?;
    let right = state
        .bcrypt(move || bcrypt::verify(&current, &hash).unwrap_or(false))
        .await?;
    super::signin::counted(&state, login.as_ref(), right).await;
    if !right {
        errors.add("current", "That is not your current password.");
    }
    if !errors.is_empty() {
        return page(
            &state,
            &v,
            Some(&form),
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let password = form.get("password").to_owned();
    let new_hash = state
        .bcrypt(move || Service::Web.hash_password(&password))
        .await??;
    let keep = s.id;
    db::run(&state.pool, move |conn| {
        accounts::change_login(
            conn,
            key_id,
            accounts::Login {
                username: &username,
                password_hash: &new_hash,
            },
            Some(keep),
        )
    })
    .await?;
    Ok(layout::see_other("/account?done=password"))
}

pub async fn revoke(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    let form = Form::read(&state, &v, &body)?;
    let Ok(id) = form.get("id").parse::<uuid::Uuid>() else {
        return Err(Error::NotFound("no such session".into()).into());
    };
    let key_id = s.key_id;
    db::run(&state.pool, move |conn| sessions::revoke(conn, key_id, id)).await?;
    Ok(layout::see_other("/account?done=revoked"))
}

pub async fn revoke_all(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let s = v.signed()?.clone();
    Form::read(&state, &v, &body)?;
    let (key_id, keep) = (s.key_id, s.id);
    db::run(&state.pool, move |conn| {
        sessions::revoke_others(conn, key_id, keep)
    })
    .await?;
    Ok(layout::see_other("/account?done=all"))
}
