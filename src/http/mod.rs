//! HTTP plumbing every face shares (core layer): the absolute URL clients reach libris at
//! (`base`), request bodies that must keep moving, the
//! failed-login throttle each face wraps its scope with, and HTTP Basic decoding. Nothing
//! here knows a protocol's format; each face passes its own renderer.

pub mod base;
pub mod basic;
pub mod slow_body;
pub mod throttle;
