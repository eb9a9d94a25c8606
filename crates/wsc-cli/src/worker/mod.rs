//! `wsc worker`: claims partitions of submitted runs from the fleet's PostgreSQL store, runs
//! each with the run's connector, and commits its records with the partition's completion.
//!
//! - Claims: `--slots` partitions at a time (`FOR UPDATE SKIP LOCKED` in the store); an idle
//!   worker polls every `--poll`.
//! - Leases: each claim is this worker's until `--lease` runs out; a heartbeat renews every
//!   held lease every third of it. A partition whose lease another worker took over (this one
//!   stalled) is abandoned: its records are rolled back, the other worker's count.
//! - Failures: an attempt that fails is queued again while attempts remain, else the run fails
//!   with the partition's error.
//! - SIGTERM or Ctrl-C: no new claims; running partitions are given back at once (their
//!   records rolled back, the attempt not counted) and the worker exits 0.

mod connector;
mod metrics;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use wsc_engine::Engine;
use wsc_store::{Claim, ClaimId, Completion, FailOutcome, PgStore, Store};

use crate::cli::WorkerArgs;
use crate::common::{Failed, StateTarget, fail, runtime};
use crate::exit;
use connector::Connectors;
use metrics::Counters;

/// A partition this worker runs.
struct Held {
    id: ClaimId,
    renewed: Instant,
    lost: Arc<Notify>,
}

/// One worker process.
pub(crate) struct Worker {
    store: Arc<PgStore>,
    name: String,
    lease: Duration,
    connectors: Connectors,
    counters: Counters,
    held: Mutex<HashMap<i64, Held>>,
}

impl Worker {
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (partitions held, seconds since the oldest lease was renewed).
    fn leases(&self) -> (usize, f64) {
        let held = self.held();
        let age = held
            .values()
            .map(|h| h.renewed.elapsed().as_secs_f64())
            .fold(0.0, f64::max);
        (held.len(), age)
    }

    fn count(&self, c: &std::sync::atomic::AtomicU64, n: u64) {
        c.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs a blocking store call off the runtime's threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, wsc_store::StoreError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("a store call stopped: {e}")),
    }
}

/// The default worker name: host name and process id.
fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "worker".into());
    format!("{host}:{}", std::process::id())
}

/// `wsc worker`.
pub fn run(args: &WorkerArgs) -> Result<(), Failed> {
    let store = crate::job::fleet_store(args.fleet.state.as_deref())?;
    if args.lease < Duration::from_secs(1) {
        return Err(fail(
            exit::INVALID,
            "--lease must be at least 1s (heartbeats renew it every third of it)",
        ));
    }
    let worker = Arc::new(Worker {
        name: args.name.clone().unwrap_or_else(default_name),
        lease: args.lease,
        connectors: Connectors::default(),
        counters: Counters::default(),
        held: Mutex::new(HashMap::new()),
        store,
    });
    let rt = runtime();
    rt.block_on(async {
        if let Some(addr) = args.metrics {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                fail(
                    exit::FAILURE,
                    format!("--metrics {addr}: cannot listen: {e}"),
                )
            })?;
            tokio::spawn(metrics::serve(listener, worker.clone()));
        }
        tokio::spawn(heartbeat(worker.clone()));
        errln!(
            "worker {}: {} on {}, lease {:.1}s{}",
            worker.name,
            crate::progress::count(u64::from(args.slots), "slot"),
            worker.store.location(),
            worker.lease.as_secs_f64(),
            args.metrics
                .map(|a| format!(", metrics on http://{a}/metrics"))
                .unwrap_or_default()
        );
        claim_loop(&worker, args).await;
        Ok(())
    })
}

