//! Instance settings: their type, default and constraints.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults::is_false;

/// One instance setting.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// What the setting is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The value's type: `string`, `bool`, `int`, `number`, `list` or `object`. Defaults to
    /// the type of `default`, else `string`. Values given as text (`--set`, environment
    /// variables) are read into this type; templates see the typed value.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<SettingType>,
    /// Value used when none is supplied, of the setting's type. Not allowed on secret
    /// settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// A secret: never logged, never written to fixtures or snapshots, redacted in errors.
    #[serde(default, skip_serializing_if = "is_false")]
    pub secret: bool,
    /// Environment variable read when no value is given (besides the implicit `WSC_<NAME>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Whether a value must be supplied. Defaults to `true` when there is no default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// An example value, shown in docs and error hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// The allowed values (`string`, `int` and `number` settings).
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<serde_json::Value>>,
    /// A regular expression the whole value must match (`string` settings), e.g.
    /// `"[a-z0-9-]+"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The smallest value allowed (`int` and `number` settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest value allowed (`int` and `number` settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Setting {
    /// The setting's type: `type`, else the type of `default`, else `string`.
    pub fn value_type(&self) -> SettingType {
        self.ty
            .or_else(|| self.default.as_ref().and_then(SettingType::of_value))
            .unwrap_or(SettingType::String)
    }

    /// Whether the setting may end up without a value (`required: false` and no default).
    pub fn may_be_absent(&self) -> bool {
        self.default.is_none() && self.required == Some(false)
    }
}

/// The type of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    /// Text, used as given.
    String,
    /// `true` or `false`; as text also `yes`/`no`, `on`/`off`, `1`/`0` (any case).
    Bool,
    /// A whole number (64-bit), written in decimal.
    Int,
    /// Any number (whole or decimal).
    Number,
    /// A list; as text, a JSON array (`["a","b"]`) or comma-separated items (`a,b`: strings,
    /// trimmed, empty items left out).
    List,
    /// A mapping; as text, a JSON object (`{"a":1}`).
    Object,
}

impl SettingType {
    /// The type name as written in a connector (`int`).
    pub fn as_str(self) -> &'static str {
        match self {
            SettingType::String => "string",
            SettingType::Bool => "bool",
            SettingType::Int => "int",
            SettingType::Number => "number",
            SettingType::List => "list",
            SettingType::Object => "object",
        }
    }

    /// The type of a JSON value (`None` for null): what a setting's `default` implies.
    pub fn of_value(v: &serde_json::Value) -> Option<SettingType> {
        use serde_json::Value;
        Some(match v {
            Value::Null => return None,
            Value::Bool(_) => SettingType::Bool,
            Value::Number(n) if n.is_f64() => SettingType::Number,
            Value::Number(_) => SettingType::Int,
            Value::String(_) => SettingType::String,
            Value::Array(_) => SettingType::List,
            Value::Object(_) => SettingType::Object,
        })
    }
}

impl std::fmt::Display for SettingType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
