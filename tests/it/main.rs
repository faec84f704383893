//! Integration tests: a real PostgreSQL (DATABASE_URL, one database per test) and the real
//! HTTP stack. Run them with `make test`.

mod api;
mod api_schema;
mod backup;
mod check;
mod cli;
mod device_passwords;
use libris_test_support as common;
mod failures;
mod formats;
mod group_commit;
mod hardcover;
mod highlights;
mod kosync;
mod kosync_identifiers;
mod library;
mod opds;
mod operations;
mod page_covers;
use libris_test_support::opds_validators;
mod reading;
mod schema;
mod security;
mod web;
mod web_inbox;
mod web_library;
mod web_people;
mod web_reading;
mod webdav;
mod write_path;
