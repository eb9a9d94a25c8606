//! Date windows (`windows`): the time windows a run of an aggregation reads, one after
//! another, and the end of the last one kept in the connector state (`window_end`, by
//! operation key) once every window was read, where the next run starts.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::compile::CompiledOperation;
use crate::engine::Inner;
use crate::error::EngineError;
use crate::template::{Escape, Templates};

/// The connector-state key under which each windowed aggregation keeps its last end.
pub(crate) const STATE_KEY: &str = "window_end";

/// Most windows one run reads: more means a size far too small for the span.
const MAX_WINDOWS: usize = 100_000;

/// One window: from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    index: usize,
    start: Timestamp,
    end: Timestamp,
}

impl Window {
    /// The `window` template context.
    pub(crate) fn to_value(self) -> Value {
        json!({
            "index": self.index,
            "start": self.start.to_string(),
            "end": self.end.to_string(),
            "start_unix": self.start.as_second(),
            "end_unix": self.end.as_second(),
        })
    }
}

/// A time as a connector writes it: an RFC 3339 timestamp, a date (midnight UTC) or whole
/// seconds since the epoch.
fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return format!("{d}T00:00:00Z").parse().ok();
    }
    s.parse::<i64>()
        .ok()
        .and_then(|n| Timestamp::from_second(n).ok())
}

/// The end the last complete run of `key` kept: what this engine's runs saved, else the
/// connector state the run started with.
fn saved_end(inner: &Inner, key: &str) -> Option<String> {
    let changed = inner.hooks.state_changes();
    let from = |state: Option<&Value>| {
        state
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    from(changed.set.get(STATE_KEY)).or_else(|| from(inner.run.state.get(STATE_KEY)))
}

/// The windows this run of `op` reads (`None` when it has no `windows`): from the saved end
/// (or `start` on a first run) to `end` (or now), `size` each, the last one shorter.
pub(crate) fn plan(
    inner: &Inner,
    op: &CompiledOperation,
    ctx: &Map<String, Value>,
) -> Result<Option<Vec<Window>>, EngineError> {
    let Some(w) = &op.spec.windows else {
        return Ok(None);
    };
    let loc = format!("operations.{}.windows", op.key);
    let mut t = Templates::new();
    let ctx = Value::Object(ctx.clone());
    let mut render = |key: &str, source: &str| -> Result<Timestamp, EngineError> {
        let c = t.compile(&format!("{loc}.{key}"), source, Escape::None)?;
        let text = t.render(&c, &ctx)?;
        parse_time(&text).ok_or_else(|| {
            EngineError::Config(format!(
                "`{loc}.{key}` is `{text}`, which is not a time: use an RFC 3339 timestamp (2024-01-31T00:00:00Z), a date (2024-01-31) or seconds since 1970"
            ))
        })
    };
    let start = match saved_end(inner, &op.key) {
        Some(s) => parse_time(&s).ok_or_else(|| {
            EngineError::Config(format!(
                "the connector state's `{STATE_KEY}` of {} is `{s}`, which is not a time",
                op.key
            ))
        })?,
        None => render("start", w.start.as_str())?,
    };
    let end = match &w.end {
        Some(e) => render("end", e.as_str())?,
        None => Timestamp::now(),
    };
    let size = jiff::SignedDuration::try_from(w.size.get())
        .map_err(|e| EngineError::Config(format!("`{loc}.size`: {e}")))?;
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        if out.len() == MAX_WINDOWS {
            return Err(EngineError::Config(format!(
                "`{loc}`: from {start} to {end} in windows of {} is more than {MAX_WINDOWS} windows; use a larger `size`",
                w.size
            )));
        }
        let next = at
            .checked_add(size)
            .map_err(|e| EngineError::Config(format!("`{loc}`: {e}")))?
            .min(end);
        out.push(Window {
            index: out.len(),
            start: at,
            end: next,
        });
        at = next;
    }
    Ok(Some(out))
}

/// Keeps `last`'s end as where the next run of `op` starts (call once every window was read).
pub(crate) fn complete(inner: &Inner, op: &CompiledOperation, last: &Window) {
    let mut ends = match inner.hooks.state_changes().set.get(STATE_KEY) {
        Some(Value::Object(m)) => m.clone(),
        _ => match inner.run.state.get(STATE_KEY) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        },
    };
    ends.insert(op.key.clone(), Value::String(last.end.to_string()));
    let mut saved = Map::new();
    saved.insert(STATE_KEY.into(), Value::Object(ends));
    inner.hooks.save_values(&saved);
}
