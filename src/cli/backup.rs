//! `libris backup FILE_OR_DIR [--keep N]` (crate::ops::backup).

use std::path::Path;

use crate::ops::{backup, rotation};
use crate::Config;

/// Writes an archive to `target`: that file, or a new `libris-<UTC time>.tar.gz` in that
/// folder, where `keep` then removes all but the newest `keep` archives.
pub fn run(config: &Config, target: &Path, keep: Option<u32>) -> Result<(), String> {
    let path = if target.is_dir() {
        rotation::free_path(target, chrono::Utc::now())
    } else if keep.is_some() {
        return Err(format!(
            "--keep needs a folder to rotate in; {} is not one",
            target.display()
        ));
    } else {
        target.to_owned()
    };
    let s = backup::write(
        &config.database_url,
        config.db_wait,
        &config.data_dir,
        &path,
    )?;
    println!("{}", s.path.display());
    println!(
        "database at migration {} ({} bytes dumped), {} files ({} bytes), {} missing; \
         archive {} bytes",
        s.migration,
        s.dump_bytes,
        s.files,
        s.file_bytes,
        s.missing.len(),
        s.archive_bytes
    );
    for m in &s.missing {
        eprintln!("libris: warning: {m} was deleted during the backup (listed as missing)");
    }
    if let Some(keep) = keep {
        let names: Vec<String> = std::fs::read_dir(target)
            .map_err(|e| format!("{}: {e}", target.display()))?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        for name in rotation::to_remove(&names, keep as usize) {
            let old = target.join(&name);
            std::fs::remove_file(&old).map_err(|e| format!("{}: {e}", old.display()))?;
            println!("removed {}", old.display());
        }
    }
    Ok(())
}
