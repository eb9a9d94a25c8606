//! `wsc job submit | status | wait | export`: runs of a fleet on the PostgreSQL store (the
//! queue itself is `wsc_store`'s; workers are [`crate::worker`]).

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use wsc_engine::Engine;
use wsc_engine::mapping::Record;
use wsc_store::{ChangeKind, JobInfo, JobState, NewJob, PartitionInfo, PgStore};

use crate::cli::{ExportArgs, FleetArgs, OutputFormat, RunArgs, SubmitArgs, WaitArgs};
use crate::common::{
    Failed, Session, engine_error, fail, load, object_type, process_env, resolve_given, runtime,
    settings_sources,
};
use crate::exit;
use crate::files::Destination;

/// The fleet's store named by `--state` / `WSC_STATE`, which must be a PostgreSQL URL.
pub(crate) fn fleet_store(state: Option<&str>) -> Result<Arc<PgStore>, Failed> {
    match state {
        Some(url) if wsc_store::is_postgres_url(url) => {
            crate::fleet::open_pg(url).map_err(|e| fail(exit::FAILURE, e))
        }
        Some(other) => Err(fail(
            exit::INVALID,
            format!(
                "`{other}` is not a PostgreSQL URL: jobs and workers share a fleet's store (--state postgres://user@host/db, or WSC_STATE)"
            ),
        )),
        None => Err(fail(
            exit::INVALID,
            "jobs and workers need the fleet's PostgreSQL store: pass --state postgres://user@host/db (or set WSC_STATE)",
        )),
    }
}

fn store_of(f: &FleetArgs) -> Result<Arc<PgStore>, Failed> {
    fleet_store(f.state.as_deref())
}

/// Hex SHA-256 of a file's bytes.
pub(crate) fn file_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The name of a partition value (`name`, else its position).
fn partition_name(v: &Value, i: usize) -> String {
    match v.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => i.to_string(),
    }
}

