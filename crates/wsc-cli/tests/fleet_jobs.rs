//! Jobs and workers on a real PostgreSQL (a throwaway cluster): a 16-partition run claimed
//! by four `wsc worker` processes, one killed with SIGKILL in the middle of a partition and
//! one stopped with SIGTERM; every record lands exactly once and the export equals a plain
//! `wsc aggregate`. Then a delta run computed in SQL, the shrink guard refusing a run that
//! lost records, and a partition that fails every attempt failing its run.

mod common;
use common::*;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use wsc_testkit::postgres::PgCluster;
use wsc_testkit::synthetic::{AuthMode, OAuth2Config, SyntheticApi, SyntheticConfig};

const USERS: usize = 2400;
const PARTITIONS: usize = 16;
const KEY: &str = "fleet jobs key";
const SECRET: &str = "jobs-secret";

/// A connector whose 16 static partitions are windows of 150 users, read 15 at a time.
fn connector() -> String {
    let per = USERS / PARTITIONS;
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
        r#"connector: fleet_jobs
settings:
  base_url: {{}}
  tenant: {{ default: acme }}
  client_secret: {{ secret: true }}
instance: [tenant]
base_url: "{{{{settings.base_url}}}}/api"
http:
  retry: {{ max_attempts: 2, initial_backoff: 1ms, max_backoff: 2ms }}
auth:
  type: oauth2
  grant: client_credentials
  token_url: "{{{{settings.base_url}}}}/oauth/token"
  client_id: jobs-client
  client_secret: "{{{{settings.client_secret}}}}"
operations:
  account_aggregation:
    partitions:
      list:
{parts}    request:
      path: /users/offset
      query:
        offset: "{{{{page.offset}}}}"
        limit: "{{{{page.limit}}}}"
        from: "{{{{partition.from}}}}"
        to: "{{{{partition.to}}}}"
    paging: {{ kind: offset, limit: 15, total: "$.total", concurrency: 1 }}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
    attributes:
      email: "$.emails[0].value"
      active: {{ path: "$.active", type: bool }}
      groups: {{ path: "$.groups[*]", multi: true }}
"#
    )
}

/// A connector with a partition that always fails (its collection does not exist).
const BROKEN: &str = r#"connector: fleet_broken
settings:
  base_url: {}
  client_secret: { secret: true }
base_url: "{{settings.base_url}}/api"
http:
  retry: { max_attempts: 1 }
auth:
  type: oauth2
  grant: client_credentials
  token_url: "{{settings.base_url}}/oauth/token"
  client_id: jobs-client
  client_secret: "{{settings.client_secret}}"
operations:
  account_aggregation:
    partitions:
      list:
        - { name: people, coll: users }
        - { name: broken, coll: nothing }
    request:
      path: "/{{partition.coll}}/offset"
      query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
    paging: { kind: offset, limit: 50, total: "$.total" }
    records: "$.items[*]"
    identity: "$.id"
"#;

/// The synthetic API on a runtime of its own.
struct Api {
    rt: tokio::runtime::Runtime,
    api: Option<SyntheticApi>,
}

impl Api {
    fn start(users: usize, latency: Duration) -> Api {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let config = SyntheticConfig::new(users)
            .with_groups(20)
            .with_auth(AuthMode::OAuth2(OAuth2Config::new("jobs-client", SECRET)))
            .with_latency(latency);
        let api = rt.block_on(SyntheticApi::start(config)).unwrap();
        Api { rt, api: Some(api) }
    }

    fn base(&self) -> String {
        self.api.as_ref().unwrap().base_url()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            self.rt.block_on(api.shutdown());
        }
    }
}

/// `wsc` with the fleet's key and the client secret in the environment.
fn fleet() -> std::process::Command {
    let mut c = wsc();
    c.env("WSC_STATE_KEY", KEY).env("WSC_CLIENT_SECRET", SECRET);
    c
}

/// Submits a run; returns its id.
fn submit(file: &Path, url: &str, base: &str, extra: &[&str]) -> i64 {
    let out = fleet()
        .args(["job", "submit"])
        .arg(file)
        .args(["--state", url, "--set", &format!("base_url={base}")])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    text(&out.stdout)
        .trim()
        .parse()
        .expect("a run id on stdout")
}

/// A worker process, killed when dropped (a failing test leaves none behind).
struct Worker(Child);

