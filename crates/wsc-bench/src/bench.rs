//! The benchmark driver: starts the synthetic API, runs the clients in child processes,
//! alternately and repeatedly, and prints the tables and the targets.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use wsc_testkit::synthetic::{AuthMode, StatsSnapshot, SyntheticApi, SyntheticConfig};

use crate::BenchArgs;
use crate::connector::Paging;
use crate::measure::{self, ClientReport};

/// A client configuration run by the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Baseline,
    Engine(Paging),
}

impl Client {
    fn label(self) -> String {
        match self {
            Client::Baseline => "baseline (reqwest+serde)".into(),
            Client::Engine(p) => format!("engine, {}", p.label()),
        }
    }
}

/// What the server saw during one run.
#[derive(Debug, Clone, Copy, Default)]
struct ServerDelta {
    data_requests: u64,
    token_requests: u64,
    connections: u64,
    max_in_flight: u64,
    /// CPU time of the parent process (the server's threads) during the run, seconds.
    cpu_secs: f64,
}

impl ServerDelta {
    fn between(a: &StatsSnapshot, b: &StatsSnapshot, cpu_secs: f64) -> Self {
        ServerDelta {
            cpu_secs,
            data_requests: b.data_requests - a.data_requests,
            token_requests: b.token_requests - a.token_requests,
            connections: b.connections - a.connections,
            max_in_flight: b.max_in_flight,
        }
    }
}

/// One run of one client.
#[derive(Debug, Clone)]
struct Run {
    report: ClientReport,
    server: ServerDelta,
}

/// All runs of one client against one directory.
#[derive(Debug, Clone)]
struct Case {
    client: Client,
    users: usize,
    runs: Vec<Run>,
}

