//! The page shell: the head (stylesheet, icon, script), the navigation of a signed-in reader,
//! and the small pieces every form uses (a labelled field with its error, the CSRF field).

use maud::{html, Markup, DOCTYPE};

use super::assets;
use super::csrf;
use super::form::Errors;
use super::session::Visitor;

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · libris" }
            link rel="stylesheet" href=(assets::url("app.css"));
            link rel="icon" href=(assets::url("icon.svg")) type="image/svg+xml";
            script src=(assets::url("app.js")) defer {}
        }
    }
}

/// A page without navigation: set-up, sign-in, errors.
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main #main.narrow {
                    p.brand { a href="/" { span.logo aria-hidden="true" { "L" } "libris" } }
                    (content)
                }
            }
        }
    }
}

/// Which navigation entry a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Reading,
    Stats,
    Library,
    Inbox,
    Readers,
    Connect,
    Settings,
    Account,
}

/// A signed-in page.
pub fn page(v: &Visitor, title: &str, nav: Nav, content: Markup) -> Markup {
    let admin = v.is_admin();
    let label = v.session.as_ref().map(|s| s.label.as_str()).unwrap_or("");
    let item = |to: Nav, href: &str, text: &str| {
        html! {
            li { a href=(href) aria-current=[(nav == to).then_some("page")] { (text) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { span.logo aria-hidden="true" { "L" } "libris" }
                    nav aria-label="Main" {
                        ul {
                            (item(Nav::Home, "/", "Home"))
                            (item(Nav::Reading, "/reading", "Reading"))
                            (item(Nav::Stats, "/stats", "Statistics"))
                            (item(Nav::Library, "/library", "Library"))
                            @if admin {
                                (item(Nav::Inbox, "/inbox", "Inbox"))
                                (item(Nav::Readers, "/readers", "Readers"))
                            }
                            (item(Nav::Connect, "/devices", "Devices"))
                            @if admin { (item(Nav::Settings, "/settings", "Settings")) }
                        }
                    }
                    div.who {
                        a href="/account" aria-current=[(nav == Nav::Account).then_some("page")] { (label) }
                        form method="post" action="/signout" {
                            (csrf_field(v))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main { (content) }
            }
        }
    }
}

pub fn csrf_field(v: &Visitor) -> Markup {
    html! { input type="hidden" name=(csrf::FIELD) value=(v.csrf); }
}

/// A labelled input with its error (announced with the field), keeping what was entered.
pub struct Field<'a> {
    pub name: &'static str,
    pub label: &'a str,
    pub value: &'a str,
    pub kind: &'static str,
    pub hint: Option<&'a str>,
    pub autocomplete: Option<&'static str>,
    pub required: bool,
}

impl<'a> Field<'a> {
    pub fn new(name: &'static str, label: &'a str) -> Field<'a> {
        Field {
            name,
            label,
            value: "",
            kind: "text",
            hint: None,
            autocomplete: None,
            required: false,
        }
    }

    pub fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }

    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    pub fn autocomplete(mut self, what: &'static str) -> Self {
        self.autocomplete = Some(what);
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn render(&self, errors: &Errors) -> Markup {
        let id = format!("f-{}", self.name);
        let error = errors.of(self.name);
        let described = match (error.is_some(), self.hint.is_some()) {
            (true, _) => Some(format!("{id}-error")),
            (false, true) => Some(format!("{id}-hint")),
            _ => None,
        };
        html! {
            div.field.invalid[error.is_some()] {
                label for=(id) { (self.label) }
                @if let Some(hint) = self.hint { small.hint id={(id) "-hint"} { (hint) } }
                input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                    autocomplete=[self.autocomplete] required[self.required]
                    aria-invalid=[error.is_some().then_some("true")]
                    aria-describedby=[described];
                @if let Some(e) = error { p.error id={(id) "-error"} role="alert" { (e) } }
            }
        }
    }
}

/// A form-wide error (not about one field).
pub fn form_error(errors: &Errors, key: &str) -> Markup {
    html! {
        @if let Some(e) = errors.of(key) { p.error.banner role="alert" { (e) } }
    }
}

/// A page's answer: HTML with a status.
pub fn respond(status: actix_web::http::StatusCode, markup: Markup) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

pub fn ok(markup: Markup) -> actix_web::HttpResponse {
    respond(actix_web::http::StatusCode::OK, markup)
}

/// 303 See Other: where a successful form post goes.
pub fn see_other(to: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .finish()
}
