//! Token sets and the tolerant reading of token responses.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Map, Value};
use wsc_spec::StatusPattern;
use wsc_spec::model::{ResponseFormat, TokenResponseMapping};

use crate::cookies::CookieSet;
use crate::error::AuthError;
use crate::jsonpath::SimplePath;
use crate::secret::Secret;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// An access token with what is known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// `token_type` as sent (any case), if sent.
    pub token_type: Option<String>,
    /// When the access token expires (ms since the epoch).
    pub expires_at_ms: u64,
    /// How the expiry was learnt: `expires_in`, `expires_at`, `jwt_exp` or `default`.
    pub expiry_source: &'static str,
    /// The refresh token, if one is held.
    pub refresh_token: Option<Secret>,
    /// When the refresh token expires (ms since the epoch), if the server said.
    pub refresh_expires_at_ms: Option<u64>,
    /// Granted scope, if the server said.
    pub scope: Option<String>,
    /// When this token was obtained (ms since the epoch).
    pub obtained_at_ms: u64,
    /// How it was obtained; `None` for a token stored by a wsc that did not record it.
    pub obtained: Option<Obtained>,
    /// The cookies a custom login (or refresh) set, as a `Cookie` header value, sent with
    /// every authenticated request.
    pub cookies: Option<Secret>,
}

/// How a token was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Obtained {
    /// With the connector's grant (`client_credentials`, `password`, `jwt_bearer`, the code
    /// or device exchange of `authorization_code` / `device_code`), or (`custom`) a custom
    /// flow's login request.
    Grant(String),
    /// By a refresh: `refresh_token` (the OAuth2 refresh_token grant), `custom_refresh` (an
    /// oauth2 connector's own refresh request) or `refresh_request` (a custom flow's).
    Refresh(String),
}

impl Obtained {
    fn to_json(&self) -> Value {
        let (by, with) = match self {
            Obtained::Grant(g) => ("grant", g),
            Obtained::Refresh(r) => ("refresh", r),
        };
        serde_json::json!({ "by": by, "with": with })
    }

    fn from_json(v: &Value) -> Option<Obtained> {
        let with = v.get("with")?.as_str()?.to_string();
        match v.get("by")?.as_str()? {
            "grant" => Some(Obtained::Grant(with)),
            "refresh" => Some(Obtained::Refresh(with)),
            _ => None,
        }
    }
}

impl TokenSet {
    /// Whether the token should be replaced at `now_ms`, refreshing `skew` before expiry.
    /// A token whose whole lifetime is shorter than twice the skew is refreshed at half its
    /// lifetime instead, so short-lived tokens are still used.
    pub fn is_stale(&self, now_ms: u64, skew: Duration) -> bool {
        let life = self.expires_at_ms.saturating_sub(self.obtained_at_ms);
        let skew_ms = (skew.as_millis() as u64).min(life / 2);
        now_ms.saturating_add(skew_ms) >= self.expires_at_ms
    }

    /// Keeps `old`'s refresh token (and its expiry) when this response brought none.
    pub fn keep_refresh_token_of(&mut self, old: Option<&TokenSet>) {
        if self.refresh_token.is_none()
            && let Some(old) = old
        {
            self.refresh_token = old.refresh_token.clone();
            self.refresh_expires_at_ms = old.refresh_expires_at_ms;
        }
    }

    /// After a refresh: keeps the cookies of `old` that the refresh response did not set
    /// again.
    pub(crate) fn keep_cookies_of(&mut self, old: Option<&TokenSet>) {
        let Some(old) = old.and_then(|o| o.cookies.as_ref()) else {
            return;
        };
        let mut jar = CookieSet::parse_header(old.expose());
        if let Some(new) = &self.cookies {
            jar.merge(&CookieSet::parse_header(new.expose()));
        }
        self.cookies = (!jar.is_empty()).then(|| Secret::new(jar.header()));
    }

