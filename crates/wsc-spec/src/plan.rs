//! Provisioning plans: what `wsc provision` executes. A plan is one request (a YAML or JSON
//! mapping) or a list of requests; each names a write operation of the connector and what it
//! needs. Templates of the operation see the request as `plan.*` (`plan.identity`,
//! `plan.attributes.<name>`, `plan.password`, `plan.values`, and `plan.value` per value).
//!
//! ```yaml
//! - operation: create_account
//!   attributes: { userName: jdoe, displayName: Jane Doe, active: true }
//!   password: "{{ not a template, just a value }}"
//! - operation: update_account
//!   identity: 2819c223
//!   attributes:
//!     title: Engineer                   # set a single value
//!     emails: { add: [j@x.test], remove: [old@x.test] }   # change a multi-valued attribute
//! - operation: add_entitlement
//!   identity: 2819c223
//!   attribute: groups
//!   values: [g1, g2]
//! ```

use std::path::Path;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::Report;
use crate::limits::Limits;

/// The write operations a plan may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanOperation {
    /// Create an account from `attributes` (and `password`).
    CreateAccount,
    /// Change attributes of `identity`.
    UpdateAccount,
    /// Delete `identity`.
    DeleteAccount,
    /// Enable `identity`.
    EnableAccount,
    /// Disable `identity`.
    DisableAccount,
    /// Unlock `identity`.
    UnlockAccount,
    /// Set the `password` of `identity`.
    ChangePassword,
    /// Add `identity` to the groups in `values`.
    AddEntitlement,
    /// Remove `identity` from the groups in `values`.
    RemoveEntitlement,
}

impl PlanOperation {
    /// The operation key under `operations:`.
    pub fn key(self) -> &'static str {
        match self {
            PlanOperation::CreateAccount => "create_account",
            PlanOperation::UpdateAccount => "update_account",
            PlanOperation::DeleteAccount => "delete_account",
            PlanOperation::EnableAccount => "enable_account",
            PlanOperation::DisableAccount => "disable_account",
            PlanOperation::UnlockAccount => "unlock_account",
            PlanOperation::ChangePassword => "change_password",
            PlanOperation::AddEntitlement => "add_entitlement",
            PlanOperation::RemoveEntitlement => "remove_entitlement",
        }
    }
}

/// A change to one attribute: a value to set, or `add` / `remove` / `set` for a multi-valued
/// attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AttributeChange {
    /// Changes to a multi-valued attribute.
    Multi(MultiChange),
    /// The new value.
    Value(Value),
}

/// Changes to a multi-valued attribute.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultiChange {
    /// Values to add.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<Value>,
    /// Values to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<Value>,
    /// Replace all values with these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Vec<Value>>,
}

/// One provisioning request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// The write operation.
    pub operation: PlanOperation,
    /// Object type (default `account`).
    #[serde(default = "account")]
    pub object: String,
    /// The account's identity (every operation but create_account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Attributes to set or change.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub attributes: IndexMap<String, AttributeChange>,
    /// The password (create_account, change_password). Never printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The entitlement attribute (add/remove_entitlement), e.g. `groups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// Entitlement values (add/remove_entitlement).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
}

fn account() -> String {
    "account".into()
}

impl PlanRequest {
    /// What is missing for the operation, as messages.
    pub fn problems(&self) -> Vec<String> {
        use PlanOperation as P;
        let mut v = Vec::new();
        let op = self.operation.key();
        if self.operation != P::CreateAccount && self.identity.is_none() {
            v.push(format!("`{op}` needs `identity`"));
        }
        if self.operation == P::ChangePassword && self.password.is_none() {
            v.push("`change_password` needs `password`".into());
        }
        if matches!(self.operation, P::AddEntitlement | P::RemoveEntitlement)
            && self.values.is_empty()
        {
            v.push(format!(
                "`{op}` needs `values` (the entitlements, e.g. group ids)"
            ));
        }
        if self.operation == P::CreateAccount && self.attributes.is_empty() {
            v.push("`create_account` needs `attributes`".into());
        }
        v
    }

    /// The `plan` template context of this request.
    pub fn to_context(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A plan: its requests, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The requests.
    pub requests: Vec<PlanRequest>,
}

/// Reads a plan file (YAML or JSON; one request or a list) with located errors.
pub fn load_plan(bytes: &[u8], file: &Path) -> Result<Plan, Report> {
    let shown = file.display().to_string();
    let hint = "a plan is a request (`operation:`, `identity:`, `attributes:` ...) or a list of them; see docs/provisioning.md";
    let is_list = std::str::from_utf8(bytes)
        .map(|s| {
            s.lines()
                .map(str::trim_start)
                .find(|l| !l.is_empty() && !l.starts_with('#') && *l != "---")
                .is_some_and(|l| l.starts_with('-') || l.starts_with('['))
        })
        .unwrap_or(false);
    let requests = if is_list {
        crate::load::parse_document::<Vec<PlanRequest>>(bytes, &shown, hint, &Limits::PLAN)?.0
    } else {
        vec![crate::load::parse_document::<PlanRequest>(bytes, &shown, hint, &Limits::PLAN)?.0]
    };
    Ok(Plan { requests })
}

/// The JSON Schema of a plan file.
pub fn plan_schema() -> Value {
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    #[serde(untagged)]
    /// A provisioning plan: one request or a list of requests.
    enum PlanFile {
        One(PlanRequest),
        Many(Vec<PlanRequest>),
    }
    let mut s = serde_json::to_value(schemars::schema_for!(PlanFile)).unwrap_or(Value::Null);
    if let Some(o) = s.as_object_mut() {
        o.insert("title".into(), "wsc provisioning plan".into());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_or_many() {
        let p = load_plan(
            b"operation: delete_account\nidentity: u1\n",
            Path::new("p.yaml"),
        )
        .unwrap();
        assert_eq!(p.requests.len(), 1);
        let p = load_plan(
            b"- operation: add_entitlement\n  identity: u1\n  values: [g1]\n- operation: disable_account\n  identity: u1\n",
            Path::new("p.yaml"),
        )
        .unwrap();
        assert_eq!(p.requests.len(), 2);
        assert!(p.requests.iter().all(|r| r.problems().is_empty()));
    }

    #[test]
    fn multi_changes_and_located_errors() {
        let p = load_plan(
            b"operation: update_account\nidentity: u1\nattributes:\n  emails: { add: [a], remove: [b] }\n  name: { givenName: J }\n",
            Path::new("p.yaml"),
        )
        .unwrap();
        let a = &p.requests[0].attributes;
        assert!(matches!(a["emails"], AttributeChange::Multi(_)));
        assert!(matches!(a["name"], AttributeChange::Value(_)));
        let e = load_plan(b"operation: create_acount\n", Path::new("p.yaml")).unwrap_err();
        let r = e.render();
        assert!(r.contains("p.yaml:1"), "{r}");
        assert!(r.contains("create_account"), "{r}");
    }
}
