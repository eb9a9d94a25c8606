//! Paging compiled for execution: where each page value is read (a JSONPath into the body or
//! a header), the numeric keys read for this instance, the stop expression.

use serde_json::Value;
use wsc_spec::JsonPath;
use wsc_spec::model::{Count, Floor, PageValue, Paging, PagingKind};

use crate::error::EngineError;
use crate::path::CompiledPath;
use crate::settings::settable;
use crate::template::{Escape, Template, Templates};

/// Compiled paging.
#[derive(Debug, Clone)]
pub struct CompiledPaging {
    /// Kind.
    pub kind: PagingKind,
    /// Page size.
    pub limit: u64,
    /// First offset or page number.
    pub start: u64,
    /// Where the total is.
    pub total: Option<CompiledValue>,
    /// Where the next cursor is.
    pub cursor: Option<CompiledValue>,
    /// Where the next URL is.
    pub next_url: Option<CompiledValue>,
    /// Where "another page follows" is (`has_more`).
    pub has_more: Option<CompiledValue>,
    /// Stop after a short page.
    pub stop_on_short_page: bool,
    /// Confirm the end of a listing without a total by one more request.
    pub confirm_end: bool,
    /// Stop expression.
    pub stop_when: Option<Template>,
    /// Pages at once when the total is known.
    pub concurrency: usize,
    /// Page limit.
    pub max_pages: Option<u64>,
    /// What a delivered count that differs from the total does.
    pub on_total_mismatch: wsc_spec::model::TotalMismatch,
    /// Offset and page-number listings continue past empty pages.
    pub past_empty_pages: bool,
    /// Empty pages in a row allowed while the API says there is more.
    pub max_empty_pages: u64,
}

/// Compiles the JSONPath at `location`.
pub(crate) fn compile_path(location: &str, p: &JsonPath) -> Result<CompiledPath, EngineError> {
    CompiledPath::compile(p.as_str()).map_err(|e| EngineError::Config(format!("{location}: {e}")))
}

pub(crate) fn opt_path(
    location: &str,
    p: &Option<JsonPath>,
) -> Result<Option<CompiledPath>, EngineError> {
    p.as_ref().map(|p| compile_path(location, p)).transpose()
}

/// Where paging reads a value of a response, compiled.
#[derive(Debug, Clone)]
pub enum CompiledValue {
    /// A JSONPath into the body.
    Body(CompiledPath),
    /// A response header.
    Header(reqwest::header::HeaderName),
}

impl CompiledValue {
    /// How the connector names it, for messages: `$.total`, `header X-Total-Count`.
    pub fn describe(&self) -> String {
        match self {
            CompiledValue::Body(p) => format!("`{}`", p.as_str()),
            CompiledValue::Header(h) => format!("header `{h}`"),
        }
    }
}

pub(crate) fn opt_value(
    location: &str,
    v: &Option<PageValue>,
) -> Result<Option<CompiledValue>, EngineError> {
    v.as_ref()
        .map(|v| match v {
            PageValue::Body(p) => compile_path(location, p).map(CompiledValue::Body),
            PageValue::Header { header } => {
                reqwest::header::HeaderName::from_bytes(header.as_bytes())
                    .map(CompiledValue::Header)
                    .map_err(|e| EngineError::Config(format!("{location}.header: `{header}`: {e}")))
            }
        })
        .transpose()
}

/// A numeric key for this instance ([`settable`]), or `default` when the key is absent.
pub(crate) fn count(
    location: &str,
    v: &Option<Count>,
    settings: &Value,
    floor: Floor,
    default: u64,
) -> Result<u64, EngineError> {
    v.as_ref()
        .map_or(Ok(default), |v| settable(location, v, settings, floor))
}

impl CompiledPaging {
    pub(crate) fn compile(
        t: &mut Templates,
        location: &str,
        p: &Paging,
        settings: &Value,
    ) -> Result<CompiledPaging, EngineError> {
        let offset_like = matches!(p.kind, PagingKind::Offset | PagingKind::Page);
        let at = |key: &str| format!("{location}.{key}");
        Ok(CompiledPaging {
            kind: p.kind,
            limit: count(&at("limit"), &p.limit, settings, Floor::One, 100)?,
            start: count(
                &at("start"),
                &p.start,
                settings,
                Floor::Zero,
                if p.kind == PagingKind::Page { 1 } else { 0 },
            )?,
            total: opt_value(&format!("{location}.total"), &p.total)?,
            cursor: opt_value(&format!("{location}.cursor"), &p.cursor)?,
            next_url: opt_value(&format!("{location}.next_url"), &p.next_url)?,
            has_more: opt_value(&format!("{location}.has_more"), &p.has_more)?,
            stop_on_short_page: p.stop_on_short_page.unwrap_or(offset_like),
            confirm_end: p.confirm_end.unwrap_or(true),
            stop_when: p
                .stop_when
                .as_ref()
                .map(|s| t.compile(&format!("{location}.stop_when"), s.as_str(), Escape::None))
                .transpose()?,
            concurrency: count(&at("concurrency"), &p.concurrency, settings, Floor::One, 4)?
                as usize,
            max_pages: p
                .max_pages
                .as_ref()
                .map(|m| settable(&at("max_pages"), m, settings, Floor::One))
                .transpose()?,
            on_total_mismatch: p.on_total_mismatch.unwrap_or_default(),
            past_empty_pages: p.past_empty_pages.unwrap_or(false),
            max_empty_pages: count(
                &at("max_empty_pages"),
                &p.max_empty_pages,
                settings,
                Floor::One,
                10,
            )?,
        })
    }
}
