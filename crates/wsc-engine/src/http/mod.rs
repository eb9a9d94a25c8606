//! HTTP: one client per connector, retries with backoff and jitter, `Retry-After`, a request
//! budget, credentials only for named hosts, "refresh and retry once" on expired credentials.
//!
//! Body-level checks (a 2xx body that does not parse, an error reported inside a 2xx body) are
//! made by the caller, which parses the body once and retries on its own; it passes the
//! attempts spent so far to [`HttpClient::send_counted`], so status retries and body retries
//! share one limit (`http.retry.max_attempts` requests in all) and the same backoff.
//!
//! Every retry, whichever kind, also draws on the run's retry budget (`http.retry.budget`),
//! held by the client and so shared by all the requests of one engine: a retry it does not
//! allow ends the request with [`HttpError::RetryBudget`].

mod body;
mod client;
mod error;
mod hosts;
mod retry;
mod tls;

pub use crate::message::{Body, PreparedRequest, Response};
pub use client::{Counters, HttpClient, Verdict};
pub use error::{HttpError, Origin};
pub use hosts::{HostPolicy, UrlOrigin, authority};
pub use retry::{BudgetSpent, RetryConfig};
pub(crate) use tls::read_tls;
