//! The hook runtime: one sandboxed Rhai engine per connector, hooks compiled once, runs over
//! JSON values.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rhai::packages::{Package, StandardPackage};
use rhai::{AST, Dynamic, Engine, EvalAltResult, ParseError, Position, Scope};
use serde_json::{Map as JsonMap, Value};
use wsc_spec::model::{Hook, HookErrorMode};

use crate::convert::{from_dynamic, map_to_object, object_to_map, to_dynamic};
use crate::error::{CompileError, CompileErrorKind, HookError, HookErrorKind, HookLocation};
use crate::limits::Limits;
use crate::origin::{HookKind, HookOrigin, SourcePos};

// ---------------------------------------------------------------------------------------------
// What scripts see.

/// The request a `before` hook sees as `request` and may change.
///
/// The script sees an object map `#{method, url, query, headers, body}`. After the run, the
/// values it left are read back: `method` is upper-cased; a header or query value that is a
/// number or bool becomes a string, `()` removes the entry, an array gives a repeated entry
/// (its items become strings); `body` is any JSON (`()` = no body).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestView {
    /// HTTP method, upper case: `GET`, `POST`...
    pub method: String,
    /// The full URL, without the query parameters in [`RequestView::query`].
    pub url: String,
    /// Query parameters: name → string, or array of strings for a repeated parameter.
    pub query: JsonMap<String, Value>,
    /// Headers: name → string, or array of strings for a repeated header.
    pub headers: JsonMap<String, Value>,
    /// The JSON body, or `Null` when the request has none.
    pub body: Value,
}

/// The response an `after` hook sees as `response` (read-only).
///
/// The script sees `#{status, headers, body, json}`: `body` is the raw text, `json` the parsed
/// body (`()` when it is not JSON).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseView {
    /// HTTP status code.
    pub status: u16,
    /// Response headers: name → string (or array of strings).
    pub headers: JsonMap<String, Value>,
    /// The raw body text.
    pub body: String,
    /// The parsed JSON body, or `Null`.
    pub json: Value,
}

/// The read-only context every hook sees, and the connector state it may change.
#[derive(Debug, Clone, PartialEq)]
pub struct HookScope {
    /// The operation's name (`account_aggregation`, `create_account`...), seen as `operation`.
    pub operation: String,
    /// The connector's resolved settings, seen as `settings`. Default `{}`.
    pub settings: Value,
    /// The provisioning plan, seen as `plan` (`()` for aggregations).
    pub plan: Value,
    /// The current page (`offset`, `limit`, `number`, `cursor`...), seen as `page`.
    pub page: Value,
    /// The previous step's response, seen as `prev` (`()` for the first step).
    pub prev: Value,
    /// The connector state, seen as `state`. A script may change it; the changes come back in
    /// [`HookOutcome::state`], for the caller to persist.
    pub state: JsonMap<String, Value>,
}

impl Default for HookScope {
    fn default() -> Self {
        HookScope {
            operation: String::new(),
            settings: Value::Object(JsonMap::new()),
            plan: Value::Null,
            page: Value::Null,
            prev: Value::Null,
            state: JsonMap::new(),
        }
    }
}

/// Changes a hook made to the connector state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StateChanges {
    /// Keys set or changed, with their new values.
    pub set: JsonMap<String, Value>,
    /// Keys removed.
    pub removed: Vec<String>,
}

impl StateChanges {
    /// Whether the hook left the state as it was.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.removed.is_empty()
    }

    /// Applies the changes to a state map.
    pub fn apply_to(&self, state: &mut JsonMap<String, Value>) {
        for k in &self.removed {
            state.remove(k);
        }
        for (k, v) in &self.set {
            state.insert(k.clone(), v.clone());
        }
    }

    /// Adds later changes to these (the later ones win).
    pub fn merge(&mut self, later: StateChanges) {
        for k in later.removed {
            self.set.remove(&k);
            if !self.removed.contains(&k) {
                self.removed.push(k);
            }
        }
        for (k, v) in later.set {
            self.removed.retain(|r| *r != k);
            self.set.insert(k, v);
        }
    }

    fn diff(before: &JsonMap<String, Value>, after: JsonMap<String, Value>) -> StateChanges {
        let removed = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .cloned()
            .collect();
        let set = after
            .into_iter()
            .filter(|(k, v)| before.get(k) != Some(v))
            .collect();
        StateChanges { set, removed }
    }
}

