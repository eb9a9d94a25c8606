//! Building token requests from the connector's `auth` section: the OAuth2 grants and the
//! custom token flow.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use url::Url;
use wsc_spec::Template;
use wsc_spec::model::{
    ClientAuth, CustomAuth, CustomTokenRequest, Grant, JwtAlgorithm, JwtSpec, Method, OAuth2Auth,
    ParamsIn,
};

use crate::error::AuthError;
use crate::jwt::{JwtClaims, sign};
use crate::keys::{PemOrigin, private_key};
use crate::render::Render;
use crate::request::{Body, TokenHttpRequest};
use crate::secret::Secret;
use crate::token::now_ms;

/// What templates see: `settings`, `auth.refresh_token`, `now`.
fn context(settings: &Value, refresh: Option<&Secret>) -> Value {
    json!({
        "settings": settings,
        "auth": { "refresh_token": refresh.map(Secret::expose) },
        "now": now_ms() / 1000,
    })
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B).
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A client id or secret for HTTP Basic client authentication (RFC 6749 section 2.3.1): form
/// encoded, but a space as `%20`, not `+`: strict servers (Authlib) decode `+` as a plus sign,
/// and lenient ones accept `%20` too.
fn basic_encode(s: &str) -> String {
    // `form_encode` writes a literal `+` as `%2B`, so each `+` it writes is a space.
    form_encode(s).replace('+', "%20")
}

fn parse_url(what: &str, s: &str) -> Result<Url, AuthError> {
    Url::parse(s).map_err(|e| {
        AuthError::Config(format!(
            "`{what}` rendered to `{s}`, which is not an absolute URL ({e})"
        ))
    })
}

/// An OAuth2 configuration with the means to render it.
pub struct OAuth2Flow {
    pub(crate) spec: OAuth2Auth,
    settings: Value,
    render: Arc<dyn Render>,
    dir: PathBuf,
}

impl std::fmt::Debug for OAuth2Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Flow")
            .field("grant", &self.spec.grant)
            .finish_non_exhaustive()
    }
}

impl OAuth2Flow {
    /// `settings` are the resolved settings (as `settings.*`); `dir` is the connector's
    /// directory, for `key_file`.
    pub fn new(spec: OAuth2Auth, settings: Value, render: Arc<dyn Render>, dir: PathBuf) -> Self {
        OAuth2Flow {
            spec,
            settings,
            render,
            dir,
        }
    }

    fn r(&self, loc: &str, t: &Template, ctx: &Value) -> Result<String, AuthError> {
        self.render.render(loc, t.as_str(), ctx)
    }

    fn opt(
        &self,
        loc: &str,
        t: &Option<Template>,
        ctx: &Value,
    ) -> Result<Option<String>, AuthError> {
        t.as_ref()
            .map(|t| self.r(loc, t, ctx))
            .transpose()
            .map(|o| o.filter(|s| !s.is_empty()))
    }

    /// The grant configured.
    pub fn grant(&self) -> Grant {
        self.spec.grant
    }

    /// The rendered token URL.
    pub fn token_url(&self) -> Result<Url, AuthError> {
        let ctx = context(&self.settings, None);
        parse_url(
            "auth.token_url",
            &self.r("auth.token_url", &self.spec.token_url, &ctx)?,
        )
    }

    /// The configured seed refresh token (`auth.refresh_token`), if it renders to a value.
    pub fn seed_refresh_token(&self) -> Option<Secret> {
        let ctx = context(&self.settings, None);
        self.opt("auth.refresh_token", &self.spec.refresh_token, &ctx)
            .ok()
            .flatten()
            .map(Secret::new)
    }

    /// Whether the grant can get a token again without a user (fallback after invalid_grant).
    pub fn has_primary(&self) -> bool {
        matches!(
            self.spec.grant,
            Grant::ClientCredentials | Grant::Password | Grant::JwtBearer
        )
    }

