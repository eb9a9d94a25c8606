//! Mapping responses to records: attributes and entitlements.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::defaults::is_false;
use crate::values::{JsonPath, Template};

/// Attribute value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    /// Keep the JSON value as it is (default).
    #[default]
    Json,
    /// A string; numbers and booleans are converted.
    String,
    /// An integer; numeric strings are converted.
    Int,
    /// A floating-point number.
    Float,
    /// A boolean; `"true"`/`"false"`, `1`/`0` are converted.
    Bool,
    /// An RFC 3339 date-time, normalised to UTC.
    Datetime,
}

/// One attribute: a JSONPath string, or a full definition.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Attribute {
    /// A JSONPath relative to the record, e.g. `$.emails[0].value`.
    Path(JsonPath),
    /// A full definition.
    Full(AttributeDef),
}

/// A full attribute definition. Exactly one of `path`, `template` and `value`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeDef {
    /// JSONPath relative to the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<JsonPath>,
    /// Template over the record (`record.*`), e.g. `"{{record.first}} {{record.last}}"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// A constant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Value type. Default `json` (as found).
    #[serde(default, rename = "type")]
    pub value_type: AttributeType,
    /// Multi-valued: every match of the path is kept, as a list.
    #[serde(default, skip_serializing_if = "is_false")]
    pub multi: bool,
    /// Value when the path selects nothing or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// A record without this attribute is an error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
}

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Attribute;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSONPath string such as \"$.email\", or a map with `path`, `template` or `value`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Attribute, E> {
                Ok(Attribute::Path(JsonPath(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Attribute, A::Error> {
                AttributeDef::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Attribute::Full)
            }
        }
        d.deserialize_any(V)
    }
}

/// Account-side memberships: an attribute of the account that lists groups of a type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entitlement {
    /// The account attribute holding group identities (must be multi-valued).
    pub attribute: String,
    /// The group type those identities belong to. Default `group`.
    #[serde(default = "default_group_type")]
    pub group_type: String,
}

fn default_group_type() -> String {
    "group".to_string()
}