    /// A JSON form for the encrypted store.
    pub fn to_stored_json(&self) -> Value {
        serde_json::json!({
            "access_token": self.access_token.expose(),
            "token_type": self.token_type,
            "expires_at_ms": self.expires_at_ms,
            "expiry_source": self.expiry_source,
            "refresh_token": self.refresh_token.as_ref().map(|s| s.expose().to_string()),
            "refresh_expires_at_ms": self.refresh_expires_at_ms,
            "scope": self.scope,
            "obtained_at_ms": self.obtained_at_ms,
            "obtained": self.obtained.as_ref().map(Obtained::to_json),
            "cookies": self.cookies.as_ref().map(|s| s.expose().to_string()),
        })
    }

    /// Reads [`TokenSet::to_stored_json`]'s form back.
    pub fn from_stored_json(v: &Value) -> Option<TokenSet> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        Some(TokenSet {
            access_token: Secret::new(s("access_token")?),
            token_type: s("token_type"),
            expires_at_ms: n("expires_at_ms")?,
            expiry_source: match v.get("expiry_source").and_then(Value::as_str) {
                Some("expires_in") => "expires_in",
                Some("expires_at") => "expires_at",
                Some("jwt_exp") => "jwt_exp",
                _ => "default",
            },
            refresh_token: s("refresh_token").map(Secret::new),
            refresh_expires_at_ms: n("refresh_expires_at_ms"),
            scope: s("scope"),
            obtained_at_ms: n("obtained_at_ms").unwrap_or(0),
            obtained: v.get("obtained").and_then(Obtained::from_json),
            cookies: s("cookies").map(Secret::new),
        })
    }
}

/// What a token request was for, to choose the hint of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestPurpose {
    /// Obtaining a token with the configured grant.
    Primary,
    /// Refreshing with a refresh token.
    Refresh,
}

/// A raw HTTP answer of a token endpoint.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Content-Type, lower-cased.
    pub content_type: String,
    /// Headers (names lower-cased), in order; `Set-Cookie` may come several times.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The values of header `name` (lower-case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How to read one token response: [`read_response`]'s arguments, and what custom flows add.
#[derive(Debug, Clone, Copy)]
pub struct Reading<'a> {
    /// Where the token fields are.
    pub mapping: &'a TokenResponseMapping,
    /// What the request was for (chooses error hints).
    pub purpose: RequestPurpose,
    /// The flow's grant name, for messages.
    pub grant: &'a str,
    /// Statuses of a successful answer; `None`: 2xx.
    pub success: Option<&'a [StatusPattern]>,
    /// Keep the cookies the response sets (custom flows).
    pub cookies: bool,
    /// The cookies are the credential: no access token is read (`credential: cookies`).
    pub cookies_only: bool,
}

fn form_to_object(body: &str) -> Value {
    let mut m = Map::new();
    for (k, v) in url::form_urlencoded::parse(body.trim().as_bytes()) {
        m.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    Value::Object(m)
}

/// Decodes the body as `format` says (auto: by Content-Type, else JSON, else form).
fn decode(resp: &RawResponse, format: ResponseFormat) -> Option<Value> {
    let text = String::from_utf8_lossy(&resp.body);
    let json = || {
        serde_json::from_str::<Value>(&text)
            .ok()
            .filter(Value::is_object)
    };
    let form = || {
        let v = form_to_object(&text);
        (v.as_object().is_some_and(|m| !m.is_empty()) && !text.trim_start().starts_with(['{', '<']))
            .then_some(v)
    };
    match format {
        ResponseFormat::Json => json(),
        ResponseFormat::Form => Some(form_to_object(&text)),
        ResponseFormat::Auto if resp.content_type.contains("x-www-form-urlencoded") => form(),
        ResponseFormat::Auto => json().or_else(form),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|x| x.is_finite() && *x >= 0.0)
}

/// The `exp` claim of a JWT, read without verifying the signature (only to learn the expiry).
pub fn jwt_exp(token: &str) -> Option<u64> {
    let mut parts = token.split('.');
    let (_h, p, _s) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    number(claims.get("exp")?).map(|x| x as u64)
}

/// Parses an RFC 3339 timestamp (`2024-05-01T10:00:00Z`, `+02:00`, fractional seconds) to
/// epoch seconds, dropping any fraction.
fn rfc3339_secs(s: &str) -> Option<i64> {
    s.trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_second)
}

