//! Multi-valued changes of a plan (`emails: {add: [...], remove: [...]}`) turned into what the
//! API takes, per the operation's `multi_valued` and `changes`:
//! - `operations`: items of `plan.changes` (one SCIM PATCH carrying every change), rendered
//!   from the `changes` item templates with `change.attribute` and `change.value`;
//! - `requests`: one request per value through other write operations (add/remove_entitlement),
//!   after the operation's own request;
//! - `replace`: the current values read first (`get_object.<object>`), the change applied,
//!   and the whole new list sent as `plan.attributes.<name>`.

use serde_json::{Map, Value};
use wsc_spec::model::{MultiMode, OperationKey, OperationKind};
use wsc_spec::plan::{AttributeChange, MultiChange, PlanOperation, PlanRequest};
use wsc_spec::template::Context;

use crate::compile::CompiledOperation;
use crate::compile_changes::CompiledChanges;
use crate::engine::Engine;
use crate::error::EngineError;

/// A request's changes, ready to send.
pub(crate) struct Split {
    /// The `plan` context: `attributes` as sent (computed lists in `replace` mode, without
    /// the attributes changed through other requests) and `changes`.
    pub(crate) plan: Value,
    /// Requests run after the operation's own (`requests` mode).
    pub(crate) follow: Vec<PlanRequest>,
    /// Whether the operation's own request has anything to do.
    pub(crate) send_own: bool,
}

impl Engine {
    /// Turns the request's attribute changes into the `plan` context and follow-up requests.
    pub(crate) async fn split_changes(
        &self,
        op: &CompiledOperation,
        req: &PlanRequest,
    ) -> Result<Split, EngineError> {
        let compiled = self.inner.changes.get(&op.key).cloned();
        let has_multi = req
            .attributes
            .values()
            .any(|c| matches!(c, AttributeChange::Multi(_)));
        if !has_multi && compiled.is_none() {
            return Ok(Split {
                plan: req.to_context(),
                follow: Vec::new(),
                send_own: true,
            });
        }
        let mut attributes = Map::new();
        let mut items = Vec::new();
        let mut follow = Vec::new();
        let mut delegated = false;
        let mut current: Option<Map<String, Value>> = None;
        for (name, change) in &req.attributes {
            match change {
                AttributeChange::Value(v) => {
                    attributes.insert(name.clone(), v.clone());
                    if let Some(c) = &compiled {
                        items.extend(self.item(op, c, "replace", name, v)?);
                    }
                }
                AttributeChange::Multi(m) => {
                    let mode = match op.spec.multi_valued.get(name) {
                        Some(mv) => mv.mode,
                        None if compiled.is_some() => MultiMode::Operations,
                        None => {
                            return Err(EngineError::Plan(format!(
                                "`{}` does not say how to change the multi-valued attribute `{name}` (`add` / `remove` / `set`): declare `operations.{}.multi_valued.{name}` (see docs/provisioning.md), or give the whole new value",
                                req.operation, op.key
                            )));
                        }
                    };
                    match mode {
                        MultiMode::Operations => {
                            let Some(c) = &compiled else {
                                return Err(EngineError::Config(format!(
                                    "operations.{}.multi_valued.{name}: `mode: operations` needs `changes`",
                                    op.key
                                )));
                            };
                            for v in &m.add {
                                items.extend(self.item(op, c, "add", name, v)?);
                            }
                            for v in &m.remove {
                                items.extend(self.item(op, c, "remove", name, v)?);
                            }
                            if let Some(set) = &m.set {
                                let list = Value::Array(set.clone());
                                let kind = if c.has_set() { "set" } else { "replace" };
                                items.extend(self.item(op, c, kind, name, &list)?);
                            }
                        }
                        MultiMode::Requests => {
                            delegated = true;
                            follow.extend(self.follow_requests(op, req, name, m)?);
                        }
                        MultiMode::Replace => {
                            if current.is_none() {
                                current = Some(self.current_attributes(req).await?);
                            }
                            let from = op.spec.multi_valued[name]
                                .current
                                .clone()
                                .unwrap_or_else(|| name.clone());
                            let now = current
                                .as_ref()
                                .and_then(|c| c.get(&from))
                                .cloned()
                                .unwrap_or(Value::Null);
                            attributes.insert(name.clone(), apply(&now, m));
                        }
                    }
                }
            }
        }
        let mut plan = req.to_context();
        if let Value::Object(p) = &mut plan {
            let has_attributes = !attributes.is_empty();
            p.insert("attributes".into(), Value::Object(attributes));
            if compiled.is_some() {
                p.insert("changes".into(), Value::Array(items.clone()));
            }
            let nothing_left = !has_attributes && items.is_empty();
            return Ok(Split {
                plan,
                follow,
                send_own: !(delegated && nothing_left),
            });
        }
        Ok(Split {
            plan,
            follow,
            send_own: true,
        })
    }

