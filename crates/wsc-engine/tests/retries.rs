//! Transient faults are retried and the run still yields the complete record set; a 2xx body
//! that is not JSON, or that reports an error, is retried and otherwise fails the run (never a
//! short, successful result).

mod common;

use common::*;
use wsc_engine::EngineError;
use wsc_testkit::synthetic::{FaultKind, Faults, RetryAfter, SyntheticConfig};

/// `http.errors`: an `error` object in a 2xx body is an error, reported with its message.
fn http_with_error_rule(retry: bool, max_attempts: u32) -> String {
    format!(
        r#"http:
  retry: {{ max_attempts: {max_attempts}, initial_backoff: 1ms, max_backoff: 5ms, max_retry_after: 5ms }}
  errors:
    - {{ path: "$.error", message: "$.error.message", retry: {retry} }}
"#
    )
}

/// Runs offset paging with a known total over `cfg`; the first request is page 1 alone, so
/// `fail_first` faults all hit it.
async fn run_offset(
    cfg: &SyntheticConfig,
    http: &str,
) -> (
    Vec<wsc_engine::Record>,
    Option<EngineError>,
    wsc_engine::Summary,
    wsc_testkit::synthetic::StatsSnapshot,
) {
    let api = start(cfg.clone()).await;
    let yaml = users_connector(http, &users_request("offset", 20, true, 4));
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let stats = api.stats();
    api.shutdown().await;
    assert_users_if_ok(&engine, &records, cfg, &error);
    (records, error, engine.summary(), stats)
}

fn assert_users_if_ok(
    engine: &wsc_engine::Engine,
    records: &[wsc_engine::Record],
    cfg: &SyntheticConfig,
    error: &Option<EngineError>,
) {
    if error.is_none() {
        assert_users(engine, records, cfg, cfg.users);
    }
}

#[tokio::test]
async fn too_many_requests_with_retry_after_seconds() {
    let mut faults = Faults::fail_first(3, FaultKind::TooManyRequests);
    faults.retry_after = RetryAfter::Seconds(1);
    let cfg = config(95).with_faults(faults);
    let (records, error, summary, stats) = run_offset(&cfg, FAST_HTTP).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(records.len(), 95);
    assert_eq!(stats.faults.too_many_requests, 3);
    assert_eq!(summary.retries, 3);
    assert_eq!(stats.data_requests, 5 + 3);
}

#[tokio::test]
async fn too_many_requests_with_retry_after_http_date() {
    let mut faults = Faults::fail_first(3, FaultKind::TooManyRequests);
    faults.retry_after = RetryAfter::HttpDate(1);
    let cfg = config(95).with_faults(faults);
    let (records, error, summary, stats) = run_offset(&cfg, FAST_HTTP).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(records.len(), 95);
    assert_eq!(stats.faults.too_many_requests, 3);
    assert_eq!(summary.retries, 3);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let cfg = config(95).with_faults(Faults::fail_first(3, FaultKind::ServerError));
    let (records, error, summary, stats) = run_offset(&cfg, FAST_HTTP).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(records.len(), 95);
    assert_eq!(stats.faults.server_error, 3);
    assert_eq!(summary.retries, 3);
    assert_eq!(summary.requests, 5 + 3);
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let cfg = config(95).with_faults(Faults::fail_first(3, FaultKind::Reset));
    let (records, error, summary, stats) = run_offset(&cfg, FAST_HTTP).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(records.len(), 95);
    assert_eq!(stats.faults.reset, 3);
    assert!(summary.retries > 0, "{summary:?}");
}

#[tokio::test]
async fn truncated_body_is_retried() {
    let cfg = config(95).with_faults(Faults::fail_first(2, FaultKind::Malformed));
    let (records, error, summary, stats) = run_offset(&cfg, FAST_HTTP).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(records.len(), 95);
    assert_eq!(stats.faults.malformed, 2);
    assert_eq!(summary.retries, 2);
}

