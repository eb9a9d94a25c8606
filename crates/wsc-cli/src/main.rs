//! `wsc`: the command-line front end of the wsc connector engine. Thin by design: argument
//! parsing and output only; the work is done by the library crates.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod validate;

/// Exit codes (documented in README.md and `wsc --help`).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// The operation ran and failed (HTTP, auth, I/O, a test mismatch).
    pub const FAILURE: u8 = 1;
    /// Invalid input: a connector, plan or fixture that does not validate, or bad arguments.
    pub const INVALID: u8 = 2;
}

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let code = match args.command {
        cli::Command::Validate(a) => validate::run(&a),
        cli::Command::Schema(a) => validate::schema(&a),
    };
    ExitCode::from(code)
}