    /// One rendered item of `plan.changes`.
    fn item(
        &self,
        op: &CompiledOperation,
        c: &CompiledChanges,
        kind: &str,
        attribute: &str,
        value: &Value,
    ) -> Result<Option<Value>, EngineError> {
        let tree = c.item(kind);
        let Some(tree) = tree else {
            return Err(EngineError::Plan(format!(
                "the plan changes `{attribute}` with `{kind}`, but `operations.{}.changes` has no `{kind}` item template",
                op.key
            )));
        };
        let mut ctx = self.base_ctx(None, None);
        ctx.insert(
            Context::Change.into(),
            serde_json::json!({ "attribute": attribute, "value": value }),
        );
        Ok(Some(
            tree.render(&self.inner.templates, &Value::Object(ctx))?,
        ))
    }

    /// The requests of `requests` mode: the add operation with the added values, the remove
    /// operation with the removed ones.
    fn follow_requests(
        &self,
        op: &CompiledOperation,
        req: &PlanRequest,
        name: &str,
        m: &MultiChange,
    ) -> Result<Vec<PlanRequest>, EngineError> {
        let mv = &op.spec.multi_valued[name];
        if m.set.is_some() {
            return Err(EngineError::Plan(format!(
                "`{name}` is changed one value at a time (`multi_valued.{name}.mode: requests`): use `add` and `remove`, not `set`"
            )));
        }
        let mut out = Vec::new();
        for (values, which, default) in [
            (&m.add, &mv.add, "add_entitlement"),
            (&m.remove, &mv.remove, "remove_entitlement"),
        ] {
            if values.is_empty() {
                continue;
            }
            let operation = PlanOperation::new(which.as_deref().unwrap_or(default));
            if self.op(operation.key().as_str()).is_err() {
                return Err(EngineError::NoOperation {
                    connector: self.inner.name.clone(),
                    key: operation.key().into_string(),
                });
            }
            out.push(PlanRequest {
                name: None,
                operation,
                object: req.object.clone(),
                identity: req.identity.clone(),
                attributes: Default::default(),
                password: None,
                attribute: Some(name.to_string()),
                values: values.clone(),
            });
        }
        Ok(out)
    }

    /// The attributes of the object as it is now (`replace` mode); empty in a dry run, where
    /// the read is shown but answered with nothing.
    async fn current_attributes(
        &self,
        req: &PlanRequest,
    ) -> Result<Map<String, Value>, EngineError> {
        let Some(identity) = &req.identity else {
            // create_account: nothing exists yet.
            return Ok(Map::new());
        };
        let get_key = OperationKey::get_object(&req.object);
        if get_key.kind() != OperationKind::GetObject || self.op(get_key.as_str()).is_err() {
            return Err(EngineError::NoOperation {
                connector: self.inner.name.clone(),
                key: get_key.into_string(),
            });
        }
        let names = self.attribute_names(get_key.as_str())?;
        match self.get_object(&req.object, identity).await {
            Ok(r) => Ok(match r.to_json(&names)["attributes"].take() {
                Value::Object(m) => m,
                _ => Map::new(),
            }),
            Err(e) if self.inner.run.wire.dry_run && !e.is_preflight() => Ok(Map::new()),
            Err(e) => Err(e),
        }
    }
}

/// The new list: `set` if given, else the current values without `remove`, then `add` (each
/// value once, in order).
fn apply(current: &Value, m: &MultiChange) -> Value {
    if let Some(set) = &m.set {
        return Value::Array(set.clone());
    }
    let mut out: Vec<Value> = match current {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    out.retain(|v| !m.remove.contains(v));
    for v in &m.add {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replace_applies_remove_then_add_once() {
        let m = MultiChange {
            add: vec![json!("c"), json!("a")],
            remove: vec![json!("b")],
            set: None,
        };
        assert_eq!(apply(&json!(["a", "b"]), &m), json!(["a", "c"]));
        assert_eq!(apply(&Value::Null, &m), json!(["c", "a"]));
        let s = MultiChange {
            set: Some(vec![json!("x")]),
            ..MultiChange::default()
        };
        assert_eq!(apply(&json!(["a"]), &s), json!(["x"]));
    }
}