fn path_or(p: &Option<wsc_spec::JsonPath>, default: &str) -> Result<SimplePath, AuthError> {
    SimplePath::parse(p.as_ref().map(|p| p.as_str()).unwrap_or(default))
        .map_err(|e| AuthError::Config(format!("token_response: {e}")))
}

/// The hint for an OAuth error code.
pub fn hint_for(error: &str, purpose: RequestPurpose, grant: &str) -> Option<String> {
    Some(match (error, purpose) {
        ("invalid_client", _) => "the token endpoint did not accept the client: check client_id, client_secret and client_auth (basic sends them in an Authorization header, body sends them as form fields; many servers accept only one)".to_string(),
        ("invalid_grant", RequestPurpose::Refresh) => "the refresh token has expired or was revoked: run `wsc auth login CONNECTOR` (or set a new refresh_token setting) to get a new one".to_string(),
        ("invalid_grant", RequestPurpose::Primary) => format!("the {grant} grant was refused: check the credentials it sends (user name and password, assertion, code)"),
        ("unauthorized_client", _) => format!("the {grant} grant is not enabled for this client on the authorization server: enable it there or configure the grant the client may use"),
        ("unsupported_grant_type", _) => format!("the token endpoint does not support the {grant} grant"),
        ("invalid_scope", _) => "a requested scope is unknown or not allowed for this client: check `scopes` and `scope_delimiter`".to_string(),
        ("invalid_request", RequestPurpose::Primary) => format!("the token endpoint refused the {grant} request: a parameter is missing or malformed, or (some servers, e.g. Authlib, answer so for a wrong password or client secret) the credentials it carries are wrong: check them first, then token_request (headers, params, params_in)"),
        ("invalid_request", _) => "the token endpoint refused the request: a parameter is missing or malformed, or the refresh token or credentials it carries are wrong: check them first, then token_request (headers, params, params_in)".to_string(),
        ("access_denied", _) => "the authorization server denied the request: the user or an administrator refused, or a policy blocks this client".to_string(),
        ("temporarily_unavailable" | "server_error", _) => "the authorization server failed: try again later; if it persists, its logs tell why".to_string(),
        _ => return None,
    })
}

/// Reads a token response: an OAuth error (any status, or an `error` field) becomes
/// [`AuthError::TokenRequest`]; a success is mapped through `mapping` tolerantly.
pub fn read_response(
    resp: &RawResponse,
    mapping: &TokenResponseMapping,
    purpose: RequestPurpose,
    grant: &str,
    now_ms: u64,
) -> Result<TokenSet, AuthError> {
    read(
        resp,
        &Reading {
            mapping,
            purpose,
            grant,
            success: None,
            cookies: false,
            cookies_only: false,
        },
        now_ms,
    )
}

