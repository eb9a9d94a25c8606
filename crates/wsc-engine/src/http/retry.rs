//! Retry settings and backoff, `Retry-After` and rate-limit reset headers, and the
//! requests-per-second budget.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use wsc_spec::StatusPattern;
use wsc_spec::model::HttpOptions;

use super::Response;

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

    /// Why a response must be retried by its body text (`http.retry.on_body`), if it must.
    pub(super) fn body_text_retry(&self, r: &Response) -> Option<String> {
        self.on_body.iter().find_map(|t| {
            memchr::memmem::find(&r.body, t.as_bytes())
                .map(|_| format!("the body contains `{t}` (http.retry.on_body)"))
        })
    }

    /// The wait a response asks for (`Retry-After`, or a rate-limit reset on a 429), capped at
    /// `max_retry_after`.
    pub(super) fn retry_after(&self, r: &Response) -> Option<Duration> {
        let Some(v) = r.header("retry-after").map(str::trim) else {
            return rate_limit_reset(r).map(|w| w.min(self.max_retry_after));
        };
        let wait = if let Ok(secs) = v.parse::<u64>() {
            Duration::from_secs(secs)
        } else {
            let at = httpdate::parse_http_date(v).ok()?;
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO)
        };
        Some(wait.min(self.max_retry_after))
    }
}

/// A simple requests-per-second budget shared by all requests.
#[derive(Debug)]
pub(super) struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    /// A budget of `rps` requests per second, starting now.
    pub(super) fn per_second(rps: f64) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / rps),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next slot.
    pub(super) async fn wait(&self) {
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
