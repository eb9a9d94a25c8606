//! The hook runtime: one sandboxed Rhai engine per connector, hooks compiled once, runs over
//! JSON values.

use std::sync::Arc;

use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine, EvalAltResult, Position};

use crate::context::{LogBudget, Redact, stop_reason};
use crate::limits::Limits;

mod compile;
mod compiled;
mod errors;
mod hooks;
mod records;
mod scope;
mod thread;
mod views;

pub use self::compiled::CompiledHook;
pub use self::views::{
    AfterOutcome, HookOutcome, HookScope, RequestView, ResponseView, SkippedRecord, StateChanges,
};

/// A module resolver that refuses everything: hooks cannot load modules or files.
struct RefuseModules;

impl rhai::ModuleResolver for RefuseModules {
    fn resolve(
        &self,
        _engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<rhai::Shared<rhai::Module>, Box<EvalAltResult>> {
        Err(EvalAltResult::ErrorModuleNotFound(path.to_string(), pos).into())
    }
}

/// The sandboxed hook runtime of one connector: compiles hooks once and runs them.
///
/// `HookRuntime` is `Send + Sync`: share it (e.g. in an `Arc`) between the tasks of an
/// operation. A run is synchronous and bounded by [`Limits`]: it runs on the calling thread, on a
/// stack of its own (see `runtime/thread.rs`), and takes at most
/// [`Limits::max_duration`] plus the time of one operation.
pub struct HookRuntime {
    engine: Engine,
    connector: Arc<str>,
    limits: Limits,
    log: Arc<LogBudget>,
    redact: Option<Redact>,
    /// Maps and strings of the last page of records, for the next (`spare.rs`).
    spare: std::sync::Mutex<crate::spare::Spare>,
}

impl std::fmt::Debug for HookRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookRuntime")
            .field("connector", &self.connector)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl HookRuntime {
    /// A runtime for the connector named `connector` (used in errors and log events).
    pub fn new(connector: impl Into<String>, limits: Limits) -> HookRuntime {
        // Rhai reads 0 as "no limit" for these; a hook is never unlimited, so 0 means 1.
        let limits = limits.normalized();
        let mut engine = Engine::new_raw();
        engine.register_global_module(StandardPackage::new().as_shared_module());
        engine.set_max_strings_interned(256);

        // Sandbox: no modules, no eval.
        engine.set_module_resolver(RefuseModules);
        engine.disable_symbol("import");
        engine.disable_symbol("eval");
        engine.set_strict_variables(true);

        engine.set_max_operations(limits.max_operations);
        engine.set_max_call_levels(limits.max_call_depth);
        engine.set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth);
        engine.set_max_string_size(limits.max_string_size);
        engine.set_max_array_size(limits.max_array_size);
        engine.set_max_map_size(limits.max_map_size);
        engine.set_max_variables(limits.max_variables);
        engine.set_max_modules(0);
        // After every operation: the watchdog's flag (time) and the thread's memory count.
        engine.on_progress(|_| stop_reason().map(Dynamic::from));
        crate::stdlib::register(&mut engine);

        HookRuntime {
            engine,
            connector: Arc::from(connector.into()),
            log: Arc::new(LogBudget::new(limits.max_log_message, limits.max_log_total)),
            limits,
            redact: None,
            spare: Default::default(),
        }
    }

    /// Hides secret values in everything a hook can make visible: its error messages, its log
    /// messages, and the strings of the records (`after`) and `result` (`after_operation`) it
    /// gives back. `redact` returns its text with every secret replaced. What a hook puts in
    /// the request (`before`) or in `state` is not changed: sending a credential is what a
    /// `before` hook may be for, and state is stored encrypted.
    pub fn with_redaction(mut self, redact: Redact) -> HookRuntime {
        self.redact = Some(redact);
        self
    }

    /// The connector's name.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// The limits every run is held to.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The nesting allowed in values a hook gives back.
    pub(crate) fn depth(&self) -> crate::convert::Depth {
        crate::convert::Depth::new(self.limits.max_depth)
    }

    /// Text with secret values replaced (see [`HookRuntime::with_redaction`]).
    pub(crate) fn redact_text(&self, text: String) -> String {
        match &self.redact {
            Some(r) => r(&text),
            None => text,
        }
    }
}

impl Drop for HookRuntime {
    fn drop(&mut self) {
        let dropped = self.log.dropped();
        if dropped > 0 {
            tracing::warn!(
                target: "wsc::hook",
                connector = %self.connector,
                "{dropped} hook log message(s) were dropped: hooks of this connector wrote more \
                 than {} bytes of log messages (limits.max_log_total)",
                self.limits.max_log_total
            );
        }
    }
}
