//! Connect your devices (every reader, for themselves): the KoSync server and the steps in
//! KOReader, the OPDS catalog's addresses with a QR code and notes per app, their own KoSync
//! and OPDS logins, and their Hardcover token with its sync runs.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup, PreEscaped};

use super::cards::when;
use super::device_passwords::{self, Created};
use super::logins::{self, LoginForm};
use crate::auth::device_passwords::{self as device_password_store, DevicePassword};
use crate::auth::{credentials, web as accounts, Service};
use crate::error::Error;
use crate::hardcover::status::{self as sync_status, Run, TokenCheck};
use crate::hardcover::sync::{self, Trigger, Waited};
use crate::hardcover::{token, SERVICE as HARDCOVER};
use crate::web::assets;
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Field, Nav};
use crate::web::session::Visitor;
use crate::{db, http, AppState};

/// Runs shown on the page.
const RUNS: usize = 5;

/// The catalog's address as a QR code, inline SVG. The crate writes only numbers and
/// colours (the URL is encoded as modules, never as text), so nothing in it needs escaping;
/// its XML declaration is dropped for HTML.
pub fn qr_svg(text: &str) -> Option<Markup> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(180, 180)
        .build();
    let start = svg.find("<svg")?;
    let svg = svg[start..].replacen(
        "<svg ",
        "<svg class=\"qr-code\" role=\"img\" aria-label=\"QR code of the catalog address\" ",
        1,
    );
    Some(PreEscaped(svg))
}

struct Hardcover {
    stored: bool,
    /// Hardcover's answer, when the reader asked for it.
    check: Option<TokenCheck>,
    runs: Vec<Run>,
}

struct Connect {
    base: String,
    passwords: Vec<DevicePassword>,
    created: Option<Created>,
    kosync: Option<String>,
    opds: Option<String>,
    hardcover: Hardcover,
}

fn notice(v: &Visitor) -> Option<&'static str> {
    let done = v.here.split_once("done=").map(|(_, d)| d)?;
    Some(match done.split(['&', '#']).next()? {
        "login" => "Your login is saved. Use it on your devices now.",
        "removed" => "The login is removed.",
        "revoked" => "The device password is revoked: the device it opened is refused from now on.",
        "token" => "Your Hardcover token is stored (sealed; it is never shown again).",
        "token-removed" => "Your Hardcover token is removed.",
        "synced" => "Synced with Hardcover: the run is listed below.",
        "running" => {
            "The sync with Hardcover is still running; reload this page later to see how it ended."
        }
        _ => return None,
    })
}

pub fn copy_button(value: &str) -> Markup {
    copy(value)
}

fn copy(value: &str) -> Markup {
    // Hidden until connect.js shows it: without a script, the address is there to select.
    html! { button.small.copy type="button" data-copy=(value) hidden { "Copy" } }
}

fn address(label: &str, value: &str) -> Markup {
    html! {
        dt { (label) }
        dd { code { (value) } " " (copy(value)) }
    }
}

