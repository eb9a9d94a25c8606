//! Session logins through `auth.custom`: the synthetic API's `POST /login` sets a session
//! cookie (and sends the session in a header), its sessions end after a few requests, and
//! the engine keeps the cookie, logs in again on the 401 of an ended session and loses no
//! record. Real loopback HTTP, the engine's own token manager.

mod common;
use common::*;

use std::collections::HashSet;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;
use wsc_engine::{Engine, RunContext};
use wsc_testkit::synthetic::{AuthMode, LoginConfig, SyntheticApi, SyntheticConfig};

const USER: &str = "svc-reader";
const PASSWORD: &str = "svc-pass-8Hq2vLw";
const USERS: usize = 95;

/// A connector logging in at `/login` with `auth` (the lines under `auth:`), aggregating
/// every user 10 at a time, one page after the other.
fn connector(auth: &str) -> String {
    format!(
        r#"connector: sessions
settings:
  base_url: {{}}
  username: {{}}
  password: {{ secret: true }}
base_url: "{{{{settings.base_url}}}}/api"
auth:
  type: custom
{auth}
operations:
  test_connection:
    request: {{ path: /me }}
  account_aggregation:
    request:
      path: /users/offset
      query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
    paging: {{ kind: offset, limit: 10, total: "$.total", concurrency: 1 }}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
"#
    )
}

/// The login request, with `extra` lines under `request:`.
fn login(extra: &str) -> String {
    format!(
        r#"  request:
    url: "{{{{settings.base_url}}}}/login"
    form: {{ username: "{{{{settings.username}}}}", password: "{{{{settings.password}}}}" }}
{extra}"#
    )
}

async fn api(login: LoginConfig) -> SyntheticApi {
    start(
        SyntheticConfig::new(USERS)
            .with_auth(AuthMode::Session)
            .with_login(login),
    )
    .await
}

fn accounts() -> LoginConfig {
    LoginConfig::new([(USER, PASSWORD)])
}

/// An engine with the managed token of `yaml` (no state store), and `password`.
fn engine(yaml: &str, base_url: &str, password: &str) -> Engine {
    let loaded = load(yaml);
    let explicit: IndexMap<String, Value> = [
        ("base_url", base_url),
        ("username", USER),
        ("password", password),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
    .collect();
    let settings =
        wsc_engine::settings::resolve(&loaded.connector, &explicit, &IndexMap::new(), &|_| None)
            .unwrap();
    let auth: Arc<dyn wsc_auth::Authenticator> =
        wsc_engine::authenticator(&loaded, &settings, None).unwrap();
    Engine::new(&loaded, &settings, auth, RunContext::default()).unwrap()
}

/// Every user id, exactly once.
fn assert_complete(records: &[wsc_engine::Record]) {
    let ids: HashSet<&str> = records.iter().map(|r| r.identity.as_str()).collect();
    assert_eq!(records.len(), USERS);
    assert_eq!(ids.len(), USERS);
}

#[tokio::test]
async fn the_login_cookie_is_kept_and_an_ended_session_is_renewed() {
    let api = api(accounts().with_requests_per_session(3)).await;
    let yaml = connector(&format!("  credential: cookies\n{}", login("")));
    let e = engine(&yaml, &api.base_url(), PASSWORD);
    let records = aggregate(&e, "account", None).await.unwrap();
    assert_complete(&records);
    let s = api.stats();
    // 10 pages, 3 requests per session: a login, then one more after each ended session.
    assert_eq!(s.logins, 4, "{s:?}");
    assert_eq!(s.sessions_expired, 3, "{s:?}");
    // Every 401 was an ended session, renewed once and retried: none was lost.
    assert_eq!(s.auth_failures, s.sessions_expired, "{s:?}");
    assert_eq!(e.summary().token_requests, 4);
}

#[tokio::test]
async fn cookies_also_go_with_a_token_and_a_token_can_come_in_a_header() {
    // The login sends the session in a header only: mapped with `access_token_header`,
    // placed in the same header.
    let api = api(accounts().with_header_only()).await;
    let yaml = connector(&format!(
        "{}    response: {{ access_token_header: X-Session-Token }}\n  token: {{ name: X-Session-Token, prefix: \"\" }}\n",
        login("")
    ));
    let e = engine(&yaml, &api.base_url(), PASSWORD);
    assert_complete(&aggregate(&e, "account", None).await.unwrap());
    assert_eq!(api.stats().logins, 1);
    assert_eq!(api.stats().auth_failures, 0);

    // With a cookie as well, a token-credential login still sends the cookie: the session
    // works though the connector places the token in a header the API ignores.
    let api = api_with_cookie().await;
    let yaml = connector(&format!(
        "{}    response: {{ access_token_header: X-Session-Token }}\n  token: {{ name: X-Ignored, prefix: \"\" }}\n",
        login("")
    ));
    let e = engine(&yaml, &api.base_url(), PASSWORD);
    assert_complete(&aggregate(&e, "account", None).await.unwrap());
    assert_eq!(api.stats().auth_failures, 0);
}

async fn api_with_cookie() -> SyntheticApi {
    api(accounts()).await
}

#[tokio::test]
async fn a_header_the_login_does_not_send_is_a_clear_error() {
    let api = api(accounts()).await;
    let yaml = connector(&format!(
        "{}    response: {{ access_token_header: X-Auth-Token }}\n",
        login("")
    ));
    let e = engine(&yaml, &api.base_url(), PASSWORD);
    let err = e.test_connection().await.unwrap_err().to_string();
    assert!(
        err.contains("no `X-Auth-Token` header") && err.contains("x-session-token"),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");
}

#[tokio::test]
async fn a_form_login_that_redirects_needs_its_status_in_success() {
    let api = api(accounts().with_redirect()).await;
    let yaml = connector(&format!("  credential: cookies\n{}", login("")));
    let err = engine(&yaml, &api.base_url(), PASSWORD)
        .test_connection()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 303") && err.contains("redirect to `/`") && err.contains("success"),
        "{err}"
    );
    let yaml = connector(&format!(
        "  credential: cookies\n{}",
        login("    success: [200, 303]\n")
    ));
    let e = engine(&yaml, &api.base_url(), PASSWORD);
    assert_complete(&aggregate(&e, "account", None).await.unwrap());
    assert_eq!(api.stats().logins, 2);
}

#[tokio::test]
async fn a_wrong_password_fails_the_login_and_is_never_shown() {
    let api = api(accounts()).await;
    let yaml = connector(&format!("  credential: cookies\n{}", login("")));
    let wrong = "wrong-pass-Zr81xQ";
    let err = engine(&yaml, &api.base_url(), wrong)
        .test_connection()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid_credentials") && err.contains("HTTP 401"),
        "{err}"
    );
    assert!(!err.contains(wrong), "{err}");
    assert_eq!(api.stats().logins, 0);
}

#[tokio::test]
async fn a_credential_the_api_does_not_read_fails_after_one_new_login_with_a_hint() {
    // The login sends its session in a header only; the connector puts it in another one.
    let api = api(accounts().with_header_only()).await;
    let yaml = connector(&format!(
        "{}    response: {{ access_token_header: X-Session-Token }}\n  token: {{ name: X-Ignored, prefix: \"\" }}\n",
        login("")
    ));
    let err = engine(&yaml, &api.base_url(), PASSWORD)
        .test_connection()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 401")
            && err.contains("still answers 401")
            && err.contains("`token: { in, name, prefix }`"),
        "{err}"
    );
    // One login, one new login after the first 401, and no more.
    assert_eq!(api.stats().logins, 2);
}
