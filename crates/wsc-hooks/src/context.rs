//! The hook running on this thread, for log events and the time limit.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Instant;

/// The run under way on this thread.
pub(crate) struct RunCtx {
    pub(crate) connector: Arc<str>,
    pub(crate) hook: Arc<str>,
    /// Added to script lines to get file lines (inline hooks).
    pub(crate) line_offset: usize,
    pub(crate) deadline: Option<Instant>,
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

/// The connector and hook running on this thread, and the hook's line offset, for log events.
pub(crate) fn current_hook() -> (Arc<str>, Arc<str>, usize) {
    CURRENT.with(|c| match c.borrow().as_ref() {
        Some(ctx) => (ctx.connector.clone(), ctx.hook.clone(), ctx.line_offset),
        None => (Arc::from(""), Arc::from(""), 0),
    })
}

/// Whether the run under way has passed its time limit.
pub(crate) fn past_deadline() -> bool {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .and_then(|ctx| ctx.deadline)
            .is_some_and(|d| Instant::now() > d)
    })
}
