//! Hooks in the engine: every hook of the connector compiled once when the engine is built
//! (with wsc-hooks' sandboxed Rhai runtime), then run around requests, responses and whole
//! operations. Hooks may change the connector state; the changes are collected for the caller
//! to persist after a successful run.
//!
//! Which hooks apply to a request: a step's own `hooks`, else (for the operation's primary
//! step) the operation's `hooks`. `before` runs per request, `after` per response over the
//! records of that response (mapped records when the step maps; the step's raw records in the
//! steps of a multi-step operation), `before_operation` / `after_operation` once per run of
//! the operation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use wsc_hooks::{
    CompiledHook, HookErrorKind, HookErrorMode, HookKind, HookOrigin, HookRecord, HookRuntime,
    HookScope, Limits, RecordShape, RequestView, ResponseView, StateChanges, inline_position,
};
use wsc_spec::Loaded;
use wsc_spec::model::{Hook, HookLimits, Hooks};

use crate::error::EngineError;
use crate::http::{Body, PreparedRequest, Response};
use crate::redact::Redactor;

/// The compiled hooks of one operation or step.
#[derive(Debug, Clone, Default)]
pub struct HookSet {
    /// Per request.
    pub before: Option<CompiledHook>,
    /// Per response.
    pub after: Option<CompiledHook>,
    /// Once before the operation.
    pub before_operation: Option<CompiledHook>,
    /// Once after the operation.
    pub after_operation: Option<CompiledHook>,
    /// What an `after` hook error does.
    pub on_error: HookErrorMode,
}

/// Every hook of a connector, and the state they share.
pub struct EngineHooks {
    /// `None` for a connector without hooks: a Rhai engine is not free (memory, code pages).
    runtime: Option<HookRuntime>,
    /// By operation key, then by step index (`None`: the operation's own hooks).
    sets: HashMap<(String, Option<usize>), Arc<HookSet>>,
    state: Mutex<Map<String, Value>>,
    changes: Mutex<StateChanges>,
}

impl std::fmt::Debug for EngineHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHooks")
            .field("sets", &self.sets.len())
            .finish_non_exhaustive()
    }
}

impl EngineHooks {
    /// Compiles every hook of `loaded`; `state` is the connector state at the start.
    /// `redactor` hides the connector's secrets in hook errors, hook logs and the records and
    /// results hooks give back.
    pub fn compile(
        loaded: &Loaded,
        state: &Value,
        redactor: Arc<Redactor>,
    ) -> Result<EngineHooks, EngineError> {
        let ops = &loaded.connector.operations;
        let any = ops
            .iter()
            .iter()
            .any(|(_, _, op)| op.hooks.is_some() || op.steps.iter().any(|s| s.hooks.is_some()));
        if !any {
            return Ok(EngineHooks {
                runtime: None,
                sets: HashMap::new(),
                state: Mutex::new(state.as_object().cloned().unwrap_or_default()),
                changes: Mutex::new(StateChanges::default()),
            });
        }
        let runtime = HookRuntime::new(
            loaded.connector.connector.clone(),
            limits(&loaded.connector.hook_limits),
        )
        .with_redaction(Arc::new(move |s: &str| redactor.text(s)));
        let mut sets = HashMap::new();
        let mut source: Option<String> = None;
        for (key, _, op) in loaded.connector.operations.iter() {
            if let Some(h) = &op.hooks {
                let path = format!("operations.{key}.hooks");
                let set = compile_set(&runtime, loaded, &mut source, &path, h)?;
                sets.insert((key.clone(), None), Arc::new(set));
            }
            for (i, step) in op.steps.iter().enumerate() {
                if let Some(h) = &step.hooks {
                    let path = format!("operations.{key}.steps.{i}.hooks");
                    let set = compile_set(&runtime, loaded, &mut source, &path, h)?;
                    sets.insert((key.clone(), Some(i)), Arc::new(set));
                }
            }
        }
        Ok(EngineHooks {
            runtime: Some(runtime),
            sets,
            state: Mutex::new(state.as_object().cloned().unwrap_or_default()),
            changes: Mutex::new(StateChanges::default()),
        })
    }

