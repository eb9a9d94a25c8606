//! Paging through list responses.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settable::Count;
use crate::values::{JsonPath, Template};

/// Paging kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PagingKind {
    /// Offset and limit: templates see `page.offset` and `page.limit`.
    Offset,
    /// Page number: templates see `page.number` and `page.limit`.
    Page,
    /// Cursor from the body: templates see `page.cursor` (empty on the first request).
    Cursor,
    /// Next URL from the body.
    NextUrl,
    /// RFC 8288 `Link` header with `rel="next"`.
    LinkHeader,
}

/// What a listing whose record count differs from its reported total does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TotalMismatch {
    /// Fail the run: records were skipped or counted twice.
    #[default]
    Error,
    /// Log a warning and finish (for sources that change while they are read).
    Warn,
}

/// How an operation pages through results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// The paging kind.
    pub kind: PagingKind,
    /// Page size (`page.limit`). Required for `offset` and `page`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Count>,
    /// First offset (default 0) or first page number (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Count>,
    /// JSONPath of the total number of records. With it, pages are fetched concurrently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<JsonPath>,
    /// JSONPath of the next cursor (`cursor` kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<JsonPath>,
    /// JSONPath of the next URL (`next_url` kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_url: Option<JsonPath>,
    /// Stop after a page with fewer records than `limit`. Default `true` for offset and page.
    /// With a known `total`, a short page before the total does not stop the run, and a short
    /// page followed by more records is an error (the API caps its page size below `limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_on_short_page: Option<bool>,
    /// Without a `total`, a short page ends an `offset` or `page` listing only once one more
    /// request finds no records: an API that caps its page size below `limit` would otherwise
    /// end the run early, silently (the confirming page holding records is an error that
    /// says so). Costs one request per run. `false` states the API never returns fewer
    /// records than `limit` before the last page. Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_end: Option<bool>,
    /// Stop when this template renders `true` (sees `response`, `page`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_when: Option<Template>,
    /// Pages fetched at once when the total is known. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Count>,
    /// Safety limit on the number of pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<Count>,
    /// When the records a listing delivered differ from the `total` its pages reported (the
    /// last one read): `error` (default) fails the run, `warn` logs and finishes. Not checked
    /// when `max_pages` ended the listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_total_mismatch: Option<TotalMismatch>,
}
