//! What the next run will do about its token, from the token held in the store: the same
//! choices [`TokenManager::refresh`] makes, told ahead (`wsc auth status`).

use crate::manager::{Flow, TokenManager};
use crate::token::TokenSet;

/// How the next run gets a token once it needs a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Refreshes with the refresh token held: `with` is `refresh_token` (the OAuth2 grant),
    /// `custom_refresh` or `refresh_request`.
    Refresh {
        /// The refresh request used.
        with: &'static str,
    },
    /// Refreshes with the refresh token `auth.refresh_token` renders (normally a setting).
    RefreshWithSeed,
    /// Obtains a new token with the configured grant, without a user.
    Obtain {
        /// The grant.
        grant: &'static str,
    },
    /// Logs in with the custom flow's `request`.
    Login,
    /// Cannot get one without a sign-in first (`wsc auth login`).
    SignIn {
        /// The grant that needs it.
        grant: &'static str,
    },
    /// The refresh_token grant with no refresh token held nor configured.
    NoRefreshToken,
}

/// The next run's token, as far as the store tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRun {
    /// The stored token is used until then (ms since the epoch); `None`: it is not usable
    /// (none stored, expired, or within the refresh skew of its expiry).
    pub uses_until_ms: Option<u64>,
    /// Then (or at once) the next run does this.
    pub then: NextStep,
    /// The held refresh token expired then (the server said when), so it is not used.
    pub refresh_expired_at_ms: Option<u64>,
}

impl TokenManager {
    /// What the next run does with `stored` (the token in the store, if any) at `now_ms`.
    pub fn next_run(&self, stored: Option<&TokenSet>, now_ms: u64) -> NextRun {
        let uses_until_ms = stored.filter(|t| !t.is_stale(now_ms, self.skew)).map(|t| {
            let life = t.expires_at_ms.saturating_sub(t.obtained_at_ms);
            t.expires_at_ms
                .saturating_sub((self.skew.as_millis() as u64).min(life / 2))
        });
        let held = stored.and_then(|t| t.refresh_token.as_ref().map(|_| t));
        let refresh_expired_at_ms = held
            .and_then(|t| t.refresh_expires_at_ms)
            .filter(|at| *at <= now_ms);
        let usable = held.is_some() && refresh_expired_at_ms.is_none();
        let then = match &self.flow {
            Flow::OAuth2(f) => {
                let primary = f.has_primary();
                let grant = f.grant().name();
                if usable {
                    NextStep::Refresh {
                        with: if f.spec.custom_refresh.is_some() {
                            "custom_refresh"
                        } else {
                            "refresh_token"
                        },
                    }
                } else if held.is_none() && f.seed_refresh_token().is_some() {
                    // The seed is tried only when no refresh token is held: an expired one
                    // held is tried (and refused) instead.
                    NextStep::RefreshWithSeed
                } else if primary {
                    NextStep::Obtain { grant }
                } else if f.grant() == wsc_spec::model::Grant::RefreshToken {
                    NextStep::NoRefreshToken
                } else {
                    NextStep::SignIn { grant }
                }
            }
            Flow::Custom(c) => {
                if usable && c.spec.refresh_request.is_some() {
                    NextStep::Refresh {
                        with: "refresh_request",
                    }
                } else {
                    NextStep::Login
                }
            }
        };
        NextRun {
            uses_until_ms,
            then,
            refresh_expired_at_ms,
        }
    }
}