/// What a hook run gives back besides the values it changed in place.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HookOutcome {
    /// Changes to the connector state.
    pub state: StateChanges,
    /// The new plan, when a `before_operation` hook changed it (always `None` for other hooks).
    pub plan: Option<Value>,
}

/// A record an `after` hook failed on, with `on_error: skip_record`.
#[derive(Debug, Clone)]
pub struct SkippedRecord {
    /// Its index in the page given to the hook.
    pub index: usize,
    /// The record as it was given to the hook.
    pub record: Value,
    /// Why the hook failed on it.
    pub error: HookError,
}

/// What [`HookRuntime::after_with_mode`] gives back.
#[derive(Debug, Clone, Default)]
pub struct AfterOutcome {
    /// State changes (of the successful runs).
    pub outcome: HookOutcome,
    /// Records dropped because the hook failed on them (only with `skip_record`).
    pub skipped: Vec<SkippedRecord>,
}

// ---------------------------------------------------------------------------------------------
// Compiled hooks.

/// Variables a script mentions; others are not built for it.
#[derive(Debug, Clone, Copy, Default)]
struct Uses(u16);

const VARS: [&str; 10] = [
    "operation",
    "settings",
    "plan",
    "page",
    "prev",
    "state",
    "request",
    "response",
    "records",
    "result",
];

impl Uses {
    fn scan(source: &str) -> Uses {
        let mut bits = 0u16;
        for word in source.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if let Some(i) = VARS.iter().position(|v| *v == word) {
                bits |= 1 << i;
            }
        }
        Uses(bits)
    }

    fn has(self, name: &str) -> bool {
        VARS.iter()
            .position(|v| *v == name)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }
}

#[derive(Debug)]
struct CompiledInner {
    ast: AST,
    kind: HookKind,
    name: Arc<str>,
    connector_file: PathBuf,
    file: PathBuf,
    inline: bool,
    start: SourcePos,
    uses: Uses,
}

/// A hook compiled once, at connector load; cheap to clone and shareable across threads.
#[derive(Debug, Clone)]
pub struct CompiledHook {
    inner: Arc<CompiledInner>,
}

impl CompiledHook {
    /// The hook point it was compiled for.
    pub fn kind(&self) -> HookKind {
        self.inner.kind
    }

    /// The hook's name (from its [`HookOrigin`]).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The file the script is in: the hook file, or the connector file for an inline hook.
    pub fn file(&self) -> &Path {
        &self.inner.file
    }

    /// Whether the script is inline in the connector file.
    pub fn is_inline(&self) -> bool {
        self.inner.inline
    }
}

// ---------------------------------------------------------------------------------------------
// The thread's current run, for logging and the time limit.

struct RunCtx {
    connector: Arc<str>,
    hook: Arc<str>,
    /// Added to script lines to get file lines (inline hooks).
    line_offset: usize,
    deadline: Option<Instant>,
}

thread_local! {
    static CURRENT: RefCell<Option<RunCtx>> = const { RefCell::new(None) };
}

struct RunGuard(Option<RunCtx>);

impl RunGuard {
    fn enter(ctx: RunCtx) -> RunGuard {
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

fn past_deadline() -> bool {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .and_then(|ctx| ctx.deadline)
            .is_some_and(|d| Instant::now() > d)
    })
}

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

