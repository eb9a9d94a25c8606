//! XML bodies and SOAP requests: the one body, the envelope's namespaces, templates that
//! would insert a value without XML escaping, and WS-Security on requests that are not SOAP.

use crate::diagnostic::Diagnostic;
use crate::locate::{join_index, join_key};
use crate::model::{Auth, RequestSpec};

use super::validator::{Ctx, Secrecy, Validator};

/// Prefixes the envelope declares itself.
const RESERVED_PREFIXES: &[&str] = &["soap", "wsse", "wsu", "xml", "xmlns"];

/// Whether `s` is an XML name without a colon (an NCName, ASCII subset).
fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Where a template inserts a value without XML escaping (`{{{x}}}` or `{{& x}}`): the byte
/// offset, if anywhere.
pub fn unescaped_at(src: &str) -> Option<usize> {
    if let Some(i) = src.find("{{{") {
        return Some(i);
    }
    let mut from = 0;
    while let Some(i) = src[from..].find("{{") {
        let at = from + i;
        let rest = src[at + 2..].trim_start_matches('~').trim_start();
        if rest.starts_with('&') {
            return Some(at);
        }
        from = at + 2;
    }
    None
}

impl Validator<'_> {
    /// `xml` and `soap` of one request.
    pub(super) fn xml_body(&mut self, path: &str, r: &RequestSpec, ctx: Ctx) {
        if let Some(x) = &r.xml {
            let at = join_key(path, "xml");
            let others = r.body.is_some()
                || !r.form.is_empty()
                || !r.multipart.is_empty()
                || r.raw.is_some();
            if others {
                self.error(
                    path,
                    "a request has at most one of `body`, `form`, `multipart`, `raw` and `xml`",
                    None,
                );
            }
            self.template(&at, x, ctx, Secrecy::Plain);
            if let Some(i) = unescaped_at(x.as_str()) {
                self.push_at_char(
                    &at,
                    Diagnostic::error("an XML body inserts a value without XML escaping")
                        .expected("`{{value}}`: every value in an XML body is XML-escaped")
                        .hint("`{{{x}}}` and `{{& x}}` could break the document (or let a value add elements); write `{{x}}`"),
                    i,
                );
            }
        }
        let Some(s) = &r.soap else { return };
        let at = join_key(path, "soap");
        if r.xml.is_none() {
            self.error(
                &at,
                "a SOAP request needs `xml`: the content of the SOAP Body",
                Some(
                    "e.g. `xml: '<dir:GetUser><dir:id>{{plan.identity}}</dir:id></dir:GetUser>'`"
                        .into(),
                ),
            );
        }
        if let Some(a) = &s.action {
            self.template(&join_key(&at, "action"), a, ctx, Secrecy::Plain);
        }
        for (prefix, uri) in &s.namespaces {
            let p = format!("{at}.namespaces.{prefix}");
            if !is_ncname(prefix) || RESERVED_PREFIXES.contains(&prefix.as_str()) {
                self.error(
                    &p,
                    format!("`{prefix}` cannot be a namespace prefix here"),
                    Some(format!(
                        "a prefix is an XML name without `:`, other than {}",
                        RESERVED_PREFIXES.join(", ")
                    )),
                );
            }
            if uri.is_empty() || uri.contains(['"', '<', '&']) {
                self.error(
                    &p,
                    format!("`{uri}` is not a namespace URI"),
                    Some("write the URI of the namespace, e.g. `urn:directory`".into()),
                );
            }
        }
    }

    /// `auth: { type: ws_security }` puts its token into the SOAP header: every request of
    /// every operation must be a SOAP request.
    pub(super) fn ws_security_requests(&mut self) {
        let Auth::WsSecurity(_) = &self.c.auth else {
            return;
        };
        let mut missing = Vec::new();
        for (key, op) in self.c.operations.entries() {
            let base = format!("operations.{key}");
            if let Some(r) = &op.request
                && r.soap.is_none()
            {
                missing.push(join_key(&base, "request"));
            }
            for (i, s) in op.steps.iter().enumerate() {
                if s.request.soap.is_none() {
                    missing.push(join_key(
                        &join_index(&join_key(&base, "steps"), i),
                        "request",
                    ));
                }
            }
        }
        for p in missing {
            self.error(
                &p,
                "this request is not a SOAP request, but `auth: ws_security` sends its credentials in the SOAP header",
                Some("add `soap: { action: ... }` and an `xml` body, or use another auth kind".into()),
            );
        }
    }
}
