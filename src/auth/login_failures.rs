//! The login throttle's counts in PostgreSQL, so that several libris instances behind one
//! load balancer hold one limit: each failure is counted here too, and the instance takes
//! the shared count into its own ledger (`http::throttle`). Only failures come here; a
//! refusal is still decided in memory, so the cost of a login is unchanged.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::sql_types::{Array, Bytea, Double, Integer, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, RunQueryDsl};
use futures_util::future::BoxFuture;

use crate::db::{self, DbPool};
use crate::error::Error;
use crate::http::throttle::{Fingerprint, Shared, SharedWindow};

/// Counts one failure against `keys`, as the ledger's rules count it (a window of
/// `http::throttle::WINDOW`, the same secret once a window); each key's window as it now is.
pub fn count(
    conn: &mut PgConnection,
    keys: &[String],
    secret: Fingerprint,
    at: Option<DateTime<Utc>>,
) -> Result<Vec<SharedWindow>, Error> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        key: String,
        #[diesel(sql_type = Integer)]
        failures: i32,
        #[diesel(sql_type = Double)]
        age: f64,
    }
    let rows: Vec<Row> = diesel::sql_query(include_str!("sql/count_failure.sql"))
        .bind::<Array<Text>, _>(keys)
        .bind::<Bytea, _>(secret.to_be_bytes().to_vec())
        .bind::<Double, _>(crate::http::throttle::WINDOW.as_secs_f64())
        .bind::<Nullable<Timestamptz>, _>(at)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| SharedWindow {
            key: r.key,
            failures: u32::try_from(r.failures).unwrap_or(0),
            age: Duration::from_secs_f64(r.age.max(0.0)),
        })
        .collect())
}

/// Deletes windows that have ended (the sessions sweep calls it hourly).
pub fn sweep(conn: &mut PgConnection) -> Result<usize, Error> {
    Ok(diesel::sql_query(
        "DELETE FROM login_failures WHERE window_start < now() - make_interval(secs => $1)",
    )
    .bind::<Double, _>(crate::http::throttle::WINDOW.as_secs_f64())
    .execute(conn)?)
}

/// The throttle's [`Shared`] counts, in this database.
pub struct InDatabase(pub DbPool);

impl Shared for InDatabase {
    fn count(
        &self,
        keys: Vec<String>,
        secret: Fingerprint,
        at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'static, Result<Vec<SharedWindow>, Error>> {
        let pool = self.0.clone();
        Box::pin(async move { db::run(&pool, move |conn| count(conn, &keys, secret, at)).await })
    }
}
