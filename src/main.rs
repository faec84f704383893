//! The `libris` binary: parses the command line and the environment, then hands over to
//! `libris::cli`, where each command lives.

use std::process::ExitCode;

use clap::Parser;

use libris::cli::{self, Cli};
use libris::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match Config::from_env() {
        Ok(config) => {
            libris::telemetry::init_logging(config.log_format);
            cli::run(cli, config)
        }
        Err(e) => {
            eprintln!("libris: {e}");
            ExitCode::from(2)
        }
    }
}
