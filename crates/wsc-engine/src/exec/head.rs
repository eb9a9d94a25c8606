//! What paging knows about a page: where it is ([`PageState`], `page.*` in templates) and what
//! its response said about the next one ([`Head`]), including the RFC 8288 Link header.

use serde_json::{Map, Value, json};
use url::Url;

use crate::compile::{CompiledPaging, CompiledValue};
use crate::doc::Doc;
use crate::error::EngineError;
use crate::http::{Origin, Response};

/// What the driver needs from a page before its records are mapped.
#[derive(Debug, Default)]
pub(crate) struct Head {
    /// Records on the page.
    pub(crate) count: usize,
    /// The total the page reports.
    pub(crate) total: Option<u64>,
    /// The next cursor.
    pub(crate) cursor: Option<String>,
    /// The next-page URL from the body.
    pub(crate) next_url: Option<String>,
    /// The `rel="next"` target of the Link header.
    pub(crate) link_next: Option<String>,
    /// Whether another page follows (`paging.has_more`), when the connector reads it.
    pub(crate) has_more: Option<bool>,
    /// `stop_when` rendered `true`.
    pub(crate) stop: bool,
    /// The URL the page came from (next URLs are relative to it).
    pub(crate) url: Option<Url>,
    /// Values the step saves.
    pub(crate) saved: Map<String, Value>,
}

/// Where a page is.
#[derive(Debug, Clone, Default)]
pub(crate) struct PageState {
    /// Pages before this one.
    pub(crate) index: u64,
    /// `page.offset`.
    pub(crate) offset: u64,
    /// `page.number`.
    pub(crate) number: u64,
    /// `page.cursor`.
    pub(crate) cursor: Option<String>,
    /// The URL to fetch instead of the step's request URL.
    pub(crate) next: Option<Url>,
}

impl PageState {
    /// `page.*` in templates.
    pub(crate) fn to_value(&self, p: Option<&CompiledPaging>) -> Value {
        json!({
            "index": self.index,
            "offset": self.offset,
            "number": self.number,
            "limit": p.map(|p| p.limit).unwrap_or(0),
            "cursor": self.cursor,
        })
    }
}

/// The `rel="next"` target of an RFC 8288 Link header value.
pub(crate) fn link_next(header: &str) -> Option<String> {
    for part in header.split(',') {
        let part = part.trim();
        let (target, params) = part.split_once('>')?;
        let target = target.trim().strip_prefix('<')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| {
                    v.trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
                })
                .unwrap_or(false)
        });
        if is_next {
            return Some(target.to_string());
        }
    }
    None
}

/// A paging value as text: from the body (a string, number or boolean) or a header.
pub(crate) fn read_text(v: &CompiledValue, doc: &Doc<'_>, resp: &Response) -> Option<String> {
    match v {
        CompiledValue::Body(p) => p.first(doc).and_then(|d| match d {
            Doc::String(s) => Some(s.to_string()),
            Doc::Number(n) => Some(n.as_str().to_string()),
            Doc::Bool(b) => Some(b.to_string()),
            _ => None,
        }),
        CompiledValue::Header(h) => resp
            .headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    }
}

/// Whether another page follows (`paging.has_more`): a boolean (or `"true"` / `"false"`) in
/// the body or a header. Absent, null or anything else is an error: the end of the listing is
/// never guessed.
pub(crate) fn read_has_more(
    v: &CompiledValue,
    doc: &Doc<'_>,
    resp: &Response,
    origin: &Origin,
) -> Result<bool, EngineError> {
    let parse = |s: &str| match s.trim() {
        t if t.eq_ignore_ascii_case("true") => Some(true),
        t if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    };
    let (found, shown) = match v {
        CompiledValue::Body(p) => match p.first(doc) {
            Some(Doc::Bool(b)) => (Some(*b), String::new()),
            Some(Doc::String(s)) => (parse(s), format!("\"{s}\"")),
            Some(d) => (None, d.snippet(60)),
            None => (None, "absent".into()),
        },
        CompiledValue::Header(h) => match resp.headers.get(h) {
            Some(raw) => {
                let text = String::from_utf8_lossy(raw.as_bytes()).into_owned();
                (parse(&text), format!("\"{text}\""))
            }
            None => (None, "absent".into()),
        },
    };
    found.ok_or_else(|| EngineError::Paging {
        origin: origin.clone(),
        message: format!(
            "`paging.has_more` {} is {shown}, not true or false: without it the page cannot tell whether another page follows, so the run stops rather than guess the end of the listing",
            v.describe()
        ),
    })
}

