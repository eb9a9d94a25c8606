//! The HTTP client: sends a request with retries, credentials, redirects checks and taps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;
use wsc_auth::{Authenticator, Outgoing};
use wsc_spec::StatusPattern;
use wsc_spec::model::{HttpOptions, Method};

use super::body::{ReadError, read_body};
use super::error::{describe_reqwest_error, status_hint};
use super::hosts::{UrlOrigin, authority};
use super::retry::{RateLimiter, RunBudget};
use super::{Body, HostPolicy, HttpError, Origin, PreparedRequest, Response, RetryConfig};
use crate::redact::Redactor;
use crate::wire::{Exchange, Wire, header_pairs};

/// What the caller's check says about a successful response.
#[derive(Debug)]
pub enum Verdict {
    /// Accept it.
    Accept,
    /// Try again (counts against `http.retry.max_attempts` and the run's retry budget); the
    /// text says why.
    Retry(String),
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

/// One HTTP client per connector run.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    retry: Arc<RetryConfig>,
    budget: Arc<RunBudget>,
    limiter: Option<Arc<RateLimiter>>,
    hosts: Arc<HostPolicy>,
    auth: Arc<dyn Authenticator>,
    redactor: Arc<Redactor>,
    counters: Arc<Counters>,
    wire: Wire,
    /// `http.max_body`: the largest response body read, in bytes.
    max_body: u64,
    /// `http.error_message`: where the API's own message is in a failed response's body.
    error_message: Arc<[crate::path::CompiledPath]>,
    /// The `user-agent` header sent.
    user_agent: String,
    /// The cookie jar (`http.cookies`), also read when the authenticator adds cookies of its
    /// own, so a request carries both.
    jar: Option<Arc<reqwest::cookie::Jar>>,
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
        tls: &wsc_auth::ClientTls,
        hosts: HostPolicy,
        auth: Arc<dyn Authenticator>,
        redactor: Arc<Redactor>,
    ) -> Result<HttpClient, Box<HttpError>> {
        let t = &opts.timeouts;
        let max_redirects = opts.max_redirects.unwrap_or(5) as usize;
        // Redirects are followed within one origin (scheme, host and port) only. The HTTP
        // library strips `Authorization` and cookies on a redirect to another host, but not
        // other credential headers (`X-API-Key`...) nor a credential in the query string, and
        // it compares host and port but not the scheme; a redirect to another origin is not
        // followed and reported (see `send_counted`).
        let redirect_hosts = hosts.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max_redirects {
                return attempt.error("too many redirects");
            }
            let same_origin = attempt
                .previous()
                .last()
                .and_then(UrlOrigin::of)
                .is_some_and(|prev| UrlOrigin::of(attempt.url()) == Some(prev));
            if same_origin && !redirect_hosts.is_downgrade(attempt.url()) {
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
            .user_agent(ua.clone())
            .redirect(policy)
            // No `Referer`: it would carry the previous URL, query-string credentials included.
            .referer(false)
            .connect_timeout(
                t.connect
                    .map(|d| d.get())
                    .unwrap_or(Duration::from_secs(10)),
            )
            .read_timeout(t.read.map(|d| d.get()).unwrap_or(Duration::from_secs(60)))
            .timeout(t.total.map(|d| d.get()).unwrap_or(Duration::from_secs(120)))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true);
        let jar = opts
            .cookies
            .then(|| Arc::new(reqwest::cookie::Jar::default()));
        if let Some(jar) = &jar {
            b = b.cookie_provider(jar.clone());
        }
        b = tls.configure(b);
        let client = b
            .build()
            .map_err(|e| Box::new(HttpError::Client(e.to_string())))?;
        // The engine resolves a rate that names a setting before it builds the client.
        let limiter = match &opts.requests_per_second {
            None => None,
            Some(r) => Some(Arc::new(RateLimiter::per_second(r.value().ok_or_else(
                || {
                    Box::new(HttpError::Client(
                        "`http.requests_per_second` names a setting that was not resolved".into(),
                    ))
                },
            )?))),
        };
        let retry = RetryConfig::from_options(opts);
        Ok(HttpClient {
            client,
            budget: Arc::new(RunBudget::new(&retry)),
            retry: Arc::new(retry),
            limiter,
            hosts: Arc::new(hosts),
            auth,
            redactor,
            counters: Arc::new(Counters::default()),
            wire: Wire::default(),
            max_body: opts
                .max_body
                .map(|b| b.get())
                .unwrap_or(wsc_spec::model::DEFAULT_MAX_BODY),
            error_message: Arc::from(Vec::new()),
            user_agent: ua,
            jar,
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

    /// Takes one retry from the run's retry budget (`http.retry.budget`) and counts it in
    /// [`Counters::retries`]. When the budget allows no more, the error names it, with how
    /// attempt `attempts` of `req` failed (`status` if the server answered, `failure` in words).
    pub fn take_retry(
        &self,
        req: &PreparedRequest,
        origin: &Origin,
        attempts: u32,
        status: Option<u16>,
        failure: &(dyn Fn() -> String + Sync),
    ) -> Result<(), Box<HttpError>> {
        match self.budget.withdraw() {
            Ok(()) => {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(spent) => {
                tracing::warn!(target: "wsc::http", url = %self.redactor.url(&req.url), attempts, %spent, "retry budget spent");
                Err(Box::new(HttpError::RetryBudget {
                    origin: origin.clone(),
                    method: req.method.as_str(),
                    url: self.redactor.url(&req.url),
                    status,
                    failure: self.redactor.text(&failure()),
                    attempts,
                    spent,
                }))
            }
        }
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
        self.send_counted(req, origin, success, check, 0, &[])
            .await
            .map(|(response, _)| response)
    }

    /// Like [`send`](Self::send) for a caller that retries on its own as well (a body that
    /// does not parse, an error rule with `retry`): `used` of the request's attempts
    /// are already spent, and the attempts spent after this call come back with the response,
    /// so `http.retry.max_attempts` bounds all the attempts of the request together. A call
    /// with `used == 0` is a new request: it adds to the run's retry budget
    /// ([`take_retry`](Self::take_retry) draws on it). A status in `final_statuses` is an
    /// answer as it is, even one that would renew the credentials (a refused password).
    pub async fn send_counted(
        &self,
        req: &PreparedRequest,
        origin: &Origin,
        success: &[StatusPattern],
        check: &(dyn Fn(&Response) -> Verdict + Sync),
        used: u32,
        final_statuses: &[StatusPattern],
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
                host: authority(&req.url),
                url: shown_url(),
            });
        }
        if used == 0 {
            self.budget.deposit();
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
            let with_block;
            let req = match self.auth.soap_header() {
                None => req,
                Some(block) => {
                    with_block = crate::soap::with_header_block(req, &block).map_err(|m| {
                        HttpError::Auth {
                            origin: origin.clone(),
                            source: wsc_auth::AuthError::Config(m),
                        }
                    })?;
                    &with_block
                }
            };
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "wsc::http", %method, url = %shown_url(), attempt, "request");
            if self.wire.dry_run {
                if let Some(tap) = &self.wire.tap {
                    tap.exchange(Exchange {
                        token_request: false,
                        method: method.to_string(),
                        url: url.clone(),
                        request_headers: self.wire_headers(req, &url, &headers),
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
                        self.take_retry(req, origin, attempt, None, &|| message.clone())
                            .map_err(|e| *e)?;
                        tracing::warn!(target: "wsc::http", url = %shown_url(), attempt, error = %message, "transport error, retrying");
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
                    let body = match read_body(resp, self.max_body).await {
                        Ok(b) => b,
                        Err(ReadError::TooLarge { declared }) => {
                            return Err(HttpError::BodyTooLarge {
                                origin: origin.clone(),
                                method,
                                url: shown_url(),
                                status,
                                limit: wsc_spec::ByteSize(self.max_body).to_string(),
                                declared,
                            });
                        }
                        Err(ReadError::Transport(e)) => {
                            let message = self.redactor.text(&describe_reqwest_error(&e));
                            if self.retry.connection_errors && !last {
                                self.take_retry(req, origin, attempt, Some(status), &|| {
                                    format!("HTTP {status}, reading the body: {message}")
                                })
                                .map_err(|e| *e)?;
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
                    if self.auth.is_expired_status(status)
                        && !renewed
                        && !final_statuses.iter().any(|p| p.matches(status))
                    {
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
                            host: authority(&t),
                            url: self.redactor.url(&t),
                        });
                    }
                    if (300..400).contains(&status)
                        && let Some(t) = response
                            .header("location")
                            .and_then(|loc| req.url.join(loc).ok())
                            .filter(|t| UrlOrigin::of(t) != UrlOrigin::of(&req.url))
                    {
                        return Err(HttpError::CrossOriginRedirect {
                            origin: origin.clone(),
                            url: self.redactor.url(&t),
                        });
                    }
                    let ok = success.iter().any(|p| p.matches(status));
                    // Retry rules (`on_body`, `on_headers`) apply whatever the status, and wait
                    // as the response asks (`Retry-After`, rate-limit reset headers).
                    if let Some(reason) = self.retry.rule_retry(&response) {
                        if !last {
                            let wait = self
                                .retry
                                .retry_after(&response, true)
                                .unwrap_or_else(|| self.retry.backoff(attempt));
                            self.take_retry(req, origin, attempt, Some(status), &|| {
                                format!("HTTP {status}: {reason}")
                            })
                            .map_err(|e| *e)?;
                            tracing::warn!(target: "wsc::http", url = %shown_url(), attempt, status, %reason, wait_ms = wait.as_millis() as u64, "retrying");
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        if ok {
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
                    }
                    if ok {
                        match check(&response) {
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
                                self.take_retry(req, origin, attempt, Some(status), &|| {
                                    format!("HTTP {status} with an unusable body: {reason}")
                                })
                                .map_err(|e| *e)?;
                                tracing::warn!(target: "wsc::http", url = %shown_url(), attempt, %reason, "unusable response body, retrying");
                                let wait = self
                                    .retry
                                    .retry_after(&response, false)
                                    .unwrap_or_else(|| self.retry.backoff(attempt));
                                tokio::time::sleep(wait).await;
                                continue;
                            }
                        }
                    }
                    let retryable = self.retry.statuses.iter().any(|p| p.matches(status))
                        && !crate::xml::is_sender_fault(&response.body);
                    if retryable && !last {
                        let wait = self
                            .retry
                            .retry_after(&response, false)
                            .unwrap_or_else(|| self.retry.backoff(attempt));
                        self.take_retry(req, origin, attempt, Some(status), &|| {
                            format!("HTTP {status}{}", self.body_part(&response.body))
                        })
                        .map_err(|e| *e)?;
                        tracing::warn!(target: "wsc::http", url = %shown_url(), attempt, status, wait_ms = wait.as_millis() as u64, "retrying");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(HttpError::Status {
                        origin: origin.clone(),
                        method,
                        url: shown_url(),
                        status,
                        body_start: self.body_start(&response.body),
                        api_message: self.api_message(&response.body),
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
        // The HTTP client adds the jar's cookies only to a request without a `Cookie` header:
        // when the authenticator gave one (a session login's cookies), the jar's join it.
        let jar_cookies = match &self.jar {
            Some(jar) if has("cookie") => {
                use reqwest::cookie::CookieStore as _;
                jar.cookies(&url)
                    .and_then(|v| v.to_str().ok().map(str::to_string))
            }
            _ => None,
        };
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
        for (k, mut v) in headers {
            if let Some(jar) = &jar_cookies
                && k.eq_ignore_ascii_case("cookie")
            {
                v = format!("{jar}; {v}");
            }
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                map.append(name, value);
            }
        }
        rb.headers(map)
    }

    /// `; body: <start>` for a failure text, or nothing for an empty body.
    fn body_part(&self, body: &[u8]) -> String {
        let start = self.body_start(body);
        if start.is_empty() {
            start
        } else {
            format!("; body: {start}")
        }
    }

    /// The headers a request goes out with: its own, the body's content type, and what the
    /// HTTP library adds when it sends (user agent, `accept`, `accept-encoding`). A dry run
    /// shows these, so that it shows exactly what would be sent.
    fn wire_headers(
        &self,
        req: &PreparedRequest,
        url: &Url,
        headers: &[(String, String)],
    ) -> Vec<(String, String)> {
        let built = self.build(req, url.clone(), headers.to_vec()).build();
        let mut out: Vec<(String, String)> = match &built {
            Ok(r) => r
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
            Err(_) => headers.to_vec(),
        };
        let has =
            |out: &[(String, String)], n: &str| out.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        for (name, value) in [
            ("user-agent", self.user_agent.as_str()),
            ("accept", "*/*"),
            ("accept-encoding", "gzip"),
        ] {
            if !has(&out, name) {
                out.push((name.to_string(), value.to_string()));
            }
        }
        out
    }

    /// Uses these JSONPaths (`http.error_message`) to find the API's own message in the body
    /// of a failed response.
    pub fn with_error_message(mut self, paths: Vec<crate::path::CompiledPath>) -> HttpClient {
        self.error_message = paths.into();
        self
    }

    /// The API's own message in a failed response's body: the first `http.error_message`
    /// path that finds a non-empty string (or number), redacted and cut to 500 characters; a
    /// SOAP fault's code and string first.
    fn api_message(&self, body: &[u8]) -> Option<String> {
        if let Some(f) = crate::xml::soap_fault(body) {
            return Some(self.redactor.text(&crate::doc::truncate_chars(&f, 500)));
        }
        if self.error_message.is_empty() {
            return None;
        }
        let doc = crate::doc::Doc::parse(body).ok()?;
        self.error_message.iter().find_map(|p| {
            let v = p.first(&doc)?;
            let text = match v.as_str() {
                Some(s) => s.trim().to_string(),
                None if v.as_number().is_some() => v.to_value().to_string(),
                None => return None,
            };
            (!text.is_empty()).then(|| self.redactor.text(&crate::doc::truncate_chars(&text, 500)))
        })
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