/// Every fault kind at once, drawn from a fixed seed, over sequential cursor paging (one
/// request at a time, so which request gets which fault is deterministic).
#[tokio::test]
async fn mixed_faults_with_a_fixed_seed() {
    let faults = Faults {
        rate_429: 0.08,
        retry_after: RetryAfter::Seconds(1),
        rate_500: 0.08,
        rate_reset: 0.08,
        rate_malformed: 0.08,
        rate_error_in_body: 0.08,
        seed: 2024,
        ..Faults::default()
    };
    let cfg = config(400).with_faults(faults);
    let api = start(cfg.clone()).await;
    let yaml = users_connector(
        &http_with_error_rule(true, 8),
        &users_request("cursor", 10, false, 1),
    );
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &records, &cfg, 400);
    let f = api.stats().faults;
    assert!(f.too_many_requests > 0, "{f:?}");
    assert!(f.server_error > 0, "{f:?}");
    assert!(f.reset > 0, "{f:?}");
    assert!(f.malformed > 0, "{f:?}");
    assert!(f.error_in_body > 0, "{f:?}");
    let injected = f.too_many_requests + f.server_error + f.reset + f.malformed + f.error_in_body;
    let summary = engine.summary();
    assert!(
        summary.retries > 0 && summary.retries <= injected,
        "{summary:?} {f:?}"
    );
    api.shutdown().await;
}

/// A body that stays truncated beyond `max_attempts` fails the run on page 1.
#[tokio::test]
async fn truncated_body_beyond_max_attempts_fails() {
    let cfg = config(95).with_faults(Faults::fail_first(1000, FaultKind::Malformed));
    let (records, error, summary, stats) = run_offset(&cfg, FAST_HTTP).await;
    let error = error.expect("the run must fail");
    assert!(records.is_empty());
    let text = error.to_string();
    assert!(text.contains("not valid JSON"), "{text}");
    assert!(text.contains("after 4 attempt(s)"), "{text}");
    assert!(text.contains("page 1"), "{text}");
    assert_eq!(stats.faults.malformed, 4);
    assert_eq!(summary.retries, 3);
}

/// Truncated bodies from a fixed seed, two attempts per page: some pages get through, then
/// one page stays truncated twice in a row. The run fails after having emitted records:
/// never a short, successful result.
#[tokio::test]
async fn truncated_body_mid_run_fails_the_run() {
    let faults = Faults {
        rate_malformed: 0.5,
        seed: MID_RUN_SEED,
        ..Faults::default()
    };
    let cfg = config(400).with_faults(faults);
    let api = start(cfg.clone()).await;
    let http = r#"http:
  retry: { max_attempts: 2, initial_backoff: 1ms, max_backoff: 2ms }
"#;
    let yaml = users_connector(http, &users_request("cursor", 10, false, 1));
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let error = error.expect("the run must fail");
    assert!(!records.is_empty(), "the failure should come after page 1");
    assert!(records.len() < 400);
    assert_eq!(records.len() % 10, 0, "whole pages only");
    assert_user_range(&engine, &records, &cfg, 0..records.len());
    let text = error.to_string();
    assert!(text.contains("not valid JSON"), "{text}");
    let page = records.len() / 10 + 1;
    assert!(text.contains(&format!("page {page}")), "{text}");
    api.shutdown().await;
}

/// A seed whose malformed-body faults let the first pages through and then hit one page on
/// both of its attempts.
const MID_RUN_SEED: u64 = 11;

