//! Paging through list responses.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
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
    /// The total number of records: a JSONPath into the body, or `{ header: NAME }`. With
    /// it, `offset` and `page` listings fetch pages concurrently; every kind but
    /// `link_header` checks the records delivered against it. Declared, it must be on the
    /// first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<PageValue>,
    /// The next cursor (`cursor` kind): a JSONPath into the body, or `{ header: NAME }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<PageValue>,
    /// The next URL (`next_url` kind): a JSONPath into the body, or `{ header: NAME }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_url: Option<PageValue>,
    /// Whether another page follows (`cursor` and `next_url` kinds): a boolean read from the
    /// body (`"$.data.users.pageInfo.hasNextPage"`) or `{ header: NAME }`, on every page.
    /// `false` ends the listing even when the page carries a cursor; `true` with no cursor
    /// (or next URL) is an error, as is a page without the value: the end is never guessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more: Option<PageValue>,
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
    /// `offset` and `page` listings: an empty page does not end the listing, for APIs that
    /// return empty pages while more records follow (records filtered after paging, an index
    /// catching up). The listing then ends by `total`, `stop_when` or `max_pages`, one of which
    /// must be declared; `max_empty_pages` guards against an API that never ends. (A cursor,
    /// next URL or Link header on an empty page always continues the listing.) Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub past_empty_pages: Option<bool>,
    /// The loop guard: how many empty pages in a row a listing may fetch while the API still
    /// says there is more (a cursor, a next URL, or `past_empty_pages`). One more fails the run
    /// instead of paging forever. Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_empty_pages: Option<Count>,
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

/// Where paging reads a value of a response: a JSONPath into the body (`"$.total"`), or a
/// response header (`{ header: X-Total-Count }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PageValue {
    /// A JSONPath into the body.
    Body(JsonPath),
    /// A response header, by name (case-insensitive).
    Header {
        /// The header name.
        header: String,
    },
}

impl PageValue {
    /// The JSONPath, for a value read from the body.
    pub fn body_path(&self) -> Option<&JsonPath> {
        match self {
            PageValue::Body(p) => Some(p),
            PageValue::Header { .. } => None,
        }
    }
}

impl fmt::Display for PageValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageValue::Body(p) => write!(f, "{p}"),
            PageValue::Header { header } => write!(f, "header {header}"),
        }
    }
}

impl<'de> Deserialize<'de> for PageValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PageValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a JSONPath such as \"$.total\", or `{ header: NAME }` for a response header",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PageValue, E> {
                Ok(PageValue::Body(JsonPath(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<PageValue, A::Error> {
                let mut header: Option<String> = None;
                while let Some(k) = m.next_key::<String>()? {
                    if k != "header" {
                        return Err(de::Error::unknown_field(&k, &["header"]));
                    }
                    if header.is_some() {
                        return Err(de::Error::duplicate_field("header"));
                    }
                    header = Some(m.next_value()?);
                }
                header
                    .map(|header| PageValue::Header { header })
                    .ok_or_else(|| de::Error::missing_field("header"))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for PageValue {
    fn schema_name() -> Cow<'static, str> {
        "PageValue".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let path = g.subschema_for::<JsonPath>();
        json_schema!({
            "description": "A JSONPath into the body, or `{ header: NAME }` for a response header.",
            "oneOf": [
                path,
                {
                    "type": "object",
                    "properties": { "header": { "type": "string", "description": "Response header name (case-insensitive)." } },
                    "required": ["header"],
                    "additionalProperties": false
                }
            ]
        })
    }
}