fn page(v: &Visitor, c: &Connect, posted: Option<(&str, &Form)>, errors: &Errors) -> Markup {
    let posted_for = |which: &str| posted.filter(|(w, _)| *w == which).map(|(_, f)| f);
    let atom = format!("{}/opds", c.base);
    let opds2 = format!("{}/opds/v2", c.base);
    let login_hint = |u: &Option<String>| match u {
        Some(u) => html! { code { (u) } },
        None => html! { span.muted { "not set yet: set it below" } },
    };
    layout::page(
        v,
        "Connect your devices",
        Nav::Connect,
        html! {
            h1 { "Connect your devices" }
            @if let Some(n) = notice(v) { p.notice role="status" { (n) } }
            (layout::form_error(errors, "form"))
            section #kosync aria-labelledby="h-kosync" {
                h2 #h-kosync { "Reading progress in KOReader" }
                p { "KOReader sends where you are in each book to libris and picks it up on your other devices." }
                dl.meta {
                    (address("Server", &c.base))
                    dt { "Username" } dd { (login_hint(&c.kosync)) }
                }
                ol.steps {
                    li { "Open a book in KOReader and tap the top of the screen to show the menu." }
                    li { "In the " strong { "Tools" } " tab (the wrench), open " strong { "Progress sync" } "." }
                    li { "Tap " strong { "Custom sync server" } ", enter " code { (c.base) } " and confirm." }
                    li { "Tap " strong { "Register / Login" } ", enter your KoSync username and password, and tap "
                        strong { "Login" } "." }
                    li { "Tick " strong { "Automatically keep documents in sync" } " so every device picks up where you left off." }
                }
                (LoginForm {
                    service: Service::Kosync,
                    action: "/connect/logins/kosync",
                    current: c.kosync.as_deref(),
                    posted: posted_for("kosync"),
                    removable: true,
                }.render(v, errors))
            }
            section #opds aria-labelledby="h-opds" {
                h2 #h-opds { "The catalog in reading apps (OPDS)" }
                p { "Browse and download the library's books from a reading app. Apps sign in with your OPDS username and password." }
                div.columns {
                    div {
                        dl.meta {
                            (address("OPDS catalog (Atom, most apps)", &atom))
                            (address("OPDS 2 (Thorium and newer apps)", &opds2))
                            dt { "Username" } dd { (login_hint(&c.opds)) }
                        }
                    }
                    @if let Some(qr) = qr_svg(&atom) {
                        figure.qr {
                            (qr)
                            figcaption { "Scan to open " code { (atom) } }
                        }
                    }
                }
                h3 { "In your app" }
                dl.apps {
                    dt { "KOReader" }
                    dd { "In the file browser, open the " strong { "Search" } " tab (the magnifying glass) → "
                        strong { "OPDS catalog" } ", tap " strong { "+" } ", and enter a name, the catalog address, your username and password." }
                    dt { "Moon+ Reader" }
                    dd { "My shelf → " strong { "Net library" } " → " strong { "Add" } ": the catalog address; enter your username and password when it asks." }
                    dt { "Librera" }
                    dd { "Open the " strong { "Network" } " (OPDS) tab, tap " strong { "+" } " to add a catalog, and enter the catalog address, username and password." }
                    dt { "Panels" }
                    dd { "Library → " strong { "Add" } " → " strong { "OPDS catalog" } ": the catalog address, your username and password." }
                    dt { "Chunky" }
                    dd { "Servers → " strong { "Add server" } ", choose OPDS, and enter the catalog address, username and password." }
                    dt { "Thorium Reader" }
                    dd { strong { "Catalogs" } " → " strong { "Add catalog" } ": a name and the OPDS 2 address (the Atom one works too); it asks for your username and password when you open it." }
                }
                (LoginForm {
                    service: Service::Opds,
                    action: "/connect/logins/opds",
                    current: c.opds.as_deref(),
                    posted: posted_for("opds"),
                    removable: true,
                }.render(v, errors))
            }
            (device_passwords::section(v, &c.passwords, c.created.as_ref(), posted_for("device-passwords"), errors))
            section #cloud aria-labelledby="h-cloud" {
                h2 #h-cloud { "Statistics and highlights from KOReader" }
                p { "KOReader can keep its reading statistics in sync through libris, and send your highlights here. Use a device password with any of your usernames." }
                dl.meta {
                    (address("WebDAV (Cloud storage)", &format!("{}/dav", c.base)))
                    (address("Nextcloud URL (highlights export)", &c.base))
                }
                h3 { "Reading statistics" }
                ol.steps {
                    li { "In KOReader's file browser, open " strong { "Cloud storage" } ", add a " strong { "WebDAV" } " service: the WebDAV address above, your username and the device password." }
                    li { "In a book: " strong { "Tools" } " → " strong { "Reader statistics" } " → " strong { "Settings" } " → " strong { "Cloud sync" } ", and pick that service and a folder (the same on every device)." }
                    li { strong { "Reader statistics" } " → " strong { "Synchronize now" } ". Your statistics here then count real minutes from page turns." }
                }
                h3 { "Highlights" }
                ol.steps {
                    li { "In a book: " strong { "Tools" } " → " strong { "Export highlights" } " → " strong { "Choose formats and services" } " → " strong { "Nextcloud" } ": the Nextcloud URL above, your username and the device password as the app password." }
                    li { "Tick " strong { "Nextcloud" } " and export. Your highlights show on each book's page and under " a href="/highlights" { "Highlights" } "." }
                }
            }
            section #hardcover aria-labelledby="h-hardcover" {
                h2 #h-hardcover { "Hardcover" }
                p { "With your Hardcover API token, libris sends your reading statuses to Hardcover and takes theirs in, every day and when you ask." }
                (hardcover(v, &c.hardcover, posted_for("hardcover"), errors))
            }
            script src=(assets::url("connect.js")) defer {}
        },
    )
}

