//! XML responses: the body format of an operation and the namespace prefixes its XPaths use.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How an operation's response bodies are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// JSON: `records`, `identity`, attribute paths and paging values are JSONPaths (default).
    #[default]
    Json,
    /// XML: `records`, `identity`, `name`, `members`, attribute paths, `delta.deleted`,
    /// paging values and the paths of `errors` are XPath 1.0 expressions (attribute paths
    /// relative to the record node), using the prefixes of `namespaces`.
    Xml,
}

impl BodyFormat {
    /// Whether this is [`BodyFormat::Xml`].
    pub fn is_xml(format: &Option<BodyFormat>) -> bool {
        *format == Some(BodyFormat::Xml)
    }
}

/// XML namespace prefixes: `prefix: uri`. Boxed, so that operations without any stay small
/// (connectors are deserialised on the stack, and every operation holds this map).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Namespaces(pub Box<IndexMap<String, String>>);

impl Namespaces {
    /// Whether no prefix is declared.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The prefixes and their URIs.
    pub fn map(&self) -> &IndexMap<String, String> {
        &self.0
    }
}
