//! Every log line the test process writes, kept so tests can check that no secret reaches a
//! log. Installed by [`super::TestApp::builder`]; debug level for every crate.

use std::sync::{Mutex, Once};

struct Capture {
    lines: Mutex<String>,
}

static CAPTURE: Capture = Capture {
    lines: Mutex::new(String::new()),
};

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Debug
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {} {}\n", record.level(), record.target(), record.args());
            self.lines
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_str(&line);
        }
    }

    fn flush(&self) {}
}

pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if log::set_logger(&CAPTURE).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
    });
}

/// Everything logged so far, by every test of this process.
pub fn captured() -> String {
    CAPTURE
        .lines
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}
