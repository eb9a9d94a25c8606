//! Why a sign-in did not complete, and helpers shared by both sign-ins.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::AuthError;
use crate::flow::OAuth2Flow;
use crate::manager::{Flow, TokenManager};

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
pub(super) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, 0) => format!("{}ms", d.as_millis()),
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

/// The OAuth2 flow of the manager: a custom flow has no interactive sign-in.
pub(super) fn oauth2(manager: &TokenManager) -> Result<&OAuth2Flow, LoginError> {
    match manager.flow() {
        Flow::OAuth2(f) => Ok(f),
        Flow::Custom(_) => Err(LoginError::NotInteractive { grant: "custom" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
    }
}
