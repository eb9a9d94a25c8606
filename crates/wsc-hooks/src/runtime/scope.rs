//! Variables in and out of a run: the context a script sees, and the values it leaves.

use rhai::{Dynamic, Scope};
use serde_json::{Map as JsonMap, Value};

use super::HookRuntime;
use super::compiled::{CompiledHook, Uses};
use super::views::{HookScope, RequestView, ResponseView, StateChanges};
use crate::convert::{map_to_object, object_to_map, to_dynamic};
use crate::error::HookError;
use crate::origin::HookKind;

impl HookRuntime {
    pub(super) fn push_context(
        &self,
        s: &mut Scope<'_>,
        uses: Uses,
        scope: &HookScope,
        kind: HookKind,
    ) {
        self.push_context_with_state(s, uses, scope, &scope.state, kind);
    }

    /// Pushes the context variables of `kind` that the script mentions: read-only ones as
    /// constants (so a script that assigns to them fails), `state` (and `plan` for
    /// `before_operation`) as variables.
    pub(super) fn push_context_with_state(
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

    pub(super) fn state_changes(
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
        let after = map_to_object(map, Some(before), &mut "state".to_string(), self.depth())
            .map_err(|e| self.invalid_output(hook, e))?;
        Ok(StateChanges::diff(before, after))
    }

    pub(super) fn request_from(
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
        let mut v = map_to_object(
            map,
            Some(&template),
            &mut "request".to_string(),
            self.depth(),
        )
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
    pub(super) fn params(
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
}

pub(super) fn take_var(s: &mut Scope<'_>, name: &str) -> Dynamic {
    s.get_mut(name).map(std::mem::take).unwrap_or_default()
}

pub(super) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "()",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object map",
    }
}

pub(super) fn request_template(r: &RequestView) -> JsonMap<String, Value> {
    let mut m = JsonMap::new();
    m.insert("method".into(), Value::Null);
    m.insert("url".into(), Value::Null);
    m.insert("query".into(), Value::Object(r.query.clone()));
    m.insert("headers".into(), Value::Object(r.headers.clone()));
    m.insert("body".into(), r.body.clone());
    m
}

pub(super) fn request_to_dynamic(r: &RequestView) -> Dynamic {
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

pub(super) fn response_to_dynamic(r: &ResponseView) -> Dynamic {
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
