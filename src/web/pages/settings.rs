//! Settings (admins): the run-time settings of `PATCH /api/settings` as a form, validated by
//! the same `settings` rules (all or nothing), and how the server stands: its public URL,
//! version, data dir and database.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde_json::Value;

use crate::error::Error;
use crate::library::storage;
use crate::settings::{self, Input};
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Nav};
use crate::web::session::Visitor;
use crate::{db, http, AppState};

/// What a person is told about each setting: its label and what it does.
fn describe(key: &str) -> (&'static str, &'static str) {
    match key {
        "kosync.registration" => (
            "KoSync registration",
            "Let KOReader's Register button make new KoSync accounts. Off: only the logins set \
             here work.",
        ),
        "reading.finished_threshold" => (
            "Finished at",
            "A book read this far (0.95: 95 %) counts as finished.",
        ),
        "reading.paused_after_days" => (
            "Paused after (days)",
            "A book left unread this many days counts as paused.",
        ),
        "opds.page_size" => ("Catalog page size", "Books on each OPDS catalog page."),
        "opds.anonymous" => (
            "Open catalog",
            "Anyone who reaches the server may browse and download without a login.",
        ),
        "hardcover.metadata_enabled" => (
            "Hardcover metadata",
            "Look new books up on Hardcover for their metadata and cover.",
        ),
        "hardcover.sync_enabled" => (
            "Hardcover sync",
            "Sync readers' statuses with Hardcover every day and when they ask.",
        ),
        _ => ("", ""),
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

/// A setting's input, labelled, with its hint and its error (as `layout::Field`, plus the
/// bounds a number has).
fn input(key: &'static str, kind: Input, value: &str, errors: &Errors) -> Markup {
    let (label, hint) = describe(key);
    let id = format!("f-{key}");
    let error = errors.of(key);
    let described = if error.is_some() {
        format!("{id}-error")
    } else {
        format!("{id}-hint")
    };
    html! {
        div.field.check[kind == Input::Checkbox].invalid[error.is_some()] {
            @match kind {
                Input::Checkbox => {
                    input id=(id) type="checkbox" name=(key) value="true" checked[value == "true"]
                        aria-invalid=[error.is_some().then_some("true")]
                        aria-describedby=(described);
                    label for=(id) { (label) }
                    small.hint id={(id) "-hint"} { (hint) }
                }
                Input::Number { min, max, whole } => {
                    label for=(id) { (label) }
                    small.hint id={(id) "-hint"} { (hint) " From " (number(min)) " to " (number(max)) "." }
                    input id=(id) type="number" name=(key) value=(value)
                        min=(number(min)) max=(number(max)) step=(if whole { "1" } else { "0.01" })
                        inputmode=(if whole { "numeric" } else { "decimal" }) required
                        aria-invalid=[error.is_some().then_some("true")]
                        aria-describedby=(described);
                }
            }
            @if let Some(e) = error { p.error id={(id) "-error"} role="alert" { (e) } }
        }
    }
}

/// How the server stands, read-only.
struct Standing {
    public_url: Option<String>,
    base: String,
    data_dir: String,
    writable: Result<(), String>,
    database: Result<(String, f64), String>,
}

async fn standing(state: &AppState, req: &HttpRequest) -> Standing {
    let dir = state.config.data_dir.clone();
    let writable = match web::block(move || storage::writable(&dir)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the check could not run".into()),
    };
    // What GET /api/health checks.
    let started = Instant::now();
    let database = match db::run(&state.pool, |conn| db::server_version(conn)).await {
        Ok(v) => Ok((v, started.elapsed().as_secs_f64() * 1000.0)),
        Err(e) => {
            e.log();
            Err("unreachable (the server's log says why)".into())
        }
    };
    Standing {
        public_url: state.config.public_url.clone(),
        base: http::base::base_url(req, &state.config),
        data_dir: state.config.data_dir.display().to_string(),
        writable,
        database,
    }
}

fn page(v: &Visitor, values: &dyn Fn(&str) -> String, errors: &Errors, s: &Standing) -> Markup {
    let saved = v.here.contains("done=saved");
    layout::page(
        v,
        "Settings",
        Nav::Settings,
        html! {
            h1 { "Settings" }
            @if saved { p.notice role="status" { "The settings are saved." } }
            @if !errors.is_empty() {
                p.error.banner role="alert" { "Nothing was saved: correct the fields marked below." }
            }
            form method="post" action="/settings" novalidate {
                (csrf_field(v))
                @for (key, kind) in settings::inputs() {
                    (input(key, kind, &values(key), errors))
                }
                div.actions { button.primary type="submit" { "Save settings" } }
            }
            section.panel aria-labelledby="h-server" {
                h2 #h-server { "This server" }
                dl.meta {
                    dt { "Public URL" }
                    dd { @match &s.public_url {
                        Some(u) => code { (u) },
                        None => { "not set (LIBRIS_PUBLIC_URL): addresses follow each request, now "
                            code { (s.base) } }
                    } }
                    dt { "Version" } dd { "libris " (env!("CARGO_PKG_VERSION")) }
                    dt { "Data directory" }
                    dd { code { (s.data_dir) } " — "
                        @match &s.writable {
                            Ok(()) => "writable",
                            Err(e) => span.error { "not writable: " (e) },
                        } }
                    dt { "Database" }
                    dd { @match &s.database {
                        Ok((version, ms)) => { "ok: PostgreSQL " (version) ", answered in " (format!("{ms:.1}")) " ms" },
                        Err(e) => span.error { (e) },
                    } }
                }
            }
        },
    )
}

pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let config = state.config.clone();
    let current = db::run(&state.pool, move |conn| settings::load(conn, &config)).await?;
    let current = serde_json::to_value(current).map_err(|e| Error::Internal(e.to_string()))?;
    let values = |key: &str| shown(current.get(key));
    let s = standing(&state, &req).await;
    Ok(layout::ok(page(&v, &values, &Errors::default(), &s)))
}

/// A stored value as a form shows it.
fn shown(value: Option<&Value>) -> String {
    match value {
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

pub async fn save(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    v.admin()?;
    let form = Form::read(&state, &v, &body)?;
    let config = state.config.clone();
    let current = db::run(&state.pool, move |conn| settings::load(conn, &config)).await?;
    let current = serde_json::to_value(current).map_err(|e| Error::Internal(e.to_string()))?;
    let mut errors = Errors::default();
    let mut changed = Vec::new();
    for (key, _) in settings::inputs() {
        match settings::parse_text(key, form.get(key)) {
            // Only what changed is stored: a default left alone keeps following the
            // environment.
            Ok(value) if current.get(key) == Some(&value) => {}
            Ok(value) => changed.push((key.to_owned(), value)),
            Err(Error::Invalid { reason, .. }) => errors.add(key, sentence(key, &reason)),
            Err(e) => return Err(e.into()),
        }
    }
    if !errors.is_empty() {
        let values = |key: &str| form.get(key).to_owned();
        let s = standing(&state, &req).await;
        return Ok(layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&v, &values, &errors, &s),
        ));
    }
    if !changed.is_empty() {
        state.change_settings(changed).await?;
    }
    Ok(layout::see_other("/settings?done=saved"))
}

/// "opds.page_size must be a whole number from 1 to 500" as "Must be a whole number from 1
/// to 500."
fn sentence(key: &str, reason: &str) -> String {
    let rest = reason
        .strip_prefix(key)
        .map(str::trim_start)
        .unwrap_or(reason);
    let mut chars = rest.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_rule_reads_as_a_sentence() {
        assert_eq!(
            super::sentence(
                "opds.page_size",
                "opds.page_size must be a whole number from 1 to 500"
            ),
            "Must be a whole number from 1 to 500."
        );
    }
}
