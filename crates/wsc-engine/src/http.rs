//! HTTP: one client per connector, retries with backoff and jitter, `Retry-After`, a request
//! budget, credentials only for named hosts, "refresh and retry once" on expired credentials.
//!
//! Body-level checks (a 2xx body that does not parse, an error reported inside a 2xx body) are
//! made by the caller, which parses the body once and retries on its own; it passes the
//! attempts spent so far to [`HttpClient::send_counted`], so status retries and body retries
//! share one budget (`http.retry.max_attempts` requests in all) and the same backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::Mutex;
use url::Url;
use wsc_auth::{Authenticator, Outgoing};
use wsc_spec::StatusPattern;
use wsc_spec::model::{HttpOptions, Method};

use crate::redact::Redactor;
use crate::wire::{Exchange, Wire, header_pairs};

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// Method.
    pub method: Method,
    /// Full URL, query included.
    pub url: Url,
    /// Headers (credentials are added at send time).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Body,
}

/// A request body.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// `application/json` bytes.
    Json(Vec<u8>),
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(String, String)>),
    /// `multipart/form-data` text fields.
    Multipart(Vec<(String, String)>),
    /// Raw text with its content type.
    Raw {
        /// Content-Type.
        content_type: String,
        /// Body text.
        text: String,
    },
}

/// A response, body read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// The URL that answered.
    pub url: Url,
}

impl Response {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the caller's check says about a successful response.
#[derive(Debug)]
pub enum Verdict {
    /// Accept it.
    Accept,
    /// Try again (counts against the retry budget); the text says why.
    Retry(String),
}

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
        body_part(body_start),
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
    /// Credentials would go to a host the connector does not name.
    #[error(
        "{origin}: refusing to send credentials to `{host}` ({url}): it is not the base URL's host, the token URL's host or in `allowed_hosts`"
    )]
    HostNotAllowed {
        /// Where.
        origin: Origin,
        /// The host.
        host: String,
        /// Redacted URL.
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

fn body_part(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!("; body: {body}")
    }
}

fn hint_part(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!("\n  hint: {h}"))
        .unwrap_or_default()
}

/// Retry settings, resolved from [`HttpOptions::retry`] with defaults.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Attempts in all.
    pub max_attempts: u32,
    /// Statuses retried.
    pub statuses: Vec<StatusPattern>,
    /// First backoff.
    pub initial: Duration,
    /// Largest backoff.
    pub max: Duration,
    /// Largest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// Body texts that mean "retry".
    pub on_body: Vec<String>,
    /// Retry transport errors.
    pub connection_errors: bool,
}

impl RetryConfig {
    /// Resolves defaults.
    pub fn from_options(o: &HttpOptions) -> RetryConfig {
        let r = &o.retry;
        RetryConfig {
            max_attempts: r.max_attempts.unwrap_or(4).max(1),
            statuses: r.statuses.clone().unwrap_or_else(|| {
                [408, 429, 500, 502, 503, 504]
                    .into_iter()
                    .map(StatusPattern::Code)
                    .collect()
            }),
            initial: r
                .initial_backoff
                .map(|d| d.get())
                .unwrap_or(Duration::from_millis(500)),
            max: r
                .max_backoff
                .map(|d| d.get())
                .unwrap_or(Duration::from_secs(30)),
            max_retry_after: r
                .max_retry_after
                .map(|d| d.get())
                .unwrap_or(Duration::from_secs(120)),
            on_body: r.on_body.clone(),
            connection_errors: r.connection_errors.unwrap_or(true),
        }
    }

    /// Backoff before attempt `attempt + 1` (attempt counts from 1): exponential with full
    /// jitter between half and all of the step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let cap = exp.min(self.max);
        let half = cap / 2;
        half + cap.mul_f64(fastrand::f64() * 0.5)
    }
}

/// Counters shared by every request of a run.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests sent (attempts).
    pub requests: AtomicU64,
    /// Retries made.
    pub retries: AtomicU64,
    /// Credential renewals after an expired status.
    pub renewals: AtomicU64,
}

/// Which hosts may receive credentials.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    hosts: Vec<String>,
    /// Hosts the connector reaches over https only: plain http to them is a downgrade.
    https_only: Vec<String>,
    /// Hosts the connector itself names with an http URL.
    http_ok: Vec<String>,
}

