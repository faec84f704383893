//! Reading state: the KoSync write path, the current position, and the reading aggregate.

pub mod annotations;
pub mod batch;
pub mod changed;
pub mod derive;
pub mod devices;
pub mod export_notes;
pub mod goals;
pub mod identifiers;
pub mod jobs;
pub mod page_events;
pub mod progress;
pub mod relink;
pub mod shelves;
pub mod sql;
pub mod state;
pub mod stats;
pub mod stats_cache;
pub mod store;
pub mod timeline;

pub use progress::{
    credential_and_latest, record, record_all, Position, Recorded, Report, Verified,
};
pub use relink::relink;
