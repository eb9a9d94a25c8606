//! The connector format as typed structs.
//!
//! Every struct denies unknown fields, every enum is snake_case, and every type derives a JSON
//! Schema so editors can complete connector files. Strings that are Handlebars templates are
//! typed [`Template`]; strings that are JSONPath expressions are typed [`JsonPath`]. The loader
//! ([`crate::load`]) checks both when a connector is read.
//!
//! `docs/connector-reference.md` documents every key; a test keeps it in step with these types.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::values::{Duration, JsonPath, StatusPattern, Template};

/// A whole connector file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    /// Connector name: lower-case letters, digits, `-` and `_`. Names token-store entries.
    pub connector: String,
    /// One-line description shown by `wsc` commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Link to the API documentation the connector was written from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    /// Values supplied per instance (`--set`, `--settings`, `WSC_<NAME>`), visible as
    /// `settings.<name>` in templates. Secrets are never written in the connector file.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub settings: IndexMap<String, Setting>,
    /// Settings that identify one tenant: tokens and state are stored per connector and per
    /// the values of these settings. Defaults to every non-secret setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<Vec<String>>,
    /// Base URL every operation path is relative to.
    pub base_url: Template,
    /// Further hosts that may receive credentials (besides the base URL's and token URL's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// HTTP behaviour shared by every request of this connector.
    #[serde(default)]
    pub http: HttpOptions,
    /// How requests are authenticated.
    #[serde(default)]
    pub auth: Auth,
    /// The operations this connector supports.
    #[serde(default)]
    pub operations: Operations,
}

/// One instance setting.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// What the setting is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Value used when none is supplied. Not allowed on secret settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<ScalarValue>,
    /// A secret: never logged, never written to fixtures or snapshots, redacted in errors.
    #[serde(default, skip_serializing_if = "is_false")]
    pub secret: bool,
    /// Environment variable read when no value is given (besides the implicit `WSC_<NAME>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Whether a value must be supplied. Defaults to `true` when there is no default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// An example value, shown in docs and error hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// A YAML scalar: string, number or boolean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ScalarValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
}

impl ScalarValue {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ScalarValue::Bool(b) => (*b).into(),
            ScalarValue::Int(i) => (*i).into(),
            ScalarValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            ScalarValue::String(s) => s.clone().into(),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// HTTP options shared by all requests of a connector.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpOptions {
    /// Connect, read and total timeouts.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Retry policy for transient failures.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Headers sent with every request (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, Template>,
    /// User-Agent header. Defaults to `wsc/<version>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Status codes that count as success unless an operation overrides them. Default `2xx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Vec<StatusPattern>>,
    /// Rules that detect an error reported inside a successful (2xx) response body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRule>,
    /// TLS: custom CA, client certificate.
    #[serde(default)]
    pub tls: Tls,
    /// Upper bound on requests per second across the whole run (a request budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// Maximum number of redirects followed (never to another host). Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redirects: Option<u32>,
    /// Keep a cookie jar per operation run (session-based APIs). Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cookies: bool,
}

/// Timeouts. Durations are written `500ms`, `30s`, `2m`, or as a number of seconds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Time to establish a connection. Default `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<Duration>,
    /// Time to wait for data on an open connection. Default `60s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<Duration>,
    /// Time for a whole request, body included. Default `120s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Duration>,
}

/// Retries with exponential backoff and jitter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. Default 4; 1 disables retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Statuses that are retried. Default `[408, 429, 500, 502, 503, 504]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<StatusPattern>>,
    /// First backoff delay. Default `500ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_backoff: Option<Duration>,
    /// Largest backoff delay. Default `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backoff: Option<Duration>,
    /// Honour `Retry-After` (seconds or HTTP-date) up to this long; on a 429 without it,
    /// `X-Rate-Limit-Reset` / `X-RateLimit-Reset` (epoch seconds) or `RateLimit-Reset`
    /// (seconds) are honoured the same way. Default `120s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retry_after: Option<Duration>,
    /// Retry when a response body contains one of these texts (e.g. a 200 saying "try again").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_body: Vec<String>,
    /// Retry connection errors (refused, reset, timeout). Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_errors: Option<bool>,
}

