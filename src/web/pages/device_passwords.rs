//! Device passwords on the connect page: make one for a device (shown once), see when and by
//! what each was last used, revoke one (`auth::device_passwords`).

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};
use uuid::Uuid;

use super::cards::when;
use super::connect;
use crate::auth::device_passwords::{self, DevicePassword};
use crate::error::Error;
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field, Field};
use crate::web::session::Visitor;
use crate::{db, AppState};

/// A password just made, shown this once.
pub struct Created {
    pub label: String,
    pub password: String,
}

fn via(by: &str) -> &str {
    match by {
        "kosync" => "progress sync",
        "opds" => "the catalog",
        "webdav" => "WebDAV",
        "notes" => "the Notes export",
        other => other,
    }
}

/// The section: what a device password is for, the one just made, the list, the form.
pub fn section(
    v: &Visitor,
    passwords: &[DevicePassword],
    created: Option<&Created>,
    posted: Option<&Form>,
    errors: &Errors,
) -> Markup {
    html! {
        section #device-passwords aria-labelledby="h-device-passwords" {
            h2 #h-device-passwords { "Device passwords" }
            p { "Give each device its own password: it works for progress sync (with your KoSync username), "
                "the catalog, WebDAV and the Notes export (with any of your usernames). "
                "Revoke it when the device is lost or sold, and your other devices keep working." }
            @if let Some(c) = created {
                div.notice.created role="status" {
                    p { "The password for " strong { (c.label) } " is" }
                    p { code.secret #new-device-password { (c.password) } " " (connect::copy_button(&c.password)) }
                    p { "Type it into the device now: it is shown only this once." }
                }
            }
            @if passwords.is_empty() {
                p.muted { "You have no device passwords yet." }
            } @else {
                div.table-wrap { table.list #device-password-list {
                    caption { "Your device passwords" }
                    thead { tr {
                        th scope="col" { "Device" }
                        th scope="col" { "Made" }
                        th scope="col" { "Last used" }
                        th scope="col" { span.visually-hidden { "Revoke" } }
                    } }
                    tbody {
                        @for p in passwords {
                            tr {
                                th scope="row" { (p.label) }
                                td { (when(p.created_at)) }
                                td {
                                    @match p.last_used_at {
                                        Some(t) => {
                                            (when(t))
                                            @if let Some(by) = &p.last_used_by { " by " (via(by)) }
                                            @if let Some(d) = &p.last_device { " from " (d) }
                                        }
                                        None => span.muted { "never" },
                                    }
                                }
                                td {
                                    form method="post" action={"/connect/device-passwords/" (p.id) "/revoke"} {
                                        (csrf_field(v))
                                        button.small.danger type="submit" aria-label={"Revoke " (p.label)} { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            form method="post" action="/connect/device-passwords" novalidate {
                (csrf_field(v))
                (Field::new("label", "New device password for")
                    .value(posted.map_or("", |f| f.get("label")))
                    .hint("The device's name, like \"Kobo Libra\" or \"Phone\".")
                    .autocomplete("off").required().render(errors))
                div.actions { button.primary type="submit" { "Make a password" } }
            }
        }
    }
}

pub async fn create(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let key_id = v.signed()?.key_id;
    let form = Form::read(&state, &v, &body)?;
    let label = form.get("label").to_owned();
    let made = db::run(&state.pool, move |conn| {
        device_passwords::create(conn, key_id, &label)
    })
    .await;
    match made {
        Ok((row, password)) => {
            let created = Created {
                label: row.label,
                password,
            };
            connect::with_password(&state, &v, &req, created).await
        }
        Err(e) => {
            let errors = Errors::from_error(e, "label")?;
            connect::again_with(
                &state,
                &v,
                &req,
                Some(("device-passwords", &form)),
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn revoke(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<Uuid>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let key_id = v.signed()?.key_id;
    Form::read(&state, &v, &body)?;
    let id = path.into_inner();
    db::run(&state.pool, move |conn| {
        match device_passwords::revoke(conn, key_id, id) {
            // Revoked meanwhile (a second click): what was asked for is true.
            Err(Error::NotFound(_)) => Ok(()),
            other => other,
        }
    })
    .await?;
    Ok(layout::see_other("/connect?done=revoked#device-passwords"))
}
