//! `wsc-fleet-bench`: how a fleet scales. A throwaway PostgreSQL cluster, the synthetic API
//! with 20 ms per page, a 16-partition aggregation (sequential pages, so each partition is
//! latency-bound), and the time from `wsc job submit` to the run being complete with 1 worker
//! and with 4 workers (one slot each, already running and idle). Median of 3; the ratio is the
//! figure (docs/performance.md, "Fleet"). Never asserted: a command run by hand.
//!
//! ```text
//! cargo build --release -p wsc-cli -p wsc-bench
//! target/release/wsc-fleet-bench            # --users-per-partition 2000 --latency-ms 20
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use wsc_store::{JobState, PgStore};
use wsc_testkit::postgres::PgCluster;
use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "wsc-fleet-bench",
    about = "1 worker against 4 on a latency-bound 16-partition run"
)]
struct Args {
    /// Users per partition (read 100 per page).
    #[arg(long, default_value_t = 2000)]
    users_per_partition: usize,
    /// Latency of every page, milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Repetitions per fleet size.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// The `wsc` binary (default: beside this one).
    #[arg(long)]
    wsc: Option<PathBuf>,
}

const PARTITIONS: usize = 16;
const KEY: &str = "fleet bench key";

fn connector(per: usize) -> String {
    let parts: String = (0..PARTITIONS)
        .map(|i| {
            format!(
                "        - {{ name: p{i:02}, from: {}, to: {} }}\n",
                i * per,
                (i + 1) * per
            )
        })
        .collect();
    format!(
        r#"connector: fleet_bench
settings:
  base_url: {{}}
  token: {{ secret: true }}
base_url: "{{{{settings.base_url}}}}/api"
auth: {{ type: bearer, token: "{{{{settings.token}}}}" }}
operations:
  account_aggregation:
    partitions:
      list:
{parts}    request:
      path: /users/offset
      query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}", from: "{{{{partition.from}}}}", to: "{{{{partition.to}}}}" }}
    paging: {{ kind: offset, limit: 100, concurrency: 1 }}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
    attributes:
      email: "$.emails[0].value"
      active: {{ path: "$.active", type: bool }}
"#
    )
}

fn wsc(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("WSC_STATE_KEY", KEY).env("WSC_TOKEN", "bench");
    c
}

fn workers(bin: &Path, url: &str, n: usize) -> anyhow::Result<Vec<Child>> {
    (0..n)
        .map(|i| {
            wsc(bin)
                .args(["worker", "--state", url, "--name", &format!("bench{i}")])
                .args(["--poll", "20ms", "--lease", "30s"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting a worker")
        })
        .collect()
}

/// Seconds from submission to completion of one run.
fn one_run(bin: &Path, file: &Path, url: &str, base: &str, store: &PgStore) -> anyhow::Result<f64> {
    let started = Instant::now();
    let out = wsc(bin)
        .args(["job", "submit"])
        .arg(file)
        .args([
            "--state",
            url,
            "--set",
            &format!("base_url={base}"),
            "--max-shrink",
            "100",
        ])
        .output()?;
    if !out.status.success() {
        bail!("submit failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let id: i64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    loop {
        let job = store.job(id)?.context("the run vanished")?;
        match job.state {
            JobState::Complete => return Ok(started.elapsed().as_secs_f64()),
            JobState::Failed => bail!("run {id} failed: {:?}", job.error),
            JobState::Running => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match &args.wsc {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("wsc"),
    };
    if !bin.exists() {
        bail!(
            "no wsc binary at {} (build it: cargo build --release -p wsc-cli, or pass --wsc)",
            bin.display()
        );
    }
    let pg = PgCluster::start()?;
    let url = pg.create_database("bench")?;
    let store = PgStore::open(&url, Some(KEY))?;
    let rt = tokio::runtime::Runtime::new()?;
    let users = args.users_per_partition * PARTITIONS;
    let config = SyntheticConfig::new(users)
        .with_auth(AuthMode::Bearer("bench".into()))
        .with_latency(Duration::from_millis(args.latency_ms));
    let api = rt.block_on(SyntheticApi::start(config))?;
    let dir = std::env::temp_dir().join(format!("wsc-fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("fleet_bench.yaml");
    std::fs::write(&file, connector(args.users_per_partition))?;
    let pages = PARTITIONS * args.users_per_partition.div_ceil(100);
    println!(
        "{users} users in {PARTITIONS} partitions, {pages} pages of 100 at {} ms each, {} reps",
        args.latency_ms, args.reps
    );
    let mut medians = Vec::new();
    for n in [1usize, 4] {
        let mut running = workers(&bin, &url, n)?;
        std::thread::sleep(Duration::from_millis(500));
        let times: anyhow::Result<Vec<f64>> = (0..args.reps)
            .map(|_| one_run(&bin, &file, &url, &api.base_url(), &store))
            .collect();
        for w in &mut running {
            let _ = Command::new("kill")
                .args(["-TERM", &w.id().to_string()])
                .status();
            let _ = w.wait();
        }
        let times = times?;
        let m = median(times.clone());
        println!(
            "{n} worker{}: median {m:.2}s ({})",
            if n == 1 { "" } else { "s" },
            times
                .iter()
                .map(|t| format!("{t:.2}s"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        medians.push(m);
    }
    println!(
        "speed-up of 4 workers over 1: {:.2}x (target >= 3.2x)",
        medians[0] / medians[1]
    );
    rt.block_on(api.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
