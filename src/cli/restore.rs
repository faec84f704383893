//! `libris restore FILE` (crate::ops::restore).

use std::path::Path;

use crate::ops::restore;
use crate::Config;

/// Restores `archive` into the configured database and data dir, both empty.
pub fn run(config: &Config, archive: &Path) -> Result<(), String> {
    let r = restore::restore(
        &config.database_url,
        config.db_wait,
        &config.data_dir,
        archive,
    )?;
    println!(
        "restored the backup of {} (migration {}): {} files ({} bytes) into {}",
        r.created_at,
        r.migration,
        r.files,
        r.file_bytes,
        config.data_dir.display()
    );
    if !r.applied.is_empty() {
        println!("then applied migrations {}", r.applied.join(", "));
    }
    if !r.missing.is_empty() {
        println!(
            "{} files were deleted while the backup ran (its manifest lists them); \
             `libris check` reports their rows",
            r.missing.len()
        );
    }
    Ok(())
}
