//! Write operations: one provisioning request of a plan run through the connector's write
//! operation, with the object read back (or mapped from the response) afterwards.

use std::sync::Arc;

use serde_json::{Value, json};
use wsc_spec::model::ValuesMode;
use wsc_spec::plan::{PlanOperation, PlanRequest};

use wsc_spec::model::OperationKey;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::mapping::Record;

/// The result of one provisioning request.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The operation key, e.g. `create_account`.
    pub operation: String,
    /// The account's identity: the plan's, or the one mapped from the create response.
    pub identity: Option<String>,
    /// The object's final state with its attribute names, when known.
    pub object: Option<(Record, Arc<[Arc<str>]>)>,
}

impl Provisioned {
    /// `{"operation", "identity", "object"}` for output.
    pub fn to_json(&self) -> Value {
        json!({
            "operation": self.operation,
            "identity": self.identity,
            "object": self.object.as_ref().map(|(r, names)| r.to_json(names)),
        })
    }
}

impl Engine {
    /// Executes one provisioning request: the connector's write operation with the request as
    /// `plan.*` (for add/remove_entitlement with `values: each`, one run per value with
    /// `plan.value`). Returns the object's final state when the operation reads it back
    /// (`read_back: true`, through `get_object.<object>`) or maps its response (`identity:`).
    /// In a dry run nothing is read back.
    pub async fn provision(&self, req: &PlanRequest) -> Result<Provisioned, EngineError> {
        let problems = req.problems();
        if !problems.is_empty() {
            return Err(EngineError::Plan(problems.join("; ")));
        }
        let key = req.operation.key();
        let op = self.op(key)?;
        let plan = req.to_context();
        let per_value = matches!(
            req.operation,
            PlanOperation::AddEntitlement | PlanOperation::RemoveEntitlement
        ) && op.spec.values != Some(ValuesMode::All);
        let contexts: Vec<Value> = if per_value {
            req.values
                .iter()
                .map(|v| {
                    let mut p = plan.clone();
                    if let Value::Object(m) = &mut p {
                        m.insert("value".into(), v.clone());
                    }
                    p
                })
                .collect()
        } else {
            vec![plan]
        };
        let dry_run = self.inner.run.wire.dry_run;
        let emit = op.spec.identity.is_some() && !dry_run;
        let mut mapped: Option<Record> = None;
        for p in contexts {
            let (records, _) = self
                .run_once(key, self.base_ctx(Some(p), None), emit)?
                .collect()
                .await?;
            if mapped.is_none() {
                mapped = records.into_iter().next();
            }
        }
        let identity = req
            .identity
            .clone()
            .or_else(|| mapped.as_ref().map(|r| r.identity.clone()));
        let read_back =
            op.spec.read_back && !dry_run && req.operation != PlanOperation::DeleteAccount;
        if read_back && let Some(id) = &identity {
            let get_key = OperationKey::get_object(&req.object).into_string();
            let names = self.attribute_names(&get_key)?;
            let obj = self.get_object(&req.object, id).await?;
            return Ok(Provisioned {
                operation: key.to_string(),
                identity,
                object: Some((obj, names)),
            });
        }
        let object = match mapped {
            Some(r) => Some((r, self.attribute_names(key)?)),
            None => None,
        };
        Ok(Provisioned {
            operation: key.to_string(),
            identity,
            object,
        })
    }
}
