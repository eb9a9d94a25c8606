//! Running `setup` requests: per partition before its pages, per record before the steps
//! that read per record and before mapping. An answer an `accept` rule takes goes on; one a
//! `skip` rule takes leaves the partition or record out with a warning in the run's summary;
//! any other answer fails the run.

use serde_json::{Map, Value};
use wsc_spec::model::SetupRun;

use super::StepRun;
use crate::compile_setup::{CompiledSetup, Judged};
use crate::doc::Doc;
use crate::error::EngineError;
use crate::http::{Origin, Verdict};

/// What the setup requests said about one partition or record.
pub(crate) enum SetupOutcome {
    /// Every one accepted: read it.
    Go,
    /// One skipped it (the warning is recorded).
    Skip,
}

/// Runs the operation's setup requests of kind `when` with `ctx` (which holds `partition` or
/// `record`), in order; `what` names the partition or record in warnings.
pub(crate) async fn run_setups(
    run: &StepRun,
    when: SetupRun,
    ctx: &Map<String, Value>,
    what: &str,
) -> Result<SetupOutcome, EngineError> {
    let Some(setups) = run.inner.setups.get(&run.op.key) else {
        return Ok(SetupOutcome::Go);
    };
    for s in setups.iter().filter(|s| s.run == when) {
        if let SetupOutcome::Skip = run_one(run, s, ctx, what).await? {
            return Ok(SetupOutcome::Skip);
        }
    }
    Ok(SetupOutcome::Go)
}

/// Whether the operation has setup requests of kind `when`.
pub(crate) fn has_setups(run: &StepRun, when: SetupRun) -> bool {
    run.inner
        .setups
        .get(&run.op.key)
        .is_some_and(|l| l.iter().any(|s| s.run == when))
}

async fn run_one(
    run: &StepRun,
    s: &CompiledSetup,
    ctx: &Map<String, Value>,
    what: &str,
) -> Result<SetupOutcome, EngineError> {
    let inner = &run.inner;
    let origin = Origin {
        connector: inner.name.clone(),
        operation: run.op.key.clone(),
        step: Some(format!("setup {}", s.name)),
        page: None,
    };
    let request = s.request.render(
        &inner.templates,
        &inner.base_url,
        &Value::Object(ctx.clone()),
    )?;
    let accept = |_: &crate::message::Response| Verdict::Accept;
    let (resp, _) = inner
        .http
        .send_counted(&request, &origin, &s.statuses, &accept, 0, &[])
        .await?;
    let doc = if resp.body.iter().all(u8::is_ascii_whitespace) {
        Doc::Null
    } else {
        Doc::parse(&resp.body).unwrap_or(Doc::Null)
    };
    match s.judge(resp.status, &resp.body, &doc) {
        Judged::Accepted => Ok(SetupOutcome::Go),
        Judged::Skipped => {
            inner.stats.warn(
                &origin,
                &format!(
                    "{what} skipped: setup `{}` got HTTP {} ({}), which its `skip` rules take; its records are left out of this run",
                    s.name,
                    resp.status,
                    inner.http.body_start(&resp.body)
                ),
            );
            Ok(SetupOutcome::Skip)
        }
        Judged::Refused => Err(EngineError::InBody {
            origin,
            status: resp.status,
            message: format!(
                "setup `{}` for {what}: the answer matches neither its `accept` nor its `skip` rules (body: {})",
                s.name,
                inner.http.body_start(&resp.body)
            ),
        }),
    }
}

/// Runs the `per_record` setup requests for each record of a page (4 at a time, order
/// kept) and keeps the records none of them skipped.
pub(crate) async fn keep_records(
    run: &StepRun,
    records: Vec<Value>,
) -> Result<Vec<Value>, EngineError> {
    use futures_util::StreamExt;
    let mut jobs = futures_util::stream::iter(records.into_iter().map(|rec| async move {
        let mut c = (*run.ctx).clone();
        c.insert(wsc_spec::template::Context::Record.into(), rec.clone());
        let what = format!("record {}", Doc::from_value(&rec).snippet(80));
        let outcome = run_setups(run, SetupRun::PerRecord, &c, &what).await?;
        Ok::<_, EngineError>((rec, outcome))
    }))
    .buffered(4);
    let mut kept = Vec::new();
    while let Some(r) = jobs.next().await {
        if let (rec, SetupOutcome::Go) = r? {
            kept.push(rec);
        }
    }
    Ok(kept)
}
