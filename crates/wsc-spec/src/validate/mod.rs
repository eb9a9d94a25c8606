//! Semantic validation: everything serde cannot check, all errors at once.
//!
//! Templates parse and read only contexts that exist where they are; JSONPaths compile;
//! referenced settings exist; hook files exist; each auth grant and paging kind has the keys it
//! needs; operations are complete and consistent.

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::locate::{LocationIndex, join_index, join_key};
use crate::model::{Connector, ErrorRule, Floor};

mod auth;
mod graphql;
mod leaves;
mod operations;
mod paging;
mod requests;
mod settings;
mod setup;
pub mod soap;
mod templates;
mod validator;
mod writes;
mod xml;

use self::validator::{Ctx, Secrecy, Validator};

/// Validates a deserialised connector. `dir` is the connector's directory (for hook files).
pub fn validate(c: &Connector, dir: &Path, index: &LocationIndex) -> Vec<Diagnostic> {
    let mut v = Validator {
        c,
        dir,
        index,
        diags: Vec::new(),
        auth_base: None,
        xml_prefixes: None,
    };
    v.connector();
    v.diags
}

impl Validator<'_> {
    /// `hook_limits`: a time limit between 1 ms and 60 s (the hook thread's stack is sized for
    /// what a script can build in 60 s), no limit of 0.
    fn hook_limits(&mut self) {
        let l = &self.c.hook_limits;
        if let Some(d) = l.max_duration
            && (d.get() < std::time::Duration::from_millis(1)
                || d.get() > std::time::Duration::from_secs(60))
        {
            self.push(
                "hook_limits.max_duration",
                Diagnostic::error(format!("hook time limit of {:?} is out of range", d.get()))
                    .expected("a duration from `1ms` to `60s`")
                    .hint("a hook that needs more than a minute per run belongs outside the connector"),
            );
        }
        if l.max_memory.is_some_and(|m| m.get() == 0) {
            self.push(
                "hook_limits.max_memory",
                Diagnostic::error("a hook memory limit of 0 bytes")
                    .expected("a size such as `64MiB`")
                    .hint("limits cannot be switched off; leave the key out for the default"),
            );
        }
        if l.max_operations == Some(0) {
            self.push(
                "hook_limits.max_operations",
                Diagnostic::error("a hook operation limit of 0")
                    .expected("a positive number, such as 1000000")
                    .hint("limits cannot be switched off; leave the key out for the default"),
            );
        }
    }

    pub(super) fn connector(&mut self) {
        let c = self.c;
        let name = &c.connector;
        if name.is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_')
        {
            self.push(
                "connector",
                Diagnostic::error(format!("invalid connector name `{name}`"))
                    .expected("lower-case letters, digits, `-` and `_`")
                    .hint(format!("for example `connector: {}`", suggest_name(name))),
            );
        }
        self.settings();
        self.hook_limits();
        if let Some(inst) = &c.instance {
            for (i, n) in inst.iter().enumerate() {
                self.setting_ref(&join_index("instance", i), n);
            }
        }
        let base = Ctx::default();
        self.template("base_url", &c.base_url, base, Secrecy::Plain);
        if !c.base_url.0.contains("{{") {
            let b = c.base_url.0.to_ascii_lowercase();
            if !(b.starts_with("http://") || b.starts_with("https://")) {
                self.error(
                    "base_url",
                    format!(
                        "`base_url` must be an http:// or https:// URL, found `{}`",
                        c.base_url
                    ),
                    Some("for example `base_url: https://api.example.com/v1`".into()),
                );
            }
        }
        for (i, h) in c.allowed_hosts.iter().enumerate() {
            if h.is_empty() || h.contains("://") || h.contains('/') || h.contains(' ') {
                self.error(
                    &join_index("allowed_hosts", i),
                    format!("`{h}` is not a host name"),
                    Some(
                        "list bare host names such as `files.example.com` (no scheme, no path)"
                            .into(),
                    ),
                );
            }
        }
        self.http();
        self.auth();
        self.operations();
        self.ws_security_requests();
    }

    pub(super) fn http(&mut self) {
        let h = &self.c.http;
        let ctx = Ctx::default();
        for (k, t) in &h.headers {
            self.template(&format!("http.headers.{k}"), t, ctx, Secrecy::Plain);
        }
        self.error_rules("http.errors", &h.errors);
        for (i, jp) in h.error_message.iter().enumerate() {
            self.jsonpath(&format!("http.error_message[{i}]"), jp);
        }
        if let Some(n) = h.retry.max_attempts
            && n == 0
        {
            self.error(
                "http.retry.max_attempts",
                "`max_attempts` counts the first attempt too, so it must be at least 1",
                Some("use 1 to disable retries".into()),
            );
        }
        if let Some(r) = h.retry.budget.ratio
            && !(r.is_finite() && r >= 0.0)
        {
            self.error(
                "http.retry.budget.ratio",
                format!("`ratio` is the number of retries allowed per request sent, so it must be a number of 0 or more, not {r}"),
                Some("`0.2` allows one retry per five requests; `0` leaves only `min_retries`".into()),
            );
        }
        for (i, rule) in h.retry.on_headers.iter().enumerate() {
            if !paging::is_header_name(&rule.header) {
                self.error(
                    &format!("http.retry.on_headers[{i}].header"),
                    format!("`{}` is not an HTTP header name", rule.header),
                    Some(
                        "a header name is letters, digits and `-`, e.g. `X-RateLimit-Remaining`"
                            .into(),
                    ),
                );
            }
        }
        if let Some(r) = &h.requests_per_second {
            self.settable("http.requests_per_second", r, Floor::Positive);
        }
        let t = &h.tls;
        if t.client_cert.is_none() {
            for (k, v) in [
                ("client_key", &t.client_key),
                ("client_key_password", &t.client_key_password),
            ] {
                if v.is_some() {
                    self.error(
                        &format!("http.tls.{k}"),
                        format!("`{k}` needs `client_cert`: mutual TLS presents a certificate and proves it holds its key"),
                        Some("add `client_cert: certs/client.pem` (the certificate file; it may hold the key too)".into()),
                    );
                }
            }
        }
        for (k, v) in [
            ("ca_file", &t.ca_file),
            ("client_cert", &t.client_cert),
            ("client_key", &t.client_key),
        ] {
            if let Some(v) = v {
                self.template(&format!("http.tls.{k}"), v, ctx, Secrecy::Plain);
            }
        }
        if let Some(p) = &t.client_key_password {
            self.template("http.tls.client_key_password", p, ctx, Secrecy::Secret);
        }
        if t.insecure_skip_verify {
            self.push(
                "http.tls.insecure_skip_verify",
                Diagnostic::warning("TLS certificate verification is turned off")
                    .hint("use `ca_file` to trust a private CA instead"),
            );
        }
    }

    pub(super) fn error_rules(&mut self, path: &str, rules: &[ErrorRule]) {
        let ctx = Ctx {
            response: true,
            headers: true,
            ..Ctx::default()
        };
        for (i, r) in rules.iter().enumerate() {
            let p = join_index(path, i);
            let n = [
                r.path.is_some(),
                r.body_contains.is_some(),
                r.expression.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if n != 1 {
                self.error(
                    &p,
                    "an error rule needs exactly one of `path`, `body_contains` and `expression`",
                    Some("e.g. `{ path: \"$.error\", message: \"$.error.message\" }`".into()),
                );
            }
            if r.equals.is_some() && r.path.is_none() {
                self.error(&join_key(&p, "equals"), "`equals` needs `path`", None);
            }
            if let Some(jp) = &r.path {
                self.jsonpath(&join_key(&p, "path"), jp);
            }
            if let Some(jp) = &r.message {
                self.jsonpath(&join_key(&p, "message"), jp);
            }
            if let Some(t) = &r.expression {
                self.template(&join_key(&p, "expression"), t, ctx, Secrecy::Plain);
            }
        }
    }
}

fn suggest_name(name: &str) -> String {
    let s: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() { "my-api".into() } else { s }
}
