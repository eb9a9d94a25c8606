//! One provisioning request: the operation it names and what it gives the operation.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{OperationKey, OperationKind};

/// The write operation a plan request names: a built-in one (`create_account`, ...) or one of
/// the connector's `custom` operations (`suspend_account`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanOperation(String);

impl JsonSchema for PlanOperation {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PlanOperation".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A write operation: create_account, update_account, delete_account, enable_account, disable_account, unlock_account, change_password, add_entitlement, remove_entitlement, or the name of one of the connector's `custom` operations.",
            "examples": BUILT_IN,
        })
    }
}

/// The built-in write operations a plan may name.
pub const BUILT_IN: [&str; 9] = [
    "create_account",
    "update_account",
    "delete_account",
    "enable_account",
    "disable_account",
    "unlock_account",
    "change_password",
    "add_entitlement",
    "remove_entitlement",
];

impl PlanOperation {
    /// The operation named `name` (built-in or custom).
    pub fn new(name: impl Into<String>) -> PlanOperation {
        PlanOperation(name.into())
    }

    /// The name as the plan gives it.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The built-in kind, or [`OperationKind::Custom`] for any other name.
    pub fn kind(&self) -> OperationKind {
        OperationKind::ALL
            .into_iter()
            .find(|k| k.is_write() && !k.per_object_type() && k.name() == self.0)
            .unwrap_or(OperationKind::Custom)
    }

    /// The operation key under `operations:` (`create_account`, `custom.suspend_account`).
    pub fn key(&self) -> OperationKey {
        match self.kind() {
            OperationKind::Custom => OperationKey::custom(&self.0),
            k => OperationKey::of_kind(k).unwrap_or_else(|| OperationKey::custom(&self.0)),
        }
    }
}

impl std::fmt::Display for PlanOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
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
    /// A name for this request, so that later requests can use its result:
    /// `{{requests.<name>.identity}}`, `{{requests.<name>.attributes.<attribute>}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The write operation (built-in or one of the connector's `custom` operations).
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
        use OperationKind as K;
        let mut v = Vec::new();
        let kind = self.operation.kind();
        let op = self.operation.name();
        if kind != K::CreateAccount && self.identity.is_none() {
            v.push(format!("`{op}` needs `identity`"));
        }
        if kind == K::ChangePassword && self.password.is_none() {
            v.push("`change_password` needs `password`".into());
        }
        if matches!(kind, K::AddEntitlement | K::RemoveEntitlement) && self.values.is_empty() {
            v.push(format!(
                "`{op}` needs `values` (the entitlements, e.g. group ids)"
            ));
        }
        if kind == K::CreateAccount && self.attributes.is_empty() {
            v.push("`create_account` needs `attributes`".into());
        }
        v
    }

    /// The `plan` template context of this request.
    pub fn to_context(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