/// Detects an error reported inside a response body. Exactly one of `path`, `body_contains`
/// and `expression` is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    /// JSONPath into the body. Without `equals`, the rule matches when the path selects a
    /// value other than null or false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<JsonPath>,
    /// With `path`: match when the selected value equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
    /// Match when the raw body contains this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// Match when this template renders to `true` (`response` is the parsed body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<Template>,
    /// JSONPath of a message to report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<JsonPath>,
    /// Retry the request (within the retry budget) instead of failing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retry: bool,
}

/// TLS options.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// PEM file of extra CA certificates to trust (relative to the connector file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<Template>,
    /// PEM client certificate for mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<Template>,
    /// PEM private key of the client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<Template>,
    /// Skip certificate verification. For local testing only; wsc warns loudly.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_skip_verify: bool,
}

// ---------------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------------

/// How requests are authenticated, chosen by `type`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP Basic authentication.
    Basic(BasicAuth),
    /// An API key in a header or query parameter.
    ApiKey(ApiKeyAuth),
    /// A static bearer token.
    Bearer(BearerAuth),
    /// OAuth 2.0 with managed tokens.
    #[serde(rename = "oauth2")]
    OAuth2(Box<OAuth2Auth>),
    /// A custom token flow: a request whose response is mapped to a token.
    Custom(Box<CustomAuth>),
}

impl Auth {
    /// The `type` name as written in YAML.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Basic(_) => "basic",
            Auth::ApiKey(_) => "api_key",
            Auth::Bearer(_) => "bearer",
            Auth::OAuth2(_) => "oauth2",
            Auth::Custom(_) => "custom",
        }
    }
}

/// HTTP Basic credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name (template).
    pub username: Template,
    /// Password (template, normally `{{settings.password}}` of a secret setting).
    pub password: Template,
}

/// An API key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyAuth {
    /// The key (template, normally a secret setting).
    pub key: Template,
    /// Where the key goes: `header` (default) or `query`.
    #[serde(default, rename = "in")]
    pub placement: Placement,
    /// Header or query parameter name, e.g. `X-API-Key`.
    pub name: String,
    /// Text put before the key, e.g. `SSWS ` (Okta). Default empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// A static bearer token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BearerAuth {
    /// The token (template, normally a secret setting).
    pub token: Template,
    /// Where the token goes. Default `Authorization: Bearer <token>`.
    #[serde(default)]
    pub token_placement: TokenPlacement,
}

/// Header or query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// An HTTP header.
    #[default]
    Header,
    /// A query-string parameter.
    Query,
}

/// Where an access token is put on each request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenPlacement {
    /// `header` (default) or `query`.
    #[serde(default, rename = "in")]
    pub placement: Placement,
    /// Header or parameter name. Default `Authorization`.
    #[serde(default = "default_token_name")]
    pub name: String,
    /// Text before the token. Default `Bearer ` for the Authorization header, empty otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

impl Default for TokenPlacement {
    fn default() -> Self {
        TokenPlacement {
            placement: Placement::Header,
            name: default_token_name(),
            prefix: None,
        }
    }
}

impl TokenPlacement {
    /// The prefix in effect: the configured one, else `Bearer ` for an Authorization header.
    pub fn effective_prefix(&self) -> &str {
        match &self.prefix {
            Some(p) => p,
            None if self.placement == Placement::Header
                && self.name.eq_ignore_ascii_case("authorization") =>
            {
                "Bearer "
            }
            None => "",
        }
    }
}

fn default_token_name() -> String {
    "Authorization".to_string()
}

/// OAuth 2.0 grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// Client credentials (RFC 6749 §4.4).
    ClientCredentials,
    /// Authorization code with PKCE S256; `wsc auth login` runs the loopback redirect.
    AuthorizationCode,
    /// A refresh token supplied by a setting, rotated as the server issues new ones.
    RefreshToken,
    /// Resource owner password credentials (RFC 6749 §4.3).
    Password,
    /// JWT bearer assertion (RFC 7523 §2.1).
    JwtBearer,
    /// Device authorization (RFC 8628).
    DeviceCode,
}

