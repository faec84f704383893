//! The ebook library: files in, metadata and covers out, organized on disk, tied to the
//! documents KOReader syncs.

pub mod author_sort;
pub mod books;
pub mod browse;
pub mod catalog;
pub mod check;
pub mod collections;
pub mod covers;
pub mod download;
pub mod edit;
pub mod external;
pub mod formats;
pub mod import;
pub mod inbox;
pub mod ingest;
pub mod languages;
pub mod links;
pub mod page_covers;
pub mod paths;
pub mod queue;
pub mod review;
pub mod sample;
pub mod storage;
pub mod uploads;
pub mod versioned;
