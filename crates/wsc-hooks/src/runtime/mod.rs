//! The hook runtime: one sandboxed Rhai engine per connector, hooks compiled once, runs over
//! JSON values.

use std::sync::Arc;

use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine, EvalAltResult, Position};

use crate::context::past_deadline;
use crate::limits::Limits;

mod compile;
mod compiled;
mod errors;
mod hooks;
mod scope;
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
/// operation. A run is synchronous and bounded by [`Limits`]; with the default limits it takes
/// at most tens of milliseconds, so it may run directly on an async task.
pub struct HookRuntime {
    engine: Engine,
    connector: Arc<str>,
    limits: Limits,
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
        let limits = Limits {
            max_operations: limits.max_operations.max(1),
            max_expr_depth: limits.max_expr_depth.max(1),
            max_function_expr_depth: limits.max_function_expr_depth.max(1),
            max_string_size: limits.max_string_size.max(1),
            max_array_size: limits.max_array_size.max(1),
            max_map_size: limits.max_map_size.max(1),
            ..limits
        };
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
        if limits.max_duration.is_some() {
            engine.on_progress(|ops| {
                if ops % 1024 == 0 && past_deadline() {
                    Some(Dynamic::from("timeout"))
                } else {
                    None
                }
            });
        }
        crate::stdlib::register(&mut engine);

        HookRuntime {
            engine,
            connector: Arc::from(connector.into()),
            limits,
        }
    }

    /// The connector's name.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// The limits every run is held to.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}