impl HostPolicy {
    /// Hosts allowed to receive credentials (lower-cased, with port where not default).
    pub fn new(hosts: impl IntoIterator<Item = String>) -> HostPolicy {
        HostPolicy {
            hosts: hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
            https_only: Vec::new(),
            http_ok: Vec::new(),
        }
    }

    /// Adds the host of a URL (and remembers whether the connector reaches it over https).
    pub fn allow_url(&mut self, url: &Url) {
        if let Some(h) = url.host_str() {
            let h = h.to_ascii_lowercase();
            match url.scheme() {
                "https" => {
                    if !self.http_ok.contains(&h) {
                        self.https_only.push(h.clone());
                    }
                }
                _ => {
                    self.https_only.retain(|x| *x != h);
                    self.http_ok.push(h.clone());
                }
            }
            self.hosts.push(h);
        }
    }

    /// Whether a URL is plain http to a host the connector reaches over https (credentials
    /// would travel in clear text).
    pub fn is_downgrade(&self, url: &Url) -> bool {
        url.scheme() == "http"
            && url
                .host_str()
                .is_some_and(|h| self.https_only.iter().any(|x| x.eq_ignore_ascii_case(h)))
    }

    /// Whether a URL's host may receive credentials.
    pub fn allows(&self, url: &Url) -> bool {
        match url.host_str() {
            Some(h) => self.hosts.iter().any(|x| x.eq_ignore_ascii_case(h)),
            None => false,
        }
    }
}

