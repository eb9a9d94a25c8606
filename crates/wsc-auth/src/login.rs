//! Interactive sign-in for `wsc auth login`: the authorization_code grant with PKCE (S256)
//! through a loopback redirect (RFC 8252 §7.3), and the device authorization grant
//! (RFC 8628). Both end with the tokens committed to the state store through the
//! [`TokenManager`], so later runs refresh them.
//!
//! Nothing here prints: the caller shows the authorize URL or the user code (see
//! [`CodeLogin::authorize_url`] and [`DevicePrompt`]).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use url::Url;
use wsc_spec::model::Grant;

use crate::AuthError;
use crate::flow::OAuth2Flow;
use crate::manager::{Flow, TokenManager};
use crate::pkce::{Pkce, random_token};
use crate::token::{RawResponse, RequestPurpose, TokenSet, now_ms, read_response};

/// The path of the redirect URI when the connector does not configure one.
pub const DEFAULT_REDIRECT_PATH: &str = "/callback";

/// How much RFC 8628 §3.5 says to add to the polling interval on `slow_down`.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The polling interval when the device authorization response names none (RFC 8628 §3.2).
pub const DEFAULT_DEVICE_INTERVAL: Duration = Duration::from_secs(5);

/// Failed polls in a row (no answer from the token endpoint) before the device sign-in gives up.
const MAX_TRANSPORT_FAILURES: u32 = 3;

const MAX_REQUEST_HEAD: usize = 16 * 1024;
const READ_HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a sign-in did not complete.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// A token request (code exchange, device authorization, polling) failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The connector's grant has no interactive sign-in.
    #[error(
        "the {grant} grant has no interactive sign-in (only authorization_code and device_code have one)"
    )]
    NotInteractive {
        /// The configured grant.
        grant: &'static str,
    },
    /// The redirect URI cannot be listened on.
    #[error("redirect URI `{uri}`: {reason}")]
    RedirectUri {
        /// The URI.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The loopback listener could not be bound.
    #[error("cannot listen on {addr} for the redirect: {source}\n  hint: {hint}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
        /// What to do.
        hint: String,
    },
    /// No redirect (or no device approval) arrived in time.
    #[error(
        "{what} did not arrive within {}\n  hint: finish signing in sooner, or allow more time with --timeout",
        human(*waited)
    )]
    Timeout {
        /// What was awaited.
        what: &'static str,
        /// How long wsc waited.
        waited: Duration,
    },
    /// The redirect's `state` is not the one sent with the authorize request.
    #[error(
        "the redirect's `state` does not match the one wsc sent: the redirect was not the answer to this sign-in (a stale browser tab, or a forged request), so it was refused\n  hint: run `wsc auth login` again and use the URL it prints"
    )]
    StateMismatch,
    /// The redirect carried an OAuth error, or the user refused on the device page.
    #[error("the authorization server refused the sign-in: {error}{}\n  hint: {hint}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied {
        /// The OAuth `error` code, e.g. `access_denied`.
        error: String,
        /// `error_description`, if sent.
        description: Option<String>,
        /// What to do.
        hint: String,
    },
    /// The redirect to the loopback URI had neither `code` nor `error`.
    #[error("the redirect to {uri} carried no `code` (query parameters: {params})")]
    NoCode {
        /// The redirect URI.
        uri: String,
        /// The names of the parameters it had.
        params: String,
    },
    /// The device code expired before the user approved.
    #[error(
        "the device code expired before the sign-in was completed ({how})\n  hint: run `wsc auth login` again and finish signing in before the code expires"
    )]
    Expired {
        /// How wsc learnt it.
        how: String,
    },
    /// The device authorization response could not be read.
    #[error("the device authorization response is not usable: {0}")]
    DeviceResponse(String),
    /// The loopback listener failed.
    #[error("loopback listener: {0}")]
    Io(#[from] std::io::Error),
}

/// `90s` → `1m30s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, 0) => format!("{}ms", d.as_millis()),
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

