//! `POST /login` and the sessions it opens ([`LoginConfig`](super::LoginConfig)): the login
//! checks a user name and password, sets a session cookie and sends the session in a header
//! too; [`AuthMode::Session`](super::AuthMode::Session) data requests need that session.

use std::sync::atomic::Ordering::Relaxed;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderName};
use hyper::{Method, Request, StatusCode};

use super::data::mix64;
use super::json::push_str;
use super::state::{Reply, State, oauth_error, param};
use super::stats::inc;

const MAX_LOGIN_BODY: usize = 16 * 1024;

/// The header that carries the session besides the cookie.
pub(crate) const SESSION_HEADER: &str = "x-session-token";

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "sid";

fn refused(state: &State, description: &str) -> Reply {
    inc(&state.stats.login_failures);
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_credentials", description)
}

/// `POST /login`.
pub(crate) async fn login(state: &State, req: Request<Incoming>) -> Reply {
    let Some(config) = &state.config.login else {
        return Reply::error(StatusCode::NOT_FOUND, "not_found", "no such endpoint");
    };
    if req.method() != Method::POST {
        return oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "the login accepts POST only",
        )
        .header(header::ALLOW, "POST");
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    let body = match Limited::new(req.into_body(), MAX_LOGIN_BODY)
        .collect()
        .await
    {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(_) => return refused(state, "unreadable or too large body"),
    };
    let (user, password) = if json {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        (field("username"), field("password"))
    } else {
        (
            param(&body, "username").map(|v| v.into_owned()),
            param(&body, "password").map(|v| v.into_owned()),
        )
    };
    let (Some(user), Some(password)) = (user, password) else {
        return refused(state, "the login needs `username` and `password`");
    };
    if !config
        .accounts
        .iter()
        .any(|(u, p)| *u == user && *p == password)
    {
        return refused(state, "wrong user name or password");
    }
    let n = state.token_counter.fetch_add(1, Relaxed);
    let session = format!(
        "s{:016x}",
        mix64(state.token_seed ^ 0x5e55_1000 ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    );
    state
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(session.clone(), 0);
    inc(&state.stats.logins);
    let mut body = b"{\"ok\":true,\"user\":".to_vec();
    push_str(&mut body, &user);
    body.push(b'}');
    let reply = if config.redirect {
        Reply::json(StatusCode::SEE_OTHER, b"{}".to_vec()).header(header::LOCATION, "/")
    } else {
        Reply::json(StatusCode::OK, body)
    };
    let reply = if config.header_only {
        reply
    } else {
        reply.header(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"),
        )
    };
    reply
        .header(HeaderName::from_static(SESSION_HEADER), session)
        .header(header::CACHE_CONTROL, "no-store")
}

fn invalid_session(description: &str) -> Reply {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_session", description)
}

/// The session a request carries: its `sid` cookie, else its `X-Session-Token` header.
fn presented(req: &Request<Incoming>) -> Option<String> {
    let from_cookie = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == SESSION_COOKIE).then(|| v.to_string())
        });
    from_cookie.or_else(|| {
        req.headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    })
}

/// Checks the session of an `/api/*` request and counts the request against it.
pub(crate) fn check(state: &State, req: &Request<Incoming>) -> Result<(), Reply> {
    let Some(session) = presented(req) else {
        return Err(invalid_session("no session: log in with POST /login"));
    };
    let limit = state
        .config
        .login
        .as_ref()
        .and_then(|l| l.requests_per_session);
    let mut sessions = state.sessions.lock().unwrap_or_else(|e| e.into_inner());
    let Some(used) = sessions.get_mut(&session) else {
        return Err(invalid_session("unknown session"));
    };
    if limit.is_some_and(|l| *used >= l) {
        sessions.remove(&session);
        inc(&state.stats.sessions_expired);
        return Err(invalid_session("session expired"));
    }
    *used += 1;
    Ok(())
}
