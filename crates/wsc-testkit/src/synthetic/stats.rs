//! Request counters of a running server.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::FaultKind;

#[derive(Default)]
pub(crate) struct Stats {
    pub connections: AtomicU64,
    pub requests: AtomicU64,
    pub data_requests: AtomicU64,
    pub token_requests: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub refresh_requests: AtomicU64,
    pub invalid_grants: AtomicU64,
    pub grants_revoked: AtomicU64,
    pub auth_failures: AtomicU64,
    pub logins: AtomicU64,
    pub login_failures: AtomicU64,
    pub sessions_expired: AtomicU64,
    pub bad_requests: AtomicU64,
    pub not_found: AtomicU64,
    pub pages: [AtomicU64; 5],
    pub user_items: AtomicU64,
    pub group_items: AtomicU64,
    pub single_reads: AtomicU64,
    pub bytes: AtomicU64,
    pub faults: [AtomicU64; 6],
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
}

pub(crate) fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Relaxed);
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

pub(crate) fn fault_slot(kind: FaultKind) -> usize {
    match kind {
        FaultKind::TooManyRequests => 0,
        FaultKind::ServerError => 1,
        FaultKind::Reset => 2,
        FaultKind::Slow => 3,
        FaultKind::Malformed => 4,
        FaultKind::ErrorInBody => 5,
    }
}

/// Counts one request as in flight until dropped.
pub(crate) struct InFlight<'a>(&'a Stats);

impl<'a> InFlight<'a> {
    pub(crate) fn enter(stats: &'a Stats) -> Self {
        let now = stats.in_flight.fetch_add(1, Relaxed) + 1;
        stats.max_in_flight.fetch_max(now, Relaxed);
        InFlight(stats)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

impl Stats {
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let g = |c: &AtomicU64| c.load(Relaxed);
        StatsSnapshot {
            connections: g(&self.connections),
            requests: g(&self.requests),
            data_requests: g(&self.data_requests),
            token_requests: g(&self.token_requests),
            tokens_issued: g(&self.tokens_issued),
            refresh_requests: g(&self.refresh_requests),
            invalid_grants: g(&self.invalid_grants),
            grants_revoked: g(&self.grants_revoked),
            auth_failures: g(&self.auth_failures),
            logins: g(&self.logins),
            login_failures: g(&self.login_failures),
            sessions_expired: g(&self.sessions_expired),
            bad_requests: g(&self.bad_requests),
            not_found: g(&self.not_found),
            pages: PageCounts {
                offset: g(&self.pages[0]),
                page: g(&self.pages[1]),
                cursor: g(&self.pages[2]),
                next: g(&self.pages[3]),
                link: g(&self.pages[4]),
            },
            user_items: g(&self.user_items),
            group_items: g(&self.group_items),
            single_reads: g(&self.single_reads),
            bytes_served: g(&self.bytes),
            faults: FaultCounts {
                too_many_requests: g(&self.faults[0]),
                server_error: g(&self.faults[1]),
                reset: g(&self.faults[2]),
                slow: g(&self.faults[3]),
                malformed: g(&self.faults[4]),
                error_in_body: g(&self.faults[5]),
            },
            in_flight: g(&self.in_flight),
            max_in_flight: g(&self.max_in_flight),
        }
    }
}

/// Counters of a running [`SyntheticApi`](super::SyntheticApi), read with
/// [`stats`](super::SyntheticApi::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// TCP connections accepted (fewer than requests when keep-alive works).
    pub connections: u64,
    /// Every HTTP request received.
    pub requests: u64,
    /// Authenticated requests under `/api/` other than `/api/me`: those that get latency and
    /// faults.
    pub data_requests: u64,
    /// Requests to `/oauth/token`, successful or not.
    pub token_requests: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Token requests with `grant_type=refresh_token` (rotating refresh tokens).
    pub refresh_requests: u64,
    /// Refresh requests answered `invalid_grant` (unknown, reused or revoked refresh token).
    pub invalid_grants: u64,
    /// Grants revoked because a spent refresh token was presented again (0 or 1).
    pub grants_revoked: u64,
    /// `/api/*` requests rejected with 401.
    pub auth_failures: u64,
    /// Successful `POST /login` requests (new sessions).
    pub logins: u64,
    /// `POST /login` requests refused (wrong user name or password, bad request).
    pub login_failures: u64,
    /// `/api/*` requests refused because their session had ended
    /// ([`LoginConfig::requests_per_session`](super::LoginConfig::requests_per_session)).
    pub sessions_expired: u64,
    /// Requests answered 400 (bad parameters, or a bad token request).
    pub bad_requests: u64,
    /// Requests answered 404 (unknown path or id).
    pub not_found: u64,
    /// List pages served successfully (200), by paging style; includes malformed ones.
    pub pages: PageCounts,
    /// Users sent in list pages.
    pub user_items: u64,
    /// Groups sent in list pages.
    pub group_items: u64,
    /// Successful single-object reads (`/api/users/{id}`, `/api/groups/{id}`,
    /// `/api/users/{id}/groups`).
    pub single_reads: u64,
    /// Response body bytes sent.
    pub bytes_served: u64,
    /// Faults injected, by kind.
    pub faults: FaultCounts,
    /// Requests being handled right now.
    pub in_flight: u64,
    /// The most requests ever handled at the same time (shows client concurrency).
    pub max_in_flight: u64,
}

impl StatsSnapshot {
    /// Users and groups sent in list pages.
    pub fn items_served(&self) -> u64 {
        self.user_items + self.group_items
    }
}

/// List pages served, by paging style.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// `/api/*/offset`.
    pub offset: u64,
    /// `/api/*/page`.
    pub page: u64,
    /// `/api/*/cursor`.
    pub cursor: u64,
    /// `/api/*/next`.
    pub next: u64,
    /// `/api/*/link`.
    pub link: u64,
}

impl PageCounts {
    /// All pages, whatever the style.
    pub fn total(&self) -> u64 {
        self.offset + self.page + self.cursor + self.next + self.link
    }
}

/// Injected faults, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// 429 answers.
    pub too_many_requests: u64,
    /// 500 answers.
    pub server_error: u64,
    /// Connections closed without a response.
    pub reset: u64,
    /// Delayed responses.
    pub slow: u64,
    /// Truncated bodies.
    pub malformed: u64,
    /// 200 answers with an error object.
    pub error_in_body: u64,
}

impl FaultCounts {
    /// All injected faults.
    pub fn total(&self) -> u64 {
        self.too_many_requests
            + self.server_error
            + self.reset
            + self.slow
            + self.malformed
            + self.error_in_body
    }

    /// The count of one kind.
    pub fn get(&self, kind: FaultKind) -> u64 {
        match kind {
            FaultKind::TooManyRequests => self.too_many_requests,
            FaultKind::ServerError => self.server_error,
            FaultKind::Reset => self.reset,
            FaultKind::Slow => self.slow,
            FaultKind::Malformed => self.malformed,
            FaultKind::ErrorInBody => self.error_in_body,
        }
    }
}
