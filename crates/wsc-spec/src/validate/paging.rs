//! Paging: the keys each paging kind needs, and a request that moves with the page.

use crate::locate::join_key;
use crate::model::{Floor, PageValue, Paging, PagingKind, RequestSpec, Template};
use crate::template::{self, Context};

use super::validator::{Ctx, Secrecy, Validator};

impl Validator<'_> {
    pub(super) fn paging(&mut self, path: &str, p: &Paging, req: &RequestSpec) {
        let kind = p.kind;
        let kname = match kind {
            PagingKind::Offset => "offset",
            PagingKind::Page => "page",
            PagingKind::Cursor => "cursor",
            PagingKind::NextUrl => "next_url",
            PagingKind::LinkHeader => "link_header",
        };
        let need = |v: &mut Self, present: bool, key: &str, example: &str| {
            if !present {
                v.error(
                    &join_key(path, "kind"),
                    format!("paging kind `{kname}` needs `{key}`"),
                    Some(format!("e.g. `{key}: {example}`")),
                );
            }
        };
        match kind {
            PagingKind::Offset | PagingKind::Page => need(self, p.limit.is_some(), "limit", "200"),
            PagingKind::Cursor => need(self, p.cursor.is_some(), "cursor", "\"$.next_cursor\""),
            PagingKind::NextUrl => need(self, p.next_url.is_some(), "next_url", "\"$.links.next\""),
            PagingKind::LinkHeader => {}
        }
        let not_for = |v: &mut Self, present: bool, key: &str, kinds: &str| {
            if present {
                v.error(
                    &join_key(path, key),
                    format!("`{key}` does not apply to paging kind `{kname}`"),
                    Some(format!("`{key}` is used by {kinds}")),
                );
            }
        };
        if !matches!(kind, PagingKind::Cursor) {
            not_for(self, p.cursor.is_some(), "cursor", "`kind: cursor`");
        }
        if !matches!(kind, PagingKind::NextUrl) {
            not_for(self, p.next_url.is_some(), "next_url", "`kind: next_url`");
        }
        if p.past_empty_pages == Some(true) {
            if !matches!(kind, PagingKind::Offset | PagingKind::Page) {
                self.error(
                    &join_key(path, "past_empty_pages"),
                    format!("`past_empty_pages` does not apply to paging kind `{kname}`"),
                    Some("a cursor, next URL or Link header on an empty page already continues the listing; `past_empty_pages` is for `kind: offset` and `kind: page`".into()),
                );
            } else if p.total.is_none() && p.stop_when.is_none() && p.max_pages.is_none() {
                self.error(
                    &join_key(path, "past_empty_pages"),
                    "`past_empty_pages: true` but nothing says where the listing ends: an empty page no longer does",
                    Some("declare `total` (where the API reports the record count), `stop_when` (e.g. `stop_when: \"{{response.done}}\"`) or `max_pages`".into()),
                );
            }
        }
        if !matches!(kind, PagingKind::Cursor | PagingKind::NextUrl) {
            not_for(
                self,
                p.has_more.is_some(),
                "has_more",
                "`kind: cursor` and `kind: next_url`",
            );
        }
        if kind == PagingKind::LinkHeader {
            not_for(
                self,
                p.total.is_some(),
                "total",
                "`kind: offset`, `page`, `cursor` and `next_url`",
            );
        }
        if !matches!(kind, PagingKind::Offset | PagingKind::Page) {
            not_for(
                self,
                p.start.is_some(),
                "start",
                "`kind: offset` and `kind: page`",
            );
        }
        for (key, v, floor) in [
            ("limit", &p.limit, Floor::One),
            ("start", &p.start, Floor::Zero),
            ("concurrency", &p.concurrency, Floor::One),
            ("max_pages", &p.max_pages, Floor::One),
            ("max_empty_pages", &p.max_empty_pages, Floor::One),
        ] {
            if let Some(v) = v {
                self.settable(&join_key(path, key), v, floor);
            }
        }
        for (k, jp) in [
            ("total", &p.total),
            ("cursor", &p.cursor),
            ("next_url", &p.next_url),
            ("has_more", &p.has_more),
        ] {
            match jp {
                Some(PageValue::Body(jp)) => self.jsonpath(&join_key(path, k), jp),
                Some(PageValue::Header { header }) if !is_header_name(header) => {
                    self.error(
                        &join_key(&join_key(path, k), "header"),
                        format!("`{header}` is not an HTTP header name"),
                        Some(
                            "a header name is letters, digits and `-`, e.g. `X-Total-Count`".into(),
                        ),
                    );
                }
                _ => {}
            }
        }
        if let Some(t) = &p.stop_when {
            let ctx = Ctx {
                page: true,
                paging_kind: Some(p.kind),
                response: true,
                headers: true,
                ..Ctx::default()
            };
            self.template(&join_key(path, "stop_when"), t, ctx, Secrecy::Plain);
        }
        // The request must move with the page, or every page is the same request.
        let wanted = match kind {
            PagingKind::Offset => Some("offset"),
            PagingKind::Page => Some("number"),
            PagingKind::Cursor => Some("cursor"),
            PagingKind::NextUrl | PagingKind::LinkHeader => None,
        };
        if let Some(field) = wanted
            && !request_uses_page_field(req, field)
        {
            self.error(
                    &join_key(path, "kind"),
                    format!("paging kind `{kname}` but the request never uses `page.{field}`, so every page would be the same request"),
                    Some(format!("put `{{{{page.{field}}}}}` in the request, e.g. `query: {{ {}: \"{{{{page.{field}}}}}\" }}`", match field { "number" => "page", f => f })),
                );
        }
    }
}

fn request_uses_page_field(r: &RequestSpec, field: &str) -> bool {
    let uses = |t: &str| {
        template::analyze(t)
            .map(|u| {
                u.paths.iter().any(|p| {
                    p.context() == Some(Context::Page) && p.rest.split('.').next() == Some(field)
                })
            })
            .unwrap_or(true)
    };
    let mut all: Vec<&str> = Vec::new();
    if let Some(p) = &r.path {
        all.push(p.as_str());
    }
    if let Some(u) = &r.url {
        all.push(u.as_str());
    }
    all.extend(r.query.values().map(Template::as_str));
    all.extend(r.headers.values().map(Template::as_str));
    all.extend(r.form.values().map(Template::as_str));
    all.extend(r.multipart.values().map(Template::as_str));
    if let Some(raw) = &r.raw {
        all.push(raw.text.as_str());
    }
    if let Some(x) = &r.xml {
        all.push(x.as_str());
    }
    let mut body_strings = Vec::new();
    if let Some(b) = &r.body {
        collect_strings(b, &mut body_strings);
    }
    if let Some(v) = r.graphql.as_ref().and_then(|g| g.variables.as_ref()) {
        collect_strings(v, &mut body_strings);
    }
    all.extend(body_strings.iter().map(String::as_str));
    all.into_iter().any(uses)
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// An RFC 9110 field name: one or more token characters.
pub(super) fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