fn oauth2(manager: &TokenManager) -> Result<&OAuth2Flow, LoginError> {
    match manager.flow() {
        Flow::OAuth2(f) => Ok(f),
        Flow::Custom(_) => Err(LoginError::NotInteractive { grant: "custom" }),
    }
}

/// Where the loopback listener binds and what redirect URI it answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    /// The address to bind (port 0: any free port).
    pub bind: SocketAddr,
    /// The redirect URI; its port is replaced by the bound one.
    pub uri: Url,
}

/// Works out the listener address and redirect URI: the configured `redirect_uri` (its host
/// must be `127.0.0.1`, `localhost` or `[::1]`), else `http://127.0.0.1:PORT/callback`. The
/// port is the redirect URI's when it names one, else `port`, else any free port.
pub fn redirect_target(
    configured: Option<&str>,
    port: Option<u16>,
) -> Result<RedirectTarget, LoginError> {
    let raw = configured.unwrap_or("http://127.0.0.1/callback");
    let bad = |reason: &str| LoginError::RedirectUri {
        uri: raw.to_string(),
        reason: reason.to_string(),
    };
    let mut uri = Url::parse(raw).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if uri.scheme() != "http" {
        return Err(bad(
            "wsc listens on the redirect URI itself, so it must be http:// on a loopback address",
        ));
    }
    let ip: std::net::IpAddr = match uri.host() {
        Some(url::Host::Ipv4(a)) if a == Ipv4Addr::LOCALHOST => a.into(),
        Some(url::Host::Ipv6(a)) if a == Ipv6Addr::LOCALHOST => a.into(),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            Ipv4Addr::LOCALHOST.into()
        }
        _ => {
            return Err(bad(
                "the host must be 127.0.0.1, localhost or [::1] (wsc listens only on loopback)",
            ));
        }
    };
    let named = uri.port().filter(|p| *p != 0);
    if let (Some(n), Some(p)) = (named, port)
        && n != p
    {
        tracing::warn!("--port {p} is ignored: the connector's redirect_uri names port {n}");
    }
    let port = named.or(port).unwrap_or(0);
    // A registered query stays (the server appends to it); a fragment is never allowed.
    uri.set_fragment(None);
    Ok(RedirectTarget {
        bind: SocketAddr::new(ip, port),
        uri,
    })
}

/// One request that reached the redirect path.
struct Callback {
    stream: TcpStream,
    params: Vec<(String, String)>,
}

impl Callback {
    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    async fn answer(mut self, ok: bool, message: &str) {
        let (status, title) = if ok {
            ("200 OK", "Signed in")
        } else {
            ("400 Bad Request", "Sign-in failed")
        };
        let body = page(title, message);
        let _ = write_response(&mut self.stream, status, &body).await;
    }
}

/// Compares without an early exit, so the time taken does not tell how much of `state` matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, message: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wsc: {t}</title></head>\n<body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{m}</p></body></html>\n",
        t = html_escape(title),
        m = html_escape(message)
    )
}

async fn write_response(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await?;
    let _ = stream.shutdown().await;
    Ok(())
}

/// Reads a request head (up to the blank line) and returns its method and target.
async fn read_head(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end);
            break;
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    Some((method, target))
}

