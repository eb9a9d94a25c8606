//! Retry settings and backoff, `Retry-After` and rate-limit reset headers, the retry budget
//! of a run, and the requests-per-second budget.

use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Headers that mean "retry".
    pub on_headers: Vec<wsc_spec::model::HeaderRetry>,
    /// Retry transport errors.
    pub connection_errors: bool,
    /// Retries allowed per request sent, over the whole run.
    pub budget_ratio: f64,
    /// Retries allowed over the whole run on top of `budget_ratio`.
    pub budget_min_retries: u64,
}

/// Attempts per request unless `http.retry.max_attempts` says otherwise. At about 12 %
/// transient failures, eight attempts leave a page failing with a chance of 0.12^8 (4e-8);
/// four left 2e-4, which a run of a few hundred pages hits every tenth run.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// Default `http.retry.budget.ratio`: Finagle's default retry budget (20 % of requests).
pub const DEFAULT_BUDGET_RATIO: f64 = 0.2;

/// Default `http.retry.budget.min_retries`: Finagle's reserve (10 retries a second over its
/// 10 s window), which is also what the AWS SDKs' retry quota holds (500 tokens, 5 a retry).
pub const DEFAULT_BUDGET_MIN_RETRIES: u64 = 100;

impl RetryConfig {
    /// Resolves defaults.
    pub fn from_options(o: &HttpOptions) -> RetryConfig {
        let r = &o.retry;
        RetryConfig {
            max_attempts: r.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
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
            on_headers: r.on_headers.clone(),
            connection_errors: r.connection_errors.unwrap_or(true),
            budget_ratio: r
                .budget
                .ratio
                .filter(|x| x.is_finite() && *x >= 0.0)
                .unwrap_or(DEFAULT_BUDGET_RATIO),
            budget_min_retries: r
                .budget
                .min_retries
                .map_or(DEFAULT_BUDGET_MIN_RETRIES, u64::from),
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

    /// Why a response must be retried by a rule (`http.retry.on_body`, whatever the status;
    /// `http.retry.on_headers`), if it must.
    pub(super) fn rule_retry(&self, r: &Response) -> Option<String> {
        let body = self.on_body.iter().find_map(|t| {
            memchr::memmem::find(&r.body, t.as_bytes())
                .map(|_| format!("the body contains `{t}` (http.retry.on_body)"))
        });
        body.or_else(|| {
            self.on_headers.iter().find_map(|h| {
                if h.status.as_ref().is_some_and(|s| !s.matches(r.status)) {
                    return None;
                }
                let v = r.header(&h.header)?.trim();
                match &h.equals {
                    Some(want) if want.trim() != v => None,
                    _ => Some(format!("header {}: {v} (http.retry.on_headers)", h.header)),
                }
            })
        })
    }

    /// The wait a response asks for (`Retry-After`, or a rate-limit reset on a 429 or a
    /// response a rule retries, `rate_limited`), capped at `max_retry_after`.
    pub(super) fn retry_after(&self, r: &Response, rate_limited: bool) -> Option<Duration> {
        let Some(v) = r.header("retry-after").map(str::trim) else {
            return rate_limit_reset(r, rate_limited).map(|w| w.min(self.max_retry_after));
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

/// The retry budget of one run, shared by all its requests (every page, partition and step,
/// concurrent or not): retries may number `min_retries` plus `ratio` times the requests sent.
///
/// Per-request attempts alone do not bound a run: with eight attempts, an API failing half its
/// requests still completes most pages, at twice the load and with minutes of backoff, and a
/// run against it grinds on where it should stop and say the API is unhealthy. This is
/// Finagle's retry budget (a share of the requests plus a reserve; also tower's `TpsBudget`),
/// counted over the run instead of a sliding window, so the outcome of a run does not depend on
/// how fast it went.
#[derive(Debug)]
pub(super) struct RunBudget {
    ratio: f64,
    min_retries: u64,
    /// First attempts of requests (deposits).
    requests: AtomicU64,
    /// Retries taken (withdrawals).
    retries: AtomicU64,
}

/// A retry the run's budget did not allow: the counts when it was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSpent {
    /// Retries the run had made.
    pub retries: u64,
    /// Requests the run had sent (first attempts).
    pub requests: u64,
    /// `http.retry.budget.min_retries`.
    pub min_retries: u64,
    /// `http.retry.budget.ratio`.
    pub ratio: f64,
    /// Retries allowed for that many requests.
    pub allowed: u64,
}

impl std::fmt::Display for BudgetSpent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |count: u64, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        write!(
            f,
            "the run's retry budget (`http.retry.budget`) is spent: {} made for {}, and the budget allows {} + {} × {} = {}",
            n(self.retries, "retry", "retries"),
            n(self.requests, "request", "requests"),
            self.min_retries,
            self.ratio,
            self.requests,
            self.allowed
        )
    }
}

impl RunBudget {
    pub(super) fn new(config: &RetryConfig) -> RunBudget {
        RunBudget {
            ratio: config.budget_ratio,
            min_retries: config.budget_min_retries,
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    /// Counts a request's first attempt.
    pub(super) fn deposit(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Retries allowed for `requests` requests.
    fn allowed(&self, requests: u64) -> u64 {
        let share = (self.ratio * requests as f64).floor();
        // `as` saturates: a huge ratio means no limit.
        self.min_retries.saturating_add(share as u64)
    }

    /// Takes one retry, or says why the budget does not allow it.
    pub(super) fn withdraw(&self) -> Result<(), BudgetSpent> {
        let mut retries = self.retries.load(Ordering::Relaxed);
        loop {
            let requests = self.requests.load(Ordering::Relaxed);
            let allowed = self.allowed(requests);
            if retries >= allowed {
                return Err(BudgetSpent {
                    retries,
                    requests,
                    min_retries: self.min_retries,
                    ratio: self.ratio,
                    allowed,
                });
            }
            match self.retries.compare_exchange_weak(
                retries,
                retries + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => retries = now,
            }
        }
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
fn rate_limit_reset(r: &Response, rate_limited: bool) -> Option<Duration> {
    if r.status != 429 && !rate_limited {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(min_retries: u32, ratio: f64) -> RunBudget {
        let mut o = HttpOptions::default();
        o.retry.budget.min_retries = Some(min_retries);
        o.retry.budget.ratio = Some(ratio);
        RunBudget::new(&RetryConfig::from_options(&o))
    }

    #[test]
    fn defaults() {
        let c = RetryConfig::from_options(&HttpOptions::default());
        assert_eq!(c.max_attempts, 8);
        assert_eq!(c.budget_min_retries, 100);
        assert_eq!(c.budget_ratio, 0.2);
    }

    #[test]
    fn the_budget_is_min_retries_plus_a_share_of_the_requests() {
        let b = budget(2, 0.5);
        b.deposit();
        assert!(b.withdraw().is_ok());
        assert!(b.withdraw().is_ok());
        let spent = b.withdraw().unwrap_err();
        assert_eq!((spent.retries, spent.requests, spent.allowed), (2, 1, 2));
        b.deposit();
        assert!(b.withdraw().is_ok(), "two requests allow one more retry");
        assert!(b.withdraw().is_err());
        assert_eq!(
            b.withdraw().unwrap_err().to_string(),
            "the run's retry budget (`http.retry.budget`) is spent: 3 retries made for 2 requests, and the budget allows 2 + 0.5 × 2 = 3"
        );
    }

    #[test]
    fn zero_allows_no_retry() {
        let b = budget(0, 0.0);
        b.deposit();
        assert!(b.withdraw().is_err());
    }

    #[test]
    fn concurrent_withdrawals_never_exceed_the_budget() {
        let b = std::sync::Arc::new(budget(50, 0.0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || (0..100).filter(|_| b.withdraw().is_ok()).count())
            })
            .collect();
        let taken: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(taken, 50);
    }
}