impl Grant {
    /// The name as written in YAML.
    pub fn name(self) -> &'static str {
        match self {
            Grant::ClientCredentials => "client_credentials",
            Grant::AuthorizationCode => "authorization_code",
            Grant::RefreshToken => "refresh_token",
            Grant::Password => "password",
            Grant::JwtBearer => "jwt_bearer",
            Grant::DeviceCode => "device_code",
        }
    }
}

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with form-encoded id and secret (RFC 6749 §2.3.1).
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the request parameters.
    Body,
    /// `private_key_jwt`: a signed client assertion (RFC 7523 §2.2); needs `client_assertion`.
    PrivateKeyJwt,
    /// Public client: only `client_id` is sent.
    None,
}

/// OAuth 2.0 configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Auth {
    /// The grant used to obtain tokens.
    pub grant: Grant,
    /// Token endpoint URL.
    pub token_url: Template,
    /// Authorization endpoint (authorization_code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<Template>,
    /// Device authorization endpoint (device_code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_url: Option<Template>,
    /// Redirect URI for authorization_code, where `wsc auth login` listens: `http://` on
    /// `127.0.0.1`, `localhost` or `[::1]` with a port (0: any free port). Default
    /// `http://127.0.0.1:PORT/callback`, PORT from `--port`, else a free one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Use PKCE (S256) with authorization_code. Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce: Option<bool>,
    /// Client identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Template>,
    /// Client secret (a secret setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Template>,
    /// Client authentication method. Default `basic`.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// The signed client assertion for `client_auth: private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_assertion: Option<JwtSpec>,
    /// Scopes requested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Delimiter between scopes. Default a space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_delimiter: Option<String>,
    /// `audience` parameter (Auth0-style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Template>,
    /// `resource` parameter (RFC 8707).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Template>,
    /// Resource owner user name (password grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Template>,
    /// Resource owner password (password grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Template>,
    /// Initial refresh token (refresh_token grant), normally a secret setting. A rotated
    /// token is kept in the state store and used in preference to this seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Template>,
    /// The signed assertion for the jwt_bearer grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion: Option<JwtSpec>,
    /// Shape of the token request: extra headers and parameters, where parameters go.
    #[serde(default)]
    pub token_request: TokenRequestShape,
    /// Where to find token fields in non-standard token responses.
    #[serde(default)]
    pub token_response: TokenResponseMapping,
    /// Where the access token goes on each request.
    #[serde(default)]
    pub token: TokenPlacement,
    /// When tokens are refreshed.
    #[serde(default)]
    pub refresh: RefreshPolicy,
    /// A custom refresh request replacing the standard refresh_token grant (for token
    /// endpoints that refresh in their own way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_refresh: Option<CustomTokenRequest>,
}

/// Extra headers and parameters of the token request and where parameters go.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequestShape {
    /// Extra headers (templates), e.g. a custom `scope` header some endpoints require.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, Template>,
    /// Extra parameters (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub params: IndexMap<String, Template>,
    /// Where parameters go: `body` (form, default), `query` or `multipart`.
    #[serde(default)]
    pub params_in: ParamsIn,
}

/// Where token-request parameters are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamsIn {
    /// `application/x-www-form-urlencoded` body.
    #[default]
    Body,
    /// Query string of a POST with an empty body.
    Query,
    /// `multipart/form-data` body.
    Multipart,
}

/// JSONPaths to the fields of a token response, for endpoints that do not follow RFC 6749.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenResponseMapping {
    /// Access token. Default `$.access_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<JsonPath>,
    /// Lifetime in seconds (number or string). Default `$.expires_in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<JsonPath>,
    /// Absolute expiry (epoch seconds or RFC 3339), for endpoints that send one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<JsonPath>,
    /// Refresh token. Default `$.refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<JsonPath>,
    /// Refresh-token lifetime in seconds. Default `$.refresh_token_expires_in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<JsonPath>,
    /// Token type. Default `$.token_type`; any case is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<JsonPath>,
    /// Lifetime assumed when the response gives none and the token is not a JWT with `exp`.
    /// Default `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_expires_in: Option<Duration>,
    /// Response encoding: `auto` (default: by Content-Type), `json` or `form`.
    #[serde(default)]
    pub format: ResponseFormat,
}

