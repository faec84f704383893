//! What outside catalogs (Hardcover) write about books, through the library: a lookup
//! recorded with its proposal, and books linked to their Hardcover editions.

use bigdecimal::BigDecimal;
use diesel::prelude::*;
use diesel::sql_types::{Int4, Nullable};
use serde_json::Value;
use uuid::Uuid;

use crate::db::schema::{book_metadata_candidates as bmc, books};
use crate::error::Error;

/// The candidates' source of Hardcover's proposals.
const HARDCOVER: &str = "hardcover";

/// A metadata proposal as a candidate row holds it.
pub struct Proposed<'a> {
    /// The catalog's answer as received.
    pub raw: &'a Value,
    /// The proposal, as the review shows it.
    pub normalized: &'a Value,
    pub confidence: BigDecimal,
}

/// Records a Hardcover lookup: the book is marked looked up (hardcover_searched_at) and its
/// Hardcover proposal (if any) replaces an earlier one, in one transaction. The new
/// candidate's id.
pub fn record_hardcover_lookup(
    conn: &mut PgConnection,
    book_id: Uuid,
    proposed: Option<Proposed>,
) -> Result<Option<Uuid>, Error> {
    conn.transaction(|conn| {
        diesel::update(books::table.find(book_id))
            .set(books::hardcover_searched_at.eq(diesel::dsl::now))
            .execute(conn)?;
        diesel::delete(bmc::table.filter(bmc::book_id.eq(book_id).and(bmc::source.eq(HARDCOVER))))
            .execute(conn)?;
        let Some(p) = proposed else {
            return Ok(None);
        };
        let id: Uuid = diesel::insert_into(bmc::table)
            .values((
                bmc::book_id.eq(book_id),
                bmc::source.eq(HARDCOVER),
                bmc::raw_response.eq(p.raw),
                bmc::normalized.eq(p.normalized),
                bmc::confidence.eq(p.confidence),
            ))
            .returning(bmc::id)
            .get_result(conn)?;
        Ok(Some(id))
    })
}

/// Links books to Hardcover, each `(book, hardcover book, edition, pages)`: only books not
/// linked yet, and a page count only where the book has none. One transaction; how many
/// books were linked.
pub fn link_hardcover(
    conn: &mut PgConnection,
    links: &[(Uuid, i32, i32, Option<i32>)],
) -> Result<i32, Error> {
    conn.transaction(|conn| {
        let mut n = 0;
        for (id, book, edition, pages) in links {
            n += diesel::update(
                books::table
                    .find(id)
                    .filter(books::hardcover_book_id.is_null()),
            )
            .set((
                books::hardcover_book_id.eq(book),
                books::hardcover_edition_id.eq(edition),
                books::page_count.eq(diesel::dsl::sql::<Nullable<Int4>>("coalesce(page_count, ")
                    .bind::<Nullable<Int4>, _>(*pages)
                    .sql(")")),
            ))
            .execute(conn)? as i32;
        }
        Ok(n)
    })
}
