//! What paging knows about a page: where it is ([`PageState`], `page.*` in templates) and what
//! its response said about the next one ([`Head`]), including the RFC 8288 Link header.

use serde_json::{Map, Value, json};
use url::Url;

use crate::compile::CompiledPaging;

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
