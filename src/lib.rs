//! libris: KOReader progress sync and an OPDS catalog on PostgreSQL.
//!
//! Layers, dependencies pointing one way (docs/architecture.md; `tests/layers.rs` checks it):
//! core (`error`, `db`, `config`, `secret`, `settings`, `http`,
//! `telemetry`) ← domain (`auth`, `reading`,
//! `library`, `hardcover`, `cloud`) ← faces (`kosync`, `opds`, `api`, `web`, `dav`, `notes`) ← the app
//! (`state`, `app`, `background`, `cli`, `ops`).

pub mod api;
pub mod app;
pub mod auth;
pub mod background;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod dav;
pub mod db;
pub mod error;
pub mod hardcover;
pub mod http;
pub mod kosync;
pub mod library;
pub mod notes;
pub mod opds;
pub mod ops;
pub mod reading;
pub mod secret;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod web;

use std::time::Duration;

pub use app::build_app;
pub use config::Config;
pub use state::AppState;

/// How long a request waits for a database connection before it is answered with an error
/// (KoSync 502, REST 503) instead of hanging while the database is away.
pub const DB_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// Applies pending migrations and what the domains fill after them (the reading state of
/// existing history), under one lock. `serve`, every command and the tests migrate here.
pub fn migrate(conn: &mut diesel::PgConnection) -> Result<Vec<String>, String> {
    db::migrate_with(conn, reading::state::after_migrations)
}