// ---------------------------------------------------------------------------------------------
// The runtime.

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

    /// Compiles a hook of the connector model: reads its `file` (see
    /// [`HookOrigin::resolve_file`]) or takes its inline `script`. Call once per hook, at load.
    pub fn compile(&self, hook: &Hook, origin: &HookOrigin) -> Result<CompiledHook, CompileError> {
        match (&hook.file, &hook.script) {
            (Some(file), None) => {
                let path = origin.resolve_file(file);
                let source = std::fs::read_to_string(&path).map_err(|e| CompileError {
                    location: self.location(origin, &path, false, None),
                    kind: CompileErrorKind::Io,
                    message: format!("cannot read hook file {}: {e}", path.display()),
                })?;
                self.compile_at(&source, origin, path, false)
            }
            (None, Some(script)) => {
                self.compile_at(script, origin, origin.connector_file.clone(), true)
            }
            _ => Err(CompileError {
                location: self.location(origin, &origin.connector_file, true, None),
                kind: CompileErrorKind::Invalid,
                message: "a hook needs exactly one of `file` and `script`".into(),
            }),
        }
    }

    /// Compiles script text. With [`HookOrigin::hook_file`] set, positions are in that file;
    /// otherwise the script is taken as inline in the connector file, starting at
    /// [`HookOrigin::inline_start`].
    pub fn compile_source(
        &self,
        source: &str,
        origin: &HookOrigin,
    ) -> Result<CompiledHook, CompileError> {
        match &origin.hook_file {
            Some(f) => self.compile_at(source, origin, f.clone(), false),
            None => self.compile_at(source, origin, origin.connector_file.clone(), true),
        }
    }

    fn compile_at(
        &self,
        source: &str,
        origin: &HookOrigin,
        file: PathBuf,
        inline: bool,
    ) -> Result<CompiledHook, CompileError> {
        let mut scope = Scope::new();
        for v in origin.kind.variables() {
            scope.push_dynamic(*v, Dynamic::UNIT);
        }
        let mut ast = self
            .engine
            .compile_with_scope(&scope, source)
            .map_err(|e| self.parse_error(e, origin, &file, inline))?;
        ast.set_source(origin.name.as_str());
        Ok(CompiledHook {
            inner: Arc::new(CompiledInner {
                ast,
                kind: origin.kind,
                name: Arc::from(origin.name.as_str()),
                connector_file: origin.connector_file.clone(),
                file,
                inline,
                start: origin.inline_start,
                uses: Uses::scan(source),
            }),
        })
    }

    fn parse_error(
        &self,
        e: ParseError,
        origin: &HookOrigin,
        file: &Path,
        inline: bool,
    ) -> CompileError {
        let pos = map_pos(e.position(), inline, origin.inline_start);
        let location = self.location(origin, file, inline, pos);
        let text = e.0.to_string();
        for word in ["import", "eval"] {
            if text.contains(&format!("'{word}'")) {
                return CompileError {
                    location,
                    kind: CompileErrorKind::Refused,
                    message: format!(
                        "`{word}` is not allowed in hooks: hooks run sandboxed and cannot load \
                         modules, files or code"
                    ),
                };
            }
        }
        let message = match &*e.0 {
            rhai::ParseErrorType::VariableUndefined(name) => format!(
                "unknown variable `{name}`; {} `{}` hook sees {}",
                if origin.kind.key().starts_with('a') {
                    "an"
                } else {
                    "a"
                },
                origin.kind,
                origin
                    .kind
                    .variables()
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => text,
        };
        CompileError {
            location,
            kind: CompileErrorKind::Syntax,
            message,
        }
    }

    fn location(
        &self,
        origin: &HookOrigin,
        file: &Path,
        inline: bool,
        pos: Option<(usize, Option<usize>)>,
    ) -> Box<HookLocation> {
        Box::new(HookLocation {
            connector: self.connector.to_string(),
            connector_file: origin.connector_file.clone(),
            hook: origin.name.clone(),
            file: file.to_path_buf(),
            inline,
            line: pos.map(|p| p.0),
            column: pos.and_then(|p| p.1),
        })
    }

    fn hook_location(&self, hook: &CompiledHook, pos: Position) -> Box<HookLocation> {
        let h = &hook.inner;
        let pos = map_pos(pos, h.inline, h.start);
        Box::new(HookLocation {
            connector: self.connector.to_string(),
            connector_file: h.connector_file.clone(),
            hook: h.name.to_string(),
            file: h.file.clone(),
            inline: h.inline,
            line: pos.map(|p| p.0),
            column: pos.and_then(|p| p.1),
        })
    }

    fn invalid_output(&self, hook: &CompiledHook, message: String) -> HookError {
        HookError {
            location: self.hook_location(hook, Position::NONE),
            kind: HookErrorKind::InvalidOutput,
            message,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Running.

    /// Runs a `before` hook: the script may change `request` (written back into `request`)
    /// and `state` (returned).
    pub fn before(
        &self,
        hook: &CompiledHook,
        request: &mut RequestView,
        scope: &HookScope,
    ) -> Result<HookOutcome, HookError> {
        let uses = hook.inner.uses;
        let mut s = Scope::new();
        self.push_context(&mut s, uses, scope, HookKind::Before);
        if uses.has("request") {
            s.push_dynamic("request", request_to_dynamic(request));
        }
        self.run(hook, HookKind::Before, &mut s)?;
        if uses.has("request") {
            let d = take_var(&mut s, "request");
            *request = self.request_from(hook, d, request)?;
        }
        Ok(HookOutcome {
            state: self.state_changes(hook, &mut s, uses, &scope.state)?,
            plan: None,
        })
    }

    /// Runs an `after` hook over the records mapped from one response: the script may change,
    /// drop or add records (written back into `records`; each must be an object) and change
    /// `state` (returned). The first error stops; see [`HookRuntime::after_with_mode`] for
    /// `on_error: skip_record`.
    pub fn after(
        &self,
        hook: &CompiledHook,
        response: &ResponseView,
        records: &mut Vec<Value>,
        scope: &HookScope,
    ) -> Result<HookOutcome, HookError> {
        self.after_inner(hook, response, records, scope, &scope.state)
    }

    fn after_inner(
        &self,
        hook: &CompiledHook,
        response: &ResponseView,
        records: &mut Vec<Value>,
        scope: &HookScope,
        state: &JsonMap<String, Value>,
    ) -> Result<HookOutcome, HookError> {
        let uses = hook.inner.uses;
        let mut s = Scope::new();
        self.push_context_with_state(&mut s, uses, scope, state, HookKind::After);
        if uses.has("response") {
            s.push_constant_dynamic("response", response_to_dynamic(response));
        }
        if uses.has("records") {
            let array: rhai::Array = records.iter().map(to_dynamic).collect();
            s.push_dynamic("records", Dynamic::from_array(array));
        }
        self.run(hook, HookKind::After, &mut s)?;
        if uses.has("records") {
            let d = take_var(&mut s, "records").flatten();
            let array = d.into_array().map_err(|t| {
                self.invalid_output(hook, format!("`records` must be an array, found {t}"))
            })?;
            let mut out = Vec::with_capacity(array.len());
            let mut path = String::new();
            for (i, item) in array.into_iter().enumerate() {
                let item = item.flatten();
                if !item.is_map() {
                    return Err(self.invalid_output(
                        hook,
                        format!(
                            "records[{i}] must be an object map, found {}",
                            item.type_name()
                        ),
                    ));
                }
                path.clear();
                path.push_str(&format!("records[{i}]"));
                let t = records.get(i).or_else(|| records.last());
                out.push(
                    from_dynamic(item, t, &mut path).map_err(|e| self.invalid_output(hook, e))?,
                );
            }
            *records = out;
        }
        Ok(HookOutcome {
            state: self.state_changes(hook, &mut s, uses, state)?,
            plan: None,
        })
    }

    /// Runs an `after` hook with the connector's error mode.
    ///
    /// With [`HookErrorMode::Stop`] this is [`HookRuntime::after`]. With
    /// [`HookErrorMode::SkipRecord`], when the run over the whole page fails, the hook is run
    /// again once per record (`records` holding that one record, state changes carried from
    /// one run to the next); the records it fails on are left out and listed in
    /// [`AfterOutcome::skipped`]. Sandbox limit errors (operations, time, call depth, size) and
    /// a failure on an empty page still stop: they point at the hook, not at a record.
    pub fn after_with_mode(
        &self,
        hook: &CompiledHook,
        response: &ResponseView,
        records: &mut Vec<Value>,
        scope: &HookScope,
        mode: HookErrorMode,
    ) -> Result<AfterOutcome, HookError> {
        let first = match self.after(hook, response, records, scope) {
            Ok(outcome) => {
                return Ok(AfterOutcome {
                    outcome,
                    skipped: Vec::new(),
                });
            }
            Err(e) => e,
        };
        if mode == HookErrorMode::Stop
            || records.is_empty()
            || first.kind.is_limit()
            || first.kind == HookErrorKind::WrongKind
        {
            return Err(first);
        }
        let originals = std::mem::take(records);
        let mut state = scope.state.clone();
        let mut changes = StateChanges::default();
        let mut skipped = Vec::new();
        for (index, record) in originals.into_iter().enumerate() {
            let mut one = vec![record.clone()];
            match self.after_inner(hook, response, &mut one, scope, &state) {
                Ok(o) => {
                    o.state.apply_to(&mut state);
                    changes.merge(o.state);
                    records.extend(one);
                }
                Err(error) if error.kind.is_limit() => return Err(error),
                Err(error) => skipped.push(SkippedRecord {
                    index,
                    record,
                    error,
                }),
            }
        }
        Ok(AfterOutcome {
            outcome: HookOutcome {
                state: changes,
                plan: None,
            },
            skipped,
        })
    }

    /// Runs a `before_operation` hook, once before the operation. The script may change
    /// `plan` (returned in [`HookOutcome::plan`] when changed) and `state`.
    pub fn before_operation(
        &self,
        hook: &CompiledHook,
        scope: &HookScope,
    ) -> Result<HookOutcome, HookError> {
        let uses = hook.inner.uses;
        let mut s = Scope::new();
        self.push_context(&mut s, uses, scope, HookKind::BeforeOperation);
        self.run(hook, HookKind::BeforeOperation, &mut s)?;
        let plan = if uses.has("plan") {
            let d = take_var(&mut s, "plan");
            let plan = from_dynamic(d, Some(&scope.plan), &mut "plan".to_string())
                .map_err(|e| self.invalid_output(hook, e))?;
            (plan != scope.plan).then_some(plan)
        } else {
            None
        };
        Ok(HookOutcome {
            state: self.state_changes(hook, &mut s, uses, &scope.state)?,
            plan,
        })
    }

    /// Runs an `after_operation` hook, once after the operation. The script sees the
    /// operation's `result` and may change it (written back): for a write operation the
    /// object's final state, for an aggregation a summary such as `{"records": 1200}` — the
    /// caller decides. It may also change `state`.
    pub fn after_operation(
        &self,
        hook: &CompiledHook,
        result: &mut Value,
        scope: &HookScope,
    ) -> Result<HookOutcome, HookError> {
        let uses = hook.inner.uses;
        let mut s = Scope::new();
        self.push_context(&mut s, uses, scope, HookKind::AfterOperation);
        if uses.has("result") {
            s.push_dynamic("result", to_dynamic(result));
        }
        self.run(hook, HookKind::AfterOperation, &mut s)?;
        if uses.has("result") {
            let d = take_var(&mut s, "result");
            *result = from_dynamic(d, Some(result), &mut "result".to_string())
                .map_err(|e| self.invalid_output(hook, e))?;
        }
        Ok(HookOutcome {
            state: self.state_changes(hook, &mut s, uses, &scope.state)?,
            plan: None,
        })
    }

    fn push_context(&self, s: &mut Scope<'_>, uses: Uses, scope: &HookScope, kind: HookKind) {
        self.push_context_with_state(s, uses, scope, &scope.state, kind);
    }

    /// Pushes the context variables of `kind` that the script mentions: read-only ones as
    /// constants (so a script that assigns to them fails), `state` (and `plan` for
    /// `before_operation`) as variables.
    fn push_context_with_state(
        &self,
        s: &mut Scope<'_>,
        uses: Uses,
        scope: &HookScope,
        state: &JsonMap<String, Value>,
        kind: HookKind,
    ) {
        for &name in kind.variables() {
            if !uses.has(name) {
                continue;
            }
            let value = match name {
                "operation" => Dynamic::from(scope.operation.clone()),
                "settings" => to_dynamic(&scope.settings),
                "plan" => to_dynamic(&scope.plan),
                "page" => to_dynamic(&scope.page),
                "prev" => to_dynamic(&scope.prev),
                "state" => Dynamic::from_map(object_to_map(state)),
                _ => continue, // hook-specific, pushed by the caller
            };
            let writable = name == "state" || (name == "plan" && kind == HookKind::BeforeOperation);
            if writable {
                s.push_dynamic(name, value);
            } else {
                s.push_constant_dynamic(name, value);
            }
        }
    }

    fn state_changes(
        &self,
        hook: &CompiledHook,
        s: &mut Scope<'_>,
        uses: Uses,
        before: &JsonMap<String, Value>,
    ) -> Result<StateChanges, HookError> {
        if !uses.has("state") {
            return Ok(StateChanges::default());
        }
        let d = take_var(s, "state").flatten();
        let type_name = d.type_name();
        let map = d.try_cast::<rhai::Map>().ok_or_else(|| {
            self.invalid_output(
                hook,
                format!("`state` must be an object map, found {type_name}"),
            )
        })?;
        let after = map_to_object(map, Some(before), &mut "state".to_string())
            .map_err(|e| self.invalid_output(hook, e))?;
        Ok(StateChanges::diff(before, after))
    }

    fn request_from(
        &self,
        hook: &CompiledHook,
        d: Dynamic,
        old: &RequestView,
    ) -> Result<RequestView, HookError> {
        let d = d.flatten();
        let type_name = d.type_name();
        let map = d.try_cast::<rhai::Map>().ok_or_else(|| {
            self.invalid_output(
                hook,
                format!("`request` must be an object map, found {type_name}"),
            )
        })?;
        let template = request_template(old);
        let mut v = map_to_object(map, Some(&template), &mut "request".to_string())
            .map_err(|e| self.invalid_output(hook, e))?;
        let string = |v: &mut JsonMap<String, Value>, key: &str, old: &str| match v.remove(key) {
            None => Ok(old.to_string()),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(self.invalid_output(
                hook,
                format!(
                    "request.{key} must be a string, found {}",
                    json_type(&other)
                ),
            )),
        };
        let method = string(&mut v, "method", &old.method)?.to_ascii_uppercase();
        let url = string(&mut v, "url", &old.url)?;
        let query = match v.remove("query") {
            None => old.query.clone(),
            Some(q) => self.params(hook, "query", q)?,
        };
        let headers = match v.remove("headers") {
            None => old.headers.clone(),
            Some(h) => self.params(hook, "headers", h)?,
        };
        let body = v.remove("body").unwrap_or_else(|| old.body.clone());
        Ok(RequestView {
            method,
            url,
            query,
            headers,
            body,
        })
    }

    /// Normalises headers / query parameters: strings stay, numbers and bools become strings,
    /// `()` removes the entry, arrays give repeated entries.
    fn params(
        &self,
        hook: &CompiledHook,
        what: &str,
        v: Value,
    ) -> Result<JsonMap<String, Value>, HookError> {
        let Value::Object(map) = v else {
            return Err(self.invalid_output(
                hook,
                format!(
                    "request.{what} must be an object map, found {}",
                    json_type(&v)
                ),
            ));
        };
        let scalar = |name: &str, v: Value| -> Result<String, HookError> {
            match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(self.invalid_output(
                    hook,
                    format!(
                        "request.{what}[{name:?}] must be a string (or an array of strings), found {}",
                        json_type(&other)
                    ),
                )),
            }
        };
        let mut out = JsonMap::with_capacity(map.len());
        for (name, value) in map {
            match value {
                Value::Null => {}
                Value::Array(items) => {
                    let items = items
                        .into_iter()
                        .map(|i| scalar(&name, i).map(Value::String))
                        .collect::<Result<Vec<_>, _>>()?;
                    out.insert(name, Value::Array(items));
                }
                other => {
                    let s = scalar(&name, other)?;
                    out.insert(name, Value::String(s));
                }
            }
        }
        Ok(out)
    }

    fn run(&self, hook: &CompiledHook, kind: HookKind, s: &mut Scope<'_>) -> Result<(), HookError> {
        if hook.inner.kind != kind {
            return Err(HookError {
                location: self.hook_location(hook, Position::NONE),
                kind: HookErrorKind::WrongKind,
                message: format!(
                    "the hook was compiled as a `{}` hook and cannot run as `{kind}`",
                    hook.inner.kind
                ),
            });
        }
        let _guard = RunGuard::enter(RunCtx {
            connector: self.connector.clone(),
            hook: hook.inner.name.clone(),
            line_offset: if hook.inner.inline {
                hook.inner.start.line.saturating_sub(1)
            } else {
                0
            },
            deadline: self.limits.max_duration.map(|d| Instant::now() + d),
        });
        self.engine
            .run_ast_with_scope(s, &hook.inner.ast)
            .map_err(|e| self.runtime_error(hook, *e))
    }

    fn runtime_error(&self, hook: &CompiledHook, err: EvalAltResult) -> HookError {
        // Unwrap calls of script functions down to the error itself, keeping the innermost
        // known position and the chain of functions.
        let mut err = err;
        let mut pos = err.position();
        let mut functions = Vec::new();
        loop {
            match err {
                EvalAltResult::ErrorInFunctionCall(name, _, inner, call_pos) => {
                    if !call_pos.is_none() {
                        pos = call_pos;
                    }
                    functions.push(name);
                    err = *inner;
                }
                EvalAltResult::ErrorInModule(_, inner, _) => err = *inner,
                other => {
                    err = other;
                    break;
                }
            }
        }
        if !err.position().is_none() {
            pos = err.position();
        }
        let l = &self.limits;
        let (kind, mut message) = match err {
            EvalAltResult::ErrorRuntime(v, _) => (HookErrorKind::Thrown, dynamic_text(&v)),
            EvalAltResult::ErrorTooManyOperations(_) => (
                HookErrorKind::TooManyOperations,
                format!(
                    "hook exceeded {} operations (an endless loop?); limits.max_operations",
                    l.max_operations
                ),
            ),
            EvalAltResult::ErrorTerminated(..) => (
                HookErrorKind::Timeout,
                format!(
                    "hook ran longer than {:?}; limits.max_duration",
                    l.max_duration.unwrap_or_default()
                ),
            ),
            EvalAltResult::ErrorStackOverflow(_) => (
                HookErrorKind::StackOverflow,
                format!(
                    "hook exceeded the call depth of {} (unbounded recursion?); limits.max_call_depth",
                    l.max_call_depth
                ),
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                let limit = if what.contains("string") {
                    format!("{} bytes; limits.max_string_size", l.max_string_size)
                } else if what.contains("array") {
                    format!("{} items; limits.max_array_size", l.max_array_size)
                } else {
                    format!("{} entries; limits.max_map_size", l.max_map_size)
                };
                (
                    HookErrorKind::DataTooLarge,
                    format!("{what} exceeds the hook limit of {limit}"),
                )
            }
            EvalAltResult::ErrorTooManyVariables(_) => (
                HookErrorKind::DataTooLarge,
                format!(
                    "hook defined more than {} variables; limits.max_variables",
                    l.max_variables
                ),
            ),
            EvalAltResult::ErrorModuleNotFound(path, _) => (
                HookErrorKind::Refused,
                format!("cannot import `{path}`: hooks cannot load modules or read files"),
            ),
            EvalAltResult::ErrorTooManyModules(_) => (
                HookErrorKind::Refused,
                "hooks cannot load modules or read files".to_string(),
            ),
            EvalAltResult::ErrorSystem(function, e) => {
                let kind = if e.to_string() == "not available in hooks" {
                    HookErrorKind::Refused
                } else {
                    HookErrorKind::Runtime
                };
                (kind, format!("{function}: {e}"))
            }
            EvalAltResult::ErrorFunctionNotFound(signature, _) => (
                HookErrorKind::Runtime,
                format!(
                    "Function not found: {signature}; hooks have no file system, network or \
                     environment access, see docs/hooks.md for the functions they have"
                ),
            ),
            mut other => {
                let _ = other.take_position();
                (HookErrorKind::Runtime, other.to_string())
            }
        };
        if !functions.is_empty() {
            // Innermost first: "in a closure, called from function `retain`".
            let chain: Vec<String> = functions
                .iter()
                .rev()
                .map(|f| {
                    if f.starts_with("anon$") {
                        "a closure".to_string()
                    } else {
                        format!("function `{f}`")
                    }
                })
                .collect();
            message.push_str(&format!(" (in {})", chain.join(", called from ")));
        }
        HookError {
            location: self.hook_location(hook, pos),
            kind,
            message,
        }
    }
}

/// Maps a Rhai position to a position in the file the script is in.
fn map_pos(pos: Position, inline: bool, start: SourcePos) -> Option<(usize, Option<usize>)> {
    let line = pos.line()?;
    let col = pos.position();
    if inline {
        Some((start.line + line - 1, col.map(|c| start.column + c - 1)))
    } else {
        Some((line, col))
    }
}

fn take_var(s: &mut Scope<'_>, name: &str) -> Dynamic {
    s.get_mut(name).map(std::mem::take).unwrap_or_default()
}

fn dynamic_text(d: &Dynamic) -> String {
    if d.is_string() {
        d.clone()
            .into_immutable_string()
            .map(|s| s.to_string())
            .unwrap_or_default()
    } else {
        d.to_string()
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "()",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object map",
    }
}

fn request_template(r: &RequestView) -> JsonMap<String, Value> {
    let mut m = JsonMap::new();
    m.insert("method".into(), Value::Null);
    m.insert("url".into(), Value::Null);
    m.insert("query".into(), Value::Object(r.query.clone()));
    m.insert("headers".into(), Value::Object(r.headers.clone()));
    m.insert("body".into(), r.body.clone());
    m
}

fn request_to_dynamic(r: &RequestView) -> Dynamic {
    let mut m = rhai::Map::new();
    m.insert("method".into(), Dynamic::from(r.method.clone()));
    m.insert("url".into(), Dynamic::from(r.url.clone()));
    m.insert("query".into(), Dynamic::from_map(object_to_map(&r.query)));
    m.insert(
        "headers".into(),
        Dynamic::from_map(object_to_map(&r.headers)),
    );
    m.insert("body".into(), to_dynamic(&r.body));
    Dynamic::from_map(m)
}

fn response_to_dynamic(r: &ResponseView) -> Dynamic {
    let mut m = rhai::Map::new();
    m.insert("status".into(), Dynamic::from_int(i64::from(r.status)));
    m.insert(
        "headers".into(),
        Dynamic::from_map(object_to_map(&r.headers)),
    );
    m.insert("body".into(), Dynamic::from(r.body.clone()));
    m.insert("json".into(), to_dynamic(&r.json));
    Dynamic::from_map(m)
}