/// Encoding of a token response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Decide by Content-Type, falling back to trying JSON then form.
    #[default]
    Auto,
    /// JSON object.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

/// When and how tokens are refreshed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshPolicy {
    /// Refresh this long before expiry. Default `60s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew: Option<Duration>,
    /// Statuses meaning "token expired": refresh once and retry the request once.
    /// Default `[401]`. 403 is never among them by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_status: Option<Vec<StatusPattern>>,
}

/// A signed JWT (jwt_bearer assertion or private_key_jwt client assertion).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtSpec {
    /// Signing algorithm. Default `rs256`.
    #[serde(default)]
    pub algorithm: JwtAlgorithm,
    /// PEM key (PKCS#1 or PKCS#8) as a template, normally a secret setting; for `hs256`, the
    /// shared secret. Exactly one of `key` and `key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Template>,
    /// PEM key file, relative to the connector file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<Template>,
    /// `kid` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Template>,
    /// Extra header fields.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub header: IndexMap<String, Template>,
    /// `iss`. Defaults to the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Template>,
    /// `sub`. Defaults to the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Template>,
    /// `aud`. Defaults to the token URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Template>,
    /// Lifetime (`exp - iat`). Default `5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<Duration>,
    /// Extra claims (a YAML tree whose string leaves are templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub claims: IndexMap<String, serde_json::Value>,
}

/// JWT signing algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JwtAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[default]
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// HMAC with SHA-256 (shared secret).
    Hs256,
}

/// A custom token flow: any request whose response is mapped to a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomAuth {
    /// The request that obtains a token (a session login, a non-standard token endpoint).
    pub request: CustomTokenRequest,
    /// Where the access token goes on each request.
    #[serde(default)]
    pub token: TokenPlacement,
    /// When tokens are refreshed.
    #[serde(default)]
    pub refresh: RefreshPolicy,
    /// A different request used to refresh (it sees `auth.refresh_token`); without it, the
    /// login request runs again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_request: Option<CustomTokenRequest>,
}

/// A token request described in YAML and the mapping of its response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomTokenRequest {
    /// HTTP method. Default `POST`.
    #[serde(default = "default_post")]
    pub method: Method,
    /// Absolute URL (template).
    pub url: Template,
    /// Headers (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, Template>,
    /// Query parameters (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, Template>,
    /// JSON body: a YAML tree whose string leaves are templates rendered one by one; a leaf
    /// that is exactly one `{{expr}}` keeps the JSON type of the value. At most one of `body`,
    /// `form`, `multipart` and `raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// `application/x-www-form-urlencoded` body (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub form: IndexMap<String, Template>,
    /// `multipart/form-data` body of text fields (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub multipart: IndexMap<String, Template>,
    /// A raw text body with its content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawBody>,
    /// Where the token fields are in the response. `access_token` defaults to
    /// `$.access_token`, and so on.
    #[serde(default)]
    pub response: TokenResponseMapping,
}

fn default_post() -> Method {
    Method::Post
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// HTTP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET
    #[default]
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// HEAD
    Head,
}

impl Method {
    /// The method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
        }
    }
}

/// One HTTP request of an operation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// HTTP method. Default `GET`.
    #[serde(default)]
    pub method: Method,
    /// Path relative to `base_url` (template; values are percent-encoded). Exactly one of
    /// `path` and `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Template>,
    /// Absolute URL (template), for APIs spread over several hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Template>,
    /// Query parameters (templates). A parameter whose value renders empty is left out.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, Template>,
    /// Headers (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, Template>,
    /// JSON body: a YAML tree whose string leaves are templates rendered one by one; a leaf
    /// that is exactly one `{{expr}}` keeps the JSON type of the value. At most one of `body`,
    /// `form`, `multipart` and `raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// `application/x-www-form-urlencoded` body (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub form: IndexMap<String, Template>,
    /// `multipart/form-data` body of text fields (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub multipart: IndexMap<String, Template>,
    /// A raw text body with its content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawBody>,
}

