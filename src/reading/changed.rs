//! When a reader's reading last changed, as the catalog shows it (shelves, where a comic was
//! left): the newest `reading_aggregate.updated_at` of theirs, or the last time rows of
//! theirs went (`reading_forgotten`, kept by a trigger on deletes, migration 13). Every
//! writer of the aggregate moves `updated_at`: the report, manual and external statuses,
//! rebuilds and the sweep.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::error::Error;

#[derive(QueryableByName)]
struct At {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

/// When `reader`'s reading last changed; None: they never read anything. The reader's rows
/// by the (api_key_id, book_id) index, and one row of reading_forgotten.
pub fn changed_at(conn: &mut PgConnection, reader: Uuid) -> Result<Option<DateTime<Utc>>, Error> {
    let found: At = diesel::sql_query(
        "SELECT greatest(
            (SELECT max(updated_at) FROM reading_aggregate WHERE api_key_id = $1),
            (SELECT forgotten_at FROM reading_forgotten WHERE api_key_id = $1)) AS at",
    )
    .bind::<SqlUuid, _>(reader)
    .get_result(conn)?;
    Ok(found.at)
}
