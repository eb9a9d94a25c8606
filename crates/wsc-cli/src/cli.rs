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
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
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
    /// Read every account or group and write them as JSON lines, JSON or CSV.
    Aggregate(AggregateArgs),
    /// Read one object by identity.
    Get(GetArgs),
    /// Check that the connection and credentials work.
    TestConnection(ConnectorArgs),
    /// List the partitions of an aggregation (one per line, as JSON).
    Partitions(PartitionsArgs),
    /// Start the synthetic identity API on 127.0.0.1 and aggregate it through
    /// connectors/demo.yaml.
    Demo(DemoArgs),
    /// Managed tokens: status, logout.
    #[command(subcommand)]
    Auth(AuthCommand),
}

/// `wsc auth`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Show the stored token of a connector instance: grant, expiry, whether a refresh token
    /// is held (never a token).
    Status(ConnectorArgs),
    /// Delete the stored tokens of a connector instance.
    Logout(ConnectorArgs),
}

/// The connector and its settings.
#[derive(Debug, Args, Clone)]
pub struct ConnectorArgs {
    /// Connector file.
    #[arg(value_name = "CONNECTOR")]
    pub connector: PathBuf,
    /// A setting, NAME=VALUE (repeatable). Also read from WSC_<NAME> environment variables.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// A YAML or JSON file of settings (NAME: VALUE).
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// State store (tokens of oauth2 and custom auth). Default
    /// `$XDG_DATA_HOME/wsc/state.db`, else `~/.local/share/wsc/state.db`.
    #[arg(long, value_name = "FILE", env = "WSC_STATE")]
    pub state: Option<PathBuf>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One JSON object per line.
    Jsonl,
    /// A JSON array.
    Json,
    /// CSV with a header line.
    Csv,
}

/// `wsc aggregate`.
#[derive(Debug, Args)]
pub struct AggregateArgs {
    /// Connector and settings.
    #[command(flatten)]
    pub connector: ConnectorArgs,
    /// What to aggregate: `account`, or a group type (`group`, `group:role` or `role`).
    #[arg(long, default_value = "account")]
    pub object: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: OutputFormat,
    /// Write to this file (replaced only when the run succeeds) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Run one partition only (see `wsc partitions`).
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,
}

/// `wsc get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Connector and settings.
    #[command(flatten)]
    pub connector: ConnectorArgs,
    /// Object type: `account` or a group type.
    #[arg(long, default_value = "account")]
    pub object: String,
    /// The object's identity.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,
}

/// `wsc partitions`.
#[derive(Debug, Args)]
pub struct PartitionsArgs {
    /// Connector and settings.
    #[command(flatten)]
    pub connector: ConnectorArgs,
    /// Object type: `account` or a group type.
    #[arg(long, default_value = "account")]
    pub object: String,
}

/// `wsc demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users in the synthetic directory.
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Groups in the synthetic directory.
    #[arg(long, default_value_t = 50)]
    pub groups: usize,
    /// Write accounts.jsonl and groups.jsonl into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only serve the synthetic API until Ctrl-C (for trying connectors by hand).
    #[arg(long)]
    pub serve: bool,
    /// Port for `--serve` (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Lifetime of the synthetic API's access tokens (`2s`, `500ms`, `1h`); the summary shows
    /// one token request per lifetime.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub token_lifetime: std::time::Duration,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    wsc_spec::Duration::parse(s).map(|d| d.get())
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
