//! `make reliability`: faults, hostile input and abuse, with figures. Not part of `make
//! test` (a separate target, `test = false` in Cargo.toml); prints one table and fails when a
//! figure is off.

mod body_limits;
use libris_test_support as common;
mod concurrency;
mod crash;
mod db_restart;
mod enumeration;
mod files;
mod guessing;
mod hostile_kosync;
mod instances;
mod process;
mod slow_clients;
mod webdav;

use diesel::sql_types::BigInt;
use diesel::QueryableByName;

#[derive(QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// The table printed at the end: figure, value, what it must be, whether it is.
#[derive(Default)]
pub struct Figures {
    rows: Vec<(String, f64, String, bool)>,
}

impl Figures {
    pub fn row(&mut self, what: &str, value: f64, target: &str, ok: bool) {
        self.rows
            .push((what.to_owned(), value, target.to_owned(), ok));
    }

    fn print(&self) -> bool {
        println!("\n| figure | value | must be | |\n|---|---|---|---|");
        for (what, value, target, ok) in &self.rows {
            let mark = if *ok { "ok" } else { "OFF" };
            println!("| {what} | {value} | {target} | {mark} |");
        }
        self.rows.iter().all(|r| r.3)
    }
}

/// RELIABILITY_ONLY=crash,files runs only those parts (while working on one).
fn wanted(part: &str) -> bool {
    std::env::var("RELIABILITY_ONLY")
        .map(|only| only.is_empty() || only.split(',').any(|p| p.trim() == part))
        .unwrap_or(true)
}

#[actix_web::test]
async fn reliability() {
    let mut figures = Figures::default();
    if wanted("hostile_kosync") {
        hostile_kosync::run(&mut figures).await;
    }
    if wanted("concurrency") {
        concurrency::run(&mut figures).await;
    }
    if wanted("body_limits") {
        body_limits::run(&mut figures).await;
    }
    if wanted("files") {
        files::run(&mut figures).await;
    }
    if wanted("slow_clients") {
        slow_clients::run(&mut figures).await;
    }
    if wanted("enumeration") {
        enumeration::run(&mut figures).await;
    }
    if wanted("guessing") {
        guessing::run(&mut figures).await;
    }
    if wanted("webdav") {
        webdav::run(&mut figures).await;
    }
    if wanted("instances") {
        instances::run(&mut figures).await;
    }
    if wanted("crash") {
        crash::run(&mut figures).await;
    }
    if wanted("db_restart") {
        db_restart::run(&mut figures).await;
    }
    assert!(figures.print(), "a figure is off: see the table");
}
