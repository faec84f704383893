//! KOReader's cloud storage, served by libris: a WebDAV space per reader (`space`: plain
//! files, written atomically) and what libris reads out of what arrives there
//! (`statistics`: the Statistics plugin's database; `highlights`: the Exporter's JSON).

pub mod highlights;
pub mod space;
pub mod statistics;
