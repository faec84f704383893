//! The devices a reader syncs from, as their KoSync reports name them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Device {
    /// The name KOReader sends (the device's model).
    #[diesel(sql_type = Text)]
    pub device: String,
    /// KOReader's random id of its installation; old clients send none.
    #[diesel(sql_type = Nullable<Text>)]
    pub device_id: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub last_report: DateTime<Utc>,
    /// Books (or unmatched documents) it has reported a position for.
    #[diesel(sql_type = BigInt)]
    pub books: i64,
}

/// A reader's devices, the one that reported last first.
pub fn of_reader(conn: &mut PgConnection, key_id: Uuid) -> Result<Vec<Device>, Error> {
    Ok(diesel::sql_query(include_str!("sql/devices.sql"))
        .bind::<SqlUuid, _>(key_id)
        .load(conn)?)
}