fn hardcover(v: &Visitor, h: &Hardcover, posted: Option<&Form>, errors: &Errors) -> Markup {
    let _ = posted; // the token is never shown again, not even after an error
    html! {
        dl.meta {
            dt { "Token" }
            dd {
                @match (&h.check, h.stored) {
                    (Some(c), _) if c.token == "valid" => {
                        "works, for Hardcover account "
                        @if let Some(a) = &c.account { strong { (a.username) } }
                    }
                    (Some(c), _) => {
                        span.error { (c.token.replace('_', " ")) }
                        @if let Some(m) = &c.message { " — " (m) }
                    }
                    (None, true) => "stored",
                    (None, false) => span.muted { "none stored" },
                }
            }
        }
        @if let Some(e) = errors.of("hardcover_sync") { p.error role="alert" { (e) } }
        div.actions {
            @if h.stored {
                form method="get" action="/connect#hardcover" {
                    input type="hidden" name="check" value="hardcover";
                    button.small type="submit" { "Check the token" }
                }
                form method="post" action="/connect/hardcover/sync" {
                    (csrf_field(v))
                    button.small type="submit" { "Sync now" }
                }
                form method="post" action="/connect/hardcover/remove" {
                    (csrf_field(v))
                    button.small.danger type="submit" { "Remove the token" }
                }
            }
        }
        form method="post" action="/connect/hardcover/token" novalidate {
            (csrf_field(v))
            (Field::new("token", if h.stored { "Replace the token" } else { "API token" })
                .kind("password")
                .hint("From Hardcover's settings page, under API; \"Bearer\" in front is fine.")
                .autocomplete("off").required().render(errors))
            div.actions { button.primary type="submit" { "Store the token" } }
        }
        @if !h.runs.is_empty() {
            table.list {
                caption { "Your last syncs" }
                thead { tr {
                    th scope="col" { "Started" }
                    th scope="col" { "How" }
                    th scope="col" { "Linked" }
                    th scope="col" { "Pulled" }
                    th scope="col" { "Pushed" }
                    th scope="col" { "Failed" }
                    th scope="col" { "Outcome" }
                } }
                tbody {
                    @for r in &h.runs {
                        tr {
                            th scope="row" { (when(r.started_at)) }
                            td { (r.trigger) }
                            td { (r.linked) }
                            td { (r.pulled) }
                            td { (r.pushed) }
                            td { (r.failed) }
                            td {
                                @match (&r.error, r.finished_at) {
                                    (Some(e), _) => span.error { (e) },
                                    (None, None) => "running",
                                    (None, Some(t)) => { "done at " (when(t)) },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn load(
    state: &AppState,
    v: &Visitor,
    req: &HttpRequest,
    check: bool,
) -> Result<Connect, WebError> {
    let key_id = v.signed()?.key_id;
    let (creds, stored, mut runs, passwords) = db::run(&state.pool, move |conn| {
        let creds = credentials::list(conn, key_id)?;
        let stored = credentials::stored(conn, HARDCOVER, key_id)?;
        let (runs, _) = sync_status::log(conn, key_id, 0)?;
        let passwords = device_password_store::list(conn, key_id)?;
        Ok((creds, stored, runs, passwords))
    })
    .await?;
    runs.truncate(RUNS);
    let username = |service: Service| {
        creds
            .iter()
            .find(|c| c.service == service.as_str())
            .map(|c| c.username.clone())
    };
    let has_token = stored.is_some();
    let check = match (check, stored) {
        (true, Some(stored)) => {
            Some(sync_status::check_token(&state.hardcover, key_id, Some(stored)).await?)
        }
        _ => None,
    };
    Ok(Connect {
        base: http::base::base_url(req, &state.config),
        passwords,
        created: None,
        kosync: username(Service::Kosync),
        opds: username(Service::Opds),
        hardcover: Hardcover {
            stored: has_token,
            check,
            runs,
        },
    })
}

#[derive(serde::Deserialize)]
pub struct Query {
    check: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    q: web::Query<Query>,
) -> Result<HttpResponse, WebError> {
    v.signed()?;
    let check = q.check.as_deref() == Some("hardcover");
    let c = load(&state, &v, &req, check).await?;
    Ok(layout::ok(page(&v, &c, None, &Errors::default())))
}

async fn again(
    state: &AppState,
    v: &Visitor,
    req: &HttpRequest,
    posted: Option<(&str, &Form)>,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let c = load(state, v, req, false).await?;
    Ok(layout::respond(status, page(v, &c, posted, errors)))
}

/// The page again after a posted form of `device_passwords` (its errors beside its fields).
pub async fn again_with(
    state: &AppState,
    v: &Visitor,
    req: &HttpRequest,
    posted: Option<(&str, &Form)>,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    again(state, v, req, posted, errors, status).await
}

/// The page with a device password just made, shown this once (201: the page is the answer,
/// not a redirect, so the password never sits in a URL or the history).
pub async fn with_password(
    state: &AppState,
    v: &Visitor,
    req: &HttpRequest,
    created: Created,
) -> Result<HttpResponse, WebError> {
    let mut c = load(state, v, req, false).await?;
    c.created = Some(created);
    Ok(layout::respond(
        StatusCode::CREATED,
        page(v, &c, None, &Errors::default()),
    ))
}

/// A KoSync or OPDS login of the reader's own (their web password is on the account page).
fn own_service(name: &str) -> Result<Service, WebError> {
    match Service::parse(name) {
        Ok(s @ (Service::Kosync | Service::Opds)) => Ok(s),
        _ => Err(Error::NotFound("no such login".into()).into()),
    }
}

pub async fn set_login(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let key_id = v.signed()?.key_id;
    let service = own_service(&path)?;
    let form = Form::read(&state, &v, &body)?;
    let mut errors = Errors::default();
    let stored = match logins::read(&form, service, &logins::names(service), &mut errors) {
        Some(login) => logins::store(&state, key_id, service, login, None).await?,
        None => Err(errors),
    };
    match stored {
        Ok(()) => Ok(layout::see_other(&format!(
            "/connect?done=login#{}",
            service.as_str()
        ))),
        Err(errors) => {
            again(
                &state,
                &v,
                &req,
                Some((service.as_str(), &form)),
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
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let key_id = v.signed()?.key_id;
    let service = own_service(&path)?;
    Form::read(&state, &v, &body)?;
    remove(&state, service.as_str(), key_id).await?;
    Ok(layout::see_other(&format!(
        "/connect?done=removed#{}",
        service.as_str()
    )))
}

async fn remove(state: &AppState, service: &'static str, key_id: uuid::Uuid) -> Result<(), Error> {
    db::run(&state.pool, move |conn| {
        match accounts::remove_service_login(conn, service, key_id) {
            // Removed meanwhile (a second click): what was asked for is true.
            Err(Error::NotFound(_)) => Ok(()),
            other => other,
        }
    })
    .await
}

pub async fn set_token(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let key_id = v.signed()?.key_id;
    let form = Form::read(&state, &v, &body)?;
    let prepared = token::prepare(&state.hardcover.token_key, key_id, form.get("token"), None);
    let stored = match prepared {
        Ok((label, sealed)) => {
            db::run(&state.pool, move |conn| {
                credentials::set(conn, HARDCOVER, key_id, &label, &sealed)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match stored {
        Ok(()) => Ok(layout::see_other("/connect?done=token#hardcover")),
        Err(e) => {
            let errors = Errors::from_error(e, "token")?;
            again(
                &state,
                &v,
                &req,
                Some(("hardcover", &form)),
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn remove_token(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let key_id = v.signed()?.key_id;
    Form::read(&state, &v, &body)?;
    remove(&state, HARDCOVER, key_id).await?;
    Ok(layout::see_other("/connect?done=token-removed#hardcover"))
}

/// Like `POST /api/hardcover/sync`: waits a while for the run, which goes on if it takes
/// longer.
pub async fn sync_now(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let key_id = v.signed()?.key_id;
    Form::read(&state, &v, &body)?;
    let waited = sync::run_waiting(
        state.hardcover.clone(),
        key_id,
        Trigger::Web,
        state.config.hardcover_sync_wait,
    )
    .await;
    match waited {
        Ok(Waited::Done(_)) => Ok(layout::see_other("/connect?done=synced#hardcover")),
        Ok(Waited::Running(_)) => Ok(layout::see_other("/connect?done=running#hardcover")),
        // Refused before it began: sync off, no readable token, a run under way.
        Err(Error::Conflict(why)) => {
            let mut errors = Errors::default();
            errors.add("hardcover_sync", format!("Not synced: {why}."));
            again(&state, &v, &req, None, &errors, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_qr_code_is_plain_svg_whatever_the_address() {
        let svg = super::qr_svg("https://x.example/<script>alert(1)</script>\"")
            .unwrap()
            .into_string();
        assert!(
            svg.starts_with("<svg class=\"qr-code\" role=\"img\""),
            "{svg:.80}"
        );
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("script") && !svg.contains("<?xml"));
        // Only the crate's own markup: numbers, colours, path commands.
        assert_eq!(svg.matches('<').count(), 4, "svg, rect, path, /svg");
    }
}
