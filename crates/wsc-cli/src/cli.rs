//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// wsc — a declarative web-service connector engine.
///
/// A connector is one YAML file describing how to authenticate to an HTTP API and how to run
/// identity operations on it. Exit codes: 0 success, 1 the operation failed, 2 invalid input
/// (connector, plan, fixture or arguments).
#[derive(Debug, Parser)]
#[command(name = "wsc", version, about, long_about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check connector files and report every problem with its location.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the connector format.
    Schema(SchemaArgs),
}

/// `wsc validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Connector files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print nothing for valid files.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `wsc schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}
