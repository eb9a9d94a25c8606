//! The default retry policy completes runs against an API that fails about 12 % of its
//! requests transiently (every fault kind the synthetic API injects), and the per-run retry
//! budget (`http.retry.budget`) fails runs against an API that fails far more often than that,
//! with an error that names the budget: never a short, successful result.

mod common;

use std::time::Duration;

use common::*;
use futures_util::future::join_all;
use wsc_engine::EngineError;
use wsc_testkit::synthetic::{FaultCounts, FaultKind, Faults, RetryAfter, SyntheticConfig};

/// Users in each seeded run: 300 pages of 10.
const USERS: usize = 3000;

/// Seeds of the fault draws, one run each.
const SEEDS: std::ops::Range<u64> = 0..16;

/// About 12 % transient faults, of every kind the synthetic API injects: 429 with
/// `Retry-After`, 500, connection resets, slow answers (beyond the connector's timeout),
/// truncated bodies (invalid JSON in a 200) and an error object in a 200.
fn transient_faults(seed: u64) -> Faults {
    Faults {
        rate_429: 0.03,
        retry_after: RetryAfter::Seconds(1),
        rate_500: 0.03,
        rate_reset: 0.02,
        rate_slow: 0.01,
        slow_delay: Duration::from_secs(2),
        rate_malformed: 0.02,
        rate_error_in_body: 0.01,
        seed,
        ..Faults::default()
    }
}

/// The default retry policy (attempts, budget, statuses, transport errors) with its waits
/// shortened so the test is quick: backoffs of milliseconds, `Retry-After` capped at 5 ms,
/// and a request timeout that turns the synthetic API's slow answers into timeouts. The error
/// rule declares the API's in-body error object transient (`retry: true`).
const DEFAULT_POLICY_FAST_WAITS: &str = r#"http:
  timeouts: { total: 500ms }
  retry: { initial_backoff: 1ms, max_backoff: 5ms, max_retry_after: 5ms }
  errors:
    - { path: "$.error", message: "$.error.message", retry: true }
"#;

/// What one seeded run gave.
struct Outcome {
    seed: u64,
    paging: &'static str,
    error: Option<EngineError>,
    faults: FaultCounts,
    retries: u64,
}