/// A simple requests-per-second budget shared by all requests.
#[derive(Debug)]
struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// One HTTP client per connector run.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    retry: Arc<RetryConfig>,
    limiter: Option<Arc<RateLimiter>>,
    hosts: Arc<HostPolicy>,
    auth: Arc<dyn Authenticator>,
    redactor: Arc<Redactor>,
    counters: Arc<Counters>,
    wire: Wire,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the client from the connector's HTTP options.
    pub fn new(
        opts: &HttpOptions,
        tls_files: &TlsFiles,
        hosts: HostPolicy,
        auth: Arc<dyn Authenticator>,
        redactor: Arc<Redactor>,
    ) -> Result<HttpClient, Box<HttpError>> {
        let t = &opts.timeouts;
        let max_redirects = opts.max_redirects.unwrap_or(5) as usize;
        let redirect_hosts = hosts.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max_redirects {
                return attempt.error("too many redirects");
            }
            let same_host = attempt
                .previous()
                .first()
                .map(|first| first.host_str() == attempt.url().host_str())
                .unwrap_or(false);
            if redirect_hosts.is_downgrade(attempt.url()) {
                attempt.stop()
            } else if same_host || redirect_hosts.allows(attempt.url()) {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let ua = opts
            .user_agent
            .clone()
            .unwrap_or_else(|| format!("wsc/{}", env!("CARGO_PKG_VERSION")));
        let mut b = reqwest::Client::builder()
            .user_agent(ua)
            .redirect(policy)
            .connect_timeout(
                t.connect
                    .map(|d| d.get())
                    .unwrap_or(Duration::from_secs(10)),
            )
            .read_timeout(t.read.map(|d| d.get()).unwrap_or(Duration::from_secs(60)))
            .timeout(t.total.map(|d| d.get()).unwrap_or(Duration::from_secs(120)))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true);
        if opts.cookies {
            b = b.cookie_store(true);
        }
        if let Some(ca) = &tls_files.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(ca)
                .map_err(|e| Box::new(HttpError::Client(format!("CA file: {e}"))))?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        if let Some(identity) = &tls_files.identity_pem {
            let id = reqwest::Identity::from_pem(identity)
                .map_err(|e| Box::new(HttpError::Client(format!("client certificate: {e}"))))?;
            b = b.identity(id);
        }
        if opts.tls.insecure_skip_verify {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        let client = b
            .build()
            .map_err(|e| Box::new(HttpError::Client(e.to_string())))?;
        let limiter = opts.requests_per_second.map(|rps| {
            Arc::new(RateLimiter {
                interval: Duration::from_secs_f64(1.0 / rps),
                next: Mutex::new(Instant::now()),
            })
        });
        Ok(HttpClient {
            client,
            retry: Arc::new(RetryConfig::from_options(opts)),
            limiter,
            hosts: Arc::new(hosts),
            auth,
            redactor,
            counters: Arc::new(Counters::default()),
            wire: Wire::default(),
        })
    }

    /// Sends through `wire` (reroute to a replay server, tap for a recorder).
    pub fn with_wire(mut self, wire: Wire) -> HttpClient {
        self.wire = wire;
        self
    }

    /// The retry settings.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.retry
    }

    /// Counters of this client.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The authenticator.
    pub fn auth(&self) -> &Arc<dyn Authenticator> {
        &self.auth
    }

    /// The redactor.
    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.redactor
    }

    /// Sends a request with retries. A response whose status is in `success` goes through
    /// `check`, which may ask for a retry; any other status is retried if configured and
    /// otherwise returned as [`HttpError::Status`].
    pub async fn send(
        &self,
        req: &PreparedRequest,
        origin: &Origin,
        success: &[StatusPattern],
        check: &(dyn Fn(&Response) -> Verdict + Sync),
    ) -> Result<Response, HttpError> {
        self.send_counted(req, origin, success, check, 0)
            .await
            .map(|(response, _)| response)
    }

    /// Like [`send`](Self::send) for a caller that retries on its own as well (a body that
    /// does not parse, an error rule with `retry`): `used` attempts of the request's budget
    /// are already spent, and the attempts spent after this call come back with the response,
    /// so `http.retry.max_attempts` bounds all the attempts of the request together.
    pub async fn send_counted(
        &self,
        req: &PreparedRequest,
        origin: &Origin,
        success: &[StatusPattern],
        check: &(dyn Fn(&Response) -> Verdict + Sync),
        used: u32,
    ) -> Result<(Response, u32), HttpError> {
        let method = req.method.as_str();
        let shown_url = || self.redactor.url(&req.url);
        if self.hosts.is_downgrade(&req.url) {
            return Err(HttpError::Downgrade {
                origin: origin.clone(),
                url: shown_url(),
            });
        }
        if !self.hosts.allows(&req.url) {
            return Err(HttpError::HostNotAllowed {
                origin: origin.clone(),
                host: req.url.host_str().unwrap_or("").to_string(),
                url: shown_url(),
            });
        }
        let mut attempt: u32 = used;
        let mut renewed = false;
        loop {
            attempt += 1;
            if let Some(l) = &self.limiter {
                l.wait().await;
            }
            let mut url = req.url.clone();
            let mut headers = req.headers.clone();
            let generation = self
                .auth
                .apply(Outgoing {
                    url: &mut url,
                    headers: &mut headers,
                })
                .await
                .map_err(|source| HttpError::Auth {
                    origin: origin.clone(),
                    source,
                })?;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "wsc::http", %method, url = %shown_url(), attempt, "request");
            if self.wire.dry_run {
                if let Some(tap) = &self.wire.tap {
                    tap.exchange(Exchange {
                        token_request: false,
                        method: method.to_string(),
                        url: url.clone(),
                        request_headers: headers.clone(),
                        request_body: req.body.clone(),
                        status: 0,
                        response_headers: Vec::new(),
                        response_body: Vec::new(),
                    });
                }
                return Ok((
                    Response {
                        status: 200,
                        headers: HeaderMap::new(),
                        body: Bytes::new(),
                        url,
                    },
                    attempt,
                ));
            }
            let tapped = self
                .wire
                .tap
                .as_ref()
                .map(|tap| (tap.clone(), url.clone(), headers.clone()));
            // A rerouted response is read as if the addressed host had answered, so relative
            // links resolve against the connector's host.
            let addressed = self.wire.reroute.as_ref().map(|_| url.clone());
            let target = self.wire.target(&url);
            let result = self.build(req, target, headers).send().await;
            let last = attempt >= self.retry.max_attempts;
            match result {
                Err(e) => {
                    let message = self.redactor.text(&describe_reqwest_error(&e));
                    if self.retry.connection_errors && !last {
                        tracing::warn!(target: "wsc::http", url = %shown_url(), attempt, error = %message, "transport error, retrying");
                        self.counters.retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(self.retry.backoff(attempt)).await;
                        continue;
                    }
                    return Err(HttpError::Transport {
                        origin: origin.clone(),
                        method,
                        url: shown_url(),
                        message,
                        attempts: attempt,
                    });
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let final_url = addressed.unwrap_or_else(|| resp.url().clone());
                    let body = match resp.bytes().await {
                        Ok(b) => b,
                        Err(e) => {
                            let message = self.redactor.text(&describe_reqwest_error(&e));
                            if self.retry.connection_errors && !last {
                                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(self.retry.backoff(attempt)).await;
                                continue;
                            }
                            return Err(HttpError::Transport {
                                origin: origin.clone(),
                                method,
                                url: shown_url(),
                                message: format!("reading the body: {message}"),
                                attempts: attempt,
                            });
                        }
                    };
                    if let Some((tap, url, request_headers)) = tapped {
                        tap.exchange(Exchange {
                            token_request: false,
                            method: method.to_string(),
                            url,
                            request_headers,
                            request_body: req.body.clone(),
                            status,
                            response_headers: header_pairs(&headers),
                            response_body: body.to_vec(),
                        });
                    }
                    let response = Response {
                        status,
                        headers,
                        body,
                        url: final_url,
                    };
                    if self.auth.is_expired_status(status) && !renewed {
                        renewed = true;
                        self.counters.renewals.fetch_add(1, Ordering::Relaxed);
                        let retry = self.auth.renew(generation).await.map_err(|source| {
                            HttpError::Auth {
                                origin: origin.clone(),
                                source,
                            }
                        })?;
                        if retry {
                            attempt -= 1;
                            continue;
                        }
                    }
                    if (300..400).contains(&status)
                        && let Some(t) = response
                            .header("location")
                            .and_then(|loc| req.url.join(loc).ok())
                            .filter(|t| self.hosts.is_downgrade(t))
                    {
                        return Err(HttpError::Downgrade {
                            origin: origin.clone(),
                            url: self.redactor.url(&t),
                        });
                    }
                    if (300..400).contains(&status)
                        && let Some(loc) = response.header("location")
                        && let Some(t) = req.url.join(loc).ok().filter(|t| !self.hosts.allows(t))
                    {
                        return Err(HttpError::HostNotAllowed {
                            origin: origin.clone(),
                            host: t.host_str().unwrap_or("").to_string(),
                            url: self.redactor.url(&t),
                        });
                    }
                    let ok = success.iter().any(|p| p.matches(status));
                    if ok {
                        let text_retry = self.body_text_retry(&response);
                        let verdict = match text_retry {
                            Some(r) => Verdict::Retry(r),
                            None => check(&response),
                        };
                        match verdict {
                            Verdict::Accept => return Ok((response, attempt)),
                            Verdict::Retry(reason) => {
                                if last {
                                    return Err(HttpError::BadBody {
                                        origin: origin.clone(),
                                        method,
                                        url: shown_url(),
                                        status,
                                        reason,
                                        body_start: self.body_start(&response.body),
                                        attempts: attempt,
                                    });
                                }
                                tracing::warn!(target: "wsc::http", url = %shown_url(), attempt, %reason, "unusable response body, retrying");
                                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(self.retry.backoff(attempt)).await;
                                continue;
                            }
                        }
                    }
                    let retryable = self.retry.statuses.iter().any(|p| p.matches(status));
                    if retryable && !last {
                        let wait = self
                            .retry_after(&response)
                            .unwrap_or_else(|| self.retry.backoff(attempt));
                        tracing::warn!(target: "wsc::http", url = %shown_url(), attempt, status, wait_ms = wait.as_millis() as u64, "retrying");
                        self.counters.retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(HttpError::Status {
                        origin: origin.clone(),
                        method,
                        url: shown_url(),
                        status,
                        body_start: self.body_start(&response.body),
                        attempts: attempt,
                        hint: status_hint(status, renewed),
                    });
                }
            }
        }
    }

    fn build(
        &self,
        req: &PreparedRequest,
        url: Url,
        headers: Vec<(String, String)>,
    ) -> reqwest::RequestBuilder {
        let m = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
            Method::Head => reqwest::Method::HEAD,
        };
        let mut map = HeaderMap::new();
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let mut rb = self.client.request(m, url);
        match &req.body {
            Body::Empty => {}
            Body::Json(bytes) => {
                if !has("content-type") {
                    map.insert(
                        reqwest::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
                rb = rb.body(bytes.clone());
            }
            Body::Form(fields) => rb = rb.form(fields),
            Body::Multipart(fields) => {
                let mut form = reqwest::multipart::Form::new();
                for (k, v) in fields {
                    form = form.text(k.clone(), v.clone());
                }
                rb = rb.multipart(form);
            }
            Body::Raw { content_type, text } => {
                if let Ok(v) = HeaderValue::from_str(content_type) {
                    map.insert(reqwest::header::CONTENT_TYPE, v);
                }
                rb = rb.body(text.clone());
            }
        }
        for (k, v) in headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                map.append(name, value);
            }
        }
        rb.headers(map)
    }

    fn body_text_retry(&self, r: &Response) -> Option<String> {
        self.retry.on_body.iter().find_map(|t| {
            memchr::memmem::find(&r.body, t.as_bytes())
                .map(|_| format!("the body contains `{t}` (http.retry.on_body)"))
        })
    }

    fn retry_after(&self, r: &Response) -> Option<Duration> {
        let Some(v) = r.header("retry-after").map(str::trim) else {
            return rate_limit_reset(r).map(|w| w.min(self.retry.max_retry_after));
        };
        let wait = if let Ok(secs) = v.parse::<u64>() {
            Duration::from_secs(secs)
        } else {
            let at = httpdate::parse_http_date(v).ok()?;
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO)
        };
        Some(wait.min(self.retry.max_retry_after))
    }

    /// The first 300 characters of a body, secrets redacted.
    pub fn body_start(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(&body[..body.len().min(600)]);
        let mut s: String = text.chars().take(300).collect();
        if text.chars().count() > 300 || body.len() > 600 {
            s.push('…');
        }
        self.redactor.text(&s)
    }
}

