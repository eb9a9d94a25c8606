//! Each hook run on a thread of its own: a stack that fits the deepest value a script can
//! build, a watchdog for the time limit, and a fresh count for the memory limit.
//!
//! Rhai clones, compares, prints and drops arrays and maps recursively, one stack frame (or a
//! few) per level of nesting, and a script can nest a value as deep as it has time for
//! (`let a = []; loop { a = [a]; }`: each level copies the whole value, so `n` levels take
//! time in `n²`). On a 2 MiB worker stack about 20,000 levels abort the process. A hook thread
//! gets [`HOOK_STACK`] of address space (only the pages touched become memory), measured to
//! hold far more levels than a script reaches within [`crate::limits::MAX_DURATION_CAP`]; see
//! `docs/hooks.md`, "Limits". Everything of a run happens on that thread: converting the
//! values in, the script, converting the values out (where nesting is checked against
//! [`crate::Limits::max_depth`]) and dropping what the script built.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};

use rhai::Position;
use serde_json::Value;

use super::HookRuntime;
use super::compiled::CompiledHook;
use crate::error::{HookError, HookErrorKind};

/// The stack of a hook thread: address space reserved, not memory used.
pub(crate) const HOOK_STACK: usize = 256 << 20;

/// Raised by the watchdog when a run's time is up.
pub(crate) type Cancel = Arc<AtomicBool>;

impl HookRuntime {
    /// Runs `f` (one whole hook run) on a hook thread, raising its cancel flag when
    /// [`crate::Limits::max_duration`] has passed; waits for it to finish.
    pub(super) fn sandboxed<R: Send>(
        &self,
        hook: &CompiledHook,
        f: impl FnOnce(&Cancel) -> Result<R, HookError> + Send,
    ) -> Result<R, HookError> {
        let cancel: Cancel = Arc::new(AtomicBool::new(false));
        let (done, finished) = channel::<()>();
        // Log events of the hook go where the caller's would, inside the caller's span.
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let span = tracing::Span::current();
        std::thread::scope(|s| {
            let flag = cancel.clone();
            let handle = std::thread::Builder::new()
                .name("wsc-hook".into())
                .stack_size(HOOK_STACK)
                .spawn_scoped(s, move || {
                    let r =
                        tracing::dispatcher::with_default(&dispatch, || span.in_scope(|| f(&flag)));
                    drop(done);
                    r
                })
                .map_err(|e| HookError {
                    location: self.hook_location(hook, Position::NONE),
                    kind: HookErrorKind::Runtime,
                    message: format!("cannot start a thread for the hook: {e}"),
                })?;
            if let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(self.limits.max_duration)
            {
                cancel.store(true, Ordering::Relaxed);
            }
            handle.join().unwrap_or_else(|_| {
                Err(HookError {
                    location: self.hook_location(hook, Position::NONE),
                    kind: HookErrorKind::Runtime,
                    message: "the hook runtime failed (a bug in wsc: the hook thread panicked)"
                        .into(),
                })
            })
        })
    }

    /// Replaces secret values in every string of records a hook gave back.
    pub(super) fn redact_values(&self, values: &mut [Value]) {
        let Some(redact) = &self.redact else {
            return;
        };
        // Usually no record holds a secret: one pass over all their text (each string and key
        // followed by a NUL, so no match spans two of them) says so with one call, instead of
        // one call per string.
        let mut all = String::new();
        let mut stack: Vec<&Value> = values.iter().collect();
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => {
                    all.push_str(s);
                    all.push('\0');
                }
                Value::Array(a) => stack.extend(a.iter()),
                Value::Object(o) => {
                    for (k, v) in o {
                        all.push_str(k);
                        all.push('\0');
                        stack.push(v);
                    }
                }
                _ => {}
            }
        }
        if redact(&all) == all {
            return;
        }
        for v in values {
            self.redact_value(v);
        }
    }

    /// Replaces secret values in every string (keys included) of a value a hook gave back.
    pub(super) fn redact_value(&self, value: &mut Value) {
        let Some(redact) = &self.redact else {
            return;
        };
        let mut stack = vec![value];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => {
                    let r = redact(s);
                    if r != *s {
                        *s = r;
                    }
                }
                Value::Array(a) => stack.extend(a.iter_mut()),
                Value::Object(o) => {
                    if o.keys().any(|k| redact(k) != *k) {
                        let old = std::mem::take(o);
                        *o = old.into_iter().map(|(k, v)| (redact(&k), v)).collect();
                    }
                    stack.extend(o.values_mut());
                }
                _ => {}
            }
        }
    }
}
