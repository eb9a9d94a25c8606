//! A failure beyond the retry budget says where and what: operation, page, method, URL,
//! status, the start of the body; and never shows a secret.

mod common;

use common::*;
use wsc_engine::EngineError;
use wsc_testkit::synthetic::{AuthMode, FaultKind, Faults, TokenLocation};

const THREE_ATTEMPTS: &str = r#"http:
  retry: { max_attempts: 3, initial_backoff: 1ms, max_backoff: 2ms }
"#;

#[tokio::test]
async fn server_error_beyond_budget_is_described() {
    let cfg = config(95).with_faults(Faults::fail_first(1000, FaultKind::ServerError));
    let api = start(cfg).await;
    let yaml = users_connector(THREE_ATTEMPTS, &users_request("offset", 20, true, 4));
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    assert!(records.is_empty());
    let error = error.expect("the run must fail");
    assert_eq!(error.http_status(), Some(500));
    let text = error.to_string();
    let url = format!("{}/api/users/offset?offset=0&limit=20", api.base_url());
    for part in [
        "operation `account_aggregation`",
        "page 1",
        &format!("GET {url} failed with HTTP 500 after 3 attempt(s)"),
        r#"body: {"error":{"code":"internal","message":"synthetic fault: internal server error"}}"#,
    ] {
        assert!(text.contains(part), "`{part}` missing from: {text}");
    }
    assert!(!text.contains(TOKEN), "{text}");
    assert_eq!(api.stats().faults.server_error, 3);
    api.shutdown().await;
}

/// The failing page is named by its number, here a later page of a cursor run.
#[tokio::test]
async fn failure_on_a_later_page_names_that_page() {
    let faults = Faults {
        rate_500: 0.5,
        seed: LATER_PAGE_SEED,
        ..Faults::default()
    };
    let api = start(config(400).with_faults(faults)).await;
    let http = r#"http:
  retry: { max_attempts: 2, initial_backoff: 1ms, max_backoff: 2ms }
"#;
    let yaml = users_connector(http, &users_request("cursor", 10, false, 1));
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let error = error.expect("the run must fail");
    assert!(!records.is_empty() && records.len() < 400);
    let page = records.len() / 10 + 1;
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "operation `account_aggregation`, page {page}: GET "
        )),
        "{text}"
    );
    assert!(text.contains("/api/users/cursor?cursor="), "{text}");
    assert!(text.contains("HTTP 500 after 2 attempt(s)"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    api.shutdown().await;
}

/// A seed whose 500s let page 1 through and then hit a later page on both attempts.
const LATER_PAGE_SEED: u64 = 11;

/// An API key in the query string is never shown, neither in the URL nor anywhere else.
#[tokio::test]
async fn api_key_in_query_never_shown_in_errors() {
    let key = "qk-0b5e2d7a91c4";
    let cfg = config(30)
        .with_auth(AuthMode::ApiKey {
            location: TokenLocation::Query("api_key".into()),
            key: key.into(),
        })
        .with_faults(Faults::fail_first(1000, FaultKind::ServerError));
    let api = start(cfg).await;
    let yaml = users_connector(THREE_ATTEMPTS, &users_request("offset", 20, true, 4)).replace(
        r#"auth: { type: bearer, token: "{{settings.token}}" }"#,
        r#"auth: { type: api_key, in: query, name: api_key, key: "{{settings.token}}" }"#,
    );
    let engine = engine_with_token(&yaml, &api.base_url(), key);
    let error = aggregate(&engine, "account", None).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(!text.contains(key), "{text}");
    assert!(!format!("{error:?}").contains(key), "{error:?}");
    assert_eq!(api.stats().auth_failures, 0, "the key was accepted");
    api.shutdown().await;
}

/// Nothing listens: a transport error after the retries, naming the URL.
#[tokio::test]
async fn connection_refused_is_described() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let yaml = users_connector(THREE_ATTEMPTS, &users_request("offset", 20, true, 4));
    let engine = engine(&yaml, &base);
    let error = aggregate(&engine, "account", None).await.unwrap_err();
    assert!(
        matches!(&error, EngineError::Http(h) if matches!(**h, wsc_engine::http::HttpError::Transport { .. })),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "operation `account_aggregation`, page 1: GET {base}/api/users/offset?offset=0&limit=20 failed after 3 attempt(s): could not connect"
        )),
        "{text}"
    );
    assert_eq!(engine.summary().retries, 2);
}

/// A 404 is not retried and says what to check.
#[tokio::test]
async fn not_found_is_not_retried() {
    let api = start(config(10)).await;
    let yaml = users_connector(
        FAST_HTTP,
        &users_request("offset", 20, true, 4).replace("/users/offset", "/users/nowhere"),
    );
    let engine = engine(&yaml, &api.base_url());
    let error = aggregate(&engine, "account", None).await.unwrap_err();
    assert_eq!(error.http_status(), Some(404));
    assert!(error.to_string().contains("after 1 attempt(s)"), "{error}");
    assert_eq!(engine.summary().requests, 1);
    api.shutdown().await;
}
