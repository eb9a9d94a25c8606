//! `wsc aggregate --delta`: writes the change records of an aggregation since its previous
//! complete run (the comparison is `wsc_engine::delta`), and moves the baseline only when the
//! run completed and its output was written.

use std::io::Write;
use std::time::Instant;

use wsc_engine::delta::Delta;
use wsc_engine::{Engine, EngineError, RunContext};

use crate::cli::{AggregateArgs, OutputFormat};
use crate::common::{
    Failed, StateTarget, fail, load, object_type, open_store, process_env, resolve_settings,
    runtime, store_path, token_store,
};
use crate::exit;
use crate::files::Destination;

/// `wsc aggregate --delta`.
pub fn aggregate(args: &AggregateArgs) -> Result<(), Failed> {
    if args.format != OutputFormat::Jsonl {
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
    let settings = resolve_settings(&loaded, &args.connector, &process_env)?;
    let Some(path) = store_path(&args.connector) else {
        return Err(fail(
            exit::INVALID,
            "--delta needs a state store for the previous run: pass --state FILE (not `none`)",
        ));
    };
    let store = open_store(&path)?;
    let key = wsc_engine::auth::instance_key(&loaded, &settings);
    let object = object_type(&args.object);
    let failed = |e: EngineError| fail(exit::FAILURE, e);
    let mut delta = Delta::open(store.clone(), key.clone(), &object).map_err(failed)?;
    let state = serde_json::Value::Object(store.load_state(&key).map_err(|e| failed(e.into()))?);
    let auth =
        wsc_engine::authenticator(&loaded, &settings, token_store(&loaded, &args.connector)?)
            .map_err(|e| fail(exit::INVALID, e))?;
    let engine = Engine::new(
        &loaded,
        &settings,
        auth,
        RunContext {
            state,
            last_run: delta.last_run(),
            ..RunContext::default()
        },
    )
    .map_err(|e| fail(exit::INVALID, e))?;
    // The store failing (a snapshot under another key) is not invalid input.
    delta.start(&engine).map_err(|e| match e {
        EngineError::Store(_) => fail(exit::FAILURE, e),
        e => fail(exit::INVALID, e),
    })?;
    let (dest, mut out) = Destination::open(&args.out)?;
    let started = Instant::now();
    let run = async {
        let output = |e: std::io::Error| crate::read::output_error(&e);
        let mut stream = engine.aggregate(&object, None).await?;
        while let Some(batch) = stream.next_batch().await {
            for r in batch? {
                if let Some(line) = delta.change(&r) {
                    writeln!(out, "{line}").map_err(output)?;
                }
            }
        }
        stream.finish().await?;
        // The shrink guard, before deletions are written.
        delta.check_shrink(engine.max_shrink(&object, args.max_shrink)?)?;
        for line in delta.deleted() {
            writeln!(out, "{line}").map_err(output)?;
        }
        out.flush().map_err(output)
    };
    // Ctrl-C or SIGTERM ends the run like a failure: nothing is committed.
    let result: Result<Result<(), EngineError>, u8> = runtime().block_on(async {
        tokio::select! {
            biased;
            code = crate::signals::interrupted() => Err(code),
            r = run => Ok(r),
        }
    });
    drop(out);
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let kept = dest.abandon();
            if crate::read::is_pipe_closed(&e) {
                crate::stdio::pipe_closed();
            }
            return Err(fail(
                exit::FAILURE,
                format!("{e}; the previous snapshot was kept{kept}"),
            ));
        }
        Err(code) => {
            let kept = dest.abandon();
            return Err(fail(
                code,
                format!(
                    "{}; the previous snapshot was kept{kept}",
                    crate::signals::name(code)
                ),
            ));
        }
    }
    dest.commit()?;
    // Only a complete run moves the baseline.
    let api_side = delta.api_side();
    let last_run = delta.last_run();
    let counts = delta.commit().map_err(failed)?;
    StateTarget { store, key }.persist(&engine)?;
    let what = if api_side {
        format!(
            "{} changed, {} deleted (API-side filter since {})",
            counts.changed, counts.deleted, last_run["started_at"]
        )
    } else {
        format!(
            "{} created, {} updated, {} deleted",
            counts.created, counts.updated, counts.deleted
        )
    };
    errln!(
        "{object} delta: {} records read, {what} in {:.2}s",
        counts.read,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
