//! The ebook library. For now: the hashes that tie KOReader documents to files.

pub mod hash;
