//! Shared by the targets whose readers take a path (FB2, MOBI/AZW3): the input is written to
//! one scratch file per process, under TMPDIR (fuzz/run.sh points it at a fresh directory on
//! /dev/shm and removes it afterwards).

use std::path::PathBuf;
use std::sync::OnceLock;

#[allow(dead_code)]
pub fn scratch_file(data: &[u8], name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("libris-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    });
    let path = dir.join(name);
    std::fs::write(&path, data).expect("scratch file");
    path
}
