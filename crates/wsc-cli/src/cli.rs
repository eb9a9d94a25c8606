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
    /// Execute a provisioning plan (create, update, delete, enable, disable, unlock accounts,
    /// change passwords, add and remove entitlements); `--dry-run` prints the requests instead.
    Provision(ProvisionArgs),
    /// Run an operation against the live API and write a redacted cassette and test case.
    Record(RecordArgs),
    /// Check a connector's fixture cases against their snapshots (exit 1 on a difference).
    Test(TestArgs),
    /// Pass-through authentication: check a user's password with the connector's
    /// `authenticate` operation. The password is read from stdin, or typed at a prompt on a
    /// terminal; never an argument. Exit 0 accepted, 1 rejected (or the check failed).
    Authenticate(AuthenticateArgs),
    /// Managed tokens: login, status, logout.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Runs on a fleet's PostgreSQL store: submit an aggregation whose partitions workers
    /// claim, follow it, export its records (see docs/scale-out.md).
    #[command(subcommand)]
    Job(JobCommand),
    /// Run as a fleet worker: claim partitions of submitted runs from the PostgreSQL store,
    /// run them, and write their records there, until SIGTERM or Ctrl-C.
    Worker(WorkerArgs),
}

/// `wsc job`.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Create a run of an aggregation: one queue row per partition (static, or listed now by
    /// `get_partitions`); prints the run id.
    Submit(SubmitArgs),
    /// Show a run and each partition: state, attempts, worker, lease, records, error.
    Status(RunArgs),
    /// Wait until a run is complete (exit 0) or failed (exit 1), printing progress.
    Wait(WaitArgs),
    /// Write the records of a complete run (or, for a `--delta` run, its changes since the
    /// previous complete run).
    Export(ExportArgs),
}

/// A fleet's store: `--state postgres://…` or `WSC_STATE`.
#[derive(Debug, Args, Clone)]
pub struct FleetArgs {
    /// The PostgreSQL store shared by the fleet (key: WSC_STATE_KEY or WSC_STATE_KEY_FILE).
    #[arg(long, value_name = "URL", env = "WSC_STATE")]
    pub state: Option<String>,
}

/// `wsc job submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Connector and settings; `--state` must be the fleet's PostgreSQL URL. The connector
    /// path is kept with the run: every worker must find the same file there.
    #[command(flatten)]
    pub connector: ConnectorArgs,
    /// What to aggregate: `account`, or a group type (`group`, `group:role` or `role`).
    #[arg(long, default_value = "account")]
    pub object: String,
    /// Export the changes since the previous complete run (computed in the database) instead
    /// of every record.
    #[arg(long)]
    pub delta: bool,
    /// Attempts per partition before the run fails with the partition's error.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
    /// The shrink guard of the whole run: fail when it delivers more than PCT percent fewer
    /// records than the previous complete run (default: the aggregation's `max_shrink`, else
    /// 10; 100 turns it off).
    #[arg(long, value_name = "PCT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_shrink: Option<u8>,
}

/// A run of a fleet.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The run id (`wsc job submit` printed it).
    #[arg(value_name = "RUN")]
    pub run: i64,
    /// The store.
    #[command(flatten)]
    pub fleet: FleetArgs,
}

/// `wsc job wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The run.
    #[command(flatten)]
    pub run: RunArgs,
    /// Give up (exit 1) after this long (`30m`, `2h`); default: wait as long as it takes.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
}

/// `wsc job export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run.
    #[command(flatten)]
    pub run: RunArgs,
    /// Output format (a `--delta` run: jsonl only).
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: OutputFormat,
    /// Write to this file (replaced only when the export completes) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `wsc worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The store.
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Partitions run at once by this worker.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub slots: u32,
    /// How long a claimed partition stays this worker's without a heartbeat; heartbeats renew
    /// it every third of that. A worker that dies loses its partitions when it expires.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub lease: std::time::Duration,
    /// How often an idle worker looks for work.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub poll: std::time::Duration,
    /// Serve Prometheus metrics on this address (`127.0.0.1:9108`, `0.0.0.0:9108`).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// The name this worker claims under (default: host name and process id).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Exit (0) when there has been no work to claim for this long, instead of waiting for
    /// more (for batch jobs).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub exit_when_idle: Option<std::time::Duration>,
}