/// Serves one connection: a GET of the redirect path goes to `tx`; anything else is answered
/// here (404 / 405) and dropped.
async fn serve(mut stream: TcpStream, path: String, tx: mpsc::Sender<Callback>) {
    let Ok(Some((method, target))) =
        tokio::time::timeout(READ_HEAD_TIMEOUT, read_head(&mut stream)).await
    else {
        return;
    };
    let (p, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    if p != path {
        let body = page(
            "Not found",
            "This address only receives the sign-in redirect.",
        );
        let _ = write_response(&mut stream, "404 Not Found", &body).await;
        return;
    }
    if method != "GET" {
        let body = page(
            "Method not allowed",
            "The sign-in redirect is a GET request.",
        );
        let _ = write_response(&mut stream, "405 Method Not Allowed", &body).await;
        return;
    }
    let params = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Err(mpsc::error::SendError(cb)) = tx.send(Callback { stream, params }).await {
        cb.answer(
            false,
            "This sign-in is already over; you can close this window.",
        )
        .await;
    }
}

/// A loopback listener waiting for the authorization server's redirect.
#[derive(Debug)]
pub struct Loopback {
    uri: Url,
    rx: mpsc::Receiver<Callback>,
    accept: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback").finish_non_exhaustive()
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Loopback {
    /// Binds the listener of `target` (see [`redirect_target`]).
    pub async fn bind(target: RedirectTarget) -> Result<Loopback, LoginError> {
        let listener = TcpListener::bind(target.bind)
            .await
            .map_err(|source| LoginError::Bind {
                addr: target.bind,
                hint: if target.bind.port() == 0 {
                    "the loopback interface is not usable".to_string()
                } else {
                    format!(
                        "is port {} in use? Free it, or use another port: `--port N` when the connector sets no redirect_uri (the authorization server must accept it)",
                        target.bind.port()
                    )
                },
                source,
            })?;
        let port = listener.local_addr()?.port();
        let mut uri = target.uri;
        uri.set_port(Some(port))
            .map_err(|()| LoginError::RedirectUri {
                uri: uri.to_string(),
                reason: "cannot carry a port".into(),
            })?;
        let (tx, rx) = mpsc::channel(4);
        let path = uri.path().to_string();
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream, path.clone(), tx.clone()));
                    }
                    Err(e) => {
                        tracing::debug!("loopback accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        Ok(Loopback { uri, rx, accept })
    }

    /// The redirect URI, with the port actually bound.
    pub fn redirect_uri(&self) -> &Url {
        &self.uri
    }

    async fn next(&mut self, deadline: Instant, waited: Duration) -> Result<Callback, LoginError> {
        let timeout = LoginError::Timeout {
            what: "the redirect from the authorization server",
            waited,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.rx.recv()).await {
            Ok(Some(cb)) => Ok(cb),
            Ok(None) | Err(_) => Err(timeout),
        }
    }
}

/// An authorization_code sign-in in progress: the listener is bound and the authorize URL
/// built; [`CodeLogin::finish`] waits for the redirect and exchanges the code.
#[derive(Debug)]
pub struct CodeLogin {
    loopback: Loopback,
    authorize_url: Url,
    state: String,
    pkce: Option<Pkce>,
}

impl CodeLogin {
    /// Binds the loopback listener (port: the redirect URI's, else `port`, else free) and
    /// builds the authorize URL with a fresh `state` and, unless `pkce: false`, an S256
    /// challenge.
    pub async fn start(manager: &TokenManager, port: Option<u16>) -> Result<CodeLogin, LoginError> {
        let flow = oauth2(manager)?;
        if flow.grant() != Grant::AuthorizationCode {
            return Err(LoginError::NotInteractive {
                grant: flow.grant().name(),
            });
        }
        let target = redirect_target(flow.spec.redirect_uri.as_deref(), port)?;
        let loopback = Loopback::bind(target).await?;
        let state = random_token(24);
        let pkce = flow.spec.pkce.unwrap_or(true).then(Pkce::new);
        let authorize_url = flow.authorize_url(
            &state,
            pkce.as_ref().map(|p| p.challenge.as_str()),
            loopback.redirect_uri().as_str(),
        )?;
        Ok(CodeLogin {
            loopback,
            authorize_url,
            state,
            pkce,
        })
    }

    /// The URL to open in a browser.
    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }

    /// The redirect URI the listener answers.
    pub fn redirect_uri(&self) -> &Url {
        self.loopback.redirect_uri()
    }

    /// Waits (up to `timeout`) for the redirect, checks `state`, exchanges the code with the
    /// PKCE verifier and commits the tokens to the store. The browser gets a page saying
    /// whether the sign-in worked.
    pub async fn finish(
        mut self,
        manager: &TokenManager,
        timeout: Duration,
    ) -> Result<TokenSet, LoginError> {
        let deadline = Instant::now() + timeout;
        let cb = self.loopback.next(deadline, timeout).await?;
        // One redirect decides: stop listening.
        self.loopback.accept.abort();
        let sent_state = cb.get("state").unwrap_or("");
        if !constant_time_eq(sent_state.as_bytes(), self.state.as_bytes()) {
            cb.answer(
                false,
                "The redirect does not belong to this sign-in (state mismatch). Run `wsc auth login` again.",
            )
            .await;
            return Err(LoginError::StateMismatch);
        }
        if let Some(error) = cb.get("error").map(str::to_string) {
            let description = cb.get("error_description").map(str::to_string);
            let hint = match error.as_str() {
                "access_denied" => "the sign-in or the consent was declined: run `wsc auth login` again and approve the access".to_string(),
                "invalid_scope" => "a requested scope is not allowed for this client: check `scopes`".to_string(),
                "unauthorized_client" => "the authorization_code grant is not enabled for this client on the authorization server".to_string(),
                "invalid_request" => "the authorization server rejected the authorize request: check client_id, redirect_uri (it must be registered there), scopes and PKCE support".to_string(),
                _ => "see the authorization server's documentation for this error".to_string(),
            };
            cb.answer(
                false,
                &format!("The authorization server answered {error}. You can close this window."),
            )
            .await;
            return Err(LoginError::Denied {
                error,
                description,
                hint,
            });
        }
        let Some(code) = cb.get("code").map(str::to_string) else {
            let params = cb
                .params
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            cb.answer(false, "The redirect carried no authorization code.")
                .await;
            return Err(LoginError::NoCode {
                uri: self.loopback.redirect_uri().to_string(),
                params: if params.is_empty() {
                    "none".into()
                } else {
                    params
                },
            });
        };
        let flow = oauth2(manager)?;
        let exchanged = async {
            let req = flow.code_request(
                &code,
                self.pkce.as_ref().map(|p| p.verifier.as_str()),
                self.loopback.redirect_uri().as_str(),
            )?;
            let token = manager.exchange_primary(req).await?;
            manager.adopt(token.clone())?;
            Ok::<_, AuthError>(token)
        }
        .await;
        match exchanged {
            Ok(token) => {
                cb.answer(
                    true,
                    "wsc received the tokens and stored them. You can close this window.",
                )
                .await;
                Ok(token)
            }
            Err(e) => {
                cb.answer(
                    false,
                    "wsc could not exchange the authorization code; the terminal says why.",
                )
                .await;
                Err(e.into())
            }
        }
    }
}