impl std::ops::Deref for Worker {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Worker {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a worker named `name`, its stderr into `dir/name.log`.
fn worker(dir: &Path, url: &str, name: &str, extra: &[&str]) -> Worker {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    Worker(
        fleet()
            .args(["worker", "--state", url, "--name", name])
            .args(["--lease", "2s", "--poll", "100ms"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    )
}

fn log(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
}

/// `wsc job <cmd> RUN` with the store.
fn job(cmd: &str, run: i64, url: &str, extra: &[&str]) -> std::process::Output {
    fleet()
        .args(["job", cmd, &run.to_string(), "--state", url])
        .args(extra)
        .output()
        .unwrap()
}

/// Polls `sql` until it returns something other than the empty string.
fn poll(pg: &PgCluster, sql: &str, within: Duration) -> String {
    let started = Instant::now();
    loop {
        let v = pg.psql("fleet", sql).unwrap();
        if !v.is_empty() {
            return v;
        }
        assert!(
            started.elapsed() < within,
            "nothing from {sql} in {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sorted lines.
fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn metric(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in\n{body}"))
        .parse()
        .unwrap()
}

#[test]
fn fleet_runs_land_every_record_exactly_once() {
    let pg = PgCluster::start().expect("start a throwaway PostgreSQL cluster");
    let url = pg.create_database("fleet").unwrap();
    let dir = scratch("fleet-jobs");
    let file = dir.join("fleet.yaml");
    std::fs::write(&file, connector()).unwrap();
    // 10 pages of 40 ms per partition: long enough to stop a worker in the middle of one.
    let api = Api::start(USERS, Duration::from_millis(40));
    let base = api.base();

    // The reference: the same aggregation by one plain process.
    let plain = fleet()
        .arg("aggregate")
        .arg(&file)
        .args(["--state", "none", "--set", &format!("base_url={base}")])
        .output()
        .unwrap();
    assert!(plain.status.success(), "{}", show(&plain));
    let expected = sorted(&text(&plain.stdout));
    assert_eq!(expected.len(), USERS);

    // --- 16 partitions, 4 workers; w0 killed with SIGKILL mid-partition, w1 stopped with SIGTERM.
    let run = submit(&file, &url, &base, &[]);
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let mut w0 = worker(&dir, &url, "w0", &[]);
    let mut w1 = worker(&dir, &url, "w1", &[]);
    let mut w2 = worker(&dir, &url, "w2", &["--metrics", &metrics_addr]);
    let mut w3 = worker(&dir, &url, "w3", &["--slots", "2"]);

    // w0 in the middle of a partition: claimed, and some of its pages already read.
    let killed = poll(
        &pg,
        "SELECT id FROM wsc_partitions WHERE lease_owner = 'w0' AND state = 'running'
           AND renewed_at < wsc_now_ms() - 150",
        Duration::from_secs(30),
    );
    w0.kill().unwrap(); // SIGKILL
    w0.wait().unwrap();
    // w1 in the middle of a partition: SIGTERM gives it back and exits 0.
    poll(
        &pg,
        "SELECT id FROM wsc_partitions WHERE lease_owner = 'w1' AND state = 'running'",
        Duration::from_secs(30),
    );
    let term = std::process::Command::new("kill")
        .args(["-TERM", &w1.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let w1_status = w1.wait().unwrap();
    assert_eq!(w1_status.code(), Some(0), "{}", log(&dir, "w1"));
    let w1_log = log(&dir, "w1");
    assert!(w1_log.contains("given back to the queue"), "{w1_log}");

    let waited = job("wait", run, &url, &["--timeout", "120s"]);
    assert!(waited.status.success(), "{}", show(&waited));

    // Every record exactly once; the killed worker's partition finished by another.
    let counts = pg
        .psql(
            "fleet",
            &format!(
                "SELECT count(*), count(DISTINCT identity) FROM wsc_records WHERE job_id = {run}"
            ),
        )
        .unwrap();
    assert_eq!(counts, format!("{USERS}|{USERS}"));
    let k = pg
        .psql(
            "fleet",
            &format!("SELECT state, attempts, lease_owner FROM wsc_partitions WHERE id = {killed}"),
        )
        .unwrap();
    let k: Vec<&str> = k.split('|').collect();
    assert_eq!(k[0], "done");
    assert_eq!(k[1], "2", "the killed attempt counts: {k:?}");
    assert_ne!(k[2], "w0");
    assert_eq!(
        pg.psql(
            "fleet",
            &format!("SELECT count(*) FROM wsc_partitions WHERE job_id = {run} AND state = 'done'")
        )
        .unwrap(),
        PARTITIONS.to_string()
    );
    let status = job("status", run, &url, &[]);
    assert!(status.status.success(), "{}", show(&status));
    let status = text(&status.stdout);
    assert!(status.contains(&format!("run {run}: complete")), "{status}");
    assert!(status.contains(&format!("{USERS} records")), "{status}");

    // The export is the plain aggregation, record for record, byte for byte.
    let export = job("export", run, &url, &[]);
    assert!(export.status.success(), "{}", show(&export));
    assert_eq!(sorted(&text(&export.stdout)), expected);
    let csv = job("export", run, &url, &["--format", "csv"]);
    assert!(csv.status.success(), "{}", show(&csv));
    let csv = text(&csv.stdout);
    assert_eq!(csv.lines().count(), USERS + 1);
    assert!(
        csv.starts_with("type,identity,name,email,active,groups\n"),
        "{}",
        &csv[..200]
    );

    // w2's metrics agree with what the store says it committed. The worker counts a
    // partition's records just after its commit, which the run's completion may precede by
    // a moment: read the metrics until they catch up (bounded), then compare.
    let w2_records = pg
        .psql(
            "fleet",
            "SELECT coalesce(sum(records), 0) FROM wsc_partitions WHERE lease_owner = 'w2' AND state = 'done'",
        )
        .unwrap()
        .parse::<f64>()
        .unwrap();
    let mut body = http_get(metrics_port, "/metrics");
    for _ in 0..100 {
        if metric(&body, "wsc_records_total") == w2_records
            && metric(&body, "wsc_partitions_running") == 0.0
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        body = http_get(metrics_port, "/metrics");
    }
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert_eq!(metric(&body, "wsc_records_total"), w2_records);
    assert!(metric(&body, "wsc_partitions_done_total") >= 1.0, "{body}");
    assert!(metric(&body, "wsc_pages_total") >= 10.0, "{body}");
    assert_eq!(metric(&body, "wsc_partitions_running"), 0.0);
    assert!(http_get(metrics_port, "/other").starts_with("HTTP/1.1 404"));

    // --- Delta in SQL: the same tenant with 30 fewer users → 30 deletions, nothing else.
    drop(api);
    let api = Api::start(USERS - 30, Duration::from_millis(1));
    let run2 = submit(&file, &url, &api.base(), &["--delta"]);
    let waited = job("wait", run2, &url, &["--timeout", "120s"]);
    assert!(waited.status.success(), "{}", show(&waited));
    let changes = job("export", run2, &url, &[]);
    assert!(changes.status.success(), "{}", show(&changes));
    let changes = text(&changes.stdout);
    let lines: Vec<&str> = changes.lines().collect();
    assert_eq!(lines.len(), 30, "{changes}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with(r#"{"change":"deleted""#)),
        "{changes}"
    );
    let gone: BTreeSet<String> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["identity"].to_string())
        .collect();
    assert_eq!(gone.len(), 30);

    // --- The shrink guard: a run that lost half the records is refused, not exported.
    drop(api);
    let api = Api::start(USERS / 2, Duration::from_millis(1));
    let run3 = submit(&file, &url, &api.base(), &[]);
    let waited = job("wait", run3, &url, &["--timeout", "120s"]);
    assert_eq!(code(&waited), 1, "{}", show(&waited));
    assert!(text(&waited.stderr).contains("fewer"), "{}", show(&waited));
    let refused = job("export", run3, &url, &[]);
    assert_eq!(code(&refused), 1, "{}", show(&refused));
    assert!(
        text(&refused.stderr).contains("incomplete"),
        "{}",
        show(&refused)
    );
    assert!(refused.stdout.is_empty());

    // --- A partition that fails every attempt fails the run with its error.
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, BROKEN).unwrap();
    let run4 = submit(&broken, &url, &api.base(), &["--max-attempts", "2"]);
    let waited = job("wait", run4, &url, &["--timeout", "120s"]);
    assert_eq!(code(&waited), 1, "{}", show(&waited));
    let err = text(&waited.stderr);
    assert!(err.contains("partition broken"), "{err}");
    assert!(err.contains("404"), "{err}");
    assert!(err.contains("attempt 2, the last"), "{err}");
    let attempts = pg
        .psql(
            "fleet",
            &format!("SELECT attempts, state FROM wsc_partitions WHERE job_id = {run4} AND name = 'broken'"),
        )
        .unwrap();
    assert_eq!(attempts, "2|failed");

    // A connector file changed after submission: workers refuse to mix versions.
    let run5 = submit(&broken, &url, &api.base(), &["--max-attempts", "1"]);
    let mut changed = BROKEN.to_string();
    changed.push_str("# edited after submission\n");
    std::fs::write(&broken, changed).unwrap();
    let waited = job("wait", run5, &url, &["--timeout", "120s"]);
    assert_eq!(code(&waited), 1, "{}", show(&waited));
    assert!(
        text(&waited.stderr).contains("differs from the file the run was submitted with"),
        "{}",
        show(&waited)
    );

    // Wrong or missing inputs are refused with exit 2.
    let unknown = job("status", 9999, &url, &[]);
    assert_eq!(code(&unknown), 2, "{}", show(&unknown));
    assert!(text(&unknown.stderr).contains("there is no run 9999"));
    let not_pg = job("status", run, "state.db", &[]);
    assert_eq!(code(&not_pg), 2, "{}", show(&not_pg));
    assert!(text(&not_pg.stderr).contains("not a PostgreSQL URL"));
    let csv_delta = job("export", run2, &url, &["--format", "csv"]);
    assert_eq!(code(&csv_delta), 2, "{}", show(&csv_delta));

    // Idle workers stop on SIGTERM with exit 0; nothing secret in their logs.
    for (name, w) in [("w2", &mut *w2), ("w3", &mut *w3)] {
        std::process::Command::new("kill")
            .args(["-TERM", &w.id().to_string()])
            .status()
            .unwrap();
        assert_eq!(w.wait().unwrap().code(), Some(0), "{}", log(&dir, name));
        let l = log(&dir, name);
        assert!(!l.contains(SECRET) && !l.contains(KEY), "{l}");
    }
    // The settings kept with a run are sealed: no base URL in clear text in the database.
    let sealed = pg
        .psql(
            "fleet",
            &format!("SELECT settings FROM wsc_jobs WHERE id = {run}"),
        )
        .unwrap();
    assert!(!sealed.contains("127.0.0.1"), "{sealed}");
}
