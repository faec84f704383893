//! Posted forms: read as pairs (a hostile body is a 400 page, never a panic), the CSRF token
//! checked first, and the errors a page shows next to each field.

use actix_web::web::Bytes;

use super::csrf;
use super::error::WebError;
use super::session::Visitor;
use crate::error::Error;
use crate::AppState;

pub struct Form(Vec<(String, String)>);

impl Form {
    /// The body as pairs, its CSRF token checked: a missing or wrong one is 403 and nothing
    /// else is looked at.
    pub fn read(state: &AppState, visitor: &Visitor, body: &Bytes) -> Result<Form, WebError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| Error::invalid("form", "the form could not be read"))?;
        let form = Form(pairs);
        let given = match form.get(csrf::FIELD) {
            "" => visitor.header_csrf.as_deref().unwrap_or(""),
            field => field,
        };
        if !visitor.csrf_ok(&state.key("web csrf"), given) {
            return Err(Error::Forbidden(
                "This form has expired or did not come from this page. Go back, reload the page \
                 and try again."
                    .into(),
            )
            .into());
        }
        Ok(form)
    }

    /// A field's value ("" when absent; the first when repeated).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether a checkbox (or any field) was sent.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// What was wrong with a posted form, field by field, for the page that shows it again.
#[derive(Default, Debug)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A domain error about a field goes next to it; `other` names the field for the rest
    /// (a conflict, say). Server faults are not form errors: they go on as pages.
    pub fn from_error(e: Error, other: &'static str) -> Result<Errors, WebError> {
        let mut errors = Errors::default();
        match e {
            // A body the database refused (a NUL in a text, say) is the form's as a whole.
            Error::Invalid {
                field: "body",
                reason,
            } => errors.add(other, reason),
            Error::Invalid { field, reason } => errors.add(field, reason),
            Error::Conflict(m) | Error::Forbidden(m) | Error::NotFound(m) => errors.add(other, m),
            e => return Err(e.into()),
        }
        Ok(errors)
    }
}