/// `wsc auth`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in and store the tokens: authorization_code with PKCE through a loopback redirect,
    /// or the device code flow. Other grants obtain and store a token without a user.
    Login(LoginArgs),
    /// Show the stored token of a connector instance: how it was obtained, its expiry,
    /// whether a refresh token is held (never a token), and what the next run will do.
    Status(ConnectorArgs),
    /// Delete the stored tokens of a connector instance.
    Logout(ConnectorArgs),
}

/// `wsc auth login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Connector and settings.
    #[command(flatten)]
    pub connector: ConnectorArgs,
    /// Only print the authorize URL; do not try to open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Loopback port for the redirect when the connector's redirect_uri names none (default:
    /// a free port).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// How long to wait for the sign-in (`90s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

/// `wsc authenticate`.
#[derive(Debug, Args)]
pub struct AuthenticateArgs {
    /// Connector and settings.
    #[command(flatten)]
    pub connector: ConnectorArgs,
    /// The user whose password is checked (`plan.identity`).
    #[arg(long, value_name = "ID")]
    pub identity: String,
}

/// The connector and its settings.
#[derive(Debug, Args, Clone)]
pub struct ConnectorArgs {
    /// Connector file.
    #[arg(value_name = "CONNECTOR")]
    pub connector: PathBuf,
    /// A setting, NAME=VALUE (repeatable), read into the setting's type (bool: true/false,
    /// int, number, list: JSON or a,b,c, object: JSON). Also read from WSC_<NAME> environment
    /// variables.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// A YAML or JSON file of settings (NAME: VALUE); values must have the setting's type (or
    /// be text that reads as it).
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// State store (tokens of oauth2 and custom auth): a SQLite file, or a
    /// `postgres://user@host/db` URL shared by a fleet. Key: WSC_STATE_KEY or the file
    /// WSC_STATE_KEY_FILE names (a passphrase, or 32 bytes as hex or base64), else a key file
    /// beside a SQLite file. Default `$XDG_DATA_HOME/wsc/state.db`, else
    /// `~/.local/share/wsc/state.db`.
    #[arg(long, value_name = "FILE|URL", env = "WSC_STATE")]
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
    /// Emit changes since the previous complete run: with the connector's API-side filter
    /// (`delta:`), every record returned; else `created` / `updated` / `deleted` records
    /// against the snapshot kept in the state store (committed only when the run completes).
    #[arg(long)]
    pub delta: bool,
    /// The shrink guard: fail when this run delivers more than PCT percent fewer records than
    /// the previous complete run of the same aggregation (kept in the state store), leaving
    /// `--out` as it was. Overrides the aggregation's `max_shrink` (default 10); 100 turns the
    /// guard off.
    #[arg(long, value_name = "PCT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_shrink: Option<u8>,
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
    #[arg(long, value_name = "DIR", conflicts_with = "serve")]
    pub out: Option<PathBuf>,
    /// Only serve the synthetic API until Ctrl-C (for trying connectors by hand).
    #[arg(long)]
    pub serve: bool,
    /// Port for `--serve` (0 picks a free one); only with `--serve`.
    #[arg(long, default_value_t = 0, requires = "serve")]
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

/// `wsc record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Connector and settings (of the live API).
    #[command(flatten)]
    pub connector: ConnectorArgs,
    /// The operation: test_connection, account_aggregation, group_aggregation.<type>,
    /// get_object.<type> or get_partitions.
    #[arg(long, value_name = "NAME")]
    pub op: String,
    /// The identity to read (get_object only).
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
    /// Record one partition of a partitioned aggregation.
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,
    /// The case name (default: the operation, `.` replaced by `_`).
    #[arg(long, value_name = "CASE")]
    pub name: Option<String>,
    /// The fixture directory: writes `<case>.case.yaml` and `cassettes/<case>.yaml` there.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `wsc test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Connector file.
    #[arg(value_name = "CONNECTOR")]
    pub connector: PathBuf,
    /// The fixture directory (default: fixtures/<connector name>).
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Write the snapshots that differ or are missing instead of failing.
    #[arg(long)]
    pub update: bool,
    /// Run only this case.
    #[arg(long, value_name = "CASE")]
    pub case: Option<String>,
}

/// `wsc provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// Connector and settings.
    #[command(flatten)]
    pub connector: ConnectorArgs,
    /// The plan: a YAML or JSON file with one request or a list (see docs/provisioning.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Print the exact requests that would be sent (secrets redacted) and send nothing, token
    /// requests included.
    #[arg(long)]
    pub dry_run: bool,
}