    /// Secret values known up front (client secret, password, seed refresh token).
    pub fn secrets(&self) -> Vec<String> {
        let ctx = context(&self.settings, None);
        [
            ("auth.client_secret", &self.spec.client_secret),
            ("auth.password", &self.spec.password),
            ("auth.refresh_token", &self.spec.refresh_token),
        ]
        .into_iter()
        .filter_map(|(l, t)| self.opt(l, t, &ctx).ok().flatten())
        .collect()
    }

    fn scope(&self) -> Option<String> {
        (!self.spec.scopes.is_empty()).then(|| {
            self.spec
                .scopes
                .join(self.spec.scope_delimiter.as_deref().unwrap_or(" "))
        })
    }

    fn jwt(
        &self,
        loc: &str,
        spec: &JwtSpec,
        ctx: &Value,
        token_url: &Url,
    ) -> Result<String, AuthError> {
        let client_id = self
            .opt("auth.client_id", &self.spec.client_id, ctx)?
            .unwrap_or_default();
        let (key, origin) = match (&spec.key, &spec.key_file) {
            (Some(k), _) => (
                self.r(&format!("{loc}.key"), k, ctx)?,
                PemOrigin::inline(format!("{loc}.key")),
            ),
            (None, Some(f)) => {
                let p = self.dir.join(self.r(&format!("{loc}.key_file"), f, ctx)?);
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    AuthError::Config(format!("{loc}.key_file: cannot read {}: {e}", p.display()))
                })?;
                (text, PemOrigin::file(format!("{loc}.key_file"), p))
            }
            (None, None) => {
                return Err(AuthError::Config(format!(
                    "{loc}: needs `key` or `key_file`"
                )));
            }
        };
        // A PEM key is read here, decrypted when it is encrypted; an HMAC secret is used as is.
        let key = if spec.algorithm == JwtAlgorithm::Hs256 {
            Secret::new(key)
        } else {
            let password_key = format!("{loc}.key_password");
            let password = self
                .opt(&password_key, &spec.key_password, ctx)?
                .map(Secret::new);
            private_key(&key, password.as_ref(), &origin, &password_key)?.pem
        };
        let mut header = Map::new();
        for (k, v) in &spec.header {
            header.insert(
                k.clone(),
                self.render
                    .render_value(&format!("{loc}.header.{k}"), v.as_str(), ctx)?,
            );
        }
        let mut claims = Map::new();
        for (k, v) in &spec.claims {
            claims.insert(
                k.clone(),
                self.render_tree(&format!("{loc}.claims.{k}"), v, ctx)?,
            );
        }
        let c = JwtClaims {
            algorithm: spec.algorithm,
            key,
            key_id: self.opt(&format!("{loc}.key_id"), &spec.key_id, ctx)?,
            header,
            issuer: self
                .opt(&format!("{loc}.issuer"), &spec.issuer, ctx)?
                .unwrap_or_else(|| client_id.clone()),
            subject: self
                .opt(&format!("{loc}.subject"), &spec.subject, ctx)?
                .unwrap_or(client_id),
            audience: self
                .opt(&format!("{loc}.audience"), &spec.audience, ctx)?
                .unwrap_or_else(|| token_url.to_string()),
            lifetime_secs: spec.lifetime.map(|d| d.get().as_secs()).unwrap_or(300),
            claims,
        };
        sign(&c, now_ms() / 1000)
    }

    fn render_tree(&self, loc: &str, v: &Value, ctx: &Value) -> Result<Value, AuthError> {
        render_tree(&*self.render, loc, v, ctx)
    }

    /// The request of the configured grant (client_credentials, password, jwt_bearer).
    pub fn primary_request(&self) -> Result<TokenHttpRequest, AuthError> {
        let ctx = context(&self.settings, None);
        let token_url = self.token_url()?;
        let mut p: Vec<(String, String)> = Vec::new();
        match self.spec.grant {
            Grant::ClientCredentials => p.push(("grant_type".into(), "client_credentials".into())),
            Grant::Password => {
                p.push(("grant_type".into(), "password".into()));
                let user = self.opt("auth.username", &self.spec.username, &ctx)?;
                let pass = self.opt("auth.password", &self.spec.password, &ctx)?;
                let (Some(user), Some(pass)) = (user, pass) else {
                    return Err(AuthError::Config(
                        "the password grant needs `auth.username` and `auth.password` (normally settings)".into(),
                    ));
                };
                p.push(("username".into(), user));
                p.push(("password".into(), pass));
            }
            Grant::JwtBearer => {
                let Some(spec) = &self.spec.assertion else {
                    return Err(AuthError::Config(
                        "the jwt_bearer grant needs `auth.assertion` (key, issuer, subject, audience)".into(),
                    ));
                };
                p.push((
                    "grant_type".into(),
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                ));
                p.push((
                    "assertion".into(),
                    self.jwt("auth.assertion", spec, &ctx, &token_url)?,
                ));
            }
            other => {
                return Err(AuthError::Config(format!(
                    "the {} grant has no token request without a user: run `wsc auth login CONNECTOR`",
                    other.name()
                )));
            }
        }
        if let Some(s) = self.scope() {
            p.push(("scope".into(), s));
        }
        if let Some(a) = self.opt("auth.audience", &self.spec.audience, &ctx)? {
            p.push(("audience".into(), a));
        }
        if let Some(r) = self.opt("auth.resource", &self.spec.resource, &ctx)? {
            p.push(("resource".into(), r));
        }
        self.finish(token_url, p, &ctx)
    }

    /// The refresh_token grant request.
    pub fn refresh_request(&self, refresh_token: &Secret) -> Result<TokenHttpRequest, AuthError> {
        let ctx = context(&self.settings, Some(refresh_token));
        let p = vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            (
                "refresh_token".to_string(),
                refresh_token.expose().to_string(),
            ),
        ];
        self.finish(self.token_url()?, p, &ctx)
    }

    /// A `custom_refresh` request, seeing `auth.refresh_token`.
    pub fn custom_refresh_request(
        &self,
        cr: &CustomTokenRequest,
        refresh_token: &Secret,
    ) -> Result<TokenHttpRequest, AuthError> {
        build_custom(
            &*self.render,
            "auth.custom_refresh",
            cr,
            &context(&self.settings, Some(refresh_token)),
        )
    }

    /// The authorization_code exchange (PKCE verifier when PKCE is on).
    pub fn code_request(
        &self,
        code: &str,
        verifier: Option<&str>,
        redirect_uri: &str,
    ) -> Result<TokenHttpRequest, AuthError> {
        let ctx = context(&self.settings, None);
        let mut p = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.to_string()),
            ("redirect_uri".to_string(), redirect_uri.to_string()),
        ];
        if let Some(v) = verifier {
            p.push(("code_verifier".into(), v.to_string()));
        }
        self.finish(self.token_url()?, p, &ctx)
    }

    /// The device_code polling request (RFC 8628 §3.4).
    pub fn device_token_request(&self, device_code: &str) -> Result<TokenHttpRequest, AuthError> {
        let ctx = context(&self.settings, None);
        let p = vec![
            (
                "grant_type".to_string(),
                "urn:ietf:params:oauth:grant-type:device_code".to_string(),
            ),
            ("device_code".to_string(), device_code.to_string()),
        ];
        self.finish(self.token_url()?, p, &ctx)
    }

    /// The device authorization request (RFC 8628 §3.1).
    pub fn device_authorization_request(&self) -> Result<TokenHttpRequest, AuthError> {
        let ctx = context(&self.settings, None);
        let Some(t) = &self.spec.device_authorization_url else {
            return Err(AuthError::Config(
                "the device_code grant needs `auth.device_authorization_url`".into(),
            ));
        };
        let url = parse_url(
            "auth.device_authorization_url",
            &self.r("auth.device_authorization_url", t, &ctx)?,
        )?;
        let mut p = Vec::new();
        if let Some(s) = self.scope() {
            p.push(("scope".to_string(), s));
        }
        self.finish(url, p, &ctx)
    }

    /// The authorize URL for authorization_code with `state` and the PKCE challenge.
    pub fn authorize_url(
        &self,
        state: &str,
        challenge: Option<&str>,
        redirect_uri: &str,
    ) -> Result<Url, AuthError> {
        let ctx = context(&self.settings, None);
        let Some(t) = &self.spec.authorize_url else {
            return Err(AuthError::Config(
                "the authorization_code grant needs `auth.authorize_url`".into(),
            ));
        };
        let mut u = parse_url(
            "auth.authorize_url",
            &self.r("auth.authorize_url", t, &ctx)?,
        )?;
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("response_type", "code");
            if let Some(id) = self.opt("auth.client_id", &self.spec.client_id, &ctx)? {
                q.append_pair("client_id", &id);
            }
            q.append_pair("redirect_uri", redirect_uri);
            q.append_pair("state", state);
            if let Some(s) = self.scope() {
                q.append_pair("scope", &s);
            }
            if let Some(c) = challenge {
                q.append_pair("code_challenge", c);
                q.append_pair("code_challenge_method", "S256");
            }
            if let Some(a) = self.opt("auth.audience", &self.spec.audience, &ctx)? {
                q.append_pair("audience", &a);
            }
            if let Some(r) = self.opt("auth.resource", &self.spec.resource, &ctx)? {
                q.append_pair("resource", &r);
            }
            for (k, t) in &self.spec.authorize_params {
                let loc = format!("auth.authorize_params.{k}");
                if let Some(v) = self.opt(&loc, &Some(t.clone()), &ctx)? {
                    q.append_pair(k, &v);
                }
            }
        }
        Ok(u)
    }

    /// Adds client authentication, extra parameters and headers, and places parameters.
    fn finish(
        &self,
        url: Url,
        mut p: Vec<(String, String)>,
        ctx: &Value,
    ) -> Result<TokenHttpRequest, AuthError> {
        let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
        let id = self.opt("auth.client_id", &self.spec.client_id, ctx)?;
        let secret = self.opt("auth.client_secret", &self.spec.client_secret, ctx)?;
        match self.spec.client_auth {
            ClientAuth::Basic => {
                let Some(id) = &id else {
                    return Err(AuthError::Config(
                        "client_auth basic needs `auth.client_id` (and normally `auth.client_secret`)".into(),
                    ));
                };
                let raw = format!(
                    "{}:{}",
                    basic_encode(id),
                    basic_encode(secret.as_deref().unwrap_or(""))
                );
                headers.push((
                    "Authorization".into(),
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(raw)
                    ),
                ));
            }
            ClientAuth::Body => {
                if let Some(id) = id {
                    p.push(("client_id".into(), id));
                }
                if let Some(s) = secret {
                    p.push(("client_secret".into(), s));
                }
            }
            ClientAuth::None => {
                if let Some(id) = id {
                    p.push(("client_id".into(), id));
                }
            }
            ClientAuth::PrivateKeyJwt => {
                let Some(spec) = &self.spec.client_assertion else {
                    return Err(AuthError::Config(
                        "client_auth private_key_jwt needs `auth.client_assertion` (the signing key)".into(),
                    ));
                };
                let token_url = self.token_url()?;
                if let Some(id) = id {
                    p.push(("client_id".into(), id));
                }
                p.push((
                    "client_assertion_type".into(),
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                p.push((
                    "client_assertion".into(),
                    self.jwt("auth.client_assertion", spec, ctx, &token_url)?,
                ));
            }
        }
        for (k, v) in &self.spec.token_request.params {
            let v = self.r(&format!("auth.token_request.params.{k}"), v, ctx)?;
            p.retain(|(name, _)| name != k);
            p.push((k.clone(), v));
        }
        for (k, v) in &self.spec.token_request.headers {
            let v = self.r(&format!("auth.token_request.headers.{k}"), v, ctx)?;
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
            headers.push((k.clone(), v));
        }
        let (url, body) = match self.spec.token_request.params_in {
            ParamsIn::Body => (url, Body::Form(p)),
            ParamsIn::Multipart => (url, Body::Multipart(p)),
            ParamsIn::Query => {
                let mut url = url;
                url.query_pairs_mut()
                    .extend_pairs(p.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                (url, Body::Empty)
            }
        };
        Ok(TokenHttpRequest {
            method: reqwest::Method::POST,
            url,
            headers,
            body,
        })
    }
}

/// Renders a YAML tree whose string leaves are templates.
pub(crate) fn render_tree(
    r: &dyn Render,
    loc: &str,
    v: &Value,
    ctx: &Value,
) -> Result<Value, AuthError> {
    Ok(match v {
        Value::String(s) => r.render_value(loc, s, ctx)?,
        Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| render_tree(r, &format!("{loc}[{i}]"), x, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), render_tree(r, &format!("{loc}.{k}"), x, ctx)?)))
                .collect::<Result<_, AuthError>>()?,
        ),
        other => other.clone(),
    })
}

