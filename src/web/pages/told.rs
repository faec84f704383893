//! What became of each uploaded file, said in words with links: as HTML in the inbox page
//! (no JavaScript), and as JSON for `static/upload.js`, which builds the same sentence from
//! `parts` (text set as text, never as HTML).

use maud::{html, Markup};
use serde::Serialize;

use crate::error::Error;
use crate::library::ingest::Outcome;
use crate::library::queue::Queued;

#[derive(Debug, Clone, Serialize)]
pub struct Told {
    pub name: String,
    /// new, duplicate, added or refused.
    pub kind: &'static str,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Part {
    Link { href: String, text: String },
    Text { text: String },
}

fn text(s: impl Into<String>) -> Part {
    Part::Text { text: s.into() }
}

fn link(href: String, s: impl Into<String>) -> Part {
    Part::Link {
        href,
        text: s.into(),
    }
}

fn title(t: &Option<String>) -> String {
    t.clone().unwrap_or_else(|| "an untitled book".into())
}

/// A file that became (or already was) a book. `summary` is the book as the queue shows it
/// (absent when it vanished meanwhile).
pub fn outcome(name: String, outcome: &Outcome, summary: Option<&Queued>) -> Told {
    let href = |id| match summary {
        Some(q) => super::inbox::book_href(id, q.book.status),
        None => format!("/books/{id}"),
    };
    match outcome {
        Outcome::Created { book_id, title: t } => {
            let mut parts = vec![
                text("New: "),
                link(format!("/review/{book_id}"), title(t)),
                text(", waiting for review."),
            ];
            if let Some(other) = summary.and_then(|q| q.format_of.as_ref()) {
                parts.push(text(" Probably another format of "));
                parts.push(link(
                    super::inbox::book_href(other.id, other.status),
                    title(&other.title),
                ));
                parts.push(text("."));
            }
            if let Some(other) = summary.and_then(|q| q.duplicate_of.as_ref()) {
                parts.push(text(" Possibly a duplicate of "));
                parts.push(link(
                    super::inbox::book_href(other.id, other.status),
                    title(&other.title),
                ));
                parts.push(text("."));
            }
            Told {
                name,
                kind: "new",
                parts,
            }
        }
        Outcome::Duplicate { book_id, title: t } => Told {
            name,
            kind: "duplicate",
            parts: vec![
                text("Duplicate of "),
                link(href(*book_id), title(t)),
                text(": the same file is already in the library."),
            ],
        },
        Outcome::Added { book_id, title: t } => Told {
            name,
            kind: "added",
            parts: vec![
                text("Added as another format of "),
                link(href(*book_id), title(t)),
                text("."),
            ],
        },
    }
}

/// A refused file, and why in words a person can act on.
pub fn refused(name: String, e: &Error, limit_mb: u64) -> Told {
    let why = match e {
        Error::UnsupportedMedia(_) => {
            "unsupported type: libris takes EPUB, PDF, MOBI, AZW3, FB2, CBZ, CBR, DjVu and \
             plain text files."
                .to_owned()
        }
        Error::PayloadTooLarge => {
            format!("too large: an upload may hold at most {limit_mb} MB in all.")
        }
        Error::Invalid { reason, .. } => format!("unreadable: {reason}."),
        other => other.public_message(),
    };
    Told {
        name,
        kind: "refused",
        parts: vec![text(format!("Refused, {why}"))],
    }
}

/// The outcomes as a list.
pub fn list(told: &[Told]) -> Markup {
    html! {
        ul.outcomes {
            @for t in told {
                li class={"outcome " (t.kind)} {
                    strong { (t.name) } " — "
                    @for part in &t.parts {
                        @match part {
                            Part::Link { href, text } => a href=(href) { (text) },
                            Part::Text { text } => (text),
                        }
                    }
                }
            }
        }
    }
}
