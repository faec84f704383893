//! Hardcover (hardcover.app): readers' API tokens, kept sealed, and the GraphQL client that
//! uses them.

pub mod client;
pub mod rules;
pub mod token;

pub use client::{Hardcover, HardcoverError, Me};