/// A custom token flow with the means to render it.
pub struct CustomFlow {
    pub(crate) spec: CustomAuth,
    settings: Value,
    render: Arc<dyn Render>,
}

impl std::fmt::Debug for CustomFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomFlow").finish_non_exhaustive()
    }
}

impl CustomFlow {
    /// `settings` are the resolved settings.
    pub fn new(spec: CustomAuth, settings: Value, render: Arc<dyn Render>) -> Self {
        CustomFlow {
            spec,
            settings,
            render,
        }
    }

    /// The login request.
    pub fn login_request(&self) -> Result<TokenHttpRequest, AuthError> {
        build_custom(
            &*self.render,
            "auth.request",
            &self.spec.request,
            &context(&self.settings, None),
        )
    }

    /// The refresh request, if one is configured.
    pub fn refresh_request(
        &self,
        refresh_token: &Secret,
    ) -> Option<Result<TokenHttpRequest, AuthError>> {
        let r = self.spec.refresh_request.as_ref()?;
        Some(build_custom(
            &*self.render,
            "auth.refresh_request",
            r,
            &context(&self.settings, Some(refresh_token)),
        ))
    }
}

fn build_custom(
    r: &dyn Render,
    loc: &str,
    spec: &CustomTokenRequest,
    ctx: &Value,
) -> Result<TokenHttpRequest, AuthError> {
    let mut url = parse_url(
        &format!("{loc}.url"),
        &r.render(&format!("{loc}.url"), spec.url.as_str(), ctx)?,
    )?;
    for (k, v) in &spec.query {
        let v = r.render(&format!("{loc}.query.{k}"), v.as_str(), ctx)?;
        url.query_pairs_mut().append_pair(k, &v);
    }
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    for (k, v) in &spec.headers {
        let v = r.render(&format!("{loc}.headers.{k}"), v.as_str(), ctx)?;
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v));
    }
    let pairs = |m: &indexmap::IndexMap<String, Template>,
                 what: &str|
     -> Result<Vec<(String, String)>, AuthError> {
        m.iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    r.render(&format!("{loc}.{what}.{k}"), v.as_str(), ctx)?,
                ))
            })
            .collect()
    };
    let body = if let Some(b) = &spec.body {
        Body::Json(render_tree(r, &format!("{loc}.body"), b, ctx)?)
    } else if !spec.form.is_empty() {
        Body::Form(pairs(&spec.form, "form")?)
    } else if !spec.multipart.is_empty() {
        Body::Multipart(pairs(&spec.multipart, "multipart")?)
    } else if let Some(raw) = &spec.raw {
        Body::Raw {
            content_type: raw.content_type.clone(),
            text: r.render(&format!("{loc}.raw.text"), raw.text.as_str(), ctx)?,
        }
    } else {
        Body::Empty
    };
    let method = match spec.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
        Method::Head => reqwest::Method::HEAD,
    };
    Ok(TokenHttpRequest {
        method,
        url,
        headers,
        body,
    })
}

#[cfg(test)]
mod basic_tests {
    #[test]
    fn basic_credentials_encode_space_as_percent_20() {
        assert_eq!(super::basic_encode("my client"), "my%20client");
        assert_eq!(super::basic_encode("a+b:c/d"), "a%2Bb%3Ac%2Fd");
    }
}
