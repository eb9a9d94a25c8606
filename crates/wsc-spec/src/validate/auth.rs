//! Authentication: each auth kind, OAuth2 grants and client authentication, JWTs and token requests.

use crate::diagnostic::Diagnostic;
use crate::locate::join_key;
use crate::model::{
    Auth, AuthAlternatives, ClientAuth, Credential, CustomTokenRequest, Grant, JwtAlgorithm,
    JwtSpec, OAuth2Auth, RefreshPolicy, Template, TokenPlacement, TokenResponseMapping,
};

use super::validator::{Ctx, Secrecy, Validator, is_identifier};

impl Validator<'_> {
    pub(super) fn auth(&mut self) {
        match &self.c.auth {
            Auth::Alternatives(a) => self.alternatives(a),
            other => self.auth_kind(other),
        }
    }

    /// One auth kind, its keys named from `auth` (see [`Validator::in_file`]).
    fn auth_kind(&mut self, auth: &Auth) {
        let ctx = Ctx::default();
        match auth {
            Auth::Alternatives(_) => self.error(
                "auth",
                "an auth alternative cannot have alternatives of its own",
                Some("list every alternative directly under `auth.alternatives`".into()),
            ),
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
            Auth::WsSecurity(w) => {
                self.template("auth.username", &w.username, ctx, Secrecy::Plain);
                self.template("auth.password", &w.password, ctx, Secrecy::Secret);
            }
            Auth::Custom(c) => {
                let rctx = Ctx { auth: true, ..ctx };
                self.token_request("auth.request", &c.request, ctx);
                if let Some(r) = &c.refresh_request {
                    self.token_request("auth.refresh_request", r, rctx);
                }
                self.placement("auth.token", &c.token);
                if c.credential == Credential::Cookies {
                    let m = &c.request.response;
                    for (set, key) in [
                        (m.access_token.is_some(), "access_token"),
                        (m.access_token_header.is_some(), "access_token_header"),
                    ] {
                        if set {
                            self.error(
                                &format!("auth.request.response.{key}"),
                                format!("`credential: cookies` reads no access token, so `{key}` has no use"),
                                Some("remove it, or use `credential: token` (the default) when the login returns a token to send".into()),
                            );
                        }
                    }
                }
            }
        }
    }

    pub(super) fn header_name(&mut self, path: &str, name: &str) {
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

    pub(super) fn placement(&mut self, path: &str, p: &TokenPlacement) {
        self.header_name(&join_key(path, "name"), &p.name);
    }

    pub(super) fn oauth2(&mut self, o: &OAuth2Auth) {
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
        self.authorize_params(o);

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

    /// `authorize_params`: templates, none of the parameters wsc sets itself, and only with
    /// the grant that sends an authorization request.
    fn authorize_params(&mut self, o: &OAuth2Auth) {
        const SET_BY_WSC: [&str; 7] = [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        ];
        for (k, t) in &o.authorize_params {
            let path = format!("auth.authorize_params.{k}");
            self.template(&path, t, Ctx::default(), Secrecy::Plain);
            let by_key = match k.as_str() {
                "audience" if o.audience.is_some() => Some("auth.audience"),
                "resource" if o.resource.is_some() => Some("auth.resource"),
                _ => None,
            };
            if SET_BY_WSC.contains(&k.as_str()) {
                let hint = match k.as_str() {
                    "scope" => "list scopes in `auth.scopes`".to_string(),
                    "redirect_uri" => "set `auth.redirect_uri` (a loopback address where `wsc auth login` listens)".to_string(),
                    "client_id" => "set `auth.client_id`".to_string(),
                    _ => format!("`{k}` is part of the sign-in wsc runs (state, PKCE); remove it"),
                };
                self.error(
                    &path,
                    format!("`{k}` is set by wsc itself and cannot be an authorization parameter"),
                    Some(hint),
                );
            } else if let Some(key) = by_key {
                self.error(
                    &path,
                    format!("`{k}` is already sent from `{key}`"),
                    Some(format!("set it in one place: remove `{k}` here or `{key}`")),
                );
            }
        }
        if !o.authorize_params.is_empty() && o.grant != Grant::AuthorizationCode {
            self.push(
                "auth.authorize_params",
                Diagnostic::warning(format!(
                    "`authorize_params` is sent only by the authorization_code grant; grant `{}` sends no authorization request",
                    o.grant.name()
                ))
                .hint("remove `authorize_params`, or put token-request parameters in `token_request.params`"),
            );
        }
    }

    pub(super) fn statuses_refresh(&mut self, path: &str, r: &RefreshPolicy) {
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

    pub(super) fn jwt(&mut self, path: &str, j: &JwtSpec) {
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
        if let Some(p) = &j.key_password {
            if j.algorithm == JwtAlgorithm::Hs256 {
                self.error(
                    &join_key(path, "key_password"),
                    "`key_password` is for an encrypted private key; `hs256` signs with a shared secret",
                    Some("remove `key_password`, or use `algorithm: rs256`, `ps256` or `es256` with a PEM key".into()),
                );
            }
            self.template(&join_key(path, "key_password"), p, ctx, Secrecy::Secret);
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

    pub(super) fn token_request(&mut self, path: &str, r: &CustomTokenRequest, ctx: Ctx) {
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

    pub(super) fn token_response(&mut self, path: &str, m: &TokenResponseMapping) {
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
        if let Some(h) = &m.access_token_header {
            self.header_name(&join_key(path, "access_token_header"), h);
            if m.access_token.is_some() {
                self.error(
                    &join_key(path, "access_token_header"),
                    "`access_token` and `access_token_header` both say where the access token is",
                    Some("keep `access_token_header` when the token comes in a response header, `access_token` when it is in the body".into()),
                );
            }
        }
    }
}

impl Validator<'_> {
    /// `auth: { type: alternatives }`: each alternative a complete auth of its own, `select`
    /// a declared text setting whose `enum` and `default` name alternatives.
    fn alternatives(&mut self, a: &AuthAlternatives) {
        if a.alternatives.is_empty() {
            self.error(
                "auth.alternatives",
                "`alternatives` lists no alternative",
                Some("e.g. `alternatives: { api_token: { type: api_key, name: Authorization, key: \"{{settings.api_token}}\" } }`".into()),
            );
        }
        for (name, alt) in &a.alternatives {
            let base = format!("auth.alternatives.{name}");
            if !is_identifier(name) {
                self.error(
                    &base,
                    format!("invalid auth alternative name `{name}`"),
                    Some("use a name such as `api_token` or `oauth` (letters, digits, `_`)".into()),
                );
            }
            self.auth_base = Some(base);
            self.auth_kind(alt);
            self.auth_base = None;
        }
        let Some(sel) = &a.select else { return };
        let names: Vec<&str> = a.alternatives.keys().map(String::as_str).collect();
        let listed = names.join(", ");
        let Some(s) = self.c.settings.get(sel) else {
            let hint =
                crate::diagnostic::did_you_mean(sel, self.c.settings.keys().map(String::as_str))
                    .map(|b| format!("did you mean `{b}`?"))
                    .unwrap_or_else(|| {
                        format!("declare it: `settings: {{ {sel}: {{ enum: [{listed}] }} }}`")
                    });
            self.error(
                "auth.select",
                format!("`select` names setting `{sel}`, which is not declared under `settings`"),
                Some(hint),
            );
            return;
        };
        if s.value_type() != crate::model::SettingType::String {
            self.error(
                "auth.select",
                format!(
                    "`select` names setting `{sel}` of type `{}`; it must be a text setting whose value is an alternative's name",
                    s.value_type()
                ),
                Some(format!("declare it as `{sel}: {{ enum: [{listed}] }}`")),
            );
            return;
        }
        if let Some(allowed) = &s.allowed {
            let mut given: Vec<String> = allowed
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            given.sort();
            let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            want.sort();
            if given != want {
                self.error(
                    &format!("settings.{sel}.enum"),
                    format!(
                        "setting `{sel}` selects the auth alternative, but its `enum` ({}) is not the alternatives' names ({listed})",
                        given.join(", ")
                    ),
                    Some(format!("write `enum: [{listed}]`")),
                );
            }
        }
        if let Some(d) = &s.default
            && !d.as_str().is_some_and(|d| names.contains(&d))
        {
            self.error(
                &format!("settings.{sel}.default"),
                format!("the default of setting `{sel}` ({d}) is not an auth alternative's name"),
                Some(format!("use one of {listed}")),
            );
        }
    }
}
