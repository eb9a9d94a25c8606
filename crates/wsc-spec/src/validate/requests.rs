//! Requests: path or URL, query, headers and the one body.

use crate::diagnostic::Diagnostic;
use crate::locate::join_key;
use crate::model::{Method, RawBody, RequestSpec, Template};

use super::validator::{Ctx, Secrecy, Validator};

impl Validator<'_> {
    pub(super) fn request(&mut self, path: &str, r: &RequestSpec, ctx: Ctx) {
        match (&r.path, &r.url) {
            (None, None) => self.error(
                path,
                "the request needs `path` (relative to `base_url`) or `url`",
                Some("e.g. `path: /users`".into()),
            ),
            (Some(_), Some(_)) => self.error(
                path,
                "the request has both `path` and `url`; keep one",
                None,
            ),
            _ => {}
        }
        if let Some(p) = &r.path {
            self.template(&join_key(path, "path"), p, ctx, Secrecy::Plain);
            if !p.0.starts_with('/') && !p.0.starts_with("{{") {
                self.push(
                    &join_key(path, "path"),
                    Diagnostic::warning(format!("path `{p}` does not start with `/`"))
                        .hint("paths are appended to `base_url`; write `/users`"),
                );
            }
        }
        if let Some(u) = &r.url {
            self.template(&join_key(path, "url"), u, ctx, Secrecy::Plain);
        }
        for (k, t) in &r.query {
            self.template(&format!("{path}.query.{k}"), t, ctx, Secrecy::Plain);
        }
        for (k, t) in &r.headers {
            self.header_name(&format!("{path}.headers.{k}"), k);
            self.template(&format!("{path}.headers.{k}"), t, ctx, Secrecy::Plain);
        }
        self.bodies(path, &r.body, &r.form, &r.multipart, &r.raw, ctx);
        if let Some(g) = &r.graphql {
            self.graphql(path, r, g, ctx);
        }
        self.xml_body(path, r, ctx);
        if matches!(r.method, Method::Get | Method::Head)
            && (r.body.is_some()
                || !r.form.is_empty()
                || !r.multipart.is_empty()
                || r.raw.is_some()
                || r.xml.is_some())
        {
            self.push(
                &join_key(path, "method"),
                Diagnostic::warning(format!("a {} request with a body", r.method.as_str()))
                    .hint("many servers ignore or reject bodies on GET; use POST, or move the values to `query`"),
            );
        }
    }

    pub(super) fn bodies(
        &mut self,
        path: &str,
        body: &Option<serde_json::Value>,
        form: &indexmap::IndexMap<String, Template>,
        multipart: &indexmap::IndexMap<String, Template>,
        raw: &Option<RawBody>,
        ctx: Ctx,
    ) {
        let n = [
            body.is_some(),
            !form.is_empty(),
            !multipart.is_empty(),
            raw.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if n > 1 {
            self.error(
                path,
                "a request has at most one of `body`, `form`, `multipart` and `raw`",
                None,
            );
        }
        if let Some(b) = body {
            self.tree(&join_key(path, "body"), b, ctx);
        }
        for (k, t) in form {
            self.template(&format!("{path}.form.{k}"), t, ctx, Secrecy::Plain);
        }
        for (k, t) in multipart {
            self.template(&format!("{path}.multipart.{k}"), t, ctx, Secrecy::Plain);
        }
        if let Some(r) = raw {
            self.template(&format!("{path}.raw.text"), &r.text, ctx, Secrecy::Plain);
        }
    }
}
