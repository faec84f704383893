//! `libris backup FILE_OR_DIR [--keep N]` (crate::ops::backup).

use std::path::Path;

use crate::ops::{backup, rotation};
use crate::Config;

/// Writes an archive to `target`: that file, or a new `libris-<UTC time>.tar.gz` in that
/// folder, where `keep` then removes all but the newest `keep` archives and the temporaries
/// that killed backups left there.
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
        let now = std::time::SystemTime::now();
        let entries: Vec<(String, std::time::Duration)> = std::fs::read_dir(target)
            .map_err(|e| format!("{}: {e}", target.display()))?
            .flatten()
            .filter_map(|e| {
                let meta = e.metadata().ok().filter(|m| m.is_file())?;
                let idle = now
                    .duration_since(meta.modified().ok()?)
                    .unwrap_or_default();
                Some((e.file_name().into_string().ok()?, idle))
            })
            .collect();
        let names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
        let old = rotation::to_remove(&names, keep as usize);
        for name in old.iter().chain(&rotation::stale_temporaries(&entries)) {
            let old = target.join(name);
            std::fs::remove_file(&old).map_err(|e| format!("{}: {e}", old.display()))?;
            println!("removed {}", old.display());
        }
    }
    Ok(())
}
