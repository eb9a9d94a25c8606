//! One run of an operation: its `before_operation` / `after_operation` hooks, `setup`
//! requests (per partition, per record: `setup.rs`), setup steps (run once, before the
//! primary step; what they `save` joins the context and the connector state), the primary
//! step's pages, `for_each` steps merged into its records, and mapping; with `windows`, all
//! of it once per time window (`windows.rs`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::multistep::{collect_step, run_for_each};
use super::paging::drive;
use super::paths::check_paths;
use super::setup::{SetupOutcome, has_setups, keep_records, run_setups};
use super::windows::{complete, plan};
use super::{Emit, Items, Mode, StepRun, origin};
use crate::compile::CompiledOperation;
use crate::doc::Doc;
use crate::engine::Inner;
use crate::error::EngineError;
use crate::stream::{Batch, Chunk, join};
use wsc_spec::model::SetupRun;
use wsc_spec::template::Context;

/// Runs an operation to its end, sending mapped record batches in order on `tx`; an error
/// is sent as the last message. [`Emit::Nothing`] runs the requests and checks without mapping
/// (test_connection).
pub(crate) async fn run_operation(
    inner: Arc<Inner>,
    op: Arc<CompiledOperation>,
    ctx: Arc<Map<String, Value>>,
    tx: mpsc::Sender<Batch>,
    emit: Emit,
) {
    if let Err(e) = run_hooked(inner, op, ctx, &tx, emit).await {
        let _ = tx.send(Err(e)).await;
    }
}

/// [`run_steps`] between the operation's `before_operation` and `after_operation` hooks.
async fn run_hooked(
    inner: Arc<Inner>,
    op: Arc<CompiledOperation>,
    mut ctx: Arc<Map<String, Value>>,
    tx: &mpsc::Sender<Batch>,
    emit: Emit,
) -> Result<(), EngineError> {
    let Some(set) = inner.hooks.for_operation(&op.key) else {
        return run_windowed(
            StepRun {
                inner,
                op,
                si: 0,
                ctx,
            },
            tx,
            emit,
        )
        .await;
    };
    if let Some(h) = &set.before_operation
        && let Some(plan) = inner
            .hooks
            .before_operation(h, &op.key, &inner.settings, &ctx)?
    {
        let mut c = (*ctx).clone();
        c.insert(Context::Plan.into(), plan);
        ctx = Arc::new(c);
    }
    let before = inner.stats.records.load(Ordering::Relaxed);
    let run = StepRun {
        inner: inner.clone(),
        op: op.clone(),
        si: 0,
        ctx: ctx.clone(),
    };
    run_windowed(run, tx, emit).await?;
    if let Some(h) = &set.after_operation {
        let mut result = json!({
            "operation": op.key,
            "records": inner.stats.records.load(Ordering::Relaxed).saturating_sub(before),
        });
        inner
            .hooks
            .after_operation(h, &op.key, &inner.settings, &ctx, &mut result)?;
    }
    Ok(())
}

/// [`run_steps`] once per time window of the operation's `windows`, in order (each with
/// `window` in its context), then keeps the last window's end for the next run; or once
/// without `windows`. A run that fails or whose reader stops keeps nothing.
async fn run_windowed(
    run: StepRun,
    tx: &mpsc::Sender<Batch>,
    emit: Emit,
) -> Result<(), EngineError> {
    let Some(windows) = plan(&run.inner, &run.op, &run.ctx)? else {
        return run_steps(run, tx, emit).await;
    };
    for w in &windows {
        let mut c = (*run.ctx).clone();
        c.insert(Context::Window.into(), w.to_value());
        let one = StepRun {
            ctx: Arc::new(c),
            ..run.clone()
        };
        run_steps(one, tx, emit).await?;
        if tx.is_closed() {
            return Ok(());
        }
    }
    if let Some(last) = windows.last() {
        complete(&run.inner, &run.op, last);
    }
    Ok(())
}

