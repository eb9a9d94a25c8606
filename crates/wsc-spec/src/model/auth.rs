//! Authentication: the `auth:` kinds and their OAuth2 / custom token details.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::http::{Method, RawBody};
use super::soap::WsSecurityAuth;
use crate::values::{Duration, JsonPath, StatusPattern, Template};

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
    /// Named alternatives, one of which authenticates a run: the one the `select` setting
    /// names, else the first whose settings all have values.
    Alternatives(Box<AuthAlternatives>),
    /// WS-Security UsernameToken in the SOAP header of every request.
    WsSecurity(Box<WsSecurityAuth>),
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
            Auth::Alternatives(_) => "alternatives",
            Auth::WsSecurity(_) => "ws_security",
        }
    }
}

/// Several ways to authenticate to the same API (an API token or OAuth2 client credentials),
/// one of which a run uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthAlternatives {
    /// A setting whose value is the name of the alternative to use. Its `enum`, when it has
    /// one, lists exactly the alternatives' names. Without `select` (or when the setting has
    /// no value), the first alternative whose settings all have values is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    /// The alternatives by name, in order of preference: each a complete `auth` of any
    /// `type` but `alternatives`.
    pub alternatives: IndexMap<String, Auth>,
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
    /// Extra parameters of the authorization request that `wsc auth login` sends the browser
    /// to (authorization_code), by name (templates; one that renders empty is left out):
    /// `prompt: consent` (OpenID Connect providers such as oidc-provider issue a refresh token
    /// for the `offline_access` scope only with it), `access_type: offline` (Google),
    /// `login_hint`, `acr_values`... The parameters wsc sets itself (`response_type`,
    /// `client_id`, `redirect_uri`, `scope`, `state`, `code_challenge`,
    /// `code_challenge_method`, and `audience` / `resource` when those keys are set) cannot be
    /// set here.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub authorize_params: IndexMap<String, Template>,
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
    /// The response header that carries the access token, for logins that send it in a header
    /// rather than the body (`X-Auth-Token`, `X-Subject-Token`); instead of `access_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_header: Option<String>,
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
    /// PEM key (PKCS#1, SEC1 or PKCS#8, plain or encrypted) as a template, normally a secret
    /// setting; for `hs256`, the shared secret. Exactly one of `key` and `key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Template>,
    /// PEM key file, relative to the connector file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<Template>,
    /// Password of an encrypted PKCS#8 key (`-----BEGIN ENCRYPTED PRIVATE KEY-----`), a secret
    /// setting: SailPoint's "Private Key Password". Not for `hs256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_password: Option<Template>,
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
    /// What the login gives to send on each request. `token` (default): the access token
    /// its response mapping finds, placed as `token` says. `cookies`: only the cookies it
    /// sets (a session login such as Flask-Login's or Django's); no access token is read and
    /// the login fails if it sets no cookie. Either way, the cookies the login (and refresh)
    /// responses set are sent with every authenticated request, as a browser would.
    #[serde(default)]
    pub credential: Credential,
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

/// What a custom login gives to send on each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// The access token of the response mapping (and the cookies the login sets).
    #[default]
    Token,
    /// Only the cookies the login sets (a session cookie).
    Cookies,
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
    /// Statuses of a successful answer. Default 2xx; a form login that redirects after
    /// signing in lists the redirect: `success: [200, 302]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Vec<StatusPattern>>,
    /// Where the token fields are in the response. `access_token` defaults to
    /// `$.access_token`, and so on.
    #[serde(default)]
    pub response: TokenResponseMapping,
}

fn default_post() -> Method {
    Method::Post
}
