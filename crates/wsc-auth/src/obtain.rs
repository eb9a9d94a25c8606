//! Obtaining a new token: one token request sent and its response read the way its flow
//! says, and the choice between a refresh and the configured grant (or a custom login).

use std::sync::atomic::Ordering;

use wsc_spec::model::{Credential, CustomTokenRequest};

use crate::error::AuthError;
use crate::flow::{CustomFlow, OAuth2Flow};
use crate::manager::{Flow, TokenManager};
use crate::request::TokenHttpRequest;
use crate::token::{Obtained, Reading, RequestPurpose, TokenSet, now_ms, read};

impl Flow {
    /// How the response of `purpose`'s request is read: the OAuth2 token response mapping,
    /// or a custom request's own mapping, success statuses and cookies.
    pub(crate) fn reading<'a>(
        &'a self,
        purpose: RequestPurpose,
        custom: Option<&'a CustomTokenRequest>,
    ) -> Reading<'a> {
        let grant = self.grant_name();
        match (self, custom) {
            (Flow::OAuth2(f), None) => Reading {
                mapping: &f.spec.token_response,
                purpose,
                grant,
                success: None,
                cookies: false,
                cookies_only: false,
            },
            // An oauth2 `custom_refresh`: its own mapping and statuses; cookies of a token
            // endpoint are not the API's.
            (Flow::OAuth2(_), Some(r)) => Reading {
                mapping: &r.response,
                purpose,
                grant,
                success: r.success.as_deref(),
                cookies: false,
                cookies_only: false,
            },
            (Flow::Custom(c), r) => {
                let r = r.unwrap_or(&c.spec.request);
                Reading {
                    mapping: &r.response,
                    purpose,
                    grant,
                    success: r.success.as_deref(),
                    cookies: true,
                    cookies_only: c.spec.credential == Credential::Cookies,
                }
            }
        }
    }
}

impl TokenManager {
    /// Sends one token request and reads its answer as `how` says; the token records that
    /// it was `obtained` so.
    pub(crate) async fn exchange(
        &self,
        req: TokenHttpRequest,
        how: &Reading<'_>,
        obtained: Obtained,
    ) -> Result<TokenSet, AuthError> {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(request = ?req, purpose = ?how.purpose, "token request");
        let resp = self.sender.send(req).await?;
        let mut token = read(&resp, how, now_ms())?;
        token.obtained = Some(obtained);
        Ok(token)
    }

    /// Logs that a token was obtained (after it is stored, so the log line is not in the way
    /// of storing a rotated refresh token).
    pub(crate) fn log_obtained(&self, token: &TokenSet) {
        let how = match &token.obtained {
            Some(Obtained::Refresh(r)) => format!("refresh ({r})"),
            Some(Obtained::Grant(g)) => format!("grant ({g})"),
            None => "unknown".into(),
        };
        tracing::info!(
            grant = self.flow.grant_name(),
            obtained_by = %how,
            expires_in_s = token.expires_at_ms.saturating_sub(token.obtained_at_ms) / 1000,
            with_refresh_token = token.refresh_token.is_some(),
            "token obtained"
        );
    }

    /// Obtains a new token: refresh with the held refresh token when there is one (falling
    /// back to the primary grant on invalid_grant), else the configured grant.
    pub(crate) async fn obtain(&self, base: Option<&TokenSet>) -> Result<TokenSet, AuthError> {
        let mut new = match &self.flow {
            Flow::OAuth2(f) => self.obtain_oauth2(f, base).await?,
            Flow::Custom(c) => self.obtain_custom(c, base).await?,
        };
        new.keep_refresh_token_of(base);
        Ok(new)
    }

    async fn obtain_oauth2(
        &self,
        f: &OAuth2Flow,
        base: Option<&TokenSet>,
    ) -> Result<TokenSet, AuthError> {
        let spec = &f.spec;
        let held = base.and_then(|b| b.refresh_token.clone());
        let refresh = held.or_else(|| f.seed_refresh_token());
        if let Some(rt) = refresh {
            let (req, custom, with) = match &spec.custom_refresh {
                Some(cr) => (
                    f.custom_refresh_request(cr, &rt)?,
                    Some(cr),
                    "custom_refresh",
                ),
                None => (f.refresh_request(&rt)?, None, "refresh_token"),
            };
            let how = self.flow.reading(RequestPurpose::Refresh, custom);
            match self
                .exchange(req, &how, Obtained::Refresh(with.into()))
                .await
            {
                Ok(t) => return Ok(t),
                Err(e) if e.oauth_error() == Some("invalid_grant") && f.has_primary() => {
                    tracing::warn!(
                        "the refresh token was refused (invalid_grant); getting a new token with the {} grant",
                        f.grant().name()
                    );
                }
                Err(e) => return Err(e),
            }
        }
        if !f.has_primary() {
            return Err(no_refresh_token(f));
        }
        let how = self.flow.reading(RequestPurpose::Primary, None);
        self.exchange(
            f.primary_request()?,
            &how,
            Obtained::Grant(f.grant().name().into()),
        )
        .await
    }

    async fn obtain_custom(
        &self,
        c: &CustomFlow,
        base: Option<&TokenSet>,
    ) -> Result<TokenSet, AuthError> {
        if let Some(rt) = base.and_then(|b| b.refresh_token.as_ref())
            && let Some(req) = c.refresh_request(rt)
        {
            let how = self
                .flow
                .reading(RequestPurpose::Refresh, c.spec.refresh_request.as_ref());
            match self
                .exchange(req?, &how, Obtained::Refresh("refresh_request".into()))
                .await
            {
                Ok(mut t) => {
                    // A refresh keeps the session cookies it does not set again.
                    t.keep_cookies_of(base);
                    if how.cookies_only
                        && let Some(c) = &t.cookies
                    {
                        t.access_token = c.clone();
                    }
                    return Ok(t);
                }
                Err(e @ AuthError::TokenRequest { .. }) => {
                    tracing::warn!("the custom refresh request failed ({e}); logging in again");
                }
                Err(e) => return Err(e),
            }
        }
        let how = self.flow.reading(RequestPurpose::Primary, None);
        self.exchange(c.login_request()?, &how, Obtained::Grant("custom".into()))
            .await
    }
}

fn no_refresh_token(f: &OAuth2Flow) -> AuthError {
    let grant = f.grant().name();
    let how = match f.grant() {
        wsc_spec::model::Grant::RefreshToken => {
            "set the setting `auth.refresh_token` names (for example `--set refresh_token=...` or WSC_REFRESH_TOKEN) to a refresh token issued for this client, or switch to `grant: authorization_code` and run `wsc auth login CONNECTOR`; once wsc holds one, it keeps every rotated refresh token in the state store"
        }
        _ => {
            "run `wsc auth login CONNECTOR` to sign in; wsc then keeps the tokens in the state store and refreshes them"
        }
    };
    AuthError::NoToken {
        message: format!("the {grant} grant is configured and no refresh token is held"),
        hint: how.to_string(),
    }
}