/// A raw text body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBody {
    /// Content-Type header.
    pub content_type: String,
    /// The body text (template).
    pub text: Template,
}

// ---------------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------------

/// Paging kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PagingKind {
    /// Offset and limit: templates see `page.offset` and `page.limit`.
    Offset,
    /// Page number: templates see `page.number` and `page.limit`.
    Page,
    /// Cursor from the body: templates see `page.cursor` (empty on the first request).
    Cursor,
    /// Next URL from the body.
    NextUrl,
    /// RFC 8288 `Link` header with `rel="next"`.
    LinkHeader,
}

/// How an operation pages through results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// The paging kind.
    pub kind: PagingKind,
    /// Page size (`page.limit`). Required for `offset` and `page`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// First offset (default 0) or first page number (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    /// JSONPath of the total number of records. With it, pages are fetched concurrently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<JsonPath>,
    /// JSONPath of the next cursor (`cursor` kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<JsonPath>,
    /// JSONPath of the next URL (`next_url` kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_url: Option<JsonPath>,
    /// Stop after a page with fewer records than `limit`. Default `true` for offset and page.
    /// With a known `total`, a short page before the total does not stop the run, and a short
    /// page followed by more records is an error (the API caps its page size below `limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_on_short_page: Option<bool>,
    /// Stop when this template renders `true` (sees `response`, `page`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_when: Option<Template>,
    /// Pages fetched at once when the total is known. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Safety limit on the number of pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

/// Attribute value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    /// Keep the JSON value as it is (default).
    #[default]
    Json,
    /// A string; numbers and booleans are converted.
    String,
    /// An integer; numeric strings are converted.
    Int,
    /// A floating-point number.
    Float,
    /// A boolean; `"true"`/`"false"`, `1`/`0` are converted.
    Bool,
    /// An RFC 3339 date-time, normalised to UTC.
    Datetime,
}

/// One attribute: a JSONPath string, or a full definition.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Attribute {
    /// A JSONPath relative to the record, e.g. `$.emails[0].value`.
    Path(JsonPath),
    /// A full definition.
    Full(AttributeDef),
}

/// A full attribute definition. Exactly one of `path`, `template` and `value`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeDef {
    /// JSONPath relative to the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<JsonPath>,
    /// Template over the record (`record.*`), e.g. `"{{record.first}} {{record.last}}"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// A constant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Value type. Default `json` (as found).
    #[serde(default, rename = "type")]
    pub value_type: AttributeType,
    /// Multi-valued: every match of the path is kept, as a list.
    #[serde(default, skip_serializing_if = "is_false")]
    pub multi: bool,
    /// Value when the path selects nothing or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// A record without this attribute is an error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
}

/// Account-side memberships: an attribute of the account that lists groups of a type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entitlement {
    /// The account attribute holding group identities (must be multi-valued).
    pub attribute: String,
    /// The group type those identities belong to. Default `group`.
    #[serde(default = "default_group_type")]
    pub group_type: String,
}

fn default_group_type() -> String {
    "group".to_string()
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// Every operation a connector may define. All are optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operations {
    /// Checks that the connection and credentials work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_connection: Option<Operation>,
    /// Reads every account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_aggregation: Option<Operation>,
    /// Reads every group, per group type (e.g. `group`, `role`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub group_aggregation: IndexMap<String, Operation>,
    /// Reads one object by identity (`plan.identity`), per object type (`account`, or a group
    /// type).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub get_object: IndexMap<String, Operation>,
    /// Lists partitions for partitioned aggregation; each record is one partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_partitions: Option<Operation>,
    /// Creates an account from `plan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_account: Option<Operation>,
    /// Updates an account's attributes from `plan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_account: Option<Operation>,
    /// Deletes an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_account: Option<Operation>,
    /// Enables an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_account: Option<Operation>,
    /// Disables an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_account: Option<Operation>,
    /// Unlocks an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlock_account: Option<Operation>,
    /// Sets an account's password (`plan.password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_password: Option<Operation>,
    /// Adds an account to groups (`plan.value` per value, or `plan.values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_entitlement: Option<Operation>,
    /// Removes an account from groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_entitlement: Option<Operation>,
    /// Pass-through authentication: checks `plan.identity` and `plan.password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticate: Option<Operation>,
}

