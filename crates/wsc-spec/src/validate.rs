//! Semantic validation: everything serde cannot check, all errors at once.
//!
//! Templates parse and read only contexts that exist where they are; JSONPaths compile;
//! referenced settings exist; hook files exist; each auth grant and paging kind has the keys it
//! needs; operations are complete and consistent.

use std::collections::HashSet;
use std::path::Path;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::load::locate;
use crate::locate::{LocationIndex, join_index, join_key};
use crate::model::*;
use crate::template::{self, CONTEXTS, HELPERS};

/// Validates a deserialised connector. `dir` is the connector's directory (for hook files).
pub fn validate(c: &Connector, dir: &Path, index: &LocationIndex) -> Vec<Diagnostic> {
    let mut v = Validator {
        c,
        dir,
        index,
        diags: Vec::new(),
    };
    v.connector();
    v.diags
}

/// Where a template is, and so which contexts it may read.
#[derive(Clone, Copy, Default)]
struct Ctx {
    page: bool,
    plan: bool,
    record: bool,
    parent: bool,
    response: bool,
    saved: bool,
    auth: bool,
    last_run: bool,
    partition: bool,
}

impl Ctx {
    fn allows(&self, root: &str) -> Result<(), &'static str> {
        let (ok, why) = match root {
            "settings" | "state" | "now" => (true, ""),
            "page" => (
                self.page,
                "`page` is set only in requests that have `paging`",
            ),
            "plan" => (
                self.plan,
                "`plan` is set only in operations that take a provisioning plan (get_object, the write operations, authenticate)",
            ),
            "record" => (
                self.record,
                "`record` is set only in `for_each` steps, attribute templates and partition requests",
            ),
            "parent" => (
                self.parent,
                "`parent` is set only in nested `for_each` steps",
            ),
            "response" => (
                self.response,
                "`response` is set only in error-rule expressions, `stop_when` and steps after the first",
            ),
            "saved" => (
                self.saved,
                "`saved` is set only in steps after a step with `save`",
            ),
            "auth" => (
                self.auth,
                "`auth` is set only in requests and token refresh requests",
            ),
            "last_run" => (
                self.last_run,
                "`last_run` is set only in aggregations (it is empty on a first run)",
            ),
            "partition" => (
                self.partition,
                "`partition` is set only in aggregations that have `partitions`",
            ),
            _ => (false, ""),
        };
        if ok { Ok(()) } else { Err(why) }
    }
}

/// Fields that carry secrets: a literal value there is a secret written into the file.
#[derive(Clone, Copy, PartialEq)]
enum Secrecy {
    Plain,
    Secret,
}