impl Case {
    fn rates(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.report.rate()).collect()
    }

    fn median_rate(&self) -> f64 {
        median(&self.rates())
    }

    fn median_secs(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.report.secs).collect::<Vec<_>>())
    }

    fn rss_mib(&self) -> Vec<f64> {
        self.runs
            .iter()
            .map(|r| r.report.peak_rss_kib as f64 / 1024.0)
            .collect()
    }

    /// Median CPU microseconds per record of the client and of the server.
    fn cpu_us_per_record(&self) -> (f64, f64) {
        let per = |f: &dyn Fn(&Run) -> f64| {
            median(
                &self
                    .runs
                    .iter()
                    .map(|r| f(r) * 1e6 / r.report.records.max(1) as f64)
                    .collect::<Vec<_>>(),
            )
        };
        (per(&|r| r.report.cpu_secs), per(&|r| r.server.cpu_secs))
    }

    fn max_rss_mib(&self) -> f64 {
        self.rss_mib().into_iter().fold(0.0, f64::max)
    }

    fn last(&self) -> &Run {
        &self.runs[self.runs.len() - 1]
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The synthetic API of one case.
struct Server {
    api: SyntheticApi,
    token: String,
}

impl Server {
    fn start(
        rt: &tokio::runtime::Runtime,
        users: usize,
        latency: Duration,
        limit: usize,
    ) -> Result<Self> {
        let token = format!(
            "bench-{:016x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        );
        let config = SyntheticConfig::new(users)
            .with_latency(latency)
            .with_auth(AuthMode::Bearer(token.clone()))
            .with_max_page_size(limit);
        let api = rt.block_on(SyntheticApi::start(config))?;
        Ok(Server { api, token })
    }

    /// Runs `client` in a child process against this server.
    fn run(&self, client: Client, limit: usize, out: Option<&Path>) -> Result<Run> {
        let exe = std::env::current_exe().context("finding the wsc-bench executable")?;
        let mut cmd = Command::new(exe);
        cmd.arg("client");
        match client {
            Client::Baseline => {
                cmd.arg("baseline");
            }
            Client::Engine(Paging::Sequential) => {
                cmd.args(["engine", "--paging", "seq"]);
            }
            Client::Engine(Paging::Concurrent(c)) => {
                cmd.args(["engine", "--paging", "conc", "--concurrency"]);
                cmd.arg(c.to_string());
            }
        }
        cmd.arg("--url")
            .arg(self.api.base_url())
            .arg("--token")
            .arg(&self.token)
            .arg("--limit")
            .arg(limit.to_string());
        if let Some(out) = out {
            cmd.arg("--out").arg(out);
        }
        let before = self.api.stats();
        let cpu_before = measure::cpu_secs();
        let output = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .context("starting a client process")?;
        let after = self.api.stats();
        let cpu = measure::cpu_secs() - cpu_before;
        if !output.status.success() {
            bail!("the {} client failed ({})", client.label(), output.status);
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().last().unwrap_or_default();
        let report: ClientReport = serde_json::from_str(line)
            .with_context(|| format!("reading the client's report {line:?}"))?;
        Ok(Run {
            report,
            server: ServerDelta::between(&before, &after, cpu),
        })
    }

    fn shutdown(self, rt: &tokio::runtime::Runtime) {
        rt.block_on(self.api.shutdown());
    }
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`): other work on the machine shares
/// its cores with the benchmark and shows here.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs, {model}")
}

/// Checks on a small directory that both clients and both engine pagings write byte-identical
/// output, so that the benchmark compares the same work.
fn verify(rt: &tokio::runtime::Runtime, args: &BenchArgs, concurrency: usize) -> Result<()> {
    let users = 2 * args.limit + args.limit / 2 + 1;
    let server = Server::start(rt, users, Duration::ZERO, args.limit)?;
    let dir = std::env::temp_dir().join(format!("wsc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let clients = [
        Client::Baseline,
        Client::Engine(Paging::Sequential),
        Client::Engine(Paging::Concurrent(concurrency)),
    ];
    let mut outputs: Vec<(Client, PathBuf, Run)> = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        let path = dir.join(format!("out-{i}.jsonl"));
        let run = server.run(c, args.limit, Some(&path))?;
        outputs.push((c, path, run));
    }
    server.shutdown(rt);
    let reference = std::fs::read(&outputs[0].1)?;
    let lines = reference.iter().filter(|&&b| b == b'\n').count();
    for (c, path, run) in &outputs {
        let bytes = std::fs::read(path)?;
        if bytes != reference || run.report.records != users as u64 {
            bail!(
                "outputs differ: {} wrote {} records ({} bytes), the baseline {lines} lines ({} bytes); see {}",
                c.label(),
                run.report.records,
                bytes.len(),
                reference.len(),
                dir.display()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let first = reference.split(|&b| b == b'\n').next().unwrap_or_default();
    println!(
        "verified: baseline, engine sequential and engine concurrent write identical output ({users} users), e.g.\n  {}\n",
        String::from_utf8_lossy(first)
    );
    Ok(())
}

/// Runs `clients` alternately `reps` times against a directory of `users`; every run gets a
/// fresh server, so that its counters (connections, requests in flight) are the run's own.
fn throughput(
    rt: &tokio::runtime::Runtime,
    args: &BenchArgs,
    users: usize,
    latency: Duration,
    clients: &[Client],
) -> Result<Vec<Case>> {
    let mut cases: Vec<Case> = clients
        .iter()
        .map(|&client| Case {
            client,
            users,
            runs: Vec::new(),
        })
        .collect();
    for rep in 1..=args.reps {
        for case in cases.iter_mut() {
            let server = Server::start(rt, users, latency, args.limit)?;
            let run = server.run(case.client, args.limit, None)?;
            server.shutdown(rt);
            if run.report.records != users as u64 {
                bail!(
                    "{} returned {} records of {users}",
                    case.client.label(),
                    run.report.records
                );
            }
            eprintln!(
                "  [{} users, rep {rep}/{}] {:<28} {:>10.0} records/s  {:>7.2} s  peak RSS {:>6.1} MiB (at the end: {:.1} anon + {:.1} file)  CPU client {:.2} s, server {:.2} s  {} requests, {} in flight at most",
                thousands(users as u64),
                args.reps,
                case.client.label(),
                run.report.rate(),
                run.report.secs,
                run.report.peak_rss_kib as f64 / 1024.0,
                run.report.rss_anon_kib as f64 / 1024.0,
                run.report.rss_file_kib as f64 / 1024.0,
                run.report.cpu_secs,
                run.server.cpu_secs,
                run.server.data_requests,
                run.server.max_in_flight,
            );
            case.runs.push(run);
        }
    }
    Ok(cases)
}

fn print_throughput(title: &str, cases: &[Case]) {
    println!("{title}");
    println!(
        "  {:<28} {:>13} {:>23} {:>8} {:>17} {:>13} {:>7} {:>9} {:>6} {:>6} {:>13}",
        "client",
        "records/s",
        "min - max",
        "ratio",
        "peak RSS MiB",
        "CPU us/rec",
        "pages",
        "requests",
        "token",
        "conns",
        "output bytes"
    );
    let base = cases
        .iter()
        .find(|c| c.client == Client::Baseline)
        .map(Case::median_rate);
    for c in cases {
        let rates = c.rates();
        let (lo, hi) = min_max(&rates);
        let rss = c.rss_mib();
        let (rlo, rhi) = min_max(&rss);
        let ratio = base
            .map(|b| format!("{:.2}x", c.median_rate() / b))
            .unwrap_or_default();
        let last = c.last();
        let (cpu_client, cpu_server) = c.cpu_us_per_record();
        println!(
            "  {:<28} {:>13} {:>23} {:>8} {:>17} {:>13} {:>7} {:>9} {:>6} {:>6} {:>13}",
            c.client.label(),
            thousands(c.median_rate() as u64),
            format!("{} - {}", thousands(lo as u64), thousands(hi as u64)),
            ratio,
            format!("{:.1} ({:.1}-{:.1})", median(&rss), rlo, rhi),
            format!("{cpu_client:.2} + {cpu_server:.2}"),
            thousands(last.report.pages),
            thousands(last.server.data_requests),
            last.server.token_requests + last.report.token_requests,
            last.server.connections,
            thousands(last.report.bytes),
        );
    }
    println!(
        "  (CPU us/rec: CPU microseconds per record of the client process + of the server's, on {} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!();
}

/// One line of the targets table.
struct Target {
    what: String,
    measured: String,
    met: bool,
}

/// Runs the whole benchmark and prints its tables.
pub fn run(args: &BenchArgs) -> Result<()> {
    let mut args = args.clone();
    if args.quick {
        args.users = 100_000;
        args.small_users.get_or_insert(10_000);
        args.latency_users = args.latency_users.min(25_000);
    }
    if args.reps == 0 || args.limit == 0 || args.users == 0 {
        bail!("--reps, --limit and --users must be at least 1");
    }
    let small = args.small_users.unwrap_or(args.users / 10).max(args.limit);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let c = args.concurrency.max(2);
    println!(
        "wsc-bench: {} users (pages of {}), {} repetitions, machine: {}",
        thousands(args.users as u64),
        args.limit,
        args.reps,
        machine()
    );
    println!(
        "load average at the start: {} (anything well above 0 means other processes share the cores)",
        load_average()
    );
    if cfg!(debug_assertions) && !args.verify {
        println!("WARNING: this is a debug build; run with `cargo run --release -p wsc-bench`");
    }
    println!();
    verify(&rt, &args, c)?;
    if args.verify {
        return Ok(());
    }

    let clients = [
        Client::Baseline,
        Client::Engine(Paging::Sequential),
        Client::Engine(Paging::Concurrent(c)),
    ];
    eprintln!("throughput, {} users:", thousands(args.users as u64));
    let big = throughput(&rt, &args, args.users, Duration::ZERO, &clients)?;
    eprintln!("throughput, {} users:", thousands(small as u64));
    let little = throughput(&rt, &args, small, Duration::ZERO, &clients)?;
    let latency = if args.no_latency {
        None
    } else {
        eprintln!(
            "latency-bound, {} users, {} ms per page:",
            thousands(args.latency_users as u64),
            args.latency_ms
        );
        Some(throughput(
            &rt,
            &args,
            args.latency_users,
            Duration::from_millis(args.latency_ms),
            &[
                Client::Engine(Paging::Concurrent(1)),
                Client::Engine(Paging::Concurrent(8)),
            ],
        )?)
    };
    eprintln!();

    print_throughput(
        &format!(
            "Throughput: {} users, pages of {}, no added latency; median of {} runs (ratio: engine / baseline)",
            thousands(args.users as u64),
            args.limit,
            args.reps
        ),
        &big,
    );
    print_throughput(
        &format!(
            "Same at {} users (for the peak RSS against N)",
            thousands(small as u64)
        ),
        &little,
    );
    println!(
        "Peak RSS against N (median MiB): {:<28} {:>12} {:>12} {:>8}",
        "",
        thousands(small as u64),
        thousands(args.users as u64),
        "growth"
    );
    for (b, l) in big.iter().zip(&little) {
        let (rb, rl) = (median(&b.rss_mib()), median(&l.rss_mib()));
        println!(
            "  {:<60} {:>12.1} {:>12.1} {:>+7.1}%",
            b.client.label(),
            rl,
            rb,
            (rb / rl - 1.0) * 100.0
        );
    }
    println!();

    let mut targets = Vec::new();
    let base = big[0].median_rate();
    // The targets of issue 13 (docs/performance.md).
    for (i, want) in [(1usize, 1.1), (2, 1.3)] {
        let ratio = big[i].median_rate() / base;
        targets.push(Target {
            what: format!("{} >= {want}x the baseline", big[i].client.label()),
            measured: format!("{ratio:.2}x"),
            met: ratio >= want,
        });
    }
    for i in [1usize, 2] {
        let rss = big[i].max_rss_mib();
        targets.push(Target {
            what: format!(
                "{} peak RSS <= 12 MiB at {} records",
                big[i].client.label(),
                thousands(big[i].users as u64)
            ),
            measured: format!("{rss:.1} MiB"),
            met: rss <= 12.0,
        });
        let (rb, rl) = (median(&big[i].rss_mib()), median(&little[i].rss_mib()));
        let growth = rb / rl - 1.0;
        targets.push(Target {
            what: format!(
                "{} peak RSS flat in N ({} -> {}: within +10%)",
                big[i].client.label(),
                thousands(small as u64),
                thousands(args.users as u64)
            ),
            measured: format!("{:+.1}%", growth * 100.0),
            met: growth <= 0.10,
        });
    }

    if let Some(lat) = &latency {
        let (c1, c8) = (&lat[0], &lat[1]);
        let pages = c1.last().report.pages;
        println!(
            "Latency-bound: {} users ({} pages), {} ms per page, known total; median of {} runs",
            thousands(c1.users as u64),
            pages,
            args.latency_ms,
            args.reps
        );
        for c in [c1, c8] {
            let (lo, hi) = min_max(&c.runs.iter().map(|r| r.report.secs).collect::<Vec<_>>());
            println!(
                "  {:<28} {:>8.2} s ({:.2} - {:.2})  {:>10} records/s  {} requests, at most {} in flight",
                c.client.label(),
                c.median_secs(),
                lo,
                hi,
                thousands(c.median_rate() as u64),
                c.last().server.data_requests,
                c.last().server.max_in_flight
            );
        }
        let speedup = c1.median_secs() / c8.median_secs();
        println!("  speed-up c=8 / c=1: {speedup:.2}x\n");
        targets.push(Target {
            what: format!(
                "speed-up at concurrency 8, {} ms per page, >= 6x",
                args.latency_ms
            ),
            measured: format!("{speedup:.2}x"),
            met: speedup >= 6.0,
        });
    }

    println!("load average at the end: {}\n", load_average());
    println!("Targets (reported, not asserted):");
    for t in &targets {
        println!(
            "  {:<72} {:>10}  {}",
            t.what,
            t.measured,
            if t.met { "met" } else { "MISSED" }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(min_max(&[3.0, 1.0, 2.0]), (1.0, 3.0));
    }
}
