//! `wsc-bench`: the engine's throughput and memory benchmark (see `docs/performance.md`).
//!
//! It serves the synthetic identity API on 127.0.0.1 and aggregates every user with eight
//! mapped attributes twice per repetition: once through the engine (a connector YAML built in
//! here) and once through a tuned hand-written reqwest + serde client doing the same work, both
//! writing the same JSON Lines to `/dev/null`. Each client runs in its own child process (this
//! binary again, `wsc-bench client ...`) so its peak RSS is its own; the server stays in the
//! parent. It prints records/s (median and spread), the engine/baseline ratio, the peak RSS at
//! two directory sizes, pages and token requests, and a latency-bound case (20 ms per page)
//! comparing `paging.concurrency` 1 and 8. Targets are reported, never asserted.
//!
//! ```text
//! cargo run --release -p wsc-bench                # 1,000,000 users (about two minutes)
//! cargo run --release -p wsc-bench -- --quick     # 100,000 users
//! ```

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod baseline;
mod bench;
mod connector;
mod engine_client;
mod measure;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::connector::Paging;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "wsc-bench",
    about = "Benchmark: the wsc engine against a tuned reqwest + serde client over the synthetic API on loopback",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    bench: BenchArgs,
}

/// Subcommands (internal).
#[derive(Debug, Subcommand)]
enum Command {
    /// Runs one client against a running synthetic API and prints its report as JSON (what the
    /// benchmark starts in a child process).
    #[command(hide = true)]
    Client(ClientArgs),
    /// Serves the benchmark's synthetic API (bearer token, pages capped at `--limit`) until
    /// Ctrl-C, for profiling one client on its own: `wsc-bench serve --port 18080 --token t`,
    /// then `perf record -g wsc-bench client engine --url http://127.0.0.1:18080 --token t`.
    Serve(ServeArgs),
}

/// Options of `wsc-bench serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Users in the directory.
    #[arg(long, default_value_t = 1_000_000)]
    pub users: usize,
    /// Port on 127.0.0.1 (0: any).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The bearer token clients must send.
    #[arg(long, default_value = "bench")]
    pub token: String,
    /// Largest page size.
    #[arg(long, default_value_t = 250)]
    pub limit: usize,
    /// Latency added to every page, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};
    let config = SyntheticConfig::new(args.users)
        .with_auth(AuthMode::Bearer(args.token.clone()))
        .with_max_page_size(args.limit)
        .with_latency(std::time::Duration::from_millis(args.latency_ms));
    SyntheticApi::serve_blocking(config, args.port)?;
    Ok(())
}

/// Options of the benchmark.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Users in the directory of the throughput case.
    #[arg(long, default_value_t = 1_000_000)]
    pub users: usize,
    /// The smaller directory the peak RSS is compared with (default: users / 10).
    #[arg(long)]
    pub small_users: Option<usize>,
    /// Users in the latency-bound case.
    #[arg(long, default_value_t = 50_000)]
    pub latency_users: usize,
    /// Server latency per page in the latency-bound case, milliseconds.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Repetitions of every case (clients run alternately; the median is reported).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Page size.
    #[arg(long, default_value_t = 250)]
    pub limit: usize,
    /// `paging.concurrency` of the engine's concurrent case (known total).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Fast check: 100,000 users (10,000 for the RSS comparison), 25,000 in the latency case.
    #[arg(long)]
    pub quick: bool,
    /// Skips the latency-bound case.
    #[arg(long)]
    pub no_latency: bool,
    /// Only checks that the baseline and both engine pagings write byte-identical output (a
    /// directory of two and a half pages), then exits: no timing. `cargo test -p wsc-bench`
    /// runs this.
    #[arg(long)]
    pub verify: bool,
}

/// Which client a child process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// The wsc engine.
    Engine,
    /// The hand-written reqwest + serde client.
    Baseline,
}

/// The engine's paging in a child process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PagingArg {
    /// Offset paging without a total.
    Seq,
    /// Offset paging with a total, `--concurrency` pages at once.
    Conc,
}

/// Options of one client run.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The client.
    #[arg(value_enum)]
    pub which: Which,
    /// Base URL of the synthetic API.
    #[arg(long)]
    pub url: String,
    /// Its bearer token.
    #[arg(long)]
    pub token: String,
    /// The engine's paging.
    #[arg(long, value_enum, default_value_t = PagingArg::Seq)]
    pub paging: PagingArg,
    /// `paging.concurrency` with `--paging conc`.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Page size.
    #[arg(long, default_value_t = 250)]
    pub limit: usize,
    /// Write the records here instead of /dev/null.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Tokio worker threads of the client (default: one per core), for experiments.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Disables the Tokio workers' LIFO slot (which other workers cannot steal from), for
    /// experiments; needs a build with `RUSTFLAGS="--cfg tokio_unstable"`.
    #[arg(long)]
    pub no_lifo: bool,
    /// The engine's malloc arenas: one, as `wsc` sets them, or glibc's default (one per
    /// thread), for comparison.
    #[arg(long, value_enum, default_value = "one")]
    pub malloc_arenas: Arenas,
}

/// `--malloc-arenas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arenas {
    /// One arena for all threads (what `wsc` sets).
    One,
    /// glibc's default: an arena per thread, up to 8 per core.
    Default,
}

fn client(args: &ClientArgs) -> anyhow::Result<()> {
    // What `wsc` does at start (`wsc-cli/src/main.rs`); `--malloc-arenas default` leaves
    // malloc as it is, for comparison. The baseline keeps malloc's defaults.
    if args.which == Which::Engine && args.malloc_arenas == Arenas::One {
        wsc_engine::use_one_malloc_arena();
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        builder.worker_threads(n.max(1));
    }
    if args.no_lifo {
        #[cfg(tokio_unstable)]
        builder.disable_lifo_slot();
        #[cfg(not(tokio_unstable))]
        anyhow::bail!("--no-lifo needs a build with RUSTFLAGS=\"--cfg tokio_unstable\"");
    }
    let rt = builder.enable_all().build()?;
    let out = args.out.as_deref();
    let report = rt.block_on(async {
        match args.which {
            Which::Engine => {
                let paging = match args.paging {
                    PagingArg::Seq => Paging::Sequential,
                    PagingArg::Conc => Paging::Concurrent(args.concurrency),
                };
                engine_client::run(&args.url, &args.token, paging, args.limit, out).await
            }
            Which::Baseline => baseline::run(&args.url, &args.token, args.limit, out).await,
        }
    })?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Client(args)) => client(args),
        Some(Command::Serve(args)) => serve(args),
        None => bench::run(&cli.bench),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