/// [`read_response`] with everything a custom flow can ask for: other success statuses, the
/// cookies the response sets, the token in a header or no token at all.
pub fn read(resp: &RawResponse, how: &Reading<'_>, now_ms: u64) -> Result<TokenSet, AuthError> {
    let (mapping, purpose, grant) = (how.mapping, how.purpose, how.grant);
    let tolerant_body = how.cookies_only || mapping.access_token_header.is_some();
    let body = decode(resp, mapping.format);
    let ok = match how.success {
        Some(list) => list.iter().any(|p| p.matches(resp.status)),
        None => (200..300).contains(&resp.status),
    };
    let err_code = body
        .as_ref()
        .and_then(|b| b.get("error"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if !ok || err_code.is_some() {
        let desc = body
            .as_ref()
            .and_then(|b| b.get("error_description"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let message = match &err_code {
            Some(code) if desc.is_empty() => format!("{code} (HTTP {})", resp.status),
            Some(code) => format!("{code}: {desc} (HTTP {})", resp.status),
            None => {
                let text = String::from_utf8_lossy(&resp.body);
                let start: String = text.chars().take(200).collect();
                format!("HTTP {} without an OAuth error: {start}", resp.status)
            }
        };
        let hint = match &err_code {
            Some(code) => hint_for(code, purpose, grant),
            None if resp.status == 404 => {
                Some("check token_url: the endpoint was not found".to_string())
            }
            None if (300..400).contains(&resp.status) => Some(format!(
                "the answer is a redirect{}; a form login that signs in with a redirect lists it in the request's `success` (e.g. `success: [200, {}]`)",
                resp.header_values("location")
                    .next()
                    .map(|l| format!(" to `{}`", crate::shown::redacted_location(l)))
                    .unwrap_or_default(),
                resp.status
            )),
            None => None,
        };
        return Err(AuthError::TokenRequest {
            message,
            hint,
            oauth_error: err_code,
        });
    }
    let body = match body {
        None if tolerant_body => Some(Value::Object(Map::new())),
        b => b,
    };
    let Some(body) = body else {
        return Err(AuthError::TokenRequest {
            message: format!(
                "the token response (HTTP {}, {}) is neither JSON nor form-encoded",
                resp.status,
                if resp.content_type.is_empty() {
                    "no Content-Type"
                } else {
                    resp.content_type.as_str()
                }
            ),
            hint: Some("set token_response.format, or map fields with token_response paths".into()),
            oauth_error: None,
        });
    };
    let mut jar = CookieSet::default();
    if how.cookies {
        let set: Vec<&str> = resp.header_values("set-cookie").collect();
        jar.apply(&set, (now_ms / 1000) as i64);
    }
    let access_path = path_or(&mapping.access_token, "$.access_token")?;
    let access = if how.cookies_only {
        if jar.is_empty() {
            return Err(AuthError::TokenRequest {
                message: format!(
                    "the login answered HTTP {} and set no cookie, and with `credential: cookies` the cookies it sets are the credential",
                    resp.status
                ),
                hint: Some("check the login request (URL, method, form fields): a login that failed often answers 200 with its form again; if the API takes a token from the login's body or a header, use `credential: token` with `response.access_token` or `response.access_token_header`".into()),
                oauth_error: None,
            });
        }
        jar.header()
    } else if let Some(h) = &mapping.access_token_header {
        match resp.header_values(h).next().map(str::trim) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => {
                let names: Vec<&str> = resp.headers.iter().map(|(k, _)| k.as_str()).collect();
                return Err(AuthError::TokenRequest {
                    message: format!(
                        "the token response (HTTP {}) has no `{h}` header (its headers: {})",
                        resp.status,
                        names.join(", ")
                    ),
                    hint: Some("check `access_token_header`, or map the token from the body with `access_token`".into()),
                    oauth_error: None,
                });
            }
        }
    } else {
        match access_path.select(&body) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                let fields: Vec<&str> = body
                    .as_object()
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                return Err(AuthError::TokenRequest {
                message: format!(
                    "the token response has no access token at `{}` (its fields: {})",
                    access_path.as_str(),
                    fields.join(", ")
                ),
                hint: Some(
                    "map the token with token_response.access_token (or `access_token_header` when the login sends it in a header)".into(),
                ),
                oauth_error: None,
            });
            }
        }
    };
    let get = |p: &Option<wsc_spec::JsonPath>, d: &str| -> Result<Option<Value>, AuthError> {
        Ok(path_or(p, d)?.select(&body).cloned())
    };
    let default_life = mapping
        .default_expires_in
        .map(|d| d.get())
        .unwrap_or(Duration::from_secs(3600));
    let (expires_at_ms, expiry_source) = if let Some(secs) =
        get(&mapping.expires_in, "$.expires_in")?
            .as_ref()
            .and_then(number)
    {
        (now_ms.saturating_add((secs * 1000.0) as u64), "expires_in")
    } else if let Some(at) = mapping
        .expires_at
        .as_ref()
        .map(|p| get(&Some(p.clone()), "$"))
        .transpose()?
        .flatten()
        .and_then(|v| match &v {
            Value::String(s) if s.contains('T') || s.contains('t') => {
                rfc3339_secs(s).map(|x| (x.max(0) as u64).saturating_mul(1000))
            }
            other => number(other).map(|x| {
                if x > 1e12 {
                    x as u64
                } else {
                    (x * 1000.0) as u64
                }
            }),
        })
    {
        (at, "expires_at")
    } else if let Some(exp) = (!how.cookies_only).then(|| jwt_exp(&access)).flatten() {
        (exp.saturating_mul(1000), "jwt_exp")
    } else {
        (
            now_ms.saturating_add(default_life.as_millis() as u64),
            "default",
        )
    };
    let refresh_token = match get(&mapping.refresh_token, "$.refresh_token")? {
        Some(Value::String(s)) if !s.is_empty() => Some(Secret::new(s)),
        _ => None,
    };
    let refresh_expires_at_ms = get(
        &mapping.refresh_token_expires_in,
        "$.refresh_token_expires_in",
    )?
    .as_ref()
    .and_then(number)
    .filter(|s| *s > 0.0)
    .map(|s| now_ms.saturating_add((s * 1000.0) as u64));
    let token_type =
        get(&mapping.token_type, "$.token_type")?.and_then(|v| v.as_str().map(str::to_string));
    let scope = body
        .get("scope")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(TokenSet {
        access_token: Secret::new(access),
        token_type,
        expires_at_ms,
        expiry_source,
        refresh_token,
        refresh_expires_at_ms,
        scope,
        obtained_at_ms: now_ms,
        obtained: None,
        cookies: (!jar.is_empty()).then(|| Secret::new(jar.header())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, ct: &str, body: &str) -> RawResponse {
        RawResponse {
            status,
            content_type: ct.into(),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn read(r: &RawResponse) -> Result<TokenSet, AuthError> {
        read_response(
            r,
            &TokenResponseMapping::default(),
            RequestPurpose::Primary,
            "client_credentials",
            1_000_000,
        )
    }

    #[test]
    fn tolerant_expiry() {
        let t = read(&resp(
            200,
            "application/json",
            r#"{"access_token":"a","expires_in":"60","token_type":"BEARER"}"#,
        ))
        .unwrap();
        assert_eq!(t.expires_at_ms, 1_060_000);
        assert_eq!(t.expiry_source, "expires_in");
        assert_eq!(t.token_type.as_deref(), Some("BEARER"));
        let t = read(&resp(
            200,
            "application/json",
            r#"{"access_token":"a","expires_in":30}"#,
        ))
        .unwrap();
        assert_eq!(t.expires_at_ms, 1_030_000);
        // JWT exp fallback: {"alg":"none"}.{"exp":2000}.sig
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!("{}.{}.x", b(r#"{"alg":"none"}"#), b(r#"{"exp":2000}"#));
        let t = read(&resp(
            200,
            "application/json",
            &format!(r#"{{"access_token":"{jwt}"}}"#),
        ))
        .unwrap();
        assert_eq!((t.expires_at_ms, t.expiry_source), (2_000_000, "jwt_exp"));
        let t = read(&resp(
            200,
            "application/json",
            r#"{"access_token":"opaque"}"#,
        ))
        .unwrap();
        assert_eq!(
            (t.expires_at_ms, t.expiry_source),
            (1_000_000 + 3_600_000, "default")
        );
    }

    #[test]
    fn form_encoded_and_refresh_lifetime() {
        let t = read(&resp(
            200,
            "application/x-www-form-urlencoded",
            "access_token=a%2Bb&expires_in=10&refresh_token=r&refresh_token_expires_in=100",
        ))
        .unwrap();
        assert_eq!(t.access_token.expose(), "a+b");
        assert_eq!(t.refresh_token.as_ref().map(Secret::expose), Some("r"));
        assert_eq!(t.refresh_expires_at_ms, Some(1_100_000));
        // text/plain form body, as GitHub used to send
        let t = read(&resp(200, "text/plain", "access_token=x&token_type=bearer")).unwrap();
        assert_eq!(t.access_token.expose(), "x");
    }

    #[test]
    fn custom_paths_and_expires_at() {
        let m = TokenResponseMapping {
            access_token: Some("$.data.session.id".into()),
            expires_at: Some("$.data.session.expires".into()),
            ..Default::default()
        };
        let r = resp(
            200,
            "application/json",
            r#"{"data":{"session":{"id":"s","expires":"1970-01-01T00:33:20Z"}}}"#,
        );
        let t = read_response(&r, &m, RequestPurpose::Primary, "custom", 0).unwrap();
        assert_eq!((t.access_token.expose(), t.expires_at_ms), ("s", 2_000_000));
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(rfc3339_secs("1970-01-01T00:33:20Z"), Some(2000));
        assert_eq!(rfc3339_secs(" 2024-05-01T10:00:00Z "), Some(1_714_557_600));
        assert_eq!(rfc3339_secs("2024-05-01t10:00:00z"), Some(1_714_557_600));
        assert_eq!(
            rfc3339_secs("2024-05-01T12:00:00+02:00"),
            Some(1_714_557_600)
        );
        assert_eq!(
            rfc3339_secs("2024-05-01T07:30:00-02:30"),
            Some(1_714_557_600)
        );
        assert_eq!(
            rfc3339_secs("2024-05-01T10:00:00.987654Z"),
            Some(1_714_557_600)
        );
        assert_eq!(rfc3339_secs("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(rfc3339_secs("2024-05-01T10:00:00"), None, "no offset");
        assert_eq!(rfc3339_secs("yesterday"), None);
    }

    #[test]
    fn errors_have_hints() {
        let e = read(&resp(
            401,
            "application/json",
            r#"{"error":"invalid_client","error_description":"bad secret"}"#,
        ))
        .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("invalid_client: bad secret") && s.contains("client_auth"),
            "{s}"
        );
        let r = resp(400, "application/json", r#"{"error":"invalid_grant"}"#);
        let e = read_response(
            &r,
            &TokenResponseMapping::default(),
            RequestPurpose::Refresh,
            "refresh_token",
            0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("wsc auth login"), "{e}");
        let e = read(&resp(200, "application/json", r#"{"token":"x"}"#)).unwrap_err();
        assert!(e.to_string().contains("its fields: token"), "{e}");
    }

    #[test]
    fn staleness_with_skew() {
        let t = TokenSet {
            access_token: Secret::new("a"),
            token_type: None,
            expires_at_ms: 1_000_000 + 3_600_000,
            expiry_source: "default",
            refresh_token: None,
            refresh_expires_at_ms: None,
            scope: None,
            obtained_at_ms: 1_000_000,
            obtained: Some(Obtained::Refresh("refresh_token".into())),
            cookies: Some(Secret::new("session=s1")),
        };
        let skew = Duration::from_secs(60);
        assert!(!t.is_stale(1_000_000, skew));
        assert!(t.is_stale(1_000_000 + 3_540_000, skew));
        // a 2 s token is used for 1 s despite a 60 s skew
        let short = TokenSet {
            expires_at_ms: 1_002_000,
            ..t
        };
        assert!(!short.is_stale(1_000_500, skew));
        assert!(short.is_stale(1_001_000, skew));
        let back = TokenSet::from_stored_json(&short.to_stored_json()).unwrap();
        assert_eq!(back, short);
    }
}