/// The wait a rate-limit reset header asks for, on a 429 without `Retry-After`:
/// `X-Rate-Limit-Reset` / `X-RateLimit-Reset` (Okta, GitHub: epoch seconds; a small number is
/// read as seconds from now) or `RateLimit-Reset` (IETF draft: seconds from now).
fn rate_limit_reset(r: &Response) -> Option<Duration> {
    if r.status != 429 {
        return None;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let secs = |name: &str| r.header(name).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = secs("x-rate-limit-reset").or_else(|| secs("x-ratelimit-reset")) {
        let wait = if n > 1_000_000_000 {
            n.saturating_sub(now)
        } else {
            n
        };
        // A reset already past: the normal backoff applies.
        return (wait > 0).then(|| Duration::from_secs(wait));
    }
    secs("ratelimit-reset")
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
}

/// Files for TLS, read by the caller (relative to the connector file).
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// Extra CA certificates (PEM).
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate and key concatenated (PEM).
    pub identity_pem: Option<Vec<u8>>,
}

fn status_hint(status: u16, renewed: bool) -> Option<String> {
    match status {
        401 if renewed => Some("the credentials were renewed and the server still answers 401: check the client id, secret or token, and that they belong to this API".into()),
        401 => Some("the server did not accept the credentials: check the token or key, or that the auth settings of the connector match what the API expects".into()),
        403 => Some("the credentials were accepted but lack permission for this request (missing scope or role), or the endpoint needs a user context that this grant does not carry (e.g. client_credentials where a user must be signed in); refreshing the token will not help".into()),
        404 => Some("check the path and the identity in it".into()),
        429 => Some("rate limited: lower `http.requests_per_second` or raise `http.retry.max_attempts`".into()),
        _ => None,
    }
}

fn describe_reqwest_error(e: &reqwest::Error) -> String {
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
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_policy_refuses_other_hosts_and_https_downgrades() {
        let mut p = HostPolicy::new(["extra.test".to_string()]);
        p.allow_url(&Url::parse("https://api.test/v1").unwrap());
        p.allow_url(&Url::parse("http://127.0.0.1:8080/api").unwrap());
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(p.allows(&u("https://api.test/v1/users?page=2")));
        assert!(!p.is_downgrade(&u("https://api.test/x")));
        assert!(p.is_downgrade(&u("http://api.test/v1/users?page=2")));
        assert!(!p.allows(&u("https://evil.test/")));
        assert!(p.allows(&u("http://extra.test/")));
        // A host the connector itself names over http may stay on http (loopback tests).
        assert!(!p.is_downgrade(&u("http://127.0.0.1:8080/api/next")));
    }
}
