//! Write operations: one provisioning request of a plan run through the connector's write
//! operation (built-in or `custom`): multi-valued changes turned into requests
//! ([`changes`]), statuses that mean "already done", and the object read back (or mapped from
//! the response) afterwards.

use std::sync::Arc;

use serde_json::{Value, json};
use wsc_spec::model::{OperationKey, OperationKind, ValuesMode};
use wsc_spec::plan::PlanRequest;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::mapping::Record;

pub(crate) mod changes;

/// The identity shown for a created account in a dry run (nothing was created).
pub const DRY_RUN_IDENTITY: &str = "<new identity>";

/// How a provisioning request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The change was made.
    Done,
    /// The API answered that the change was already in place (a status of the operation's
    /// `already_done`, e.g. a 404 when deleting).
    AlreadyDone,
}

impl Outcome {
    /// `done` or `already_done`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::AlreadyDone => "already_done",
        }
    }
}

/// The result of one provisioning request.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The operation as the plan names it, e.g. `create_account` or `suspend_account`.
    pub operation: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The account's identity: the plan's, or the one mapped from the create response.
    pub identity: Option<String>,
    /// The object's final state with its attribute names, when known.
    pub object: Option<(Record, Arc<[Arc<str>]>)>,
}

impl Provisioned {
    /// `{"operation", "outcome", "identity", "object"}` for output.
    pub fn to_json(&self) -> Value {
        json!({
            "operation": self.operation,
            "outcome": self.outcome.as_str(),
            "identity": self.identity,
            "object": self.object.as_ref().map(|(r, names)| r.to_json(names)),
        })
    }

    /// What later requests of the plan see as `requests.<name>`: `identity`, `name` and
    /// `attributes` (of the object read back or mapped, when there is one).
    pub fn to_reference(&self) -> Value {
        let (name, attributes) = match &self.object {
            Some((r, names)) => {
                let o = r.to_json(names);
                (o["name"].clone(), o["attributes"].clone())
            }
            None => (Value::Null, json!({})),
        };
        json!({ "identity": self.identity, "name": name, "attributes": attributes })
    }
}

impl Engine {
    /// Executes one provisioning request: the connector's write operation with the request as
    /// `plan.*` (for add/remove_entitlement with `values: each`, one run per value with
    /// `plan.value`), after turning multi-valued changes into requests (the operation's
    /// `multi_valued` and `changes`). Returns the object's final state when the operation
    /// reads it back (`read_back: true`, through `get_object.<object>`) or maps its response
    /// (`identity:`). In a dry run the read-back request is shown, not used.
    pub async fn provision(&self, req: &PlanRequest) -> Result<Provisioned, EngineError> {
        self.provision_one(req, true).await
    }

    async fn provision_one(
        &self,
        req: &PlanRequest,
        read_back: bool,
    ) -> Result<Provisioned, EngineError> {
        let problems = req.problems();
        if !problems.is_empty() {
            return Err(EngineError::Plan(problems.join("; ")));
        }
        let key = req.operation.key();
        let op = self.op(key.as_str())?;
        let kind = key.kind();
        let dry_run = self.inner.run.wire.dry_run;
        let split = self.split_changes(&op, req).await?;
        let per_value = matches!(
            kind,
            OperationKind::AddEntitlement | OperationKind::RemoveEntitlement
        ) && op.spec.values != Some(ValuesMode::All);
        let contexts: Vec<Value> = if !split.send_own {
            Vec::new()
        } else if per_value {
            req.values
                .iter()
                .map(|v| {
                    let mut p = split.plan.clone();
                    if let Value::Object(m) = &mut p {
                        m.insert("value".into(), v.clone());
                    }
                    p
                })
                .collect()
        } else {
            vec![split.plan.clone()]
        };
        let emit = op.spec.identity.is_some() && !dry_run;
        let mut mapped: Option<Record> = None;
        let mut already = 0usize;
        let runs = contexts.len();
        for p in contexts {
            let ran = self
                .run_once(key.as_str(), self.base_ctx(Some(p), None), emit)?
                .collect()
                .await;
            match ran {
                Ok((records, _)) => {
                    if mapped.is_none() {
                        mapped = records.into_iter().next();
                    }
                }
                Err(e)
                    if e.http_status()
                        .is_some_and(|s| op.spec.already_done.iter().any(|p| p.matches(s))) =>
                {
                    tracing::info!(target: "wsc::provision", operation = %req.operation, status = e.http_status(), "already done");
                    already += 1;
                }
                Err(e) => return Err(e),
            }
        }
        let outcome = if runs > 0 && already == runs {
            Outcome::AlreadyDone
        } else {
            Outcome::Done
        };
        let identity = req
            .identity
            .clone()
            .or_else(|| mapped.as_ref().map(|r| r.identity.clone()))
            .or_else(|| {
                (dry_run && kind == OperationKind::CreateAccount)
                    .then(|| DRY_RUN_IDENTITY.to_string())
            });
        // Values changed one request at a time (`multi_valued: requests`), on the account
        // the operation named or created.
        for follow in &split.follow {
            let mut follow = follow.clone();
            if follow.identity.is_none() {
                follow.identity = identity.clone();
            }
            Box::pin(self.provision_one(&follow, false)).await?;
        }
        let reads_back = read_back
            && op.spec.read_back
            && kind != OperationKind::DeleteAccount
            && outcome == Outcome::Done;
        if reads_back && let Some(id) = &identity {
            let get_key = OperationKey::get_object(&req.object).into_string();
            let names = self.attribute_names(&get_key)?;
            let object = match self.get_object(&req.object, id).await {
                Ok(obj) => Some((obj, names)),
                // A dry run shows the read-back request; its empty answer maps to nothing.
                Err(e) if dry_run && !e.is_preflight() => None,
                Err(e) => {
                    return Err(EngineError::ReadBack {
                        operation: req.operation.to_string(),
                        message: e.to_string(),
                    });
                }
            };
            return Ok(Provisioned {
                operation: req.operation.to_string(),
                outcome,
                identity,
                object,
            });
        }
        let object = match mapped {
            Some(r) => Some((r, self.attribute_names(key.as_str())?)),
            None => None,
        };
        Ok(Provisioned {
            operation: req.operation.to_string(),
            outcome,
            identity,
            object,
        })
    }
}
