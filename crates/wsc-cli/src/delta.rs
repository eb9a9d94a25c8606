//! `wsc aggregate --delta`: change records since the previous run.
//!
//! With API-side filters (`delta:` on the aggregation) the previous run's start time is
//! `last_run.*` in templates and every record the API returns is a `changed` record, or a
//! `deleted` one when the aggregation's `delta.deleted` path matches it. Without
//! them, each record's content hash is compared with the snapshot of the previous complete run
//! in the state store: `created`, `updated` and `deleted` records come out, nothing for
//! unchanged ones. The snapshot (and the run history) is committed only when the aggregation
//! completes; a failed or interrupted run leaves the previous one in place.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wsc_engine::{Engine, EngineError, RunContext};
use wsc_store::{InstanceKey, Store};

use crate::cli::AggregateArgs;
use crate::exit;
use crate::run::{Destination, Failed, fail, load, runtime};

/// The store for state and snapshots (any auth kind), required for `--delta`.
fn store(args: &AggregateArgs) -> Result<Arc<dyn Store>, Failed> {
    match crate::auth::store_path(&args.connector) {
        Some(p) => crate::auth::open(&p),
        None => Err(fail(
            exit::INVALID,
            "--delta needs a state store for the previous run: pass --state FILE (not `none`)",
        )),
    }
}

fn hash(v: &Value) -> Vec<u8> {
    Sha256::digest(v.to_string().as_bytes()).to_vec()
}

fn with_change(change: &str, mut record: Value) -> Value {
    if let Value::Object(m) = &mut record {
        let mut out = serde_json::Map::with_capacity(m.len() + 1);
        out.insert("change".into(), Value::String(change.into()));
        out.append(m);
        return Value::Object(out);
    }
    record
}

/// `wsc aggregate --delta`.
pub fn aggregate(args: &AggregateArgs) -> Result<(), Failed> {
    if args.format != crate::cli::OutputFormat::Jsonl {
        return Err(fail(
            exit::INVALID,
            "--delta writes JSON lines only (--format jsonl)",
        ));
    }
    if args.partition.is_some() {
        return Err(fail(
            exit::INVALID,
            "--delta compares whole aggregations; it cannot run one --partition",
        ));
    }
    let loaded = load(&args.connector.connector)?;
    let settings =
        crate::run::resolve_settings(&loaded, &args.connector, &|k| std::env::var(k).ok())?;
    let store = store(args)?;
    let key: InstanceKey = wsc_engine::auth::instance_key(&loaded, &settings);
    let object = crate::run::object_type(&args.object);
    let op_key = Engine::aggregation_key(&object);
    let run_name = format!("aggregate:{object}");
    let last = store
        .last_run(&key, &run_name)
        .map_err(|e| fail(exit::FAILURE, e))?;
    let last_run = match last {
        Some((started, finished, records)) => json!({
            "started_at": crate::auth::ms_to_rfc3339(started),
            "finished_at": crate::auth::ms_to_rfc3339(finished),
            "records": records,
        }),
        None => Value::Null,
    };
    let state = Value::Object(store.load_state(&key).map_err(|e| fail(exit::FAILURE, e))?);
    let token_store = crate::auth::store_for(&loaded, &args.connector)?;
    let auth = wsc_engine::authenticator(&loaded, &settings, token_store)
        .map_err(|e| fail(exit::INVALID, e))?;
    let engine = Engine::new(
        &loaded,
        &settings,
        auth,
        RunContext {
            state,
            last_run: last_run.clone(),
            ..RunContext::default()
        },
    )
    .map_err(|e| fail(exit::INVALID, e))?;
    let api_side = engine
        .has_api_delta(&op_key)
        .map_err(|e| fail(exit::INVALID, e))?;
    let names = engine
        .attribute_names(&op_key)
        .map_err(|e| fail(exit::INVALID, e))?;
    let previous = if api_side {
        HashMap::new()
    } else {
        store
            .load_snapshot(&key, &object)
            .map_err(|e| fail(exit::FAILURE, e))?
    };
    let (dest, mut out) = Destination::open(&args.out)?;
    let started_ms = wsc_auth::token::now_ms();
    let started = Instant::now();
    let rt = runtime();
    let mut counts = [0u64; 4]; // created, updated, deleted, changed
    let mut snapshot: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    let result: Result<(), EngineError> = rt.block_on(async {
        let mut stream = engine.aggregate(&object, None).await?;
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(batch) = stream.next_batch().await {
            for r in batch? {
                total += 1;
                let v = r.to_json(&names);
                let line = if api_side && r.deleted {
                    counts[2] += 1;
                    Some(json!({"change": "deleted", "type": object, "identity": r.identity}))
                } else if api_side {
                    counts[3] += 1;
                    Some(with_change("changed", v))
                } else {
                    let h = hash(&v);
                    let change = match previous.get(&r.identity) {
                        None => Some("created"),
                        Some(old) if *old != h => Some("updated"),
                        Some(_) => None,
                    };
                    seen.insert(r.identity.clone());
                    snapshot.push((r.identity.clone(), h));
                    change.map(|c| {
                        counts[if c == "created" { 0 } else { 1 }] += 1;
                        with_change(c, v)
                    })
                };
                if let Some(l) = line {
                    writeln!(out, "{l}").map_err(|e| EngineError::Output(e.to_string()))?;
                }
            }
        }
        stream.finish().await?;
        if !api_side {
            let mut gone: Vec<&String> = previous.keys().filter(|id| !seen.contains(*id)).collect();
            gone.sort();
            for id in gone {
                counts[2] += 1;
                let l = json!({"change": "deleted", "type": object, "identity": id});
                writeln!(out, "{l}").map_err(|e| EngineError::Output(e.to_string()))?;
            }
        }
        out.flush().map_err(|e| EngineError::Output(e.to_string()))
    });
    match result {
        Ok(()) => {
            drop(out);
            dest.commit()?;
            // Only a complete run moves the baseline.
            if api_side {
                store.record_run(&key, &run_name, started_ms, total)
            } else {
                store
                    .replace_snapshot(&key, &object, &snapshot, started_ms)
                    .and_then(|()| store.record_run(&key, &run_name, started_ms, total))
            }
            .map_err(|e| fail(exit::FAILURE, e))?;
            let changes = engine.state_changes();
            if !changes.is_empty() {
                store
                    .save_state(&key, &crate::run::state_values(&changes))
                    .map_err(|e| fail(exit::FAILURE, e))?;
            }
            let what = if api_side {
                format!(
                    "{} changed, {} deleted (API-side filter since {})",
                    counts[3], counts[2], last_run["started_at"]
                )
            } else {
                format!(
                    "{} created, {} updated, {} deleted",
                    counts[0], counts[1], counts[2]
                )
            };
            eprintln!(
                "{object} delta: {total} records read, {what} in {:.2}s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(e) => {
            drop(out);
            dest.abandon();
            Err(fail(
                exit::FAILURE,
                format!("{e}; the previous snapshot was kept"),
            ))
        }
    }
}
