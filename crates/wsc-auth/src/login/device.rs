//! The device authorization grant (RFC 8628): the device code, the prompt, the polling.

use std::time::{Duration, Instant};

use serde_json::Value;
use wsc_spec::model::Grant;

use super::error::{LoginError, human, oauth2};
use crate::error::AuthError;
use crate::manager::TokenManager;
use crate::token::{RawResponse, RequestPurpose, TokenSet, now_ms, read_response};

/// How much RFC 8628 §3.5 says to add to the polling interval on `slow_down`.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The polling interval when the device authorization response names none (RFC 8628 §3.2).
pub const DEFAULT_DEVICE_INTERVAL: Duration = Duration::from_secs(5);

/// Failed polls in a row (no answer from the token endpoint) before the device sign-in gives up.
const MAX_TRANSPORT_FAILURES: u32 = 3;

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
    fn device_responses() {
        let r = |status: u16, body: &str| RawResponse {
            status,
            content_type: "application/json".into(),
            headers: Vec::new(),
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
}