/// Claims and runs partitions until a signal (or `--exit-when-idle`).
async fn claim_loop(worker: &Arc<Worker>, args: &WorkerArgs) {
    let slots = Arc::new(Semaphore::new(args.slots as usize));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let signal = crate::signals::interrupted();
    tokio::pin!(signal);
    let mut idle_since = Instant::now();
    let mut store_down = false;
    let why = loop {
        while tasks.try_join_next().is_some() {}
        let permit = tokio::select! {
            biased;
            code = &mut signal => break crate::signals::name(code).to_string(),
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break "stopped".to_string(),
            },
        };
        let (w, name, lease) = (worker.clone(), worker.name.clone(), worker.lease);
        let claimed = blocking(move || w.store.claim_partition(&name, lease)).await;
        let wait = match claimed {
            Ok(Some(claim)) => {
                store_down = false;
                idle_since = Instant::now();
                let lost = Arc::new(Notify::new());
                worker.held().insert(
                    claim.id.partition,
                    Held {
                        id: claim.id.clone(),
                        renewed: Instant::now(),
                        lost: lost.clone(),
                    },
                );
                tasks.spawn(run_claim(
                    worker.clone(),
                    claim,
                    stop_rx.clone(),
                    lost,
                    permit,
                ));
                continue;
            }
            Ok(None) => {
                store_down = false;
                drop(permit);
                if !tasks.is_empty() {
                    idle_since = Instant::now();
                }
                if let Some(limit) = args.exit_when_idle
                    && tasks.is_empty()
                    && idle_since.elapsed() >= limit
                {
                    break format!("no work for {:.1}s (--exit-when-idle)", limit.as_secs_f64());
                }
                args.poll
            }
            Err(e) => {
                drop(permit);
                if !store_down {
                    errln!("worker {}: cannot claim work: {e}; retrying", worker.name);
                    store_down = true;
                }
                args.poll.max(Duration::from_secs(1))
            }
        };
        tokio::select! {
            biased;
            code = &mut signal => break crate::signals::name(code).to_string(),
            _ = tokio::time::sleep(wait) => {}
        }
    };
    let running = tasks.len();
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    errln!(
        "worker {}: stopped ({why}){}",
        worker.name,
        if running > 0 {
            format!(
                "; {} given back to the queue",
                crate::progress::count(running as u64, "running partition")
            )
        } else {
            String::new()
        }
    );
}

/// Renews the leases of the held partitions every third of the lease; tells a partition
/// whose lease was taken over.
async fn heartbeat(worker: Arc<Worker>) {
    let every = worker.lease / 3;
    loop {
        tokio::time::sleep(every).await;
        let held: Vec<ClaimId> = worker.held().values().map(|h| h.id.clone()).collect();
        if held.is_empty() {
            continue;
        }
        let (w, lease, ids) = (worker.clone(), worker.lease, held.clone());
        match blocking(move || w.store.renew_leases(&ids, lease)).await {
            Ok(kept) => {
                let mut map = worker.held();
                for id in held {
                    let Some(h) = map.get_mut(&id.partition) else {
                        continue;
                    };
                    if kept.contains(&id) {
                        h.renewed = Instant::now();
                    } else {
                        h.lost.notify_one();
                    }
                }
            }
            Err(e) => errln!(
                "worker {}: renewing leases failed: {e}; retrying",
                worker.name
            ),
        }
    }
}

fn label(claim: &Claim) -> String {
    if claim.name.is_empty() {
        format!("run {}", claim.id.job)
    } else {
        format!("run {} partition {}", claim.id.job, claim.name)
    }
}

/// Runs one claimed partition to its end: done, failed, given back or lost.
async fn run_claim(
    worker: Arc<Worker>,
    claim: Claim,
    mut stop: watch::Receiver<bool>,
    lost: Arc<Notify>,
    _slot: OwnedSemaphorePermit,
) {
    let what = label(&claim);
    worker.count(&worker.counters.claimed, 1);
    if claim.requeued {
        worker.count(&worker.counters.taken_over, 1);
    }
    errln!(
        "worker {}: {what}: attempt {}{}",
        worker.name,
        claim.id.attempt,
        if claim.requeued {
            " (taken over: the previous worker's lease expired)"
        } else {
            ""
        }
    );
    let started = Instant::now();
    let outcome = tokio::select! {
        biased;
        _ = stop.wait_for(|s| *s) => Outcome::Stopped,
        _ = lost.notified() => Outcome::Lost,
        r = read(&worker, &claim) => Outcome::Ran(r),
    };
    // The commit is not raced against a lost lease or a stop: once the records are sent,
    // the writer's thread commits them (checking the lease itself), and the renewal that
    // no longer finds the partition running must not make this worker report them lost.
    let outcome = match outcome {
        Outcome::Ran(Ok(read)) => Outcome::Ran(commit(&claim, read).await),
        Outcome::Ran(Err(e)) => Outcome::Ran(Err(e)),
        Outcome::Stopped => Outcome::Stopped,
        Outcome::Lost => Outcome::Lost,
    };
    worker.held().remove(&claim.id.partition);
    let secs = started.elapsed().as_secs_f64();
    match outcome {
        Outcome::Ran(Ok((completion, n, conn))) => {
            worker.count(&worker.counters.done, 1);
            worker.count(&worker.counters.records, n);
            let run = match completion {
                Completion::PartitionDone => String::new(),
                Completion::RunComplete { records } => format!(
                    "; run {} complete with {}",
                    claim.id.job,
                    crate::progress::count(records, "record")
                ),
                Completion::RunRefused { error } => {
                    format!("; run {} refused: {error}", claim.id.job)
                }
            };
            errln!(
                "worker {}: {what}: done, {} in {secs:.2}s{run}",
                worker.name,
                crate::progress::count(n, "record")
            );
            let target = StateTarget {
                store: worker.store.clone() as Arc<dyn Store>,
                key: conn.instance.clone(),
            };
            let _ = target.persist(&conn.engine);
        }
        Outcome::Ran(Err(error)) => {
            let (w, id, e) = (worker.clone(), claim.id.clone(), error.clone());
            let r = blocking(move || w.store.fail_partition(&id, &e)).await;
            let next = match r {
                Ok(FailOutcome::Requeued) => {
                    worker.count(&worker.counters.requeued, 1);
                    "queued again".to_string()
                }
                Ok(FailOutcome::RunFailed) => {
                    worker.count(&worker.counters.failed, 1);
                    format!("that was the last attempt: run {} failed", claim.id.job)
                }
                Ok(FailOutcome::NotHeld) => "another worker holds it now".to_string(),
                Err(e) => format!("recording the failure failed too ({e}); its lease will expire"),
            };
            errln!(
                "worker {}: {what}: attempt {} failed after {secs:.2}s: {error}; {next}",
                worker.name,
                claim.id.attempt
            );
        }
        Outcome::Stopped => {
            worker.count(&worker.counters.released, 1);
            let (w, id) = (worker.clone(), claim.id.clone());
            let _ = blocking(move || w.store.release_partition(&id)).await;
            errln!("worker {}: {what}: given back to the queue", worker.name);
        }
        Outcome::Lost => {
            worker.count(&worker.counters.released, 1);
            errln!(
                "worker {}: {what}: lease lost to another worker (this one stalled); abandoned, its records rolled back",
                worker.name
            );
        }
    }
}