struct Validator<'a> {
    c: &'a Connector,
    dir: &'a Path,
    index: &'a LocationIndex,
    diags: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn push(&mut self, path: &str, mut d: Diagnostic) {
        d.path = path.to_string();
        if let Some((pos, width)) = locate(self.index, path) {
            d.line = pos.line;
            d.column = pos.column;
            d.width = width;
        }
        self.diags.push(d);
    }

    fn error(&mut self, path: &str, msg: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::error(msg);
        d.hint = hint;
        self.push(path, d);
    }

    fn connector(&mut self) {
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
        for (sname, s) in &c.settings {
            let p = join_key("settings", sname);
            if !is_identifier(sname) {
                self.error(
                    &p,
                    format!("invalid setting name `{sname}`"),
                    Some("use letters, digits and `_`, starting with a letter; templates read it as `settings.NAME`".into()),
                );
            }
            if s.secret && s.default.is_some() {
                self.error(
                    &join_key(&p, "default"),
                    format!("secret setting `{sname}` has a default value in the file"),
                    Some(format!(
                        "secrets never go in connector files: remove `default` and supply it with `--set {sname}=...` or the WSC_{} environment variable",
                        sname.to_ascii_uppercase()
                    )),
                );
            }
            if let Some(env) = &s.env
                && (env.is_empty()
                    || !env
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
            {
                self.error(
                    &join_key(&p, "env"),
                    format!("invalid environment variable name `{env}`"),
                    Some("use letters, digits and `_`".into()),
                );
            }
        }
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
    }

    fn http(&mut self) {
        let h = &self.c.http;
        let ctx = Ctx::default();
        for (k, t) in &h.headers {
            self.template(&format!("http.headers.{k}"), t, ctx, Secrecy::Plain);
        }
        self.error_rules("http.errors", &h.errors);
        if let Some(n) = h.retry.max_attempts
            && n == 0
        {
            self.error(
                "http.retry.max_attempts",
                "`max_attempts` counts the first attempt too, so it must be at least 1",
                Some("use 1 to disable retries".into()),
            );
        }
        if let Some(r) = h.requests_per_second
            && (r.is_nan() || r <= 0.0)
        {
            self.error(
                "http.requests_per_second",
                "`requests_per_second` must be greater than 0",
                None,
            );
        }
        let t = &h.tls;
        if t.client_cert.is_some() != t.client_key.is_some() {
            self.error(
                "http.tls",
                "mutual TLS needs both `client_cert` and `client_key`",
                None,
            );
        }
        for (k, v) in [("ca_file", &t.ca_file), ("client_cert", &t.client_cert)] {
            if let Some(v) = v {
                self.template(&format!("http.tls.{k}"), v, ctx, Secrecy::Plain);
            }
        }
        if let Some(k) = &t.client_key {
            self.template("http.tls.client_key", k, ctx, Secrecy::Plain);
        }
        if t.insecure_skip_verify {
            self.push(
                "http.tls.insecure_skip_verify",
                Diagnostic::warning("TLS certificate verification is turned off")
                    .hint("use `ca_file` to trust a private CA instead"),
            );
        }
    }

    fn error_rules(&mut self, path: &str, rules: &[ErrorRule]) {
        let ctx = Ctx {
            response: true,
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

    // -----------------------------------------------------------------------------------------
    // auth
    // -----------------------------------------------------------------------------------------

    fn auth(&mut self) {
        let ctx = Ctx::default();
        match &self.c.auth {
            Auth::None => {}
            Auth::Basic(b) => {
                self.template("auth.username", &b.username, ctx, Secrecy::Plain);
                self.template("auth.password", &b.password, ctx, Secrecy::Secret);
            }
            Auth::ApiKey(k) => {
                self.template("auth.key", &k.key, ctx, Secrecy::Secret);
                self.header_name("auth.name", &k.name);
            }
            Auth::Bearer(b) => {
                self.template("auth.token", &b.token, ctx, Secrecy::Secret);
                self.placement("auth.token_placement", &b.token_placement);
            }
            Auth::OAuth2(o) => self.oauth2(o),
            Auth::Custom(c) => {
                let rctx = Ctx { auth: true, ..ctx };
                self.token_request("auth.request", &c.request, ctx);
                if let Some(r) = &c.refresh_request {
                    self.token_request("auth.refresh_request", r, rctx);
                }
                self.placement("auth.token", &c.token);
            }
        }
    }

    fn header_name(&mut self, path: &str, name: &str) {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            self.error(
                path,
                format!("`{name}` is not a valid header or parameter name"),
                Some("use letters, digits and `-`, e.g. `X-API-Key`".into()),
            );
        }
    }

    fn placement(&mut self, path: &str, p: &TokenPlacement) {
        self.header_name(&join_key(path, "name"), &p.name);
    }

    fn oauth2(&mut self, o: &OAuth2Auth) {
        let ctx = Ctx::default();
        let g = o.grant;
        let grant = g.name();
        self.template("auth.token_url", &o.token_url, ctx, Secrecy::Plain);
        let opt = |v: &mut Self, key: &str, t: &Option<Template>, s: Secrecy| {
            if let Some(t) = t {
                v.template(&join_key("auth", key), t, ctx, s);
            }
        };
        opt(self, "authorize_url", &o.authorize_url, Secrecy::Plain);
        opt(
            self,
            "device_authorization_url",
            &o.device_authorization_url,
            Secrecy::Plain,
        );
        opt(self, "client_id", &o.client_id, Secrecy::Plain);
        opt(self, "client_secret", &o.client_secret, Secrecy::Secret);
        opt(self, "audience", &o.audience, Secrecy::Plain);
        opt(self, "resource", &o.resource, Secrecy::Plain);
        opt(self, "username", &o.username, Secrecy::Plain);
        opt(self, "password", &o.password, Secrecy::Secret);
        opt(self, "refresh_token", &o.refresh_token, Secrecy::Secret);
        for (k, t) in &o.token_request.headers {
            self.template(
                &format!("auth.token_request.headers.{k}"),
                t,
                ctx,
                Secrecy::Plain,
            );
        }
        for (k, t) in &o.token_request.params {
            self.template(
                &format!("auth.token_request.params.{k}"),
                t,
                ctx,
                Secrecy::Plain,
            );
        }
        self.token_response("auth.token_response", &o.token_response);
        self.placement("auth.token", &o.token);

        let need = |v: &mut Self, present: bool, key: &str, why: &str| {
            if !present {
                v.error(
                    "auth.grant",
                    format!("grant `{grant}` needs `auth.{key}`"),
                    Some(why.to_string()),
                );
            }
        };
        match g {
            Grant::ClientCredentials => {}
            Grant::AuthorizationCode => {
                need(
                    self,
                    o.authorize_url.is_some(),
                    "authorize_url",
                    "the authorization endpoint the browser is sent to by `wsc auth login`",
                );
            }
            Grant::RefreshToken => need(
                self,
                o.refresh_token.is_some(),
                "refresh_token",
                "the refresh_token grant starts from a refresh token you already hold: add a secret setting and `refresh_token: \"{{settings.refresh_token}}\"`. If you have none, use `grant: authorization_code` and run `wsc auth login`, which obtains one and keeps it (rotated) in the state store",
            ),
            Grant::Password => {
                need(
                    self,
                    o.username.is_some(),
                    "username",
                    "the resource owner's user name, e.g. `username: \"{{settings.username}}\"`",
                );
                need(
                    self,
                    o.password.is_some(),
                    "password",
                    "the resource owner's password from a secret setting, e.g. `password: \"{{settings.password}}\"`",
                );
            }
            Grant::JwtBearer => need(
                self,
                o.assertion.is_some(),
                "assertion",
                "the signed JWT sent as the assertion: `assertion: { algorithm: rs256, key: \"{{settings.private_key}}\", issuer: ..., subject: ..., audience: ... }`",
            ),
            Grant::DeviceCode => need(
                self,
                o.device_authorization_url.is_some(),
                "device_authorization_url",
                "the device authorization endpoint (RFC 8628) that returns the user code",
            ),
        }
        // Client authentication.
        let uses_client = !matches!(g, Grant::JwtBearer) || o.client_id.is_some();
        if uses_client && o.client_id.is_none() {
            self.error(
                "auth",
                format!("grant `{grant}` needs `auth.client_id`"),
                Some("the OAuth client id, e.g. `client_id: \"{{settings.client_id}}\"`".into()),
            );
        }
        match o.client_auth {
            ClientAuth::Basic | ClientAuth::Body => {
                let public_ok = matches!(
                    g,
                    Grant::AuthorizationCode | Grant::DeviceCode | Grant::RefreshToken
                );
                if o.client_secret.is_none() && uses_client && !public_ok {
                    self.error(
                        "auth",
                        format!(
                            "client authentication `{}` needs `auth.client_secret`",
                            if o.client_auth == ClientAuth::Basic { "basic" } else { "body" }
                        ),
                        Some("add `client_secret: \"{{settings.client_secret}}\"` with a secret setting, or use `client_auth: private_key_jwt` (with `client_assertion`) or `client_auth: none` for a public client".into()),
                    );
                }
            }
            ClientAuth::PrivateKeyJwt => {
                if o.client_assertion.is_none() {
                    self.error(
                        "auth.client_auth",
                        "`client_auth: private_key_jwt` needs `auth.client_assertion`",
                        Some("the key that signs the client assertion: `client_assertion: { algorithm: rs256, key: \"{{settings.private_key}}\" }`".into()),
                    );
                }
            }
            ClientAuth::None => {}
        }
        if o.client_assertion.is_some() && o.client_auth != ClientAuth::PrivateKeyJwt {
            self.push(
                "auth.client_assertion",
                Diagnostic::warning(
                    "`client_assertion` is ignored unless `client_auth: private_key_jwt`",
                )
                .hint("set `client_auth: private_key_jwt`, or remove `client_assertion`"),
            );
        }
        if let Some(j) = &o.client_assertion {
            self.jwt("auth.client_assertion", j);
        }
        if let Some(j) = &o.assertion {
            self.jwt("auth.assertion", j);
        }
        if let Some(r) = &o.redirect_uri {
            let l = r.to_ascii_lowercase();
            if !(l.starts_with("http://127.0.0.1:")
                || l.starts_with("http://localhost:")
                || l.starts_with("http://[::1]:"))
            {
                self.error(
                    "auth.redirect_uri",
                    format!("redirect URI `{r}` is not a loopback address with a port"),
                    Some("`wsc auth login` listens on the redirect URI itself: use e.g. `http://127.0.0.1:8765/callback`".into()),
                );
            }
        }
        if let Some(d) = &o.scope_delimiter
            && d.is_empty()
        {
            self.error(
                "auth.scope_delimiter",
                "the scope delimiter cannot be empty",
                None,
            );
        }
        if let Some(r) = &o.custom_refresh {
            let rctx = Ctx { auth: true, ..ctx };
            self.token_request("auth.custom_refresh", r, rctx);
        }
        self.statuses_refresh("auth.refresh", &o.refresh);
    }

    fn statuses_refresh(&mut self, path: &str, r: &RefreshPolicy) {
        if let Some(list) = &r.on_status {
            for (i, s) in list.iter().enumerate() {
                if s.matches(403) {
                    self.push(
                        &format!("{path}.on_status[{i}]"),
                        Diagnostic::warning("403 is listed as \"token expired\"")
                            .hint("403 usually means the token is valid but lacks permission (or user context); refreshing will not fix it"),
                    );
                }
            }
        }
    }

    fn jwt(&mut self, path: &str, j: &JwtSpec) {
        let ctx = Ctx::default();
        if j.key.is_some() == j.key_file.is_some() {
            self.error(
                path,
                "a JWT needs exactly one of `key` and `key_file`",
                Some("`key: \"{{settings.private_key}}\"` (PEM text in a secret setting) or `key_file: keys/client.pem`".into()),
            );
        }
        if let Some(k) = &j.key {
            self.template(&join_key(path, "key"), k, ctx, Secrecy::Secret);
        }
        if let Some(k) = &j.key_file {
            self.template(&join_key(path, "key_file"), k, ctx, Secrecy::Plain);
        }
        for (k, t) in [
            ("key_id", &j.key_id),
            ("issuer", &j.issuer),
            ("subject", &j.subject),
            ("audience", &j.audience),
        ] {
            if let Some(t) = t {
                self.template(&join_key(path, k), t, ctx, Secrecy::Plain);
            }
        }
        for (k, t) in &j.header {
            self.template(&format!("{path}.header.{k}"), t, ctx, Secrecy::Plain);
        }
        for (k, v) in &j.claims {
            self.tree(&format!("{path}.claims.{k}"), v, ctx);
        }
    }

    fn token_request(&mut self, path: &str, r: &CustomTokenRequest, ctx: Ctx) {
        self.template(&join_key(path, "url"), &r.url, ctx, Secrecy::Plain);
        for (k, t) in &r.headers {
            self.template(&format!("{path}.headers.{k}"), t, ctx, Secrecy::Plain);
        }
        for (k, t) in &r.query {
            self.template(&format!("{path}.query.{k}"), t, ctx, Secrecy::Plain);
        }
        self.bodies(path, &r.body, &r.form, &r.multipart, &r.raw, ctx);
        self.token_response(&join_key(path, "response"), &r.response);
    }

    fn token_response(&mut self, path: &str, m: &TokenResponseMapping) {
        for (k, jp) in [
            ("access_token", &m.access_token),
            ("expires_in", &m.expires_in),
            ("expires_at", &m.expires_at),
            ("refresh_token", &m.refresh_token),
            ("refresh_token_expires_in", &m.refresh_token_expires_in),
            ("token_type", &m.token_type),
        ] {
            if let Some(jp) = jp {
                self.jsonpath(&join_key(path, k), jp);
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // operations
    // -----------------------------------------------------------------------------------------

    fn operations(&mut self) {
        let ops = &self.c.operations;
        let group_types: Vec<&str> = ops.group_aggregation.keys().map(String::as_str).collect();
        for t in ops.get_object.keys() {
            if t != "account" && !group_types.contains(&t.as_str()) {
                let mut cands = vec!["account"];
                cands.extend(group_types.iter().copied());
                let hint = match did_you_mean(t, cands.iter().copied()) {
                    Some(b) => format!("did you mean `{b}`?"),
                    None => {
                        "use `account` or a group type defined under `group_aggregation`".into()
                    }
                };
                self.error(
                    &format!("operations.get_object.{t}"),
                    format!("`get_object.{t}`: `{t}` is not an object type of this connector"),
                    Some(hint),
                );
            }
        }
        for t in &group_types {
            if *t == "account" || !is_identifier(t) {
                self.error(
                    &format!("operations.group_aggregation.{t}"),
                    format!("invalid group type name `{t}`"),
                    Some("use a name such as `group` or `role` (letters, digits, `_`; not `account`)".into()),
                );
            }
        }
        for (name, kind, op) in ops.iter() {
            self.operation(&format!("operations.{name}"), kind, op);
        }
    }

    fn operation(&mut self, path: &str, kind: OperationKind, op: &Operation) {
        let base = Ctx {
            plan: kind.takes_plan(),
            auth: true,
            last_run: kind.is_aggregation(),
            partition: op.partitions.is_some(),
            ..Ctx::default()
        };
        match (&op.request, op.steps.is_empty()) {
            (None, true) => self.error(
                path,
                "the operation has neither `request` nor `steps`",
                Some("add `request: { method: GET, path: /... }`".into()),
            ),
            (Some(_), false) => self.error(
                path,
                "the operation has both `request` and `steps`",
                Some("use `request` for one request, or put every request in `steps`".into()),
            ),
            _ => {}
        }
        if let Some(r) = &op.request {
            let ctx = Ctx {
                page: op.paging.is_some(),
                ..base
            };
            self.request(&join_key(path, "request"), r, ctx);
            if let Some(p) = &op.paging {
                self.paging(&join_key(path, "paging"), p, r);
            }
        } else if op.paging.is_some() {
            self.error(
                &join_key(path, "paging"),
                "`paging` applies to `request`; in a multi-step operation put it on the step",
                None,
            );
        }
        self.steps(path, op, base);

        if kind.is_aggregation() {
            if op.records.is_none() && op.steps.is_empty() {
                self.error(
                    path,
                    "an aggregation needs `records`: the JSONPath of the records in each response",
                    Some(
                        "e.g. `records: \"$.items[*]\"` (or `\"$[*]\"` when the body is a list)"
                            .into(),
                    ),
                );
            }
            if op.identity.is_none() {
                self.error(
                    path,
                    "an aggregation needs `identity`: the JSONPath of each record's unique id",
                    Some("e.g. `identity: \"$.id\"`".into()),
                );
            }
        }
        if kind == OperationKind::GetObject && op.identity.is_none() {
            self.error(
                path,
                "`get_object` needs `identity`: the JSONPath of the object's unique id",
                Some("e.g. `identity: \"$.id\"`".into()),
            );
        }
        for (k, jp) in [
            ("records", &op.records),
            ("identity", &op.identity),
            ("name", &op.name),
            ("members", &op.members),
        ] {
            if let Some(jp) = jp {
                self.jsonpath(&join_key(path, k), jp);
            }
        }
        if op.members.is_some()
            && !matches!(
                kind,
                OperationKind::GroupAggregation | OperationKind::GetObject
            )
        {
            self.error(
                &join_key(path, "members"),
                "`members` applies to group aggregation and get_object of a group type",
                None,
            );
        }
        self.attributes(path, op);
        for (i, e) in op.entitlements.iter().enumerate() {
            let p = format!("{path}.entitlements[{i}]");
            if !op.attributes.contains_key(&e.attribute) {
                let hint = did_you_mean(&e.attribute, op.attributes.keys().map(String::as_str))
                    .map(|b| format!("did you mean `{b}`?"))
                    .unwrap_or_else(|| "name an attribute defined under `attributes`".into());
                self.error(
                    &join_key(&p, "attribute"),
                    format!(
                        "entitlement attribute `{}` is not among this operation's attributes",
                        e.attribute
                    ),
                    Some(hint),
                );
            }
            if e.group_type != "group"
                && !self
                    .c
                    .operations
                    .group_aggregation
                    .contains_key(&e.group_type)
            {
                self.push(
                    &join_key(&p, "group_type"),
                    Diagnostic::warning(format!(
                        "group type `{}` has no `group_aggregation`",
                        e.group_type
                    )),
                );
            }
        }
        if let Some(parts) = &op.partitions {
            self.partitions(&join_key(path, "partitions"), kind, parts);
        }
        if let Some(delta) = &op.delta {
            let dp = join_key(path, "delta");
            if !kind.is_aggregation() {
                self.error(&dp, "`delta` applies to aggregations only", None);
            }
            for (k, t) in &delta.query {
                self.template(&format!("{dp}.query.{k}"), t, base, Secrecy::Plain);
            }
            if let Some(jp) = &delta.deleted {
                self.jsonpath(&join_key(&dp, "deleted"), jp);
            }
        }
        self.error_rules(&join_key(path, "errors"), &op.errors);
        if let Some(h) = &op.hooks {
            self.hooks(&join_key(path, "hooks"), h);
        }
        if op.values.is_some()
            && !matches!(
                kind,
                OperationKind::AddEntitlement | OperationKind::RemoveEntitlement
            )
        {
            self.error(
                &join_key(path, "values"),
                "`values` applies to add_entitlement and remove_entitlement only",
                None,
            );
        }
        if op.read_back {
            let write = kind.takes_plan()
                && !matches!(kind, OperationKind::GetObject | OperationKind::Authenticate);
            if !write {
                self.error(
                    &join_key(path, "read_back"),
                    "`read_back` applies to write operations only",
                    None,
                );
            } else if !self.c.operations.get_object.contains_key("account") {
                self.error(
                    &join_key(path, "read_back"),
                    "`read_back: true` needs `operations.get_object.account` to read the account back",
                    None,
                );
            }
        }
    }

    fn attributes(&mut self, path: &str, op: &Operation) {
        let rctx = Ctx {
            record: true,
            ..Ctx::default()
        };
        for (name, a) in &op.attributes {
            let p = format!("{path}.attributes.{name}");
            match a {
                Attribute::Path(jp) => self.jsonpath(&p, jp),
                Attribute::Full(def) => {
                    let n = [
                        def.path.is_some(),
                        def.template.is_some(),
                        def.value.is_some(),
                    ]
                    .iter()
                    .filter(|b| **b)
                    .count();
                    if n != 1 {
                        self.error(
                            &p,
                            format!("attribute `{name}` needs exactly one of `path`, `template` and `value`"),
                            Some("e.g. `{ path: \"$.email\", type: string }`".into()),
                        );
                    }
                    if let Some(jp) = &def.path {
                        self.jsonpath(&join_key(&p, "path"), jp);
                    }
                    if let Some(t) = &def.template {
                        self.template(&join_key(&p, "template"), t, rctx, Secrecy::Plain);
                    }
                }
            }
        }
    }

    fn steps(&mut self, path: &str, op: &Operation, base: Ctx) {
        let mut seen: Vec<&str> = Vec::new();
        let mut saved = false;
        for (i, s) in op.steps.iter().enumerate() {
            let p = format!("{path}.steps[{i}]");
            if seen.contains(&s.name.as_str()) {
                self.error(
                    &join_key(&p, "name"),
                    format!("duplicate step name `{}`", s.name),
                    Some("step names must be unique within an operation".into()),
                );
            }
            if let Some(fe) = &s.for_each
                && !seen.contains(&fe.as_str())
            {
                let hint = match did_you_mean(fe, seen.iter().copied()) {
                    Some(b) => format!("did you mean `{b}`?"),
                    None if seen.is_empty() => "the first step cannot be a `for_each` step".into(),
                    None => format!(
                        "name an earlier step: {}",
                        seen.iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.error(
                    &join_key(&p, "for_each"),
                    format!("`for_each: {fe}` does not name an earlier step"),
                    Some(hint),
                );
            }
            if s.merge.is_some() && s.for_each.is_none() {
                self.error(
                    &join_key(&p, "merge"),
                    "`merge` needs `for_each`: it joins each record's step results into that record",
                    None,
                );
            }
            if s.concurrency == Some(0) {
                self.error(
                    &join_key(&p, "concurrency"),
                    "`concurrency` must be at least 1",
                    None,
                );
            }
            let ctx = Ctx {
                page: s.paging.is_some(),
                record: s.for_each.is_some(),
                parent: s.for_each.is_some() && i > 1,
                response: i > 0,
                saved,
                ..base
            };
            self.request(&join_key(&p, "request"), &s.request, ctx);
            if let Some(pg) = &s.paging {
                self.paging(&join_key(&p, "paging"), pg, &s.request);
            }
            if let Some(jp) = &s.records {
                self.jsonpath(&join_key(&p, "records"), jp);
            }
            if let Some(m) = &s.merge
                && let Some(jp) = &m.value
            {
                self.jsonpath(&format!("{p}.merge.value"), jp);
            }
            for (k, jp) in &s.save {
                self.jsonpath(&format!("{p}.save.{k}"), jp);
            }
            self.error_rules(&join_key(&p, "errors"), &s.errors);
            if let Some(h) = &s.hooks {
                self.hooks(&join_key(&p, "hooks"), h);
            }
            if !s.save.is_empty() {
                saved = true;
            }
            seen.push(&s.name);
        }
    }

    fn partitions(&mut self, path: &str, kind: OperationKind, p: &Partitions) {
        if !matches!(
            kind,
            OperationKind::AccountAggregation | OperationKind::GroupAggregation
        ) {
            self.error(
                path,
                "`partitions` apply to account and group aggregation only",
                None,
            );
        }
        match (&p.list, p.from_get_partitions) {
            (Some(_), true) | (None, false) => self.error(
                path,
                "partitions need exactly one of `list` and `from_get_partitions: true`",
                Some("e.g. `partitions: { list: [ { name: a-m, filter: \"a*\" }, { name: n-z, filter: \"n*\" } ] }`".into()),
            ),
            _ => {}
        }
        if p.from_get_partitions && self.c.operations.get_partitions.is_none() {
            self.error(
                &join_key(path, "from_get_partitions"),
                "`from_get_partitions: true` needs `operations.get_partitions`",
                None,
            );
        }
        if let Some(list) = &p.list {
            let mut names = HashSet::new();
            for (i, item) in list.iter().enumerate() {
                let ip = format!("{path}.list[{i}]");
                match item.get("name").and_then(|n| n.as_str()) {
                    None => self.error(&ip, "each partition needs a `name` (a string)", None),
                    Some(n) => {
                        if !names.insert(n.to_string()) {
                            self.error(
                                &join_key(&ip, "name"),
                                format!("duplicate partition name `{n}`"),
                                None,
                            );
                        }
                    }
                }
            }
            if list.is_empty() {
                self.error(&join_key(path, "list"), "the partition list is empty", None);
            }
        }
        if p.concurrency == Some(0) {
            self.error(
                &join_key(path, "concurrency"),
                "`concurrency` must be at least 1",
                None,
            );
        }
    }

    fn hooks(&mut self, path: &str, h: &Hooks) {
        for (k, hook) in [
            ("before", &h.before),
            ("after", &h.after),
            ("before_operation", &h.before_operation),
            ("after_operation", &h.after_operation),
        ] {
            let Some(hook) = hook else { continue };
            let p = join_key(path, k);
            if hook.file.is_some() == hook.script.is_some() {
                self.error(
                    &p,
                    "a hook needs exactly one of `file` and `script`",
                    Some("e.g. `after: { file: hooks/after.rhai }` or `after: { script: \"records\" }`".into()),
                );
            }
            if let Some(f) = &hook.file {
                let full = self.dir.join(f);
                if !full.is_file() {
                    self.error(
                        &join_key(&p, "file"),
                        format!("hook file `{f}` does not exist"),
                        Some(format!(
                            "hook files are relative to the connector's directory; looked for {}",
                            full.display()
                        )),
                    );
                }
            }
            if let Some(s) = &hook.script
                && s.trim().is_empty()
            {
                self.error(&join_key(&p, "script"), "the hook script is empty", None);
            }
        }
    }

    fn request(&mut self, path: &str, r: &RequestSpec, ctx: Ctx) {
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
        if matches!(r.method, Method::Get | Method::Head)
            && (r.body.is_some()
                || !r.form.is_empty()
                || !r.multipart.is_empty()
                || r.raw.is_some())
        {
            self.push(
                &join_key(path, "method"),
                Diagnostic::warning(format!("a {} request with a body", r.method.as_str()))
                    .hint("many servers ignore or reject bodies on GET; use POST, or move the values to `query`"),
            );
        }
    }

    fn bodies(
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

    /// Checks every string leaf of a body tree as a template.
    fn tree(&mut self, path: &str, v: &serde_json::Value, ctx: Ctx) {
        match v {
            serde_json::Value::String(s) => {
                self.template(path, &Template(s.clone()), ctx, Secrecy::Plain)
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.tree(&join_index(path, i), x, ctx);
                }
            }
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    self.tree(&join_key(path, k), x, ctx);
                }
            }
            _ => {}
        }
    }

    fn paging(&mut self, path: &str, p: &Paging, req: &RequestSpec) {
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
        if !matches!(kind, PagingKind::Offset | PagingKind::Page) {
            not_for(
                self,
                p.total.is_some(),
                "total",
                "`kind: offset` and `kind: page`",
            );
            not_for(
                self,
                p.start.is_some(),
                "start",
                "`kind: offset` and `kind: page`",
            );
        }
        if p.limit == Some(0) {
            self.error(&join_key(path, "limit"), "`limit` must be at least 1", None);
        }
        if p.concurrency == Some(0) {
            self.error(
                &join_key(path, "concurrency"),
                "`concurrency` must be at least 1",
                None,
            );
        }
        for (k, jp) in [
            ("total", &p.total),
            ("cursor", &p.cursor),
            ("next_url", &p.next_url),
        ] {
            if let Some(jp) = jp {
                self.jsonpath(&join_key(path, k), jp);
            }
        }
        if let Some(t) = &p.stop_when {
            let ctx = Ctx {
                page: true,
                response: true,
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

    // -----------------------------------------------------------------------------------------
    // leaves
    // -----------------------------------------------------------------------------------------

    fn jsonpath(&mut self, path: &str, jp: &JsonPath) {
        let s = jp.as_str();
        if !s.starts_with('$') {
            let mut d =
                Diagnostic::error(format!("`{s}` is not a JSONPath: it must start with `$`"))
                    .expected("a JSONPath such as `$.id` or `$.items[*]`")
                    .found(format!("`{s}`"));
            if !s.contains("{{") && !s.is_empty() {
                d = d.hint(format!("did you mean `$.{s}`?"));
            } else {
                d = d.hint(
                    "a template (`{{...}}`) goes in `template:`, not where a JSONPath is expected",
                );
            }
            self.push(path, d);
            return;
        }
        if let Err(e) = jsonpath_rust::parser::parse_json_path(s) {
            let msg = e.to_string();
            let msg = match msg.split_once("--> 1:") {
                Some((_, rest)) => {
                    let col: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    format!("a syntax error at character {col} of the path")
                }
                None => msg.lines().next().unwrap_or(&msg).to_string(),
            };
            self.push(
                path,
                Diagnostic::error(format!("invalid JSONPath `{s}`"))
                    .found(msg)
                    .expected("an RFC 9535 JSONPath such as `$.items[*]`, `$.emails[0].value` or `$['odd key']`")
                    .hint("check brackets and quotes; keys with special characters go in `['...']`"),
            );
        }
    }

    fn setting_ref(&mut self, path: &str, name: &str) {
        if !self.c.settings.contains_key(name) {
            let hint = match did_you_mean(name, self.c.settings.keys().map(String::as_str)) {
                Some(b) => format!("did you mean `{b}`?"),
                None if self.c.settings.is_empty() => {
                    format!("declare it: `settings: {{ {name}: {{}} }}`")
                }
                None => format!(
                    "declare it under `settings:` (declared: {})",
                    self.c
                        .settings
                        .keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.error(
                path,
                format!("setting `{name}` is not declared"),
                Some(hint),
            );
        }
    }

    fn template(&mut self, path: &str, t: &Template, ctx: Ctx, secrecy: Secrecy) {
        let src = t.as_str();
        let uses = match template::analyze(src) {
            Ok(u) => u,
            Err(e) => {
                let reason = if e.message.contains("invalid handlebars syntax") {
                    "unclosed or malformed `{{...}}` expression".to_string()
                } else {
                    e.message.clone()
                };
                let mut d = Diagnostic::error(format!("template does not parse: {reason}"))
                    .found(format!("`{}`", shorten(src)));
                d = d.hint(if src.matches("{{").count() != src.matches("}}").count() {
                    "every `{{` needs a matching `}}`".to_string()
                } else {
                    "check the Handlebars syntax: `{{settings.name}}`, `{{#if x}}...{{/if}}`"
                        .to_string()
                });
                self.push(path, d);
                if let (Some((1, col)), Some(n)) = (e.pos, self.index.get(path))
                    && let Some(last) = self.diags.last_mut()
                {
                    last.line = n.value.line;
                    last.column = n.value.column + col - 1 + usize::from(n.quoted);
                }
                return;
            }
        };
        for h in &uses.helpers {
            if !HELPERS.contains(&h.as_str()) {
                let hint = did_you_mean(h, HELPERS.iter().copied())
                    .map(|b| format!("did you mean `{b}`?"))
                    .unwrap_or_else(|| format!("available helpers: {}", HELPERS.join(", ")));
                self.push(
                    path,
                    Diagnostic::error(format!("unknown template helper `{h}`")).hint(hint),
                );
            }
        }
        for u in &uses.paths {
            let root = u.root.as_str();
            if !CONTEXTS.contains(&root) {
                let hint = match did_you_mean(root, CONTEXTS.iter().copied()) {
                    Some(b) => format!("did you mean `{b}`?"),
                    None if self.c.settings.contains_key(root) => {
                        format!("settings are read as `settings.{root}`")
                    }
                    None => format!("templates read: {}", CONTEXTS.join(", ")),
                };
                self.push(
                    path,
                    Diagnostic::error(format!(
                        "unknown template context `{root}` in `{}`",
                        shorten(src)
                    ))
                    .expected(format!("one of {}", CONTEXTS.join(", ")))
                    .hint(hint),
                );
                continue;
            }
            if let Err(why) = ctx.allows(root) {
                self.push(
                    path,
                    Diagnostic::error(format!(
                        "`{root}` is not available here (in `{}`)",
                        shorten(src)
                    ))
                    .hint(why.to_string()),
                );
                continue;
            }
            if root == "settings" {
                let name = u.rest.split(['.', '[', '/']).next().unwrap_or("");
                if name.is_empty() {
                    self.error(
                        path,
                        "`settings` must be followed by a setting name, e.g. `settings.base_url`",
                        None,
                    );
                } else {
                    self.setting_ref(path, name);
                    if secrecy == Secrecy::Secret
                        && let Some(s) = self.c.settings.get(name)
                        && !s.secret
                    {
                        self.push(
                                    path,
                                    Diagnostic::warning(format!("`{path}` holds a secret but setting `{name}` is not marked secret"))
                                        .hint(format!("add `secret: true` to `settings.{name}` so it is redacted from logs, errors and fixtures")),
                                );
                    }
                }
            }
        }
        if secrecy == Secrecy::Secret && uses.paths.is_empty() && !src.trim().is_empty() {
            self.push(
                path,
                Diagnostic::error("a secret is written literally in the connector file")
                    .hint("declare a secret setting (`settings: { NAME: { secret: true } }`) and refer to it: `\"{{settings.NAME}}\"`"),
            );
        }
    }
}

fn request_uses_page_field(r: &RequestSpec, field: &str) -> bool {
    let uses = |t: &str| {
        template::analyze(t)
            .map(|u| {
                u.paths
                    .iter()
                    .any(|p| p.root == "page" && p.rest.split('.').next() == Some(field))
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
    let mut body_strings = Vec::new();
    if let Some(b) = &r.body {
        collect_strings(b, &mut body_strings);
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

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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

fn shorten(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}