/// `wsc job submit`.
pub fn submit(args: &SubmitArgs) -> Result<(), Failed> {
    let store = fleet_store(args.connector.state.as_ref().and_then(|p| p.to_str()))?;
    let path = std::fs::canonicalize(&args.connector.connector).map_err(|e| {
        fail(
            exit::INVALID,
            format!("cannot read {}: {e}", args.connector.connector.display()),
        )
    })?;
    let bytes = std::fs::read(&path).map_err(|e| {
        fail(
            exit::INVALID,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let loaded = load(&path)?;
    let given = settings_sources(&args.connector)?;
    let settings = resolve_given(&loaded, &given, &process_env)?;
    let session = Session::with_settings(&loaded, &args.connector, settings)?;
    let engine = &session.engine;
    let object = object_type(&args.object);
    let key = Engine::aggregation_key(&object);
    let names = engine.attribute_names(&key).map_err(engine_error)?;
    let members = engine.has_members(&key).map_err(engine_error)?;
    if args.delta && engine.has_api_delta(&key).map_err(engine_error)? {
        return Err(fail(
            exit::INVALID,
            format!(
                "the {object} aggregation filters changes on the API side (`delta:`); a job's delta compares complete runs in the database, so submit it without --delta, or run `wsc aggregate --delta`"
            ),
        ));
    }
    let max_shrink = engine
        .max_shrink(&object, args.max_shrink)
        .map_err(engine_error)?;
    let parts = runtime()
        .block_on(engine.partitions(&object))
        .map_err(engine_error)?;
    let partitions: Vec<(String, Value)> = if parts.is_empty() {
        vec![(String::new(), Value::Null)]
    } else {
        parts
            .into_iter()
            .enumerate()
            .map(|(i, v)| (partition_name(&v, i), v))
            .collect()
    };
    let n = partitions.len();
    let id = store
        .submit_job(&NewJob {
            connector: session.instance.connector.clone(),
            instance: session.instance.instance.clone(),
            connector_path: path.display().to_string(),
            connector_hash: file_hash(&bytes),
            object_type: object.clone(),
            delta: args.delta,
            settings: given.to_json(),
            attributes: names.iter().map(|n| n.to_string()).collect(),
            members,
            max_attempts: args.max_attempts,
            max_shrink,
            partitions,
        })
        .map_err(|e| fail(exit::FAILURE, e))?;
    outln!("{id}");
    errln!(
        "run {id}: {} of {object} from {} queued; follow it with `wsc job wait {id}`",
        crate::progress::count(n as u64, "partition"),
        path.display()
    );
    Ok(())
}

fn load_job(store: &PgStore, run: i64) -> Result<JobInfo, Failed> {
    store
        .job(run)
        .map_err(|e| fail(exit::FAILURE, e))?
        .ok_or_else(|| {
            fail(
                exit::INVALID,
                format!("there is no run {run} in this store"),
            )
        })
}

/// One line per partition, for `status`.
fn partition_line(p: &PartitionInfo) -> String {
    let name = if p.name.is_empty() {
        "(whole)"
    } else {
        &p.name
    };
    let mut line = format!("  {name:<16} {:<8} attempts {}", p.state, p.attempts);
    if let Some(o) = &p.owner {
        line.push_str(&format!(", worker {o}"));
    }
    if let Some(left) = p.lease_left_ms {
        if left >= 0 {
            line.push_str(&format!(", lease {:.1}s left", left as f64 / 1000.0));
        } else {
            line.push_str(&format!(
                ", lease expired {:.1}s ago",
                -left as f64 / 1000.0
            ));
        }
    }
    if let Some(r) = p.records {
        line.push_str(&format!(", {}", crate::progress::count(r as u64, "record")));
    }
    if let Some(e) = &p.error {
        line.push_str(&format!(", last error: {e}"));
    }
    line
}

/// Counts of partitions by state: (done, running, queued, failed).
fn tally(parts: &[PartitionInfo]) -> (usize, usize, usize, usize) {
    let count = |s: &str| parts.iter().filter(|p| p.state == s).count();
    (
        count("done"),
        count("running"),
        count("queued"),
        count("failed"),
    )
}

fn headline(job: &JobInfo, parts: &[PartitionInfo]) -> String {
    let (done, running, queued, failed) = tally(parts);
    let mut s = format!(
        "run {}: {} {} of {} ({}{}): {}, {done}/{} partitions done, {running} running, {queued} queued",
        job.id,
        job.state.as_str(),
        job.object_type,
        job.connector,
        job.connector_path,
        if job.delta { ", delta" } else { "" },
        if job.state == JobState::Complete {
            crate::progress::count(job.records.unwrap_or(0) as u64, "record")
        } else {
            let so_far: i64 = parts.iter().filter_map(|p| p.records).sum();
            format!("{} so far", crate::progress::count(so_far as u64, "record"))
        },
        parts.len(),
    );
    if failed > 0 {
        s.push_str(&format!(", {failed} failed"));
    }
    s
}

/// `wsc job status`.
pub fn status(args: &RunArgs) -> Result<(), Failed> {
    let store = store_of(&args.fleet)?;
    let job = load_job(&store, args.run)?;
    let parts = store
        .job_partitions(job.id)
        .map_err(|e| fail(exit::FAILURE, e))?;
    outln!("{}", headline(&job, &parts));
    if let Some(e) = &job.error {
        outln!("  error: {e}");
    }
    for p in &parts {
        outln!("{}", partition_line(p));
    }
    Ok(())
}

/// `wsc job wait`: exit 0 complete, 1 failed or timed out; progress on stderr when it moves.
pub fn wait(args: &WaitArgs) -> Result<(), Failed> {
    let store = store_of(&args.run.fleet)?;
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let job = load_job(&store, args.run.run)?;
        let parts = store
            .job_partitions(job.id)
            .map_err(|e| fail(exit::FAILURE, e))?;
        let line = headline(&job, &parts);
        if line != last {
            errln!("{line}");
            last = line;
        }
        match job.state {
            JobState::Complete => return Ok(()),
            JobState::Failed => {
                return Err(fail(
                    exit::FAILURE,
                    format!(
                        "run {} failed: {}",
                        job.id,
                        job.error.as_deref().unwrap_or("(no error recorded)")
                    ),
                ));
            }
            JobState::Running => {}
        }
        if let Some(t) = args.timeout
            && started.elapsed() >= t
        {
            return Err(fail(
                exit::FAILURE,
                format!(
                    "run {} is still running after {:.0}s (--timeout); it goes on: `wsc job status {}`",
                    job.id,
                    t.as_secs_f64(),
                    job.id
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A record written by a worker, read back for the JSON array and CSV writers.
fn record_of(text: &str, names: &[Arc<str>]) -> Result<Record, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("a stored record: {e}"))?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let attrs = v.get("attributes");
    Ok(Record {
        object_type: Arc::from(s("type").unwrap_or_default()),
        identity: s("identity").unwrap_or_default(),
        name: s("name"),
        attributes: names
            .iter()
            .map(|n| {
                attrs
                    .and_then(|a| a.get(n.as_ref()))
                    .cloned()
                    .unwrap_or(Value::Null)
            })
            .collect(),
        members: v.get("members").and_then(Value::as_array).map(|m| {
            m.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        }),
        deleted: false,
    })
}

/// `wsc job export`.
pub fn export(args: &ExportArgs) -> Result<(), Failed> {
    let store = store_of(&args.run.fleet)?;
    let job = load_job(&store, args.run.run)?;
    if job.delta && args.format != OutputFormat::Jsonl {
        return Err(fail(
            exit::INVALID,
            "a --delta run exports change lines as JSON lines only (--format jsonl)",
        ));
    }
    let (dest, mut out) = Destination::open(&args.out)?;
    let failed = |e: &dyn std::fmt::Display, dest: Destination| {
        let kept = dest.abandon();
        fail(exit::FAILURE, format!("{e}{kept}"))
    };
    let written = if job.delta {
        export_changes(&store, &job, &mut out)
    } else {
        export_records(&store, &job, args.format, out)
    };
    match written {
        Ok(n) => {
            dest.commit()?;
            errln!(
                "run {}: {} exported",
                job.id,
                crate::progress::count(n, if job.delta { "change" } else { "record" })
            );
            Ok(())
        }
        Err(Export::Pipe) => {
            drop(dest);
            crate::stdio::pipe_closed()
        }
        Err(Export::Failed(e)) => Err(failed(&e, dest)),
    }
}

/// Why an export stopped.
enum Export {
    Pipe,
    Failed(String),
}

fn io(e: std::io::Error) -> Export {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Export::Pipe
    } else {
        Export::Failed(format!("writing output: {e}"))
    }
}

fn export_records(
    store: &PgStore,
    job: &JobInfo,
    format: OutputFormat,
    mut out: Box<dyn Write + Send>,
) -> Result<u64, Export> {
    let batches = store
        .export_records(job)
        .map_err(|e| Export::Failed(e.to_string()))?;
    let names: Vec<Arc<str>> = job
        .attributes
        .iter()
        .map(|n| Arc::from(n.as_str()))
        .collect();
    let mut n = 0u64;
    if format == OutputFormat::Jsonl {
        for batch in batches {
            for line in batch.map_err(|e| Export::Failed(e.to_string()))? {
                out.write_all(line.as_bytes()).map_err(io)?;
                out.write_all(b"\n").map_err(io)?;
                n += 1;
            }
        }
        out.flush().map_err(io)?;
        return Ok(n);
    }
    let mut sink: Box<dyn wsc_engine::output::Sink + Send> = match format {
        OutputFormat::Csv => Box::new(wsc_engine::output::Csv::with_header(
            out,
            &names,
            job.members,
        )),
        _ => wsc_engine::output::sink(crate::read::format_of(format), out),
    };
    for batch in batches {
        for text in batch.map_err(|e| Export::Failed(e.to_string()))? {
            let rec = record_of(&text, &names).map_err(Export::Failed)?;
            sink.write(&rec, &names).map_err(io)?;
            n += 1;
        }
    }
    sink.finish().map_err(io)?;
    Ok(n)
}

fn export_changes(
    store: &PgStore,
    job: &JobInfo,
    out: &mut Box<dyn Write + Send>,
) -> Result<u64, Export> {
    let batches = store
        .export_changes(job)
        .map_err(|e| Export::Failed(e.to_string()))?;
    let mut n = 0u64;
    for batch in batches {
        for c in batch.map_err(|e| Export::Failed(e.to_string()))? {
            let line = match (c.kind, &c.record) {
                (ChangeKind::Deleted, _) | (_, None) => serde_json::json!({
                    "change": "deleted", "type": job.object_type, "identity": c.identity
                })
                .to_string(),
                (kind, Some(r)) => {
                    let word = if kind == ChangeKind::Created {
                        "created"
                    } else {
                        "updated"
                    };
                    format!(
                        "{{\"change\":\"{word}\",{}",
                        r.strip_prefix('{').unwrap_or(r)
                    )
                }
            };
            writeln!(out, "{line}").map_err(io)?;
            n += 1;
        }
    }
    out.flush().map_err(io)?;
    Ok(n)
}
