//! Reading goals on the web: their progress (on the statistics page and home) and the form
//! that sets them (`POST /stats/goals`, `POST /stats/goals/remove`), with the API's rules
//! (`reading::goals`). A refused target is shown again next to its field.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use maud::{html, Markup};

use super::stats;
use crate::reading::goals::{self, GoalKind, GoalProgress, KINDS};
use crate::web::error::WebError;
use crate::web::form::{Errors, Form};
use crate::web::layout::{self, csrf_field};
use crate::web::session::Visitor;
use crate::{db, AppState};

fn name(kind: GoalKind) -> &'static str {
    match kind {
        GoalKind::BooksPerYear => "Books a year",
        GoalKind::BooksPerMonth => "Books a month",
        GoalKind::MinutesPerDay => "Minutes a day",
    }
}

/// "3 ahead of schedule", "2 behind schedule", "on schedule" (books, to the nearest one).
fn pace(p: &GoalProgress) -> String {
    match p.ahead.round() as i64 {
        0 => "on schedule".to_owned(),
        n if n > 0 => format!("{n} ahead of schedule"),
        n => format!("{} behind schedule", -n),
    }
}

/// One goal's progress in words, with a bar.
pub fn line(p: &GoalProgress) -> Markup {
    let done = p.done.floor() as i64;
    let share = ((p.done / f64::from(p.target)) * 100.0)
        .clamp(0.0, 100.0)
        .round() as u8;
    let words = match p.kind {
        GoalKind::BooksPerYear => {
            format!("{done} of {} books in {}, {}", p.target, p.period, pace(p))
        }
        GoalKind::BooksPerMonth => format!("{done} of {} books this month, {}", p.target, pace(p)),
        GoalKind::MinutesPerDay => format!("{done} of {} minutes today", p.target),
    };
    html! {
        div.goal {
            span { strong { (name(p.kind)) } ": " (words) @if p.met { " " span.badge { "met" } } }
            progress max="100" value=(share) aria-label={ (name(p.kind)) ": " (share) "%" } { (share) "%" }
        }
    }
}

/// What the goals form was sent with, to show again after an error.
#[derive(Default)]
pub struct Typed {
    pub kind: Option<GoalKind>,
    pub target: String,
}

/// The goals panel: progress, and a form per kind to set, change or remove it.
pub fn panel(v: &Visitor, progress: &[GoalProgress], typed: &Typed, errors: &Errors) -> Markup {
    html! {
        section.panel aria-labelledby="goals-h" {
            h2 #goals-h { "Goals" }
            @if progress.is_empty() {
                p.muted { "No goal yet. Set one below: books a year, books a month or minutes a day." }
            }
            @for p in progress { (line(p)) }
            @for kind in KINDS {
                @let current = progress.iter().find(|p| p.kind == kind);
                @let field = format!("target-{}", kind.as_str());
                @let error = (typed.kind == Some(kind)).then(|| errors.of("target")).flatten();
                @let value = match (typed.kind == Some(kind), current) {
                    (true, _) => typed.target.clone(),
                    (false, Some(p)) => p.target.to_string(),
                    (false, None) => String::new(),
                };
                div.goal-form {
                    form.inline method="post" action="/stats/goals" novalidate {
                        (csrf_field(v))
                        input type="hidden" name="kind" value=(kind.as_str());
                        div.field.invalid[error.is_some()] {
                            label for={ "f-" (field) } { (name(kind)) " (" (kind.unit()) ")" }
                            input id={ "f-" (field) } name="target" type="number" min="1" max=(kind.most())
                                inputmode="numeric" value=(value)
                                aria-invalid=[error.is_some().then_some("true")]
                                aria-describedby=[error.is_some().then(|| format!("f-{field}-error"))];
                            @if let Some(e) = error { p.error id={ "f-" (field) "-error" } role="alert" { (e) } }
                        }
                        button.small type="submit" { @if current.is_some() { "Change" } @else { "Set" } span.sr-only { " " (name(kind)) } }
                    }
                    @if current.is_some() {
                        form.inline method="post" action="/stats/goals/remove" {
                            (csrf_field(v))
                            input type="hidden" name="kind" value=(kind.as_str());
                            button.small.link type="submit" { "Remove" span.sr-only { " " (name(kind)) } }
                        }
                    }
                }
            }
        }
    }
}

/// A posted goals form: the reader, the form (its token checked) and the goal it names.
fn posted(
    state: &AppState,
    v: &Visitor,
    body: &Bytes,
) -> Result<(uuid::Uuid, Form, GoalKind), WebError> {
    let reader = v.signed()?.key_id;
    let form = Form::read(state, v, body)?;
    let kind = GoalKind::parse(form.get("kind"))
        .ok_or_else(|| crate::error::Error::invalid("kind", "no such goal"))?;
    Ok((reader, form, kind))
}

pub async fn set(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let (reader, form, kind) = posted(&state, &v, &body)?;
    let typed = form.get("target").trim().to_owned();
    let refused = |message: String| {
        Typed {
            kind: Some(kind),
            target: typed.clone(),
        }
        .with_error(message)
    };
    let target = match typed.parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            return refused(format!("must be a whole number from 1 to {}", kind.most()))
                .show(&state, &v)
                .await
        }
    };
    if let Err(e) = goals::check_target(kind, target) {
        let errors = Errors::from_error(e, "target")?;
        let message = errors.of("target").unwrap_or_default().to_owned();
        return refused(message).show(&state, &v).await;
    }
    db::run(&state.pool, move |conn| {
        goals::set(conn, reader, kind, target)
    })
    .await?;
    Ok(layout::see_other("/stats?done=goal"))
}

pub async fn remove(
    state: web::Data<AppState>,
    v: Visitor,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let (reader, _, kind) = posted(&state, &v, &body)?;
    db::run(&state.pool, move |conn| goals::remove(conn, reader, kind)).await?;
    Ok(layout::see_other("/stats?done=goal-removed"))
}

/// A refused goal form, to be shown again on the statistics page.
pub struct Refused {
    typed: Typed,
    errors: Errors,
}

impl Typed {
    fn with_error(self, message: String) -> Refused {
        let mut errors = Errors::default();
        errors.add("target", message);
        Refused {
            typed: self,
            errors,
        }
    }
}

impl Refused {
    async fn show(self, state: &AppState, v: &Visitor) -> Result<HttpResponse, WebError> {
        stats::render(
            state,
            v,
            "year",
            &self.typed,
            &self.errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await
    }
}
