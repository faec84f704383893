//! Reading state: the KoSync write path, the current position, and the reading aggregate.

pub mod aggregate;
pub mod progress;
pub mod sql;

pub use progress::{credential_and_latest, record, Position, Recorded, Report};
