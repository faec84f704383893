//! A reader's logins for the web app, KoSync and OPDS as forms: the Readers page (an admin
//! for anyone) and the Connect page (a reader for themselves) show and read the same form,
//! and store it with the same domain call as `PUT /api/…/credentials/{service}`.

use maud::{html, Markup};
use uuid::Uuid;

use crate::auth::{credentials, web as accounts, Service};
use crate::error::Error;
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{csrf_field, Field};
use crate::web::session::Visitor;
use crate::{db, AppState};

/// The form's field names for `service`: one page may show several services' forms, and
/// each field's id (and its error) must be its own.
pub struct Names {
    pub username: &'static str,
    pub password: &'static str,
    pub confirm: &'static str,
}

pub fn names(service: Service) -> Names {
    match service {
        Service::Web => Names {
            username: "web_username",
            password: "web_password",
            confirm: "web_confirm",
        },
        Service::Kosync => Names {
            username: "kosync_username",
            password: "kosync_password",
            confirm: "kosync_confirm",
        },
        Service::Opds => Names {
            username: "opds_username",
            password: "opds_password",
            confirm: "opds_confirm",
        },
    }
}

/// What a person calls each service.
pub fn title(service: Service) -> &'static str {
    match service {
        Service::Web => "Web sign-in",
        Service::Kosync => "KoSync (reading progress)",
        Service::Opds => "OPDS (catalog)",
    }
}

fn password_hint(service: Service) -> &'static str {
    match service {
        Service::Web => "8 characters or more.",
        _ => "Any password; the reading app stores it.",
    }
}

/// Checks a login typed into a form: the username's and password's rules (the domain's, as
/// the API checks them) and the confirmation. Adds errors under `names`; `None` when
/// `errors` holds any.
pub fn read<'f>(
    form: &'f Form,
    service: Service,
    names: &Names,
    errors: &mut Errors,
) -> Option<(&'f str, &'f str)> {
    let username = form.get(names.username).trim();
    let password = form.get(names.password);
    if let Err(Error::Invalid { reason, .. }) = credentials::check_username(username) {
        errors.add(names.username, format!("The username {reason}."));
    }
    if let Err(Error::Invalid { reason, .. }) = service.check_password(password) {
        errors.add(names.password, format!("The password {reason}."));
    } else if password != form.get(names.confirm) {
        errors.add(names.confirm, "The two passwords differ.");
    }
    errors.is_empty().then_some((username, password))
}

/// Hashes and stores a checked login; a taken username is an error next to its field.
/// `keep` is the session that stays signed in when a web password changes.
pub async fn store(
    state: &AppState,
    key_id: Uuid,
    service: Service,
    (username, password): (&str, &str),
    keep: Option<Uuid>,
) -> Result<Result<(), Errors>, WebError> {
    let password = password.to_owned();
    let hash = state
        .bcrypt(move || service.hash_password(&password))
        .await??;
    let username = username.to_owned();
    let stored = db::run(&state.pool, move |conn| {
        let login = accounts::Login {
            username: &username,
            password_hash: &hash,
        };
        accounts::set_service_login(conn, service, key_id, login, keep)
    })
    .await;
    match stored {
        Ok(()) => Ok(Ok(())),
        Err(Error::NotFound(m)) => Err(Error::NotFound(m).into()),
        Err(Error::Invalid { reason, .. }) => {
            let mut errors = Errors::default();
            errors.add(names(service).username, format!("The username {reason}."));
            Ok(Err(errors))
        }
        Err(e) => Errors::from_error(e, names(service).username).map(Err),
    }
}

/// The form that sets (or changes) a login, and a button that removes it.
pub struct LoginForm<'a> {
    pub service: Service,
    /// Where the form posts; removal posts to `{action}/remove`.
    pub action: &'a str,
    /// The login's username now, if there is one.
    pub current: Option<&'a str>,
    /// The posted form, when this one is shown again with its errors.
    pub posted: Option<&'a Form>,
    pub removable: bool,
}

impl LoginForm<'_> {
    pub fn render(&self, v: &Visitor, errors: &Errors) -> Markup {
        let n = names(self.service);
        let username = match self.posted {
            Some(f) => f.get(n.username),
            None => self.current.unwrap_or(""),
        };
        let heading = format!("h-login-{}", self.service.as_str());
        html! {
            section.panel aria-labelledby=(heading) {
                h3 id=(heading) { (title(self.service)) }
                @match self.current {
                    Some(u) => p { "Username " code { (u) } },
                    None => p.muted { "No login yet." },
                }
                form method="post" action=(self.action) novalidate {
                    (csrf_field(v))
                    (Field::new(n.username, "Username").value(username)
                        .autocomplete("off").required().render(errors))
                    (Field::new(n.password, if self.current.is_some() { "New password" } else { "Password" })
                        .kind("password").hint(password_hint(self.service))
                        .autocomplete("new-password").required().render(errors))
                    (Field::new(n.confirm, "Password again").kind("password")
                        .autocomplete("new-password").required().render(errors))
                    div.actions {
                        button.primary type="submit" {
                            @if self.current.is_some() { "Change login" } @else { "Set login" }
                        }
                    }
                }
                @if self.removable && self.current.is_some() {
                    form method="post" action={(self.action) "/remove"} {
                        (csrf_field(v))
                        button.danger.small type="submit" { "Remove this login" }
                    }
                }
            }
        }
    }
}