/// The total a page reports. Absent: `None`, or an error when it `must` be there (the first
/// page with records). Present but not a whole number: an error.
pub(crate) fn read_total(
    v: &CompiledValue,
    doc: &Doc<'_>,
    resp: &Response,
    must: bool,
    origin: &Origin,
) -> Result<Option<u64>, EngineError> {
    let error = |message: String| EngineError::Paging {
        origin: origin.clone(),
        message,
    };
    let found = match v {
        CompiledValue::Body(p) => p.first(doc).and_then(|d| match d {
            Doc::Null => None,
            d => Some(
                d.as_u64()
                    .or_else(|| d.as_str().and_then(|s| s.trim().parse().ok()))
                    .ok_or_else(|| d.snippet(60)),
            ),
        }),
        CompiledValue::Header(h) => resp.headers.get(h).map(|raw| {
            let text = String::from_utf8_lossy(raw.as_bytes());
            text.trim().parse().map_err(|_| format!("\"{text}\""))
        }),
    };
    match found {
        Some(Ok(n)) => Ok(Some(n)),
        Some(Err(shown)) => Err(error(format!(
            "`paging.total` {} is {shown}, not a whole number of records",
            v.describe()
        ))),
        None if must => Err(error(missing_total(v, doc, resp))),
        None => Ok(None),
    }
}

/// Why a declared total was not found on the first page, with a hint.
fn missing_total(v: &CompiledValue, doc: &Doc<'_>, resp: &Response) -> String {
    match v {
        CompiledValue::Body(p) => {
            let path = p.as_str();
            let keys: Vec<&str> = match doc {
                Doc::Object(fields) => fields.iter().map(|(k, _)| k.as_ref()).collect(),
                _ => Vec::new(),
            };
            let wanted = last_key(path);
            let guess = wsc_spec::diagnostic::did_you_mean(wanted, keys.iter().copied())
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            let header = resp
                .headers
                .keys()
                .find(|h| h.as_str().eq_ignore_ascii_case(wanted))
                .or_else(|| {
                    resp.headers
                        .keys()
                        .find(|h| h.as_str().contains("total") || h.as_str().contains("count"))
                });
            let header_hint = header
                .map(|h| format!(" The response has a header `{h}`: a total in a header is `total: {{ header: {h} }}`."))
                .unwrap_or_default();
            format!(
                "`paging.total: {path}` found nothing on the first page (the response has: {}){guess}. Without the total the listing cannot be checked for completeness, so the run stops.{header_hint}",
                if keys.is_empty() {
                    "no keys".to_string()
                } else {
                    keys.join(", ")
                }
            )
        }
        CompiledValue::Header(h) => {
            let names: Vec<&str> = resp.headers.keys().map(|k| k.as_str()).collect();
            let guess = wsc_spec::diagnostic::did_you_mean(h.as_str(), names.iter().copied())
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            format!(
                "`paging.total: {{ header: {h} }}`: the first page has no such header (it has: {}){guess}. Without the total the listing cannot be checked for completeness, so the run stops.",
                names.join(", ")
            )
        }
    }
}

/// The last name in a JSONPath: `total` of `$.meta.total`, `x` of `$['x']`.
pub(crate) fn last_key(path: &str) -> &str {
    path.rsplit(['.', '['])
        .next()
        .unwrap_or("")
        .trim_matches(|c| matches!(c, '\'' | '"' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        let h = r#"<https://a.test/x?page=2>; rel="next", <https://a.test/x?page=9>; rel="last""#;
        assert_eq!(link_next(h).as_deref(), Some("https://a.test/x?page=2"));
        assert_eq!(link_next(r#"<https://a.test/x?page=9>; rel="last""#), None);
        assert_eq!(
            link_next(r#"<https://a.test/n>; rel="prev next""#).as_deref(),
            Some("https://a.test/n")
        );
    }
}
