//! Multi-step operations: a step that runs to the end once (setup steps, and the steps
//! `for_each` reads from), and a `for_each` step that runs once per record of another step
//! with bounded concurrency, merging what it reads into that record.

use futures_util::StreamExt;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use wsc_spec::model::MergeMode;

use super::paging::drive;
use super::{Items, Mode, StepRun};
use crate::doc::Doc;
use crate::error::EngineError;
use crate::stream::join;
use wsc_spec::template::Context;

/// Runs a step to the end and collects its raw records and saved values.
pub(crate) async fn collect_step(
    run: StepRun,
) -> Result<(Vec<Value>, Map<String, Value>), EngineError> {
    let (ptx, mut prx) = mpsc::channel(4);
    let (stx, srx) = oneshot::channel();
    let driver = tokio::spawn(drive(run, Mode::Raw, ptx, Some(stx)));
    let mut all = Vec::new();
    while let Some(page) = prx.recv().await {
        if let Items::Raw(r) = page? {
            all.extend(r);
        }
    }
    join(driver).await?;
    Ok((all, srx.await.unwrap_or_default()))
}

/// Runs the `for_each` step `si` for every record of a page (bounded concurrency, order
/// kept) and merges what it reads into each record. `run` is the operation's run; its step
/// is replaced by `si` and its context gains `record` (and `parent`). Steps that run
/// `for_each` over `si` itself (nested levels: teams → members → roles) run for every item
/// `si` read, and merge into that item, before it is merged into the record.
pub(crate) fn run_for_each<'a>(
    run: &'a StepRun,
    si: usize,
    records: Vec<Value>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<Value>, EngineError>> + Send + 'a>>
{
    Box::pin(for_each_level(run, si, records))
}

async fn for_each_level(
    run: &StepRun,
    si: usize,
    records: Vec<Value>,
) -> Result<Vec<Value>, EngineError> {
    let step = &run.op.steps[si];
    let nested: Vec<usize> = (0..run.op.steps.len())
        .filter(|i| run.op.steps[*i].for_each == Some(si))
        .collect();
    let mut jobs = futures_util::stream::iter(records.into_iter().map(|rec| {
        let mut c = (*run.ctx).clone();
        if let Some(prev) = c.get("record").cloned() {
            c.insert(Context::Parent.into(), prev);
        }
        c.insert(Context::Record.into(), rec.clone());
        let child = StepRun {
            inner: run.inner.clone(),
            op: run.op.clone(),
            si,
            ctx: c.into(),
        };
        let nested = nested.clone();
        async move {
            let level = child.clone();
            let (mut items, _) = collect_step(child).await?;
            for &n in &nested {
                items = run_for_each(&level, n, items).await?;
            }
            Ok::<_, EngineError>((rec, items))
        }
    }))
    .buffered(step.concurrency);
    let mut out = Vec::new();
    while let Some(r) = jobs.next().await {
        let (mut rec, items) = r?;
        if let Some((into, value, mode)) = &step.merge {
            let projected: Vec<Value> = items
                .iter()
                .map(|it| match value {
                    Some(p) => {
                        let d = Doc::from_value(it);
                        p.first(&d).map(|x| x.to_value()).unwrap_or(Value::Null)
                    }
                    None => it.clone(),
                })
                .collect();
            if let Value::Object(m) = &mut rec {
                match mode {
                    MergeMode::List => {
                        m.insert(into.clone(), Value::Array(projected));
                    }
                    MergeMode::First => {
                        m.insert(
                            into.clone(),
                            projected.into_iter().next().unwrap_or(Value::Null),
                        );
                    }
                    MergeMode::Object => {
                        if let Some(Value::Object(first)) = items.into_iter().next() {
                            for (k, v) in first {
                                m.insert(k, v);
                            }
                        }
                    }
                }
            }
        }
        out.push(rec);
    }
    Ok(out)
}
