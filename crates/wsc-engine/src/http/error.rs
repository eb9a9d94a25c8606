//! HTTP errors and where a request belongs, for error messages.

use super::retry::BudgetSpent;

/// Where a request belongs, for error messages.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The connector's name (empty when not known).
    pub connector: String,
    /// Operation key path, e.g. `account_aggregation`.
    pub operation: String,
    /// Step name in multi-step operations.
    pub step: Option<String>,
    /// Page number (1-based), for paged requests.
    pub page: Option<u64>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.connector.is_empty() {
            write!(f, "connector `{}`, ", self.connector)?;
        }
        write!(f, "operation `{}`", self.operation)?;
        if let Some(s) = &self.step {
            write!(f, ", step `{s}`")?;
        }
        if let Some(p) = self.page {
            write!(f, ", page {p}")?;
        }
        Ok(())
    }
}

/// An HTTP failure, with everything needed to act on it. URLs are redacted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// The server answered with a status that is not success, after retries.
    #[error(
        "{origin}: {method} {url} failed with HTTP {status} after {attempts} attempt(s){}{}",
        message_part(api_message, body_start),
        hint_part(hint)
    )]
    Status {
        /// Where.
        origin: Origin,
        /// Method.
        method: &'static str,
        /// Redacted URL.
        url: String,
        /// Status.
        status: u16,
        /// The start of the body (redacted).
        body_start: String,
        /// The API's own message, found in the body by `http.error_message` (redacted).
        api_message: Option<String>,
        /// Attempts made.
        attempts: u32,
        /// What it likely means.
        hint: Option<String>,
    },
    /// No response (connection refused, reset, timeout), after retries.
    #[error("{origin}: {method} {url} failed after {attempts} attempt(s): {message}")]
    Transport {
        /// Where.
        origin: Origin,
        /// Method.
        method: &'static str,
        /// Redacted URL.
        url: String,
        /// What happened.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A 2xx response the caller rejected on every attempt (body did not parse, error in body).
    #[error(
        "{origin}: {method} {url} returned HTTP {status} with an unusable body after {attempts} attempt(s): {reason}{}",
        body_part(body_start)
    )]
    BadBody {
        /// Where.
        origin: Origin,
        /// Method.
        method: &'static str,
        /// Redacted URL.
        url: String,
        /// Status.
        status: u16,
        /// Why it was rejected.
        reason: String,
        /// The start of the body (redacted).
        body_start: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A request failed in a way that is retried, but the run's retry budget allowed no
    /// more retries (`http.retry.budget`).
    #[error(
        "{origin}: {method} {url} failed on attempt {attempts} ({failure}) and was not retried: {spent}\n  hint: this API fails more often than transient faults explain; if it is known to, raise `http.retry.budget.ratio` or `http.retry.budget.min_retries`"
    )]
    RetryBudget {
        /// Where.
        origin: Origin,
        /// Method.
        method: &'static str,
        /// Redacted URL.
        url: String,
        /// The status of the failed attempt, if the server answered.
        status: Option<u16>,
        /// How the last attempt failed (redacted).
        failure: String,
        /// Attempts made for this request.
        attempts: u32,
        /// The budget and the counts when it refused.
        spent: BudgetSpent,
    },
    /// The response body is larger than `http.max_body`; the rest of it was not read.
    #[error(
        "{origin}: {method} {url} returned HTTP {status} with a body larger than {limit}, the limit set by `http.max_body`{}\n  hint: raise `http.max_body` in the connector (e.g. `max_body: 256MiB` under `http:`) if responses this large are expected, or ask the API for smaller pages",
        declared_part(declared)
    )]
    BodyTooLarge {
        /// Where.
        origin: Origin,
        /// Method.
        method: &'static str,
        /// Redacted URL.
        url: String,
        /// Status.
        status: u16,
        /// The limit, as written in messages (`64MiB`).
        limit: String,
        /// The `Content-Length` that announced a body beyond the limit, if any.
        declared: Option<u64>,
    },
    /// Credentials would go to an origin (scheme, host and port) the connector does not name.
    #[error(
        "{origin}: refusing to send credentials to `{host}` ({url}): it is not the base URL's origin (scheme, host and port), the token URL's or in `allowed_hosts`"
    )]
    HostNotAllowed {
        /// Where.
        origin: Origin,
        /// The host.
        host: String,
        /// Redacted URL.
        url: String,
    },
    /// A redirect to another origin (scheme, host or port) than the request's: not followed,
    /// since the request's credentials (headers of every kind, query-string credentials)
    /// would go with it.
    #[error(
        "{origin}: not following a redirect to another origin ({url}): the request's credentials would go with it; point the connector's URLs at that origin instead"
    )]
    CrossOriginRedirect {
        /// Where.
        origin: Origin,
        /// Redacted URL of the redirect target.
        url: String,
    },
    /// A link or redirect to plain http on a host the connector reaches over https.
    #[error(
        "{origin}: refusing to send credentials over plain http to {url}: the connector reaches this host over https (a next link or redirect downgraded the scheme)"
    )]
    Downgrade {
        /// Where.
        origin: Origin,
        /// Redacted URL.
        url: String,
    },
    /// Credentials could not be obtained.
    #[error("{origin}: {source}")]
    Auth {
        /// Where.
        origin: Origin,
        /// The auth failure.
        #[source]
        source: wsc_auth::AuthError,
    },
    /// The client could not be built (bad TLS file, ...).
    #[error("HTTP client: {0}")]
    Client(String),
}

fn message_part(api: &Option<String>, body: &str) -> String {
    match api {
        Some(m) => format!(": {m}"),
        None => body_part(body),
    }
}

fn body_part(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!("; body: {body}")
    }
}

fn declared_part(declared: &Option<u64>) -> String {
    match declared {
        Some(n) => format!(" (its Content-Length says {n} bytes); the body was not read"),
        None => "; the rest of the body was not read".into(),
    }
}

fn hint_part(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!("\n  hint: {h}"))
        .unwrap_or_default()
}

/// What a failing status likely means, for the error message.
pub(super) fn status_hint(status: u16, renewed: bool) -> Option<String> {
    match status {
        401 if renewed => Some("the credentials were renewed (a new token, or a new login) and the server still answers 401: check the credentials the token or login request sends and that they belong to this API, and that the API reads the credential where the connector puts it (`token: { in, name, prefix }`; a session login whose cookie is the credential needs `credential: cookies`)".into()),
        401 => Some("the server did not accept the credentials: check the token or key, or that the auth settings of the connector match what the API expects".into()),
        403 => Some("the credentials were accepted but lack permission for this request (missing scope or role), or the endpoint needs a user context that this grant does not carry (e.g. client_credentials where a user must be signed in); refreshing the token will not help".into()),
        404 => Some("check the path and the identity in it".into()),
        429 => Some("rate limited: lower `http.requests_per_second` or raise `http.retry.max_attempts`".into()),
        _ => None,
    }
}

/// A transport error as text: what failed, then the chain of causes.
pub(super) fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the body could not be read"
    } else if e.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    let mut msg = kind.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    if let Some(hint) = wsc_auth::request::tls_hint(&msg) {
        msg.push_str("\n  hint: ");
        msg.push_str(hint);
    }
    msg
}