/// The kinds of operation, as named under `operations:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    /// `test_connection`
    TestConnection,
    /// `account_aggregation`
    AccountAggregation,
    /// `group_aggregation.<type>`
    GroupAggregation,
    /// `get_object.<type>`
    GetObject,
    /// `get_partitions`
    GetPartitions,
    /// `create_account`
    CreateAccount,
    /// `update_account`
    UpdateAccount,
    /// `delete_account`
    DeleteAccount,
    /// `enable_account`
    EnableAccount,
    /// `disable_account`
    DisableAccount,
    /// `unlock_account`
    UnlockAccount,
    /// `change_password`
    ChangePassword,
    /// `add_entitlement`
    AddEntitlement,
    /// `remove_entitlement`
    RemoveEntitlement,
    /// `authenticate`
    Authenticate,
}

impl OperationKind {
    /// Whether the operation reads records from a list (aggregations and partitions).
    pub fn is_aggregation(self) -> bool {
        matches!(
            self,
            OperationKind::AccountAggregation
                | OperationKind::GroupAggregation
                | OperationKind::GetPartitions
        )
    }

    /// Whether the operation takes a provisioning plan (`plan.*`).
    pub fn takes_plan(self) -> bool {
        !matches!(
            self,
            OperationKind::TestConnection
                | OperationKind::AccountAggregation
                | OperationKind::GroupAggregation
                | OperationKind::GetPartitions
        )
    }
}

impl Operations {
    /// Every defined operation with its key path (e.g. `group_aggregation.role`) and kind.
    pub fn iter(&self) -> Vec<(String, OperationKind, &Operation)> {
        use OperationKind as K;
        let singles: [(&str, K, &Option<Operation>); 13] = [
            ("test_connection", K::TestConnection, &self.test_connection),
            (
                "account_aggregation",
                K::AccountAggregation,
                &self.account_aggregation,
            ),
            ("get_partitions", K::GetPartitions, &self.get_partitions),
            ("create_account", K::CreateAccount, &self.create_account),
            ("update_account", K::UpdateAccount, &self.update_account),
            ("delete_account", K::DeleteAccount, &self.delete_account),
            ("enable_account", K::EnableAccount, &self.enable_account),
            ("disable_account", K::DisableAccount, &self.disable_account),
            ("unlock_account", K::UnlockAccount, &self.unlock_account),
            ("change_password", K::ChangePassword, &self.change_password),
            ("add_entitlement", K::AddEntitlement, &self.add_entitlement),
            (
                "remove_entitlement",
                K::RemoveEntitlement,
                &self.remove_entitlement,
            ),
            ("authenticate", K::Authenticate, &self.authenticate),
        ];
        let mut out: Vec<(String, OperationKind, &Operation)> = singles
            .into_iter()
            .filter_map(|(n, k, op)| op.as_ref().map(|op| (n.to_string(), k, op)))
            .collect();
        for (t, op) in &self.group_aggregation {
            out.push((format!("group_aggregation.{t}"), K::GroupAggregation, op));
        }
        for (t, op) in &self.get_object {
            out.push((format!("get_object.{t}"), K::GetObject, op));
        }
        out
    }
}

