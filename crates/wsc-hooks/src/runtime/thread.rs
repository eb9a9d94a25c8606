//! Each hook run on a stack of its own, under a watchdog for the time limit, with a fresh
//! count for the memory limit.
//!
//! Rhai clones, compares, prints and drops arrays and maps recursively, one stack frame (or a
//! few) per level of nesting, and a script can nest a value as deep as it has time for
//! (`let a = []; loop { a = [a]; }`: each level copies the whole value, so `n` levels take
//! time in `n²`). On a 2 MiB worker stack about 20,000 levels abort the process. A run gets
//! [`HOOK_STACK`] of address space (only the pages touched become memory), measured to hold
//! far more levels than a script reaches within [`crate::limits::MAX_DURATION_CAP`]; see
//! `docs/hooks.md`, "Limits". Everything of a run happens on that stack: converting the values
//! in, the script, converting the values out (where nesting is checked against
//! [`crate::Limits::max_depth`]) and dropping what the script built.
//!
//! The stack is switched to on the calling thread (`stacker`), not on a thread started per
//! run: starting a thread and waiting for it cost about 0.5 ms per run on a loaded machine (2
//! µs per record of a 250-record page). One watchdog thread per process raises the cancel
//! flag of each run whose time is up; the memory count is the calling thread's, taken from
//! the start of the run (a run is synchronous: nothing else allocates on that thread
//! meanwhile).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rhai::Position;
use serde_json::Value;

use super::HookRuntime;
use super::compiled::CompiledHook;
use crate::error::{HookError, HookErrorKind};

/// The stack of a hook run: address space reserved, not memory used.
pub(crate) const HOOK_STACK: usize = 256 << 20;

/// Raised by the watchdog when a run's time is up.
pub(crate) type Cancel = Arc<AtomicBool>;

/// A run under way: its deadline, id and cancel flag.
type Run = (Instant, u64, Cancel);

/// The runs under way (and the last id given), watched by one thread.
struct Watchdog {
    runs: Mutex<(u64, Vec<Run>)>,
    changed: Condvar,
}

fn watchdog() -> &'static Watchdog {
    static W: OnceLock<&'static Watchdog> = OnceLock::new();
    W.get_or_init(|| {
        let w: &'static Watchdog = Box::leak(Box::new(Watchdog {
            runs: Mutex::new((0, Vec::new())),
            changed: Condvar::new(),
        }));
        let spawned = std::thread::Builder::new()
            .name("wsc-hook-watchdog".into())
            .spawn(move || w.watch());
        if let Err(e) = spawned {
            // Without it no run would ever time out: fail loudly, once, here.
            panic!("cannot start the hook watchdog thread: {e}");
        }
        w
    })
}

impl Watchdog {
    fn watch(&self) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            runs.1.retain(|(deadline, _, cancel)| {
                if *deadline <= now {
                    cancel.store(true, Ordering::Relaxed);
                    false
                } else {
                    true
                }
            });
            let next = runs.1.iter().map(|r| r.0).min();
            runs = match next {
                None => self.changed.wait(runs).unwrap_or_else(|e| e.into_inner()),
                Some(at) => {
                    self.changed
                        .wait_timeout(runs, at.saturating_duration_since(now))
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Raises `cancel` when `limit` has passed, unless the guard is dropped first.
    fn start(&'static self, cancel: &Cancel, limit: Duration) -> Watched {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.0 += 1;
        let id = runs.0;
        let deadline = Instant::now() + limit;
        let earliest = runs.1.iter().all(|r| r.0 > deadline);
        runs.1.push((deadline, id, cancel.clone()));
        drop(runs);
        if earliest {
            self.changed.notify_one();
        }
        Watched { dog: self, id }
    }
}

/// A run under the watchdog; dropping it ends the watch.
struct Watched {
    dog: &'static Watchdog,
    id: u64,
}

impl Drop for Watched {
    fn drop(&mut self) {
        let mut runs = self.dog.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.1.retain(|r| r.1 != self.id);
    }
}

impl HookRuntime {
    /// Runs `f` (one whole hook run) on a hook stack, raising its cancel flag when
    /// [`crate::Limits::max_duration`] has passed.
    pub(super) fn sandboxed<R: Send>(
        &self,
        hook: &CompiledHook,
        f: impl FnOnce(&Cancel) -> Result<R, HookError> + Send,
    ) -> Result<R, HookError> {
        let cancel: Cancel = Arc::new(AtomicBool::new(false));
        let watched = watchdog().start(&cancel, self.limits.max_duration);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            stacker::grow(HOOK_STACK, || f(&cancel))
        }));
        drop(watched);
        r.unwrap_or_else(|_| {
            Err(HookError {
                location: self.hook_location(hook, Position::NONE),
                kind: HookErrorKind::Runtime,
                message: "the hook runtime failed (a bug in wsc: the hook run panicked)".into(),
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
