//! Side-effect requests run before reading (`setup`): join a channel before reading its
//! members, once per partition or once per record, with their own success rules.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::http::RequestSpec;
use crate::values::{JsonPath, StatusPattern};

/// A request run for its effect before records are read (e.g. Slack's `conversations.join`
/// before reading a channel's members), with its own rules for which answers are success,
/// which skip the partition or record, and (everything else) which fail the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// Name, unique among the operation's `setup` entries; named in warnings and errors.
    pub name: String,
    /// When it runs: `per_partition` (before each partition is read; `partition.*` is set) or
    /// `per_record` (for each record of the operation's request or first step, before the
    /// steps that read per record and before mapping; `record.*` is set).
    pub run: SetupRun,
    /// The request.
    pub request: RequestSpec,
    /// Answers that are success, any rule matching. Default: a 2xx status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<SetupRule>,
    /// Answers (not accepted) that skip the partition or the record: its records are left out
    /// of the run, and the summary warns about each one. Any answer neither accepted nor
    /// skipped fails the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<SetupRule>,
}

/// When a `setup` request runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SetupRun {
    /// Before each partition of a partitioned aggregation is read.
    PerPartition,
    /// For each record of the operation's request (or first step), before it is mapped.
    PerRecord,
}

/// One answer a `setup` request may get: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRule {
    /// Statuses of the answer. Default: 2xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<StatusPattern>>,
    /// JSONPath into the body. Without `equals`, it must select a value other than null or
    /// false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<JsonPath>,
    /// With `path`: the selected value equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
    /// The raw body contains this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
}
