//! Hook scripts run around requests and operations.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::{ByteSize, Duration};

/// Hook scripts (Rhai) run around an operation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// Runs before each request; may change method, URL, query, headers and body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Hook>,
    /// Runs after each response; may change, drop or add records, and set state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Hook>,
    /// Runs once before the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_operation: Option<Hook>,
    /// Runs once after the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_operation: Option<Hook>,
    /// What a hook error does: `stop` the operation (default) or `skip_record`.
    #[serde(default)]
    pub on_error: HookErrorMode,
}

/// Hook error handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookErrorMode {
    /// Stop the operation with the hook's error.
    #[default]
    Stop,
    /// Skip the record being processed and go on.
    SkipRecord,
}

/// A hook script: a file beside the connector, or inline source. Exactly one of `file` and
/// `script`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// A Rhai file, relative to the connector file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Inline Rhai source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

/// Limits of this connector's hooks, where the defaults do not fit; every hook run is held to
/// them (see docs/hooks.md, "Limits", for every limit and its default). A limit cannot be
/// switched off.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookLimits {
    /// Longest wall-clock time one hook run may take: `250ms`, `2s`... Default `1s`, at most
    /// `60s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<Duration>,
    /// Most memory one hook run may hold beyond the values it is given: `64MiB`... Default
    /// `64MiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<ByteSize>,
    /// Most operations (statements, expressions, calls, loop iterations) one hook run may
    /// perform. Default 1000000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_operations: Option<u64>,
}

impl HookLimits {
    /// Whether no limit is set (all defaults).
    pub fn is_empty(&self) -> bool {
        *self == HookLimits::default()
    }
}
