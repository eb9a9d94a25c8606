//! Authentication of data requests and the OAuth2 token endpoint.

use std::time::Instant;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderName};
use hyper::{Method, Request, StatusCode};

use super::data::mix64;
use super::json::{push_str, push_u64};
use super::state::{Reply, State, oauth_error, param};
use super::stats::inc;
use super::{AuthMode, ExpiresInStyle, TokenLocation};

const MAX_TOKEN_BODY: usize = 64 * 1024;

fn invalid_token(description: &str) -> Reply {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", description).header(
        header::WWW_AUTHENTICATE,
        format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
    )
}

/// Decodes standard base64 (padding optional).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// The value after `scheme ` in the `Authorization` header (scheme compared case-insensitively).
fn authorization<'a>(req: &'a Request<Incoming>, scheme: &str) -> Option<&'a str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (s, rest) = value.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// HTTP Basic credentials: `None` without a Basic header, `Some(Err(()))` when it is malformed.
/// With `form_decode`, user and password are form-urldecoded (RFC 6749 §2.3.1).
fn basic_credentials(
    req: &Request<Incoming>,
    form_decode: bool,
) -> Option<Result<(String, String), ()>> {
    let encoded = authorization(req, "Basic")?;
    let decoded = base64_decode(encoded).and_then(|b| String::from_utf8(b).ok());
    let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Some(Err(()));
    };
    Some(Ok(if form_decode {
        (
            super::state::percent_decode(user, true).into_owned(),
            super::state::percent_decode(pass, true).into_owned(),
        )
    } else {
        (user.to_owned(), pass.to_owned())
    }))
}

/// The token or key a data request carries at `location`.
fn presented(req: &Request<Incoming>, location: &TokenLocation) -> Option<String> {
    match location {
        TokenLocation::AuthorizationBearer => authorization(req, "Bearer").map(str::to_owned),
        TokenLocation::Header(name) => req
            .headers()
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned()),
        TokenLocation::Query(name) => {
            param(req.uri().query().unwrap_or(""), name).map(|v| v.into_owned())
        }
    }
}

/// Checks the credentials of an `/api/*` request; the error is the 401 to send.
pub(crate) fn check(state: &State, req: &Request<Incoming>) -> Result<(), Reply> {
    match &state.config.auth {
        AuthMode::None => Ok(()),
        AuthMode::Bearer(token) => match authorization(req, "Bearer") {
            Some(t) if t == token => Ok(()),
            Some(_) => Err(invalid_token("unknown bearer token")),
            None => Err(invalid_token("missing bearer token")),
        },
        AuthMode::Basic { username, password } => match basic_credentials(req, false) {
            Some(Ok((u, p))) if &u == username && &p == password => Ok(()),
            _ => Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "missing or wrong Basic credentials",
            )
            .header(header::WWW_AUTHENTICATE, "Basic realm=\"synthetic\"")),
        },
        AuthMode::ApiKey { location, key } => match presented(req, location) {
            Some(k) if &k == key => Ok(()),
            Some(_) => Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "wrong API key",
            )),
            None => Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "missing API key",
            )),
        },
        AuthMode::Session => super::session::check(state, req),
        AuthMode::OAuth2(oauth) => {
            let Some(token) = presented(req, &oauth.quirks.token_location) else {
                return Err(invalid_token("missing access token"));
            };
            let expiry = state
                .tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&token)
                .copied();
            match expiry {
                Some(exp) if Instant::now() < exp => Ok(()),
                Some(_) => Err(invalid_token("access token expired")),
                None => Err(invalid_token("unknown access token")),
            }
        }
    }
}