/// How an attempt ended: `Ran` holds what [`read`] and then [`commit`] gave.
enum Outcome<T> {
    Ran(Result<T, String>),
    Stopped,
    Lost,
}

/// An attempt whose records were all read and sent to the store, not yet committed.
struct Read {
    writer: wsc_store::RecordWriter,
    records: u64,
    conn: Arc<connector::RunConnector>,
}

/// One attempt's reading: records streamed into the store's open transaction.
async fn read(worker: &Arc<Worker>, claim: &Claim) -> Result<Read, String> {
    let (w, c) = (worker.clone(), claim.clone());
    let conn = tokio::task::spawn_blocking(move || w.connectors.get(&c, &w.store))
        .await
        .map_err(|e| e.to_string())??;
    let engine = &conn.engine;
    let object = claim.job.object_type.clone();
    let key = Engine::aggregation_key(&object);
    let names = engine.attribute_names(&key).map_err(|e| e.to_string())?;
    let mut writer = worker
        .store
        .record_writer(&claim.id, &object)
        .map_err(|e| e.to_string())?;
    let part = (!claim.value.is_null()).then(|| claim.value.clone());
    let mut stream = engine
        .aggregate_partition(&object, part)
        .await
        .map_err(|e| e.to_string())?;
    let mut n = 0u64;
    let mut buf = Vec::with_capacity(1024);
    while let Some(batch) = stream.next_batch().await {
        let batch = batch.map_err(|e| e.to_string())?;
        let mut rows = Vec::with_capacity(batch.len());
        for r in &batch {
            buf.clear();
            wsc_engine::output::write_record_json(&mut buf, r, &names);
            rows.push((
                r.identity.clone(),
                String::from_utf8_lossy(&buf).into_owned(),
            ));
        }
        n += rows.len() as u64;
        writer.write(rows).await.map_err(|e| e.to_string())?;
    }
    stream.finish().await.map_err(|e| e.to_string())?;
    Ok(Read {
        writer,
        records: n,
        conn,
    })
}

/// Commits what [`read`] sent, with the partition's completion.
async fn commit(
    claim: &Claim,
    read: Read,
) -> Result<(Completion, u64, Arc<connector::RunConnector>), String> {
    let Read {
        writer,
        records: n,
        conn,
    } = read;
    let object = claim.job.object_type.clone();
    let max = claim.job.max_shrink;
    let shrink: wsc_store::ShrinkCheck = Box::new(move |now, previous| {
        wsc_engine::history::check_shrink(&object, previous, now, max, "the previous complete run")
            .map_err(|e| e.to_string())
    });
    let completion = writer.finish(n, shrink).await.map_err(|e| e.to_string())?;
    Ok((completion, n, conn))
}