    /// The runtime; only a connector with hooks has hook sets to run, and a runtime.
    fn runtime(&self) -> Result<&HookRuntime, EngineError> {
        self.runtime
            .as_ref()
            .ok_or_else(|| EngineError::Internal("a hook ran without a hook runtime".into()))
    }

    /// Whether the connector has any hooks.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The hooks of step `si` of operation `key` (`primary` is the operation's primary step,
    /// which also takes the operation's own hooks).
    pub fn for_step(&self, key: &str, si: usize, primary: usize) -> Option<Arc<HookSet>> {
        // Called per page: a connector without hooks pays no lookup (and no key allocation).
        if self.sets.is_empty() {
            return None;
        }
        if let Some(s) = self.sets.get(&(key.to_string(), Some(si))) {
            return Some(s.clone());
        }
        if si == primary {
            return self.sets.get(&(key.to_string(), None)).cloned();
        }
        None
    }

    /// The operation-level hooks of `key`.
    pub fn for_operation(&self, key: &str) -> Option<Arc<HookSet>> {
        if self.sets.is_empty() {
            return None;
        }
        self.sets.get(&(key.to_string(), None)).cloned()
    }

    /// State changes made by hooks so far (to persist after a successful run).
    pub fn state_changes(&self) -> StateChanges {
        self.changes.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn scope(&self, operation: &str, settings: &Value, ctx: &Map<String, Value>) -> HookScope {
        HookScope {
            operation: operation.to_string(),
            settings: settings.clone(),
            plan: ctx.get("plan").cloned().unwrap_or(Value::Null),
            page: ctx.get("page").cloned().unwrap_or(Value::Null),
            prev: ctx.get("response").cloned().unwrap_or(Value::Null),
            state: self.state.lock().map(|s| s.clone()).unwrap_or_default(),
        }
    }

    /// Values saved by steps (`save:`), kept as connector state like hook changes.
    pub fn save_values(&self, saved: &Map<String, Value>) {
        self.record(StateChanges {
            set: saved.clone(),
            removed: Vec::new(),
        });
    }

    fn record(&self, changes: StateChanges) {
        if changes.is_empty() {
            return;
        }
        if let Ok(mut s) = self.state.lock() {
            changes.apply_to(&mut s);
        }
        if let Ok(mut c) = self.changes.lock() {
            c.merge(changes);
        }
    }

    /// Runs a `before` hook over a request.
    pub fn before(
        &self,
        hook: &CompiledHook,
        operation: &str,
        settings: &Value,
        ctx: &Map<String, Value>,
        req: &mut PreparedRequest,
    ) -> Result<(), EngineError> {
        let mut view = request_view(req);
        let scope = self.scope(operation, settings, ctx);
        let outcome = self
            .runtime()?
            .before(hook, &mut view, &scope)
            .map_err(EngineError::Hook)?;
        apply_request_view(req, view).map_err(|message| EngineError::HookOutput {
            hook: hook.name().to_string(),
            message,
        })?;
        self.record(outcome.state);
        Ok(())
    }

    /// Runs an `after` hook over a response's records (as JSON), in place.
    #[allow(clippy::too_many_arguments)]
    pub fn after(
        &self,
        set: &HookSet,
        hook: &CompiledHook,
        operation: &str,
        settings: &Value,
        ctx: &Map<String, Value>,
        resp: &Response,
        records: &mut Vec<Value>,
    ) -> Result<(), EngineError> {
        let view = response_view(resp);
        let scope = self.scope(operation, settings, ctx);
        let out = self
            .runtime()?
            .after_with_mode(hook, &view, records, &scope, set.on_error)
            .map_err(EngineError::Hook)?;
        for s in &out.skipped {
            tracing::warn!(target: "wsc::hook", hook = hook.name(), index = s.index, error = %s.error, "record skipped (on_error: skip_record)");
        }
        self.record(out.outcome.state);
        Ok(())
    }

    /// Runs an `after` hook over a response's mapped records, in place. A record the hook
    /// gives back that is not a valid record of the operation (identity, undeclared
    /// attribute) is an [`EngineError::HookOutput`].
    #[allow(clippy::too_many_arguments)]
    pub fn after_records(
        &self,
        set: &HookSet,
        hook: &CompiledHook,
        operation: &str,
        settings: &Value,
        ctx: &Map<String, Value>,
        resp: &Response,
        records: &mut Vec<HookRecord>,
        shape: RecordShape<'_>,
    ) -> Result<(), EngineError> {
        let view = response_view(resp);
        let scope = self.scope(operation, settings, ctx);
        let out = self
            .runtime()?
            .after_records(hook, &view, records, shape, &scope, set.on_error)
            .map_err(|e| match e.kind {
                HookErrorKind::InvalidRecord => EngineError::HookOutput {
                    hook: hook.name().to_string(),
                    message: format!("a record the hook left is not valid: {}", e.message),
                },
                _ => EngineError::Hook(e),
            })?;
        for s in &out.skipped {
            tracing::warn!(target: "wsc::hook", hook = hook.name(), index = s.index, error = %s.error, "record skipped (on_error: skip_record)");
        }
        self.record(out.outcome.state);
        Ok(())
    }

    /// Runs a `before_operation` hook; returns the plan it changed, if any.
    pub fn before_operation(
        &self,
        hook: &CompiledHook,
        operation: &str,
        settings: &Value,
        ctx: &Map<String, Value>,
    ) -> Result<Option<Value>, EngineError> {
        let scope = self.scope(operation, settings, ctx);
        let out = self
            .runtime()?
            .before_operation(hook, &scope)
            .map_err(EngineError::Hook)?;
        self.record(out.state);
        Ok(out.plan)
    }

    /// Runs an `after_operation` hook over the operation's result summary.
    pub fn after_operation(
        &self,
        hook: &CompiledHook,
        operation: &str,
        settings: &Value,
        ctx: &Map<String, Value>,
        result: &mut Value,
    ) -> Result<(), EngineError> {
        let scope = self.scope(operation, settings, ctx);
        let out = self
            .runtime()?
            .after_operation(hook, result, &scope)
            .map_err(EngineError::Hook)?;
        self.record(out.state);
        Ok(())
    }
}

/// The sandbox limits of a connector: the defaults, with what `hook_limits` sets.
fn limits(l: &HookLimits) -> Limits {
    let d = Limits::default();
    Limits {
        max_duration: l.max_duration.map_or(d.max_duration, |x| x.get()),
        max_memory: l.max_memory.map_or(d.max_memory, |m| {
            usize::try_from(m.get()).unwrap_or(usize::MAX)
        }),
        max_operations: l.max_operations.unwrap_or(d.max_operations),
        ..d
    }
}

fn compile_set(
    runtime: &HookRuntime,
    loaded: &Loaded,
    source: &mut Option<String>,
    path: &str,
    h: &Hooks,
) -> Result<HookSet, EngineError> {
    let mut one = |name: &str, kind: HookKind, hook: &Option<Hook>| {
        let Some(hook) = hook else {
            return Ok(None);
        };
        let full = format!("{path}.{name}");
        let mut origin = HookOrigin::new(&loaded.file, full.clone(), kind);
        if let Some(f) = &hook.file {
            origin = origin.with_hook_file(loaded.dir.join(f));
        } else {
            if source.is_none() {
                *source = Some(std::fs::read_to_string(&loaded.file).unwrap_or_default());
            }
            if let Some(pos) = source
                .as_deref()
                .and_then(|s| inline_position(s, &format!("{full}.script")))
            {
                origin = origin.with_inline_start(pos);
            }
        }
        runtime
            .compile(hook, &origin)
            .map(Some)
            .map_err(EngineError::HookCompile)
    };
    Ok(HookSet {
        before: one("before", HookKind::Before, &h.before)?,
        after: one("after", HookKind::After, &h.after)?,
        before_operation: one(
            "before_operation",
            HookKind::BeforeOperation,
            &h.before_operation,
        )?,
        after_operation: one(
            "after_operation",
            HookKind::AfterOperation,
            &h.after_operation,
        )?,
        on_error: h.on_error,
    })
}

fn request_view(req: &PreparedRequest) -> RequestView {
    let mut url = req.url.clone();
    let mut query = Map::new();
    for (k, v) in req.url.query_pairs() {
        match query.get_mut(k.as_ref()) {
            Some(Value::Array(a)) => a.push(Value::String(v.into_owned())),
            Some(prev) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, Value::String(v.into_owned())]);
            }
            None => {
                query.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    url.set_query(None);
    let mut headers = Map::new();
    for (k, v) in &req.headers {
        headers.insert(k.clone(), Value::String(v.clone()));
    }
    let body = match &req.body {
        Body::Json(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        Body::Form(f) => Value::Object(
            f.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        ),
        _ => Value::Null,
    };
    RequestView {
        method: req.method.as_str().to_string(),
        url: url.to_string(),
        query,
        headers,
        body,
    }
}

/// Applies what a `before` hook left in the request view; the error says what is wrong.
fn apply_request_view(req: &mut PreparedRequest, view: RequestView) -> Result<(), String> {
    let mut url = url::Url::parse(&view.url).map_err(|e| {
        format!(
            "it set `request.url` to `{}`, which is not a URL ({e})",
            view.url
        )
    })?;
    let mut pairs = Vec::new();
    for (k, v) in &view.query {
        match v {
            Value::Array(a) => pairs.extend(a.iter().map(|x| (k.clone(), text(x)))),
            other => pairs.push((k.clone(), text(other))),
        }
    }
    url.set_query(None);
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    req.url = url;
    req.method = match view.method.as_str() {
        "GET" => wsc_spec::model::Method::Get,
        "POST" => wsc_spec::model::Method::Post,
        "PUT" => wsc_spec::model::Method::Put,
        "PATCH" => wsc_spec::model::Method::Patch,
        "DELETE" => wsc_spec::model::Method::Delete,
        "HEAD" => wsc_spec::model::Method::Head,
        other => {
            return Err(format!(
                "it set `request.method` to `{other}`; expected GET, POST, PUT, PATCH, DELETE or HEAD"
            ));
        }
    };
    req.headers = view
        .headers
        .iter()
        .flat_map(|(k, v)| match v {
            Value::Array(a) => a.iter().map(|x| (k.clone(), text(x))).collect::<Vec<_>>(),
            other => vec![(k.clone(), text(other))],
        })
        .collect();
    req.body = match (&req.body, view.body) {
        (Body::Form(_), Value::Object(m)) => {
            Body::Form(m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        }
        (Body::Multipart(_) | Body::Raw { .. }, _) => req.body.clone(),
        (_, Value::Null) => Body::Empty,
        (_, v) => Body::Json(serde_json::to_vec(&v).unwrap_or_default()),
    };
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn response_view(resp: &Response) -> ResponseView {
    let mut headers = Map::new();
    for (k, v) in resp.headers.iter() {
        headers.insert(
            k.as_str().to_string(),
            Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        );
    }
    let body = String::from_utf8_lossy(&resp.body).into_owned();
    // Parsed like the pages themselves (the DOM accepts 256 levels where serde_json stops at
    // 128), so a hook never sees `null` for a body the operation read.
    let json = crate::doc::Doc::parse(&resp.body)
        .map(|d| d.to_value())
        .unwrap_or(Value::Null);
    ResponseView {
        status: resp.status,
        headers,
        body,
        json,
    }
}