#[tokio::test]
async fn error_in_body_fails_with_the_api_message() {
    let cfg = config(95).with_faults(Faults::fail_first(1, FaultKind::ErrorInBody));
    let (records, error, _, stats) = run_offset(&cfg, &http_with_error_rule(false, 4)).await;
    let error = error.expect("an error object in a 200 body must fail the run");
    assert!(records.is_empty());
    assert!(
        matches!(error, EngineError::InBody { status: 200, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("synthetic fault: error object in a 200 response"),
        "{text}"
    );
    assert!(text.contains("operation `account_aggregation`"), "{text}");
    assert_eq!(stats.faults.error_in_body, 1);
}

#[tokio::test]
async fn error_in_body_with_retry_recovers() {
    let cfg = config(95).with_faults(Faults::fail_first(2, FaultKind::ErrorInBody));
    let (records, error, summary, stats) = run_offset(&cfg, &http_with_error_rule(true, 4)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(records.len(), 95);
    assert_eq!(stats.faults.error_in_body, 2);
    assert_eq!(summary.retries, 2);
}

#[tokio::test]
async fn error_in_body_with_retry_beyond_max_attempts_fails() {
    let cfg = config(95).with_faults(Faults::fail_first(1000, FaultKind::ErrorInBody));
    let (records, error, summary, stats) = run_offset(&cfg, &http_with_error_rule(true, 3)).await;
    let error = error.expect("the run must fail");
    assert!(records.is_empty());
    assert!(
        error
            .to_string()
            .contains("synthetic fault: error object in a 200 response"),
        "{error}"
    );
    assert_eq!(stats.faults.error_in_body, 3);
    assert_eq!(summary.retries, 2);
}

/// Status retries and body retries share one limit: `max_attempts` is the number of
/// requests for a page in all, whatever mix of 500s and truncated bodies the API sends.
#[tokio::test]
async fn status_and_body_faults_share_max_attempts() {
    let (mut recovered, mut failed) = (0, 0);
    for seed in 0..20 {
        let faults = Faults {
            rate_500: 0.45,
            rate_malformed: 0.45,
            seed,
            ..Faults::default()
        };
        let cfg = config(5).with_faults(faults);
        let api = start(cfg.clone()).await;
        let http = r#"http:
  retry: { max_attempts: 3, initial_backoff: 1ms, max_backoff: 2ms }
"#;
        let yaml = users_connector(http, &users_request("cursor", 10, false, 1));
        let engine = engine(&yaml, &api.base_url());
        let (records, error) = aggregate_partial(&engine, "account", None).await;
        let stats = api.stats();
        api.shutdown().await;
        assert!(
            stats.data_requests <= 3,
            "seed {seed}: {} requests for one page",
            stats.data_requests
        );
        assert_eq!(engine.summary().requests, stats.data_requests);
        match error {
            None => {
                assert_users(&engine, &records, &cfg, 5);
                recovered += 1;
            }
            Some(e) => {
                assert_eq!(stats.data_requests, 3, "seed {seed}: {e}");
                assert!(
                    e.to_string().contains("after 3 attempt(s)"),
                    "seed {seed}: {e}"
                );
                failed += 1;
            }
        }
    }
    assert!(
        recovered > 0 && failed > 0,
        "{recovered} recovered, {failed} failed"
    );
}

/// Concurrent pages (known total) with one attempt each and 500s from a fixed seed: the run
/// fails; what was emitted before the error is an in-order prefix of whole pages.
#[tokio::test]
async fn concurrent_page_failure_fails_the_run() {
    let faults = Faults {
        rate_500: 0.3,
        seed: MID_RUN_SEED,
        ..Faults::default()
    };
    let cfg = config(400).with_faults(faults);
    let api = start(cfg.clone()).await;
    let http = r#"http:
  retry: { max_attempts: 1 }
"#;
    let yaml = users_connector(http, &users_request("offset", 20, true, 8));
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let error = error.expect("the run must fail");
    assert_eq!(error.http_status(), Some(500), "{error}");
    assert!(records.len() < 400);
    assert_eq!(records.len() % 20, 0, "whole pages only");
    assert_user_range(&engine, &records, &cfg, 0..records.len());
    assert!(api.stats().faults.server_error > 0);
    assert_eq!(engine.summary().retries, 0);
    api.shutdown().await;
}

/// Okta answers 429 with `X-Rate-Limit-Reset` (epoch seconds) and no `Retry-After`: the engine
/// waits until the reset instead of its (here much shorter) backoff.
#[tokio::test]
async fn too_many_requests_waits_for_x_rate_limit_reset() {
    use wsc_testkit::replay::{Cassette, ReplayServer};
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let cassette: Cassette = serde_json::from_value(serde_json::json!({
        "ordered": true,
        "interactions": [
            { "request": { "path": "/api/users/u1" },
              "response": { "status": 429, "headers": { "x-rate-limit-reset": reset.to_string() },
                            "body": { "errorCode": "E0000047" } } },
            { "request": { "path": "/api/users/u1" },
              "response": { "body": { "id": "u1", "userName": "ann" } } }
        ]
    }))
    .unwrap();
    let server = ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap();
    let yaml = format!(
        "{HEADER}http:\n  retry: {{ max_attempts: 3, initial_backoff: 1ms, max_backoff: 5ms, max_retry_after: 10s }}\noperations:\n  get_object:\n    account:\n      request: {{ path: \"/users/{{{{plan.identity}}}}\" }}\n      identity: \"$.id\"\n      name: \"$.userName\"\n"
    );
    let engine = engine(&yaml, &server.base_url());
    let started = std::time::Instant::now();
    let rec = engine.get_object("account", "u1").await.unwrap();
    assert_eq!(rec.identity, "u1");
    // The reset is 1–2 s away (whole seconds); the backoff alone would be a few ms.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "retried after {:?}, before the reset",
        started.elapsed()
    );
    assert!(
        server.report().problems().is_empty(),
        "{}",
        server.report().problems()
    );
    server.shutdown().await;
}
