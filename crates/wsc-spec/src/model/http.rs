//! HTTP behaviour shared by a connector's requests, and the request itself.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults::is_false;
use super::settable::Rate;
use super::soap::SoapRequest;
use crate::values::{ByteSize, Duration, JsonPath, StatusPattern, Template};

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
    /// JSONPaths of the API's own error message in a failed (non-2xx) response body, tried
    /// in order (SCIM `$.detail`, Okta `$.errorSummary`, Microsoft Graph `$.error.message`):
    /// the first that finds text is shown in the error instead of the raw body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_message: Vec<JsonPath>,
    /// TLS: custom CA, client certificate.
    #[serde(default)]
    pub tls: Tls,
    /// Upper bound on requests per second across the whole run (a request budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<Rate>,
    /// Maximum number of redirects followed (never to another host). Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redirects: Option<u32>,
    /// Keep a cookie jar per operation run (session-based APIs). Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cookies: bool,
    /// Largest response body read (after decompression), e.g. `256MiB`. A larger body fails
    /// the request as soon as it is known to be larger (from `Content-Length`, or while it
    /// streams in), naming this key. Default `64MiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body: Option<ByteSize>,
}

/// The default of `http.max_body`: 64 MiB.
pub const DEFAULT_MAX_BODY: u64 = 64 * 1024 * 1024;

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

/// Retries with exponential backoff and jitter, per request, within a retry budget per run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts per request in all, the first included. Default 8; 1 disables retries.
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
    /// Retry when a response body contains one of these texts, whatever its status (a 200
    /// saying "try again", a 403 saying "rate limit exceeded"). The wait honours `Retry-After`
    /// and rate-limit reset headers as for retried statuses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_body: Vec<String>,
    /// Retry when a response has a header (with a value, and a status, when given): e.g.
    /// GitHub's `{ status: 403, header: X-RateLimit-Remaining, equals: "0" }` is a rate limit,
    /// not a permission error. The wait honours `Retry-After` and rate-limit reset headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_headers: Vec<HeaderRetry>,
    /// Retry connection errors (refused, reset, timeout). Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_errors: Option<bool>,
    /// How many retries a whole run may make, over all its requests. Default: 100 plus 20 %
    /// of the requests sent.
    #[serde(default)]
    pub budget: RetryBudget,
}

/// A response header that makes a response retried (`http.retry.on_headers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderRetry {
    /// Only responses with this status (or class, `"4xx"`); any status when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusPattern>,
    /// The header name (any case).
    pub header: String,
    /// The value it must have (compared after trimming white space); any value when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

/// The retry budget of a run: all the requests of one run (every page, partition and step,
/// concurrent or not) may retry `min_retries` times plus `ratio` times the number of requests
/// sent so far. A retry the budget does not allow fails the run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryBudget {
    /// Retries allowed per request sent (first attempts; retries do not count), e.g. `0.2`:
    /// one retry per five requests. Default `0.2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// Retries always allowed on top of `ratio`, so the start of a run and small runs can
    /// retry too. Default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_retries: Option<u32>,
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
    /// Retry the request (within `http.retry.max_attempts` and the run's retry budget) instead
    /// of failing.
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
    /// PEM client certificate file for mutual TLS (relative to the connector file); it may
    /// hold the private key too, after the certificate. Used by token requests as well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<Template>,
    /// PEM private key file of the client certificate (PKCS#1, SEC1 or PKCS#8, plain or
    /// encrypted), unless `client_cert` holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<Template>,
    /// Password of an encrypted client key (`-----BEGIN ENCRYPTED PRIVATE KEY-----`), a secret
    /// setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_password: Option<Template>,
    /// Skip certificate verification. For local testing only; wsc warns loudly.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_skip_verify: bool,
}

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
    /// `form`, `multipart`, `raw` and `xml`.
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
    /// A GraphQL request: the query document and its variables, POSTed as JSON (see
    /// [GraphQL](#graphql)). Instead of `body`, `form`, `multipart` and `raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphql: Option<super::graphql::GraphQlRequest>,
    /// XML body (template): every value inserted is XML-escaped (`&`, `<`, `>`, `"`, `'`),
    /// never JSON-escaped; `{{{x}}}` (unescaped) is refused. Sent as `application/xml;
    /// charset=utf-8`, or, with `soap`, as the content of the SOAP `Body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml: Option<Box<Template>>,
    /// Makes the request a SOAP request: `xml` is wrapped in the envelope of the version,
    /// with its content type and action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soap: Option<Box<SoapRequest>>,
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
