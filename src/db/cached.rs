//! Prepared-statement caching for hand-written SQL.
//!
//! Diesel caches the prepared statements of its query builder, but never those of
//! `sql_query`, since it cannot know whether the text was built at run time. The hot path's
//! SQL is constant (src/reading/sql.rs), so [`cached`] vouches for it: PostgreSQL then parses
//! and plans each statement once per connection instead of on every request.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A query whose SQL text is one of a fixed set of constants.
#[derive(Debug, Clone)]
pub struct Cached<Q>(Q);

/// Marks `query` (an `sql_query(CONSTANT)` with its binds) as safe to prepare once and
/// reuse. Only for SQL that is a compile-time constant or built once: each distinct text
/// takes a place in the connection's statement cache.
pub fn cached<Q>(query: Q) -> Cached<Q> {
    Cached(query)
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Cached<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Cached<Q> {
    type QueryId = ();
    // Keyed by the SQL text and bind types, not by Rust type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> RunQueryDsl<C> for Cached<Q> {}