/// What the user must do to approve a device sign-in (RFC 8628 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePrompt {
    /// The page to open.
    pub verification_uri: String,
    /// The page with the code already filled in, when the server sends one.
    pub verification_uri_complete: Option<String>,
    /// The code to enter.
    pub user_code: String,
    /// How long the code is valid.
    pub expires_in: Duration,
    /// The polling interval the server asked for.
    pub interval: Duration,
}

/// A device authorization response.
#[derive(Clone)]
struct DeviceAuthorization {
    device_code: String,
    prompt: DevicePrompt,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("prompt", &self.prompt)
            .finish_non_exhaustive()
    }
}

fn seconds(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// Reads a device authorization response (JSON, or form-encoded).
fn read_device_authorization(resp: &RawResponse) -> Result<DeviceAuthorization, LoginError> {
    let body: Option<Value> = serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .filter(Value::is_object)
        .or_else(|| {
            let m: serde_json::Map<String, Value> = url::form_urlencoded::parse(&resp.body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            (!m.is_empty() && m.contains_key("device_code")).then_some(Value::Object(m))
        });
    let is_error = !(200..300).contains(&resp.status)
        || body.as_ref().is_some_and(|b| b.get("error").is_some());
    if is_error {
        // The token-response reader turns OAuth errors into messages with hints.
        return match read_response(
            resp,
            &Default::default(),
            RequestPurpose::Primary,
            "device_code",
            now_ms(),
        ) {
            Err(e) => Err(e.into()),
            Ok(_) => Err(LoginError::DeviceResponse(format!(
                "HTTP {} from the device authorization endpoint",
                resp.status
            ))),
        };
    }
    let Some(body) = body else {
        return Err(LoginError::DeviceResponse(
            "it is neither a JSON object nor form-encoded".into(),
        ));
    };
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let missing = |k: &str| {
        let fields: Vec<&str> = body
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        LoginError::DeviceResponse(format!("no `{k}` (its fields: {})", fields.join(", ")))
    };
    let device_code = s("device_code").ok_or_else(|| missing("device_code"))?;
    let user_code = s("user_code").ok_or_else(|| missing("user_code"))?;
    // Some servers (Google) say verification_url.
    let verification_uri = s("verification_uri")
        .or_else(|| s("verification_url"))
        .ok_or_else(|| missing("verification_uri"))?;
    let expires_in = Duration::from_secs(seconds(body.get("expires_in")).unwrap_or(600).max(1));
    let interval = seconds(body.get("interval"))
        .map(|s| Duration::from_secs(s.max(1)))
        .unwrap_or(DEFAULT_DEVICE_INTERVAL);
    Ok(DeviceAuthorization {
        device_code,
        prompt: DevicePrompt {
            verification_uri,
            verification_uri_complete: s("verification_uri_complete")
                .or_else(|| s("verification_url_complete")),
            user_code,
            expires_in,
            interval,
        },
    })
}

/// What a device poll's OAuth error means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// `authorization_pending`: poll again after the interval.
    Pending,
    /// `slow_down`: add [`SLOW_DOWN_STEP`] to the interval, then poll again.
    SlowDown,
    /// `access_denied`: the user refused.
    Denied,
    /// `expired_token`: the device code expired.
    Expired,
    /// Anything else: a failure.
    Failed,
}

/// Classifies the OAuth error code of a device poll (RFC 8628 §3.5).
pub fn poll_outcome(oauth_error: Option<&str>) -> PollOutcome {
    match oauth_error {
        Some("authorization_pending") => PollOutcome::Pending,
        Some("slow_down") => PollOutcome::SlowDown,
        Some("access_denied") => PollOutcome::Denied,
        Some("expired_token") => PollOutcome::Expired,
        _ => PollOutcome::Failed,
    }
}

/// Runs the device authorization grant: requests a device code, calls `show` with what the
/// user must do, polls the token endpoint at the server's interval (5 s slower after each
/// `slow_down`, twice as slow after a poll that got no answer, up to 3 in a row) until the
/// user approves, refuses, the code expires or `timeout` passes, and commits the tokens to
/// the store.
pub async fn device_login(
    manager: &TokenManager,
    timeout: Duration,
    show: impl FnOnce(&DevicePrompt),
) -> Result<TokenSet, LoginError> {
    let flow = oauth2(manager)?;
    if flow.grant() != Grant::DeviceCode {
        return Err(LoginError::NotInteractive {
            grant: flow.grant().name(),
        });
    }
    let started = Instant::now();
    let resp = manager
        .send_raw(flow.device_authorization_request()?)
        .await?;
    let auth = read_device_authorization(&resp)?;
    show(&auth.prompt);
    let mut interval = auth.prompt.interval;
    // The code's own life, with room for the server's `expired_token` to arrive first.
    let code_deadline =
        started + auth.prompt.expires_in + (2 * interval).max(Duration::from_secs(5));
    let deadline = started + timeout;
    // Transport failures in a row (RFC 8628 §3.5: back off by doubling the interval).
    let mut transport_failures = 0u32;
    loop {
        let wake = Instant::now() + interval;
        if wake > deadline {
            tokio::time::sleep_until(deadline.into()).await;
            return Err(LoginError::Timeout {
                what: "the approval of the device sign-in",
                waited: timeout,
            });
        }
        if wake > code_deadline {
            return Err(LoginError::Expired {
                how: format!(
                    "it was valid for {} and the server never issued a token",
                    human(auth.prompt.expires_in)
                ),
            });
        }
        tokio::time::sleep_until(wake.into()).await;
        let req = flow.device_token_request(&auth.device_code)?;
        let answer = manager.exchange_primary(req).await;
        if let Err(AuthError::Http(msg)) = &answer
            && transport_failures < MAX_TRANSPORT_FAILURES
        {
            transport_failures += 1;
            interval *= 2;
            tracing::warn!(
                "device sign-in: {msg}; polling again in {}",
                human(interval)
            );
            continue;
        }
        transport_failures = 0;
        match answer {
            Ok(token) => {
                manager.adopt(token.clone())?;
                return Ok(token);
            }
            Err(e) => match poll_outcome(e.oauth_error()) {
                PollOutcome::Pending => {
                    tracing::debug!("device sign-in: authorization pending");
                }
                PollOutcome::SlowDown => {
                    interval += SLOW_DOWN_STEP;
                    tracing::info!(
                        "device sign-in: the server asked to slow down; polling every {}",
                        human(interval)
                    );
                }
                PollOutcome::Denied => {
                    let description = match &e {
                        AuthError::TokenRequest { message, .. } => Some(
                            message
                                .strip_prefix("access_denied: ")
                                .unwrap_or(message)
                                .to_string(),
                        ),
                        _ => None,
                    };
                    return Err(LoginError::Denied {
                        error: "access_denied".into(),
                        description,
                        hint: "the sign-in was declined on the verification page: run `wsc auth login` again and approve the access".into(),
                    });
                }
                PollOutcome::Expired => {
                    return Err(LoginError::Expired {
                        how: "the server answered expired_token".into(),
                    });
                }
                PollOutcome::Failed => return Err(e.into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets() {
        let t = redirect_target(None, None).unwrap();
        assert_eq!(t.bind, "127.0.0.1:0".parse().unwrap());
        assert_eq!(t.uri.path(), "/callback");
        let t = redirect_target(None, Some(9000)).unwrap();
        assert_eq!(t.bind.port(), 9000);
        let t = redirect_target(Some("http://localhost:8765/cb"), Some(9000)).unwrap();
        assert_eq!(t.bind, "127.0.0.1:8765".parse().unwrap());
        assert_eq!(t.uri.host_str(), Some("localhost"));
        assert_eq!(t.uri.path(), "/cb");
        let t = redirect_target(Some("http://[::1]:8765/cb"), None).unwrap();
        assert_eq!(t.bind, "[::1]:8765".parse().unwrap());
        for bad in [
            "https://127.0.0.1:8765/cb",
            "http://example.com:8765/cb",
            "http://10.0.0.1:8765/cb",
            "not a url",
        ] {
            let e = redirect_target(Some(bad), None).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn device_responses() {
        let r = |status: u16, body: &str| RawResponse {
            status,
            content_type: "application/json".into(),
            body: body.as_bytes().to_vec(),
        };
        let a = read_device_authorization(&r(
            200,
            r#"{"device_code":"d","user_code":"U-C","verification_url":"https://x.test/d","expires_in":"120"}"#,
        ))
        .unwrap();
        assert_eq!(a.prompt.verification_uri, "https://x.test/d");
        assert_eq!(a.prompt.expires_in, Duration::from_secs(120));
        assert_eq!(a.prompt.interval, DEFAULT_DEVICE_INTERVAL);
        let e = read_device_authorization(&r(200, r#"{"user_code":"U"}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `device_code`"), "{e}");
        let e = read_device_authorization(&r(401, r#"{"error":"invalid_client"}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid_client") && e.contains("hint"), "{e}");
        assert_eq!(poll_outcome(Some("slow_down")), PollOutcome::SlowDown);
        assert_eq!(poll_outcome(None), PollOutcome::Failed);
    }

    #[test]
    fn pages_escape() {
        assert!(!page("<x>", "a&b").contains("<x>"));
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
    }
}
