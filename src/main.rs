//! The `libris` binary: parses the command line and the environment, then hands over to
//! `libris::cli`, where each command lives.

use std::process::ExitCode;

use clap::Parser;

use libris::cli::{self, Cli};
use libris::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match Config::from_env() {
        Ok(config) => cli::run(cli, config),
        Err(e) => {
            eprintln!("libris: {e}");
            ExitCode::from(2)
        }
    }
}