/// Aggregates `USERS` users under [`transient_faults`] of `seed`: sequential cursor paging for
/// even seeds, offset paging with four concurrent pages for odd ones. Checks the records of a
/// run that succeeds (every user once, in order, every attribute right).
async fn seeded_run(seed: u64, http: &str) -> Outcome {
    let cfg: SyntheticConfig = config(USERS).with_faults(transient_faults(seed));
    let api = start(cfg.clone()).await;
    let (paging, request) = if seed.is_multiple_of(2) {
        ("cursor", users_request("cursor", 10, false, 1))
    } else {
        ("offset", users_request("offset", 10, true, 4))
    };
    let engine = engine(&users_connector(http, &request), &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let stats = api.stats();
    api.shutdown().await;
    if error.is_none() {
        assert_users(&engine, &records, &cfg, USERS);
    }
    Outcome {
        seed,
        paging,
        error,
        faults: stats.faults,
        retries: engine.summary().retries,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_policy_completes_under_12_percent_transient_faults() {
    let outcomes = join_all(SEEDS.map(|s| seeded_run(s, DEFAULT_POLICY_FAST_WAITS))).await;
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            o.error
                .as_ref()
                .map(|e| format!("seed {} ({} paging): {e}", o.seed, o.paging))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} seeded runs failed:\n{}",
        failed.len(),
        outcomes.len(),
        failed.join("\n")
    );
    let mut all = FaultCounts::default();
    for o in &outcomes {
        let f = &o.faults;
        assert!(f.total() > 0, "seed {}: no fault injected", o.seed);
        assert!(o.retries > 0, "seed {}: no retry", o.seed);
        all.too_many_requests += f.too_many_requests;
        all.server_error += f.server_error;
        all.reset += f.reset;
        all.slow += f.slow;
        all.malformed += f.malformed;
        all.error_in_body += f.error_in_body;
    }
    for (kind, n) in [
        ("429", all.too_many_requests),
        ("500", all.server_error),
        ("reset", all.reset),
        ("slow", all.slow),
        ("malformed", all.malformed),
        ("error in body", all.error_in_body),
    ] {
        assert!(n > 0, "no {kind} fault injected over all seeds: {all:?}");
    }
}

/// Fast waits and an API error rule as in [`DEFAULT_POLICY_FAST_WAITS`], with `budget` as the
/// run's retry budget.
fn fast_waits_with_budget(budget: &str) -> String {
    format!(
        r#"http:
  retry: {{ initial_backoff: 1ms, max_backoff: 5ms, max_retry_after: 5ms, budget: {budget} }}
"#
    )
}

/// The [`wsc_engine::http::BudgetSpent`] of a run that ended because its retry budget was spent.
fn budget_spent(error: &EngineError) -> wsc_engine::http::BudgetSpent {
    match error {
        EngineError::Http(h) => match h.as_ref() {
            wsc_engine::http::HttpError::RetryBudget { spent, .. } => spent.clone(),
            other => panic!("expected a spent retry budget, got: {other}"),
        },
        other => panic!("expected a spent retry budget, got: {other}"),
    }
}

/// An API that fails every request: with the default budget, a request gives up after its
/// eight attempts (the reserve of 100 retries is not reached).
#[tokio::test]
async fn an_api_that_always_fails_gets_eight_attempts_per_request() {
    let cfg = config(95).with_faults(Faults::only(FaultKind::ServerError, 1.0));
    let api = start(cfg).await;
    let http = "http:\n  retry: { initial_backoff: 1ms, max_backoff: 5ms }\n";
    let yaml = users_connector(http, &users_request("offset", 20, true, 4));
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let error = error.expect("the run must fail");
    assert!(records.is_empty());
    assert!(
        error.to_string().contains("HTTP 500 after 8 attempt(s)"),
        "{error}"
    );
    assert_eq!(api.stats().data_requests, 8);
    assert_eq!(engine.summary().retries, 7);
    api.shutdown().await;
}

/// An API that fails every request, with a small budget: the run stops when the budget is
/// spent, before the request's own attempts are, and the error names the budget, the counts
/// and the keys to raise.
#[tokio::test]
async fn a_spent_budget_fails_the_run_and_names_the_budget() {
    let cfg = config(95).with_faults(Faults::only(FaultKind::ServerError, 1.0));
    let api = start(cfg).await;
    let yaml = users_connector(
        &fast_waits_with_budget("{ min_retries: 3 }"),
        &users_request("offset", 20, true, 4),
    );
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let error = error.expect("the run must fail");
    assert!(records.is_empty());
    assert_eq!(error.http_status(), Some(500));
    let spent = budget_spent(&error);
    assert_eq!((spent.retries, spent.requests, spent.allowed), (3, 1, 3));
    let text = error.to_string();
    for part in [
        "page 1",
        "failed on attempt 4 (HTTP 500; body: {\"error\"",
        "the run's retry budget (`http.retry.budget`) is spent: 3 retries made for 1 request, and the budget allows 3 + 0.2 × 1 = 3",
        "raise `http.retry.budget.ratio` or `http.retry.budget.min_retries`",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
    assert_eq!(api.stats().data_requests, 4);
    assert_eq!(engine.summary().retries, 3);
    api.shutdown().await;
}

/// Partitions that run concurrently share one budget: four partitions against an API that
/// fails every request make six retries in all, not six each.
#[tokio::test]
async fn concurrent_partitions_share_one_budget() {
    let cfg = config(95).with_faults(Faults::only(FaultKind::ServerError, 1.0));
    let api = start(cfg).await;
    let yaml = format!(
        r#"{HEADER}{}operations:
  account_aggregation:
    partitions:
      list: [{{ name: a }}, {{ name: b }}, {{ name: c }}, {{ name: d }}]
      concurrency: 4
    request:
      path: /users/cursor
      query: {{ cursor: "{{{{page.cursor}}}}", limit: "10", p: "{{{{partition.name}}}}" }}
    paging: {{ kind: cursor, cursor: "$.next_cursor" }}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.displayName"
"#,
        fast_waits_with_budget("{ min_retries: 6 }")
    );
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let error = error.expect("the run must fail");
    assert!(records.is_empty());
    let spent = budget_spent(&error);
    assert_eq!(spent.retries, 6, "{error}");
    assert_eq!(engine.summary().retries, 6);
    let s = engine.summary();
    // The engine counts a request when it starts it; when the run fails, a partition's
    // request in flight is dropped and may never reach the server (seen once: 9 counted, 8
    // served). So the server saw at most what the engine counted.
    let served = api.stats().data_requests;
    assert!(served <= s.requests, "{s:?}, served {served}");
    assert!(s.requests <= 4 + 6, "{s:?}");
    api.shutdown().await;
}

/// An API failing 60 % of its requests, with the default budget: the run fails once its
/// retries pass 100 + 20 % of its requests, instead of grinding on at two and a half times
/// the load; what it emitted before is an in-order prefix of whole pages.
#[tokio::test]
async fn the_default_budget_fails_a_run_against_an_api_failing_60_percent() {
    let faults = Faults {
        rate_429: 0.1,
        retry_after: RetryAfter::Seconds(1),
        rate_500: 0.3,
        rate_malformed: 0.2,
        seed: SIXTY_PERCENT_SEED,
        ..Faults::default()
    };
    let cfg = config(2000).with_faults(faults);
    let api = start(cfg.clone()).await;
    let yaml = users_connector(
        "http:\n  retry: { initial_backoff: 1ms, max_backoff: 5ms, max_retry_after: 5ms }\n",
        &users_request("cursor", 10, false, 1),
    );
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let error = error.expect("the run must fail");
    let spent = budget_spent(&error);
    let s = engine.summary();
    assert_eq!(spent.retries, s.retries);
    assert_eq!(spent.requests, s.requests - s.retries);
    assert_eq!(spent.allowed, 100 + spent.requests / 5);
    assert_eq!(spent.retries, spent.allowed);
    assert!(records.len() < 2000);
    assert_eq!(records.len() % 10, 0, "whole pages only");
    assert_user_range(&engine, &records, &cfg, 0..records.len());
    assert_eq!(s.requests, api.stats().data_requests);
    api.shutdown().await;
}

/// A seed whose draws, over sequential paging, spend the default budget before any page fails
/// eight times in a row (at 60 %, a page fails its eight attempts with a chance of 1.7 %, so
/// for most seeds that comes first: also a failure, but not the one this test is about).
const SIXTY_PERCENT_SEED: u64 = 4;
