//! Running hooks at each hook point.

use rhai::{Dynamic, Position, Scope};
use serde_json::{Map as JsonMap, Value};
use wsc_spec::model::HookErrorMode;

use super::HookRuntime;
use super::compiled::CompiledHook;
use super::scope::{request_to_dynamic, response_to_dynamic, take_var};
use super::thread::Cancel;
use super::views::{
    AfterOutcome, HookOutcome, HookScope, RequestView, ResponseView, SkippedRecord, StateChanges,
};
use crate::context::{RunCtx, RunGuard};
use crate::convert::{from_dynamic, to_dynamic};
use crate::error::{HookError, HookErrorKind};
use crate::origin::HookKind;

impl HookRuntime {
    /// Runs a `before` hook: the script may change `request` (written back into `request`)
    /// and `state` (returned).
    pub fn before(
        &self,
        hook: &CompiledHook,
        request: &mut RequestView,
        scope: &HookScope,
    ) -> Result<HookOutcome, HookError> {
        self.sandboxed(hook, |cancel| {
            self.before_body(hook, request, scope, cancel)
        })
    }

    fn before_body(
        &self,
        hook: &CompiledHook,
        request: &mut RequestView,
        scope: &HookScope,
        cancel: &Cancel,
    ) -> Result<HookOutcome, HookError> {
        let uses = hook.inner.uses;
        let mut s = Scope::new();
        self.push_context(&mut s, uses, scope, HookKind::Before);
        if uses.has("request") {
            s.push_dynamic("request", request_to_dynamic(request));
        }
        self.run(hook, HookKind::Before, &mut s, cancel)?;
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

    pub(super) fn after_inner(
        &self,
        hook: &CompiledHook,
        response: &ResponseView,
        records: &mut Vec<Value>,
        scope: &HookScope,
        state: &JsonMap<String, Value>,
    ) -> Result<HookOutcome, HookError> {
        self.sandboxed(hook, |cancel| {
            let out = self.after_body(hook, response, records, scope, state, cancel)?;
            self.redact_values(records);
            Ok(out)
        })
    }

    fn after_body(
        &self,
        hook: &CompiledHook,
        response: &ResponseView,
        records: &mut Vec<Value>,
        scope: &HookScope,
        state: &JsonMap<String, Value>,
        cancel: &Cancel,
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
        self.run(hook, HookKind::After, &mut s, cancel)?;
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
                    from_dynamic(item, t, &mut path, self.depth())
                        .map_err(|e| self.invalid_output(hook, e))?,
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
        skip_records(
            first,
            records,
            mode,
            &scope.state,
            |e| e.kind.is_limit(),
            |record| record,
            |one, state| self.after_inner(hook, response, one, scope, state),
        )
    }

    /// Runs a `before_operation` hook, once before the operation. The script may change
    /// `plan` (returned in [`HookOutcome::plan`] when changed) and `state`.
    pub fn before_operation(
        &self,
        hook: &CompiledHook,
        scope: &HookScope,
    ) -> Result<HookOutcome, HookError> {
        self.sandboxed(hook, |cancel| {
            self.before_operation_body(hook, scope, cancel)
        })
    }

    fn before_operation_body(
        &self,
        hook: &CompiledHook,
        scope: &HookScope,
        cancel: &Cancel,
    ) -> Result<HookOutcome, HookError> {
        let uses = hook.inner.uses;
        let mut s = Scope::new();
        self.push_context(&mut s, uses, scope, HookKind::BeforeOperation);
        self.run(hook, HookKind::BeforeOperation, &mut s, cancel)?;
        let plan = if uses.has("plan") {
            let d = take_var(&mut s, "plan");
            let plan = from_dynamic(d, Some(&scope.plan), &mut "plan".to_string(), self.depth())
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
        self.sandboxed(hook, |cancel| {
            let out = self.after_operation_body(hook, result, scope, cancel)?;
            self.redact_value(result);
            Ok(out)
        })
    }

    fn after_operation_body(
        &self,
        hook: &CompiledHook,
        result: &mut Value,
        scope: &HookScope,
        cancel: &Cancel,
    ) -> Result<HookOutcome, HookError> {
        let uses = hook.inner.uses;
        let mut s = Scope::new();
        self.push_context(&mut s, uses, scope, HookKind::AfterOperation);
        if uses.has("result") {
            s.push_dynamic("result", to_dynamic(result));
        }
        self.run(hook, HookKind::AfterOperation, &mut s, cancel)?;
        if uses.has("result") {
            let d = take_var(&mut s, "result");
            *result = from_dynamic(d, Some(result), &mut "result".to_string(), self.depth())
                .map_err(|e| self.invalid_output(hook, e))?;
        }
        Ok(HookOutcome {
            state: self.state_changes(hook, &mut s, uses, &scope.state)?,
            plan: None,
        })
    }

    pub(super) fn run(
        &self,
        hook: &CompiledHook,
        kind: HookKind,
        s: &mut Scope<'_>,
        cancel: &Cancel,
    ) -> Result<(), HookError> {
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
            cancel: cancel.clone(),
            memory: crate::alloc::installed().then(|| {
                (
                    crate::alloc::held(),
                    i64::try_from(self.limits.max_memory).unwrap_or(i64::MAX),
                )
            }),
            log: self.log.clone(),
            redact: self.redact.clone(),
            max_depth: self.limits.max_depth,
        });
        self.engine
            .run_ast_with_scope(s, &hook.inner.ast)
            .map_err(|e| self.runtime_error(hook, *e))
    }
}

/// The per-record retry of `on_error: skip_record` (for JSON records and mapped ones): the run
/// over the whole page failed with `first`; unless the mode is `stop`, the page is empty, or
/// `first` is one that `stops` (or a hook of the wrong kind), the hook runs again once per
/// record (`once`, with `records` holding that record and the state carried from one run to
/// the next). Records it fails on are left out and listed (as JSON, by `to_json`); an error
/// that `stops` ends the whole run.
pub(super) fn skip_records<T: Clone>(
    first: HookError,
    records: &mut Vec<T>,
    mode: HookErrorMode,
    initial_state: &JsonMap<String, Value>,
    stops: impl Fn(&HookError) -> bool,
    to_json: impl Fn(T) -> Value,
    mut once: impl FnMut(&mut Vec<T>, &JsonMap<String, Value>) -> Result<HookOutcome, HookError>,
) -> Result<AfterOutcome, HookError> {
    if mode == HookErrorMode::Stop
        || records.is_empty()
        || stops(&first)
        || first.kind == HookErrorKind::WrongKind
    {
        return Err(first);
    }
    let originals = std::mem::take(records);
    let mut state = initial_state.clone();
    let mut changes = StateChanges::default();
    let mut skipped = Vec::new();
    for (index, record) in originals.into_iter().enumerate() {
        let mut one = vec![record.clone()];
        match once(&mut one, &state) {
            Ok(o) => {
                o.state.apply_to(&mut state);
                changes.merge(o.state);
                records.extend(one);
            }
            Err(error) if stops(&error) => return Err(error),
            Err(error) => skipped.push(SkippedRecord {
                index,
                record: to_json(record),
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
