//! The hook running on this thread: for log events, the time and memory limits, and the
//! redaction of secrets.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Replaces secret values in a text (see [`crate::HookRuntime::with_redaction`]).
pub type Redact = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// The run under way on this thread.
pub(crate) struct RunCtx {
    pub(crate) connector: Arc<str>,
    pub(crate) hook: Arc<str>,
    /// Added to script lines to get file lines (inline hooks).
    pub(crate) line_offset: usize,
    /// Raised by the watchdog when the time is up.
    pub(crate) cancel: Arc<AtomicBool>,
    /// Bytes this thread held when the script started, and the most it may hold above that
    /// (`None` when the counting allocator is not installed).
    pub(crate) memory: Option<(i64, i64)>,
    /// The log budget of the runtime.
    pub(crate) log: Arc<LogBudget>,
    /// Hides secret values in log messages.
    pub(crate) redact: Option<Redact>,
    /// [`crate::Limits::max_depth`], for `json_stringify`.
    pub(crate) max_depth: usize,
}

/// How much hooks may log: per message, and in total for one runtime.
#[derive(Debug)]
pub(crate) struct LogBudget {
    pub(crate) max_message: usize,
    pub(crate) max_total: usize,
    used: AtomicUsize,
    dropped: AtomicU64,
}

/// What to do with a log message.
pub(crate) enum LogAdmit {
    /// Log it.
    Log,
    /// Drop it, and say once that messages are being dropped.
    FirstDropped,
    /// Drop it.
    Dropped,
}

impl LogBudget {
    pub(crate) fn new(max_message: usize, max_total: usize) -> LogBudget {
        LogBudget {
            max_message,
            max_total,
            used: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Takes `bytes` from the budget.
    pub(crate) fn admit(&self, bytes: usize) -> LogAdmit {
        let before = self.used.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) <= self.max_total {
            return LogAdmit::Log;
        }
        self.used.fetch_sub(bytes, Ordering::Relaxed);
        if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
            LogAdmit::FirstDropped
        } else {
            LogAdmit::Dropped
        }
    }

    /// Messages dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<RunCtx>> = const { RefCell::new(None) };
}

/// Marks a run as under way on this thread; restores the previous one when dropped.
pub(crate) struct RunGuard(Option<RunCtx>);

impl RunGuard {
    /// Enters `ctx` as this thread's run.
    pub(crate) fn enter(ctx: RunCtx) -> RunGuard {
        RunGuard(CURRENT.with(|c| c.borrow_mut().replace(ctx)))
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// What a log event needs of the run: connector, hook, line offset, budget, redaction.
pub(crate) struct LogCtx {
    pub(crate) connector: Arc<str>,
    pub(crate) hook: Arc<str>,
    pub(crate) line_offset: usize,
    pub(crate) log: Option<Arc<LogBudget>>,
    pub(crate) redact: Option<Redact>,
}

/// The run on this thread, for log events.
pub(crate) fn current_log() -> LogCtx {
    CURRENT.with(|c| match c.borrow().as_ref() {
        Some(ctx) => LogCtx {
            connector: ctx.connector.clone(),
            hook: ctx.hook.clone(),
            line_offset: ctx.line_offset,
            log: Some(ctx.log.clone()),
            redact: ctx.redact.clone(),
        },
        None => LogCtx {
            connector: Arc::from(""),
            hook: Arc::from(""),
            line_offset: 0,
            log: None,
            redact: None,
        },
    })
}

/// Why the run under way must stop now, if it must: `"timeout"` or `"memory"`.
pub(crate) fn stop_reason() -> Option<&'static str> {
    CURRENT.with(|c| {
        let c = c.borrow();
        let ctx = c.as_ref()?;
        if ctx.cancel.load(Ordering::Relaxed) {
            return Some("timeout");
        }
        if let Some((base, max)) = ctx.memory
            && crate::alloc::held() - base > max
        {
            return Some("memory");
        }
        None
    })
}

/// The depth limit of the run on this thread (the default outside a run).
pub(crate) fn current_depth() -> crate::convert::Depth {
    let max = CURRENT.with(|c| c.borrow().as_ref().map(|ctx| ctx.max_depth));
    crate::convert::Depth::new(max.unwrap_or_else(|| crate::Limits::default().max_depth))
}
