//! Readers (admins): the list with each reader's logins, a new reader with their web login,
//! a reader's page (their web, KoSync and OPDS logins, their devices) and revoking one.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use maud::{html, Markup};
use uuid::Uuid;

use super::cards::when;
use super::logins::{self, LoginForm};
use crate::auth::readers::{self, Reader};
use crate::auth::{keys, web as accounts, Service};
use crate::error::Error;
use crate::reading::devices::{self, Device};
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Field, Nav};
use crate::web::session::Visitor;
use crate::{db, AppState};

const LOGINS: [Service; 3] = [Service::Web, Service::Kosync, Service::Opds];

/// A reader's id from the path; anything else is the 404 page.
fn reader_id(raw: &str) -> Result<Uuid, WebError> {
    raw.parse()
        .map_err(|_| Error::NotFound("no such reader".into()).into())
}

fn notice(v: &Visitor) -> Option<&'static str> {
    let done = v.here.split_once("done=").map(|(_, d)| d)?;
    Some(match done.split('&').next()? {
        "created" => "The reader is created.",
        "login" => "The login is saved.",
        "removed" => "The login is removed.",
        "revoked" => {
            "The reader is revoked: their logins, sessions and reading positions are gone."
        }
        _ => return None,
    })
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn list_page(v: &Visitor, all: &[Reader], form: Option<&Form>, errors: &Errors) -> Markup {
    let value = |name| form.map_or("", |f: &Form| f.get(name));
    let admin_checked = form.is_some_and(|f| f.has("is_admin"));
    layout::page(
        v,
        "Readers",
        Nav::Readers,
        html! {
            h1 { "Readers" }
            @if let Some(n) = notice(v) { p.notice role="status" { (n) } }
            table.list {
                caption.sr-only { "Every reader of this library and their logins" }
                thead { tr {
                    th scope="col" { "Reader" }
                    th scope="col" { "Web" }
                    th scope="col" { "KoSync" }
                    th scope="col" { "OPDS" }
                    th scope="col" { "Hardcover" }
                    th scope="col" { "Created" }
                    th scope="col" { "Last used" }
                } }
                tbody {
                    @for r in all {
                        tr {
                            th scope="row" {
                                a href={"/readers/" (r.key.id)} { (r.key.label) }
                                @if r.key.is_admin { " " span.badge { "admin" } }
                            }
                            @for service in LOGINS {
                                td { @match r.username(service.as_str()) {
                                    Some(u) => code { (u) },
                                    None => span.muted { "—" },
                                } }
                            }
                            td { (yes_no(r.has_hardcover())) }
                            td { (when(r.key.created_at)) }
                            td { @match r.key.last_used_at {
                                Some(t) => (when(t)),
                                None => span.muted { "never" },
                            } }
                        }
                    }
                }
            }
            section.panel aria-labelledby="h-new" {
                h2 #h-new { "Add a reader" }
                form method="post" action="/readers" novalidate {
                    (csrf_field(v))
                    (layout::form_error(errors, "form"))
                    (Field::new("label", "Name").value(value("label"))
                        .hint("How the reader is shown here, 1–200 characters.")
                        .autocomplete("off").required().render(errors))
                    div.field.check {
                        input #f-is_admin type="checkbox" name="is_admin" value="true" checked[admin_checked];
                        label for="f-is_admin" { "An admin (sees and changes everything)" }
                    }
                    fieldset {
                        legend { "Web sign-in (optional)" }
                        p.muted { "Leave these empty to add the login later." }
                        (Field::new("username", "Username").value(value("username"))
                            .autocomplete("off").render(errors))
                        (Field::new("password", "Password").kind("password")
                            .hint("8 characters or more.").autocomplete("new-password").render(errors))
                        (Field::new("confirm", "Password again").kind("password")
                            .autocomplete("new-password").render(errors))
                    }
                    div.actions { button.primary type="submit" { "Add reader" } }
                }
            }
        },
    )
}

async fn all_readers(state: &AppState) -> Result<Vec<Reader>, WebError> {
    Ok(db::run(&state.pool, |conn| readers::list(conn)).await?)
}

pub async fn list(state: web::Data<AppState>, v: Visitor) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let all = all_readers(&state).await?;
    Ok(layout::ok(list_page(&v, &all, None, &Errors::default())))
}

