//! Date windows: an aggregation read as successive time windows, the end of the last one
//! kept for the next run (`windows`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::{Duration, Template};

/// An aggregation read as successive time windows (`window.start` / `window.end` in its
/// requests), each paged to its end, in order. The end of the last window is kept in the
/// connector state after a complete run, and the next run starts there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Windows {
    /// Where the first window starts on a first run (template): an RFC 3339 timestamp or a
    /// date (`2024-01-31`, midnight UTC), e.g. `"{{settings.start_date}}"`. Later runs start
    /// where the last complete run's last window ended.
    pub start: Template,
    /// The length of each window, e.g. `7d`, `12h`; the last one ends at `end`.
    pub size: Duration,
    /// Where the last window ends (template, same forms as `start`). Default: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Template>,
}