/// `POST /oauth/token`: the client-credentials grant.
pub(crate) async fn token_endpoint(state: &State, req: Request<Incoming>) -> Reply {
    inc(&state.stats.token_requests);
    let AuthMode::OAuth2(oauth) = &state.config.auth else {
        return Reply::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "the token endpoint exists only in OAuth2 mode",
        );
    };
    if req.method() != Method::POST {
        return oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "the token endpoint accepts POST only",
        )
        .header(header::ALLOW, "POST");
    }
    for (name, value) in &oauth.quirks.required_headers {
        let Ok(name) = HeaderName::try_from(name.as_str()) else {
            continue;
        };
        if req.headers().get(&name).and_then(|v| v.to_str().ok()) != Some(value.as_str()) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("missing or wrong {name} header"),
            );
        }
    }
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE)
        && !ct
            .to_str()
            .unwrap_or("")
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let basic = basic_credentials(&req, true);
    let form = match Limited::new(req.into_body(), MAX_TOKEN_BODY)
        .collect()
        .await
    {
        Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        Err(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unreadable or too large body",
            );
        }
    };
    match param(&form, "grant_type") {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "missing grant_type",
            );
        }
        Some(g) if g == "refresh_token" && oauth.rotating_refresh.is_some() => {}
        Some(g) if g != "client_credentials" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant type {g:?} is not supported; use client_credentials"),
            );
        }
        Some(_) => {}
    }
    let refreshing = param(&form, "grant_type").as_deref() == Some("refresh_token");
    let used_basic = basic.is_some();
    let (client_id, client_secret) = match basic {
        Some(Ok(pair)) => pair,
        Some(Err(())) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "malformed Basic client credentials",
            )
            .header(header::WWW_AUTHENTICATE, "Basic realm=\"synthetic\"");
        }
        None => match param(&form, "client_id") {
            Some(id) => (
                id.into_owned(),
                param(&form, "client_secret")
                    .map(|s| s.into_owned())
                    .unwrap_or_default(),
            ),
            None => {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "no client authentication (use HTTP Basic or client_id/client_secret)",
                );
            }
        },
    };
    if client_id != oauth.client_id || client_secret != oauth.client_secret {
        let reply = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong client secret",
        );
        return if used_basic {
            reply.header(header::WWW_AUTHENTICATE, "Basic realm=\"synthetic\"")
        } else {
            reply
        };
    }

    let n = state
        .token_counter
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let new_refresh = if refreshing {
        match rotate(state, param(&form, "refresh_token").as_deref(), n) {
            Ok(rt) => Some(rt),
            Err(reply) => return reply,
        }
    } else {
        None
    };
    let token = format!(
        "{:016x}{:016x}",
        mix64(state.token_seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        mix64(state.token_seed.rotate_left(29) ^ n)
    );
    let now = Instant::now();
    {
        let mut tokens = state.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.len() >= 4096 {
            tokens.retain(|_, exp| *exp > now);
        }
        tokens.insert(token.clone(), now + oauth.token_lifetime);
    }
    inc(&state.stats.tokens_issued);

    let lifetime = oauth.token_lifetime;
    let expires_in = lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0);
    let mut body = Vec::with_capacity(128);
    body.extend_from_slice(b"{\"access_token\":\"");
    body.extend_from_slice(token.as_bytes());
    body.extend_from_slice(b"\",\"token_type\":");
    push_str(&mut body, &oauth.quirks.token_type);
    match oauth.quirks.expires_in {
        ExpiresInStyle::Number => {
            body.extend_from_slice(b",\"expires_in\":");
            push_u64(&mut body, expires_in);
        }
        ExpiresInStyle::String => {
            body.extend_from_slice(b",\"expires_in\":\"");
            push_u64(&mut body, expires_in);
            body.push(b'"');
        }
        ExpiresInStyle::Omitted => {}
    }
    if let Some(rt) = &new_refresh {
        body.extend_from_slice(b",\"refresh_token\":");
        push_str(&mut body, rt);
    }
    if let Some(scope) = param(&form, "scope") {
        body.extend_from_slice(b",\"scope\":");
        push_str(&mut body, &scope);
    }
    body.push(b'}');
    Reply::json(StatusCode::OK, body)
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::PRAGMA, "no-cache")
}

/// Spends the presented refresh token of the rotating grant and returns its successor; a
/// spent token presented again revokes the grant (and every access token issued).
fn rotate(state: &State, presented: Option<&str>, n: u64) -> Result<String, Reply> {
    inc(&state.stats.refresh_requests);
    let invalid = |description: &str| {
        inc(&state.stats.invalid_grants);
        Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            description,
        ))
    };
    let Some(presented) = presented else {
        return invalid("missing refresh_token");
    };
    let mut grant = state.grant.lock().unwrap_or_else(|e| e.into_inner());
    if grant.revoked {
        return invalid("the grant was revoked after a refresh token was reused");
    }
    if grant.current.as_deref() == Some(presented) {
        let next = format!(
            "rt{:016x}",
            mix64(state.token_seed ^ 0x5eed_0f2e_f2e5 ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d))
        );
        grant.spent.insert(presented.to_string());
        grant.current = Some(next.clone());
        return Ok(next);
    }
    if grant.spent.contains(presented) {
        grant.revoked = true;
        grant.current = None;
        inc(&state.stats.grants_revoked);
        state
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        return invalid("refresh token reuse detected: the grant is revoked");
    }
    invalid("unknown refresh token")
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("YTpi").unwrap(), b"a:b");
        assert_eq!(base64_decode("Pz8-").map(|_| ()), None);
    }
}