/// Setup steps, then the primary step's pages with `for_each` merges, mapped and sent.
async fn run_steps(run: StepRun, tx: &mpsc::Sender<Batch>, emit: Emit) -> Result<(), EngineError> {
    // `setup` requests of the partition: one that skips it leaves its records out.
    if has_setups(&run, SetupRun::PerPartition) {
        let name = run
            .ctx
            .get(Context::Partition.as_str())
            .and_then(|p| p.get("name"))
            .map(|n| n.as_str().map_or_else(|| n.to_string(), str::to_string))
            .unwrap_or_default();
        let what = format!("partition `{name}`");
        if let SetupOutcome::Skip =
            run_setups(&run, SetupRun::PerPartition, &run.ctx, &what).await?
        {
            return Ok(());
        }
    }
    let per_record = has_setups(&run, SetupRun::PerRecord);
    let StepRun { inner, op, ctx, .. } = run;
    // Setup steps (before the primary, not for_each): run once, keep what they save.
    let mut ctx = (*ctx).clone();
    let mut saved = Map::new();
    for (i, step) in op.steps.iter().enumerate().take(op.primary) {
        if step.for_each.is_some() {
            continue;
        }
        ctx.insert(Context::Saved.into(), Value::Object(saved.clone()));
        let setup = StepRun {
            inner: inner.clone(),
            op: op.clone(),
            si: i,
            ctx: Arc::new(ctx.clone()),
        };
        let (items, s) = collect_step(setup).await?;
        saved.extend(s);
        if let Some(last) = items.last() {
            ctx.insert(Context::Response.into(), last.clone());
        }
    }
    if !saved.is_empty() {
        // What steps `save` also becomes connector state (`state.<name>` on later runs).
        inner.hooks.save_values(&saved);
        ctx.insert(Context::Saved.into(), Value::Object(saved));
    }
    let primary = StepRun {
        inner: inner.clone(),
        op: op.clone(),
        si: op.primary,
        ctx: Arc::new(ctx),
    };
    let for_each: Vec<usize> = (0..op.steps.len())
        .filter(|i| op.steps[*i].for_each == Some(op.primary))
        .collect();
    // Records marked deleted are not JSON Lines (the lines do not say so): they stay records.
    // Records that `per_record` setup requests judge are raw until they are kept.
    let mode = match emit {
        Emit::Lines if for_each.is_empty() && !per_record && !op.mapper.reads_deleted() => {
            Mode::Lines
        }
        Emit::Records | Emit::Lines if for_each.is_empty() && !per_record => Mode::Map,
        _ => Mode::Raw,
    };
    let (ptx, mut prx) = mpsc::channel::<Result<Items, EngineError>>(4);
    let driver = tokio::spawn(drive(primary.clone(), mode, ptx, None));
    let mut first = true;
    while let Some(page) = prx.recv().await {
        let records = match page? {
            Items::Records(r) => Chunk::Records(r),
            Items::Lines(l) => Chunk::Lines(l),
            Items::Raw(raw) => {
                if emit == Emit::Nothing {
                    continue;
                }
                let mut raw = raw;
                if per_record {
                    raw = keep_records(&primary, raw).await?;
                }
                for &si in &for_each {
                    raw = run_for_each(&primary, si, raw).await?;
                }
                if first && !raw.is_empty() {
                    first = false;
                    let docs: Vec<Doc<'_>> = raw.iter().map(Doc::from_value).collect();
                    check_paths(&inner, &op, &docs.iter().collect::<Vec<_>>());
                }
                let origin = origin(&inner, &op, None, None);
                raw.iter()
                    .map(|v| {
                        op.mapper
                            .map_in(&Doc::from_value(v), Some(&primary.ctx))
                            .map_err(|e| EngineError::Map {
                                origin: origin.clone(),
                                message: inner.http.redactor().text(&e.to_string()),
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Chunk::Records)?
            }
        };
        inner
            .stats
            .records
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        if tx.send(Ok(records)).await.is_err() {
            // The reader stopped: stop fetching.
            driver.abort();
            return Ok(());
        }
    }
    join(driver).await
}
