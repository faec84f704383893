//! `libris import`: files and folders into the library, several at once, with a summary.

use std::path::PathBuf;

use super::connect;
use super::serve::lock_data_dir;
use crate::Config;

pub fn run(
    config: &Config,
    approve: bool,
    jobs: Option<usize>,
    paths: &[PathBuf],
) -> Result<(), String> {
    use crate::library::{import, ingest::Options};
    use std::io::IsTerminal;
    let _lock = lock_data_dir(config, connect(config)?)?;
    let found = import::collect(paths)?;
    let jobs = jobs
        // Most of a book's import is waiting (its commit's fsync, a file copy), not CPU:
        // several per core keep both busy.
        .unwrap_or_else(|| 4 * std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, 32);
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(found.units.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let url = config.database_url.clone();
    let connect = move || {
        diesel::Connection::establish(&url)
            .map_err(|e| format!("database: {}", e.to_string().trim()))
    };
    let options = Options {
        uploader: None,
        approve,
    };
    let mut summary = import::import_all(
        &found.units,
        jobs,
        &connect,
        &config.data_dir,
        config.max_upload_bytes,
        &options,
        &|path| {
            bar.set_message(path.display().to_string());
            bar.inc(1);
        },
    )?;
    bar.finish_and_clear();
    summary.skipped = found.skipped;
    print!("{}", report(&summary));
    if summary.failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} file(s) could not be imported",
            summary.failed.len()
        ))
    }
}

/// The summary line first (its first word is the number of new books), then each failure;
/// skipped files are counted, and listed by kind rather than one by one.
fn report(summary: &crate::library::import::Summary) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write;
    let mut out = format!(
        "{} books added ({} files), {} formats added to books already here, {} duplicates, \
         {} skipped, {} failed\n",
        summary.books,
        summary.files,
        summary.formats_added,
        summary.duplicates,
        summary.skipped.len(),
        summary.failed.len(),
    );
    let mut why: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, reason) in &summary.skipped {
        *why.entry(reason).or_default() += 1;
    }
    for (reason, n) in why {
        let _ = writeln!(out, "skipped: {n} ({reason})");
    }
    for (path, why) in &summary.failed {
        let _ = writeln!(out, "failed: {}: {why}", path.display());
    }
    out
}

/// Writes `count` synthetic EPUBs with covers into `dir` (`make bench-ingest`).
pub fn bench_epubs(count: u64, dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for n in 1..=count {
        crate::library::sample::write_epub(&dir.join(format!("bench-{n:05}.epub")), n)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
