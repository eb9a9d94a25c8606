//! The authorization_code sign-in: authorize URL with `state` and PKCE, the redirect, the
//! code exchange.

use std::time::{Duration, Instant};

use url::Url;
use wsc_spec::model::Grant;

use super::error::{LoginError, oauth2};
use super::loopback::{Loopback, constant_time_eq, redirect_target};
use crate::error::AuthError;
use crate::manager::TokenManager;
use crate::pkce::{Pkce, random_token};
use crate::token::TokenSet;

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
