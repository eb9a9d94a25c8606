//! `after` hooks over mapped records ([`HookRecord`]s) instead of JSON values: what the
//! engine runs per page of a mapped operation.

use rhai::{Dynamic, Position, Scope};
use serde_json::{Map as JsonMap, Value};
use wsc_spec::model::HookErrorMode;

use super::HookRuntime;
use super::compiled::CompiledHook;
use super::scope::{response_to_dynamic, take_var};
use super::views::{AfterOutcome, HookOutcome, HookScope, ResponseView};
use crate::error::{HookError, HookErrorKind};
use crate::origin::HookKind;
use crate::records::{HookRecord, OutError, PageOut, RecordShape, assemble};
use crate::records_in::records_in;

impl HookRuntime {
    /// Runs an `after` hook over the mapped records of one response, with the connector's
    /// error mode: what [`HookRuntime::after_with_mode`] does for JSON records, for
    /// [`HookRecord`]s. The script sees the same `records` (object maps in the shape wsc
    /// outputs); records it leaves unchanged come back without being converted.
    ///
    /// A record given back that is not a valid record of the operation (an `identity` that is
    /// not a string or a number, `attributes` that is not a map, an attribute not in
    /// [`RecordShape::names`]) is a [`HookErrorKind::InvalidRecord`] error, which stops the
    /// run whatever the mode.
    pub fn after_records(
        &self,
        hook: &CompiledHook,
        response: &ResponseView,
        records: &mut Vec<HookRecord>,
        shape: RecordShape<'_>,
        scope: &HookScope,
        mode: HookErrorMode,
    ) -> Result<AfterOutcome, HookError> {
        let first =
            match self.after_records_once(hook, response, records, shape, scope, &scope.state) {
                Ok(outcome) => {
                    return Ok(AfterOutcome {
                        outcome,
                        skipped: Vec::new(),
                    });
                }
                Err(e) => e,
            };
        super::hooks::skip_records(
            first,
            records,
            mode,
            &scope.state,
            |e| e.kind.is_limit() || e.kind == HookErrorKind::InvalidRecord,
            |record| record.to_json(shape.names),
            |one, state| self.after_records_once(hook, response, one, shape, scope, state),
        )
    }

    /// One run over `records`; they are left as they were when it fails.
    fn after_records_once(
        &self,
        hook: &CompiledHook,
        response: &ResponseView,
        records: &mut Vec<HookRecord>,
        shape: RecordShape<'_>,
        scope: &HookScope,
        state: &JsonMap<String, Value>,
    ) -> Result<HookOutcome, HookError> {
        self.sandboxed(hook, |cancel| {
            let uses = hook.inner.uses;
            let mut s = Scope::new();
            self.push_context_with_state(&mut s, uses, scope, state, HookKind::After);
            if uses.has("response") {
                s.push_constant_dynamic("response", response_to_dynamic(response));
            }
            if !uses.has("records") {
                self.run(hook, HookKind::After, &mut s, cancel)?;
                return Ok(HookOutcome {
                    state: self.state_changes(hook, &mut s, uses, state)?,
                    plan: None,
                });
            }
            // The maps and strings of earlier pages (another run going on at the same time
            // starts without them).
            let mut spare = self
                .spare
                .lock()
                .map(|mut s| std::mem::take(&mut *s))
                .unwrap_or_default();
            let page = records_in(records, &shape, &mut spare);
            let mut out = PageOut::new(
                shape,
                self.depth(),
                (page.identities, page.order),
                records.len(),
                spare,
            );
            s.push_dynamic("records", Dynamic::from_array(page.array));
            self.run(hook, HookKind::After, &mut s, cancel)?;
            let d = take_var(&mut s, "records").flatten();
            let array = d.into_array().map_err(|t| {
                self.invalid_output(hook, format!("`records` must be an array, found {t}"))
            })?;
            let mut pending = Vec::with_capacity(array.len());
            for (i, item) in array.into_iter().enumerate() {
                pending.push(out.read(item, i, records).map_err(|e| match e {
                    OutError::Output(m) => self.invalid_output(hook, m),
                    OutError::Record(m) => HookError {
                        location: self.hook_location(hook, Position::NONE),
                        kind: HookErrorKind::InvalidRecord,
                        message: self.redact_text(m),
                    },
                })?);
            }
            let state = self.state_changes(hook, &mut s, uses, state)?;
            if let Some(redact) = &self.redact
                && !out.check.is_empty()
                && redact(&out.check) != out.check
            {
                for p in &mut pending {
                    p.redact(redact.as_ref(), &|v| self.redact_value(v));
                }
            }
            *records = assemble(pending, records);
            if let Ok(mut s) = self.spare.lock() {
                *s = std::mem::take(&mut out.spare);
            }
            Ok(HookOutcome { state, plan: None })
        })
    }
}
