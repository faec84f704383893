//! The OPDS catalog. So far: the feed model and its two writers (OPDS 1.2 Atom, OPDS 2.0
//! JSON), pure code that the validation tests reach without a server.

pub mod atom;
pub mod feed;
pub mod json;
