//! The catalog's query strings, parsed and checked: page numbers, searches, sorts and
//! filters, facet values, book ids. A bad one is a 400 naming the parameter.

use serde::Deserialize;
use uuid::Uuid;

use crate::error::Error;
use crate::library::catalog::{Filter, List};

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub(super) page: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// Atom: `q`; OPDS 2.0's template names it `query`.
    pub(super) q: Option<String>,
    pub(super) query: Option<String>,
    pub(super) page: Option<String>,
}

pub(super) fn page_number(raw: Option<&str>) -> Result<i64, Error> {
    match raw.map(str::trim) {
        None | Some("") => Ok(1),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| Error::invalid("page", "expected a page number from 1")),
    }
}

#[derive(Debug, Deserialize)]
pub struct BooksQuery {
    pub(super) page: Option<String>,
    pub(super) sort: Option<String>,
    pub(super) lang: Option<String>,
    pub(super) format: Option<String>,
}

impl BooksQuery {
    /// The order and filter asked for; 400 for ones libris does not have.
    pub(super) fn parse(&self) -> Result<(List, Filter), Error> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let list = match given(&self.sort) {
            None => List::Title,
            Some(name) => List::parse(name).ok_or_else(|| {
                Error::invalid("sort", "expected title, author, added or published")
            })?,
        };
        let language = given(&self.lang)
            .map(|l| {
                (l.len() <= 35 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                    .then(|| l.to_owned())
                    .ok_or_else(|| {
                        Error::invalid("lang", "expected a language tag such as en or pt-BR")
                    })
            })
            .transpose()?;
        let format = given(&self.format)
            .map(|f| {
                libris_formats::Format::parse(f)
                    .map(|f| f.as_str().to_owned())
                    .ok_or_else(|| {
                        Error::invalid("format", "expected a file format such as epub or pdf")
                    })
            })
            .transpose()?;
        Ok((list, Filter { language, format }))
    }
}

#[derive(Debug, Deserialize)]
pub struct FacetQuery {
    pub(super) letter: Option<String>,
    pub(super) page: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ValueQuery {
    pub(super) value: Option<String>,
    pub(super) page: Option<String>,
}

pub(super) fn book_id(raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFound("no such book".into()))
}
