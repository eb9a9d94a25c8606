//! The shrink guard: an aggregation that delivers far fewer records than the previous
//! complete run of the same operation and instance fails, so a source that broke (an expired
//! permission, a filter gone wrong, an API returning a partial list without saying so) cannot
//! feed a mass deletion downstream. The run history is in the state store; only complete runs
//! are recorded, and a run the guard stopped is not.

use std::sync::Arc;

use wsc_store::{InstanceKey, Store};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::time::rfc3339;

/// The guard's default: the largest drop, in percent, before a run fails.
pub const DEFAULT_MAX_SHRINK: u8 = 10;

/// The history of one aggregation (one object type, or one partition of it) of one instance.
#[derive(Debug)]
pub struct RunHistory {
    store: Arc<dyn Store>,
    key: InstanceKey,
    run_name: String,
    object: String,
    started_ms: u64,
    max_shrink: u8,
}

impl RunHistory {
    /// The history of aggregating `object` (one `partition` of it, if given) with `engine`;
    /// `max_shrink` overrides the operation's `max_shrink` (default
    /// [`DEFAULT_MAX_SHRINK`]). Call before the run starts.
    pub fn open(
        store: Arc<dyn Store>,
        key: InstanceKey,
        engine: &Engine,
        object: &str,
        partition: Option<&str>,
        max_shrink: Option<u8>,
    ) -> Result<RunHistory, EngineError> {
        let max_shrink = engine.max_shrink(object, max_shrink)?;
        let run_name = match partition {
            Some(p) => format!("aggregate-full:{object}:{p}"),
            None => format!("aggregate-full:{object}"),
        };
        Ok(RunHistory {
            store,
            key,
            run_name,
            object: object.to_string(),
            started_ms: wsc_auth::token::now_ms(),
            max_shrink,
        })
    }

    /// Checks a complete run's record count against the previous complete run. Call before
    /// the output is committed.
    pub fn check(&self, records: u64) -> Result<(), EngineError> {
        let Some((started, _, previous)) = self.store.last_run(&self.key, &self.run_name)? else {
            return Ok(());
        };
        check_shrink(
            &self.object,
            previous,
            records,
            self.max_shrink,
            &format!(
                "the previous complete run (started {})",
                rfc3339((started / 1000) as i64)
            ),
        )
    }

    /// Records a complete run (after its output was committed).
    pub fn record(&self, records: u64) -> Result<(), EngineError> {
        Ok(self
            .store
            .record_run(&self.key, &self.run_name, self.started_ms, records)?)
    }
}

impl Engine {
    /// The shrink guard's limit for aggregating `object`: `given` (`--max-shrink`), else the
    /// aggregation's `max_shrink`, else [`DEFAULT_MAX_SHRINK`].
    pub fn max_shrink(&self, object: &str, given: Option<u8>) -> Result<u8, EngineError> {
        let op = self.op(&Self::aggregation_key(object))?;
        Ok(given
            .or(op.spec.max_shrink)
            .unwrap_or(DEFAULT_MAX_SHRINK)
            .min(100))
    }
}

/// Fails when `now` is more than `max_shrink` percent below `previous`.
pub fn check_shrink(
    object: &str,
    previous: u64,
    now: u64,
    max_shrink: u8,
    what: &str,
) -> Result<(), EngineError> {
    if max_shrink >= 100 || now >= previous {
        return Ok(());
    }
    let lost = previous - now;
    // lost / previous > max_shrink / 100, in integers.
    if u128::from(lost) * 100 <= u128::from(previous) * u128::from(max_shrink) {
        return Ok(());
    }
    let pct = (u128::from(lost) * 100).div_ceil(u128::from(previous));
    Err(EngineError::Shrink(format!(
        "{object}: this run delivered {now} records, {what} delivered {previous}: {pct}% fewer, more than the {max_shrink}% the guard allows (`max_shrink` on the aggregation, `--max-shrink` on the command line). A source that lost records would feed a mass deletion downstream, so nothing was written; if the drop is real, run again with `--max-shrink {pct}` (or 100 to turn the guard off)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_inclusive_and_100_turns_it_off() {
        let ok = |p, n, m| check_shrink("account", p, n, m, "x").is_ok();
        assert!(ok(100, 90, 10));
        assert!(!ok(100, 89, 10));
        assert!(ok(100, 0, 100));
        assert!(!ok(100, 99, 0));
        assert!(ok(0, 0, 0));
        assert!(ok(10, 20, 0));
        let e = check_shrink("account", 1000, 400, 10, "the previous run").unwrap_err();
        assert!(e.to_string().contains("60% fewer"), "{e}");
        assert!(e.to_string().contains("--max-shrink 60"), "{e}");
    }
}