/// One operation: a single request, or several `steps`, plus how responses map to records.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// What the operation does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The request (single-step operations). Exactly one of `request` and `steps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestSpec>,
    /// Paging of `request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
    /// Multi-step operations: each step is a request; a step may run once per record of an
    /// earlier step and merge what it reads into that record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// JSONPath of the records in a response, e.g. `$.items[*]`. Default `$` (the whole body
    /// is one record) for single-object operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<JsonPath>,
    /// JSONPath of a record's identity (unique, stable id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<JsonPath>,
    /// JSONPath of a record's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<JsonPath>,
    /// Attributes of each record, by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub attributes: IndexMap<String, Attribute>,
    /// Account attributes that hold group memberships (account aggregation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<Entitlement>,
    /// JSONPath of a group's member identities (group aggregation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<JsonPath>,
    /// Partitioned aggregation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Partitions>,
    /// Incremental (delta) aggregation: extra query parameters sent when a previous run
    /// exists (`last_run.*` in templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Delta>,
    /// Status codes that count as success. Default: the connector's `http.success`, or 2xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Vec<StatusPattern>>,
    /// Error rules for 2xx bodies, in addition to the connector's `http.errors`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRule>,
    /// Hooks run around requests, responses and the whole operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    /// For add/remove_entitlement: `each` sends one request per value (`plan.value`), `all`
    /// one request with every value (`plan.values`). Default `each`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<ValuesMode>,
    /// For write operations: after success, read the object back with `get_object.account`
    /// and return its final state. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_back: bool,
}

/// One step of a multi-step operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Step name, unique within the operation; later steps see `steps.<name>`.
    pub name: String,
    /// The request.
    pub request: RequestSpec,
    /// Paging of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
    /// Run once per record of this earlier step (`record.*` is that record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<String>,
    /// Requests run at once in a `for_each` step. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// JSONPath of the records in this step's response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<JsonPath>,
    /// Merge this step's records into the `for_each` record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<Merge>,
    /// Values saved for later steps, visible as `saved.<name>` (JSONPaths into the response).
    /// Values saved by setup steps are also kept as connector state: `state.<name>` in later
    /// runs (with a state store).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub save: IndexMap<String, JsonPath>,
    /// Status codes that count as success for this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Vec<StatusPattern>>,
    /// Error rules for 2xx bodies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRule>,
    /// Hooks of this step's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    /// A 404 in a `for_each` step means "nothing" rather than an error. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_not_found: bool,
}

/// How a `for_each` step's records join the parent record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// Key set on the parent record, e.g. `groups`.
    pub into: String,
    /// JSONPath projected from each step record (default: the whole record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<JsonPath>,
    /// `list` (default) keeps all records as a list; `first` keeps the first (or null);
    /// `object` merges the first record's fields into the parent record itself.
    #[serde(default)]
    pub mode: MergeMode,
}

/// Merge modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MergeMode {
    /// A list of every step record.
    #[default]
    List,
    /// The first step record, or null.
    First,
    /// The first step record's fields merged into the parent record (`into` is ignored).
    Object,
}

/// Entitlement request modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValuesMode {
    /// One request per value (`plan.value`).
    Each,
    /// One request with every value (`plan.values`).
    All,
}

/// Partitions of an aggregation: a static list, or the records of `get_partitions`. Each is
/// visible as `partition.*` in templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Partitions {
    /// Static partitions; each needs a `name` and may carry any other fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<IndexMap<String, serde_json::Value>>>,
    /// Take partitions from the records of `operations.get_partitions` (identity → `name`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_get_partitions: bool,
    /// Partitions run at once. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
}

/// Incremental aggregation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delta {
    /// Query parameters added when a previous run exists (templates over `last_run`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, Template>,
    /// JSONPath that marks a record as deleted in an incremental response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<JsonPath>,
}

/// Hook scripts (Rhai) run around an operation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// Runs before each request; may change method, URL, query, headers and body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Hook>,
    /// Runs after each response; may change, drop or add records, and set state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Hook>,
    /// Runs once before the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_operation: Option<Hook>,
    /// Runs once after the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_operation: Option<Hook>,
    /// What a hook error does: `stop` the operation (default) or `skip_record`.
    #[serde(default)]
    pub on_error: HookErrorMode,
}

/// Hook error handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookErrorMode {
    /// Stop the operation with the hook's error.
    #[default]
    Stop,
    /// Skip the record being processed and go on.
    SkipRecord,
}

/// A hook script: a file beside the connector, or inline source. Exactly one of `file` and
/// `script`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// A Rhai file, relative to the connector file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Inline Rhai source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}