pub async fn create(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let form = Form::read(&state, &v, &body)?;
    let mut errors = Errors::default();
    let label = match keys::valid_label(form.get("label")) {
        Ok(l) => Some(l),
        Err(Error::Invalid { reason, .. }) => {
            errors.add("label", format!("The name {reason}."));
            None
        }
        Err(e) => return Err(e.into()),
    };
    let is_admin = form.has("is_admin");
    let wants_login = !form.get("username").trim().is_empty() || !form.get("password").is_empty();
    let names = logins::Names {
        username: "username",
        password: "password",
        confirm: "confirm",
    };
    let login = if wants_login {
        logins::read(&form, Service::Web, &names, &mut errors)
    } else {
        None
    };
    let Some(label) = label.filter(|_| errors.is_empty()) else {
        return create_failed(&state, &v, &form, errors).await;
    };
    let hashed = match login {
        Some((username, password)) => {
            let password = password.to_owned();
            let hash = state
                .bcrypt(move || Service::Web.hash_password(&password))
                .await??;
            Some((username.to_owned(), hash))
        }
        None => None,
    };
    let made = db::run(&state.pool, move |conn| {
        let login = hashed.as_ref().map(|(username, hash)| accounts::Login {
            username,
            password_hash: hash,
        });
        accounts::create_reader(conn, &label, is_admin, login)
    })
    .await;
    match made {
        Ok(key) => Ok(layout::see_other(&format!(
            "/readers/{}?done=created",
            key.id
        ))),
        // The one conflict: the web username is taken (nothing was made).
        Err(e) => create_failed(&state, &v, &form, Errors::from_error(e, "username")?).await,
    }
}

async fn create_failed(
    state: &AppState,
    v: &Visitor,
    form: &Form,
    errors: Errors,
) -> Result<HttpResponse, WebError> {
    let all = all_readers(state).await?;
    Ok(layout::respond(
        StatusCode::UNPROCESSABLE_ENTITY,
        list_page(v, &all, Some(form), &errors),
    ))
}

struct ReaderPage<'a> {
    reader: &'a Reader,
    devices: &'a [Device],
    /// The service whose form was posted, and the form.
    posted: Option<(Service, &'a Form)>,
    errors: &'a Errors,
}

fn reader_page(v: &Visitor, p: ReaderPage) -> Markup {
    let r = p.reader;
    let id = r.key.id;
    layout::page(
        v,
        &r.key.label,
        Nav::Readers,
        html! {
            p { a href="/readers" { "← All readers" } }
            h1 { (r.key.label) @if r.key.is_admin { " " span.badge { "admin" } } }
            @if let Some(n) = notice(v) { p.notice role="status" { (n) } }
            (layout::form_error(p.errors, "form"))
            dl.meta {
                dt { "Created" } dd { (when(r.key.created_at)) }
                dt { "Last used" } dd { @match r.key.last_used_at {
                    Some(t) => (when(t)),
                    None => "never",
                } }
                dt { "Hardcover" } dd { @if r.has_hardcover() { "connected" } @else { "not connected" } }
            }
            h2 { "Logins" }
            p.muted { "The reader signs in to this web app, to KOReader's progress sync and to OPDS catalog apps with these. Passwords are stored hashed and never shown." }
            div.columns {
                @for service in LOGINS {
                    (LoginForm {
                        service,
                        action: &format!("/readers/{id}/logins/{}", service.as_str()),
                        current: r.username(service.as_str()),
                        posted: p.posted.filter(|(s, _)| *s == service).map(|(_, f)| f),
                        removable: true,
                    }.render(v, p.errors))
                }
            }
            h2 { "Devices" }
            @if p.devices.is_empty() {
                p.muted { "No device has sent reading progress yet." }
            } @else {
                table.list {
                    caption.sr-only { "Devices that sent this reader's reading progress" }
                    thead { tr {
                        th scope="col" { "Device" }
                        th scope="col" { "Device id" }
                        th scope="col" { "Last report" }
                        th scope="col" { "Books" }
                    } }
                    tbody {
                        @for d in p.devices {
                            tr {
                                th scope="row" { (d.device) }
                                td { @match &d.device_id {
                                    Some(i) => code { (i) },
                                    None => span.muted { "none sent" },
                                } }
                                td { (when(d.last_report)) }
                                td { (d.books) }
                            }
                        }
                    }
                }
                p { a href={ "/readers/" (id) "/devices" } { "Devices and sync health, documents that matched no book" } }
            }
            section.panel aria-labelledby="h-revoke" {
                h2 #h-revoke { "Revoke" }
                p { "Revoking ends the reader's sessions and logins at once and forgets their reading positions." }
                form method="get" action={"/readers/" (id) "/revoke"} {
                    button.danger type="submit" { "Revoke " (r.key.label) "…" }
                }
            }
        },
    )
}

