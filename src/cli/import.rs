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
    drop(connect(config)?);
    let _lock = lock_data_dir(config)?;
    let files = import::collect(paths)?;
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, 32);
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
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
    let summary = import::import_all(
        &files,
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
    println!(
        "{} added, {} duplicates, {} failed ({} files)",
        summary.added,
        summary.duplicates,
        summary.failed.len(),
        files.len()
    );
    for (path, why) in &summary.failed {
        println!("failed: {}: {why}", path.display());
    }
    if summary.failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} file(s) could not be imported",
            summary.failed.len()
        ))
    }
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