async fn load(state: &AppState, id: Uuid) -> Result<(Reader, Vec<Device>), WebError> {
    Ok(db::run(&state.pool, move |conn| {
        Ok((readers::find(conn, id)?, devices::of_reader(conn, id)?))
    })
    .await?)
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = reader_id(&path)?;
    let (reader, devices) = load(&state, id).await?;
    Ok(layout::ok(reader_page(
        &v,
        ReaderPage {
            reader: &reader,
            devices: &devices,
            posted: None,
            errors: &Errors::default(),
        },
    )))
}

async fn again(
    state: &AppState,
    v: &Visitor,
    id: Uuid,
    posted: Option<(Service, &Form)>,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let (reader, devices) = load(state, id).await?;
    Ok(layout::respond(
        status,
        reader_page(
            v,
            ReaderPage {
                reader: &reader,
                devices: &devices,
                posted,
                errors,
            },
        ),
    ))
}

pub async fn set_login(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String)>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let me = v.admin()?.clone();
    let id = reader_id(&path.0)?;
    let service = Service::parse(&path.1).map_err(|_| Error::NotFound("no such login".into()))?;
    let form = Form::read(&state, &v, &body)?;
    let names = logins::names(service);
    let mut errors = Errors::default();
    // An admin changing their own web password stays signed in here.
    let keep = (id == me.key_id).then_some(me.id);
    let stored = match logins::read(&form, service, &names, &mut errors) {
        Some(login) => logins::store(&state, id, service, login, keep).await?,
        None => Err(errors),
    };
    match stored {
        Ok(()) => Ok(layout::see_other(&format!("/readers/{id}?done=login"))),
        Err(errors) => {
            let posted = Some((service, &form));
            again(
                &state,
                &v,
                id,
                posted,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn remove_login(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String)>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let me = v.admin()?.clone();
    let id = reader_id(&path.0)?;
    let service = Service::parse(&path.1).map_err(|_| Error::NotFound("no such login".into()))?;
    Form::read(&state, &v, &body)?;
    if id == me.key_id && service == Service::Web {
        let mut errors = Errors::default();
        errors.add(
            "form",
            "You are signed in with this login: change its password instead, or ask another admin to remove it.",
        );
        return again(&state, &v, id, None, &errors, StatusCode::CONFLICT).await;
    }
    let removed = db::run(&state.pool, move |conn| {
        keys::find(conn, id)?;
        match accounts::remove_service_login(conn, service.as_str(), id) {
            // Removed meanwhile (a second click): what was asked for is true.
            Err(Error::NotFound(_)) => Ok(()),
            other => other,
        }
    })
    .await;
    removed?;
    Ok(layout::see_other(&format!("/readers/{id}?done=removed")))
}

fn revoke_page(v: &Visitor, reader: &Reader, errors: &Errors) -> Markup {
    let id = reader.key.id;
    layout::page(
        v,
        "Revoke a reader",
        Nav::Readers,
        html! {
            p { a href={"/readers/" (id)} { "← Back to " (reader.key.label) } }
            h1 { "Revoke " (reader.key.label) "?" }
            (layout::form_error(errors, "form"))
            p { "Their web sessions end at once; their web, KoSync and OPDS logins and their Hardcover token are deleted, and so are their reading positions. This cannot be undone." }
            form method="post" action={"/readers/" (id) "/revoke"} {
                (csrf_field(v))
                div.actions {
                    button.danger type="submit" { "Yes, revoke " (reader.key.label) }
                    a href={"/readers/" (id)} { "Cancel" }
                }
            }
        },
    )
}

pub async fn revoke_form(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let id = reader_id(&path)?;
    let reader = db::run(&state.pool, move |conn| readers::find(conn, id)).await?;
    Ok(layout::ok(revoke_page(&v, &reader, &Errors::default())))
}

pub async fn revoke(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let me = v.admin()?.clone();
    let id = reader_id(&path)?;
    Form::read(&state, &v, &body)?;
    let refused = if id == me.key_id {
        Some(Error::Conflict(
            "You cannot revoke yourself: another admin can (and the last admin cannot be \
             revoked at all)."
                .into(),
        ))
    } else {
        match db::run(&state.pool, move |conn| keys::remove(conn, id)).await {
            Ok(()) => None,
            // The last admin key stays (keys::remove refuses it).
            Err(e @ Error::Conflict(_)) => Some(e),
            Err(e) => return Err(e.into()),
        }
    };
    match refused {
        None => Ok(layout::see_other("/readers?done=revoked")),
        Some(e) => {
            let errors = Errors::from_error(e, "form")?;
            let reader = db::run(&state.pool, move |conn| readers::find(conn, id)).await?;
            Ok(layout::respond(
                StatusCode::CONFLICT,
                revoke_page(&v, &reader, &errors),
            ))
        }
    }
}
