//! Every paging kind over real loopback HTTP: exact record sets, in order, no duplicates, no
//! wasted requests; empty directories; concurrent pages with a known total.

mod common;

use std::time::Duration;

use common::*;
use wsc_testkit::synthetic::{Faults, StatsSnapshot};

/// Page size of these tests; the directory sizes are chosen around it.
const LIMIT: u64 = 25;

/// Pages of the synthetic API's style `kind` served so far.
fn pages_of(stats: &StatsSnapshot, kind: &str) -> u64 {
    match kind {
        "offset" => stats.pages.offset,
        "page" => stats.pages.page,
        "cursor" => stats.pages.cursor,
        "next_url" => stats.pages.next,
        "link_header" => stats.pages.link,
        other => panic!("{other}"),
    }
}

/// Aggregates `users` users with paging `kind` and checks the records and the number of page
/// requests the server saw.
async fn check(kind: &str, total: bool, concurrency: u32, users: usize, expected_pages: u64) {
    let cfg = config(users);
    let api = start(cfg.clone()).await;
    let yaml = users_connector(FAST_HTTP, &users_request(kind, LIMIT, total, concurrency));
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None)
        .await
        .unwrap_or_else(|e| panic!("{kind} (total {total}), {users} users: {e}"));
    assert_users(&engine, &records, &cfg, users);
    let stats = api.stats();
    assert_eq!(
        pages_of(&stats, kind),
        expected_pages,
        "{kind} (total {total}), {users} users: page requests"
    );
    assert_eq!(
        stats.data_requests, expected_pages,
        "no other data requests"
    );
    let summary = engine.summary();
    assert_eq!(summary.records, users as u64);
    assert_eq!(summary.pages, expected_pages);
    assert_eq!(summary.retries, 0);
    api.shutdown().await;
}

// 257 users in pages of 25: ten full pages and a short one. 250 users: ten full pages, so
// paging without a total needs one more, empty page to see the end; without a total a short
// page is confirmed as the end by one more request too (`paging.confirm_end`).

#[tokio::test]
async fn offset_with_total() {
    check("offset", true, 4, 257, 11).await;
    check("offset", true, 4, 250, 10).await;
    check("offset", true, 4, 0, 1).await;
    check("offset", true, 4, 7, 1).await;
}

#[tokio::test]
async fn offset_with_total_sequential() {
    check("offset", true, 1, 257, 11).await;
    check("offset", true, 1, 250, 10).await;
}

#[tokio::test]
async fn offset_without_total() {
    check("offset", false, 4, 257, 12).await;
    check("offset", false, 4, 250, 11).await;
    check("offset", false, 4, 0, 1).await;
}

#[tokio::test]
async fn page_number_with_total() {
    check("page", true, 4, 257, 11).await;
    check("page", true, 4, 250, 10).await;
    check("page", true, 4, 0, 1).await;
}

#[tokio::test]
async fn page_number_without_total() {
    check("page", false, 4, 257, 12).await;
    check("page", false, 4, 250, 11).await;
    check("page", false, 4, 0, 1).await;
}

#[tokio::test]
async fn cursor() {
    check("cursor", false, 1, 257, 11).await;
    check("cursor", false, 1, 250, 10).await;
    check("cursor", false, 1, 0, 1).await;
}

#[tokio::test]
async fn next_url() {
    check("next_url", false, 1, 257, 11).await;
    check("next_url", false, 1, 250, 10).await;
    check("next_url", false, 1, 0, 1).await;
}

#[tokio::test]
async fn link_header() {
    check("link_header", false, 1, 257, 11).await;
    check("link_header", false, 1, 250, 10).await;
    check("link_header", false, 1, 0, 1).await;
}

/// With a known total and `concurrency: 8`, pages overlap on the server (observed by its
/// in-flight counter, not by timing) and the records still come out in order, although some
/// pages (the server's "slow" fault, drawn from a fixed seed) finish after later ones.
#[tokio::test]
async fn concurrent_pages_keep_order() {
    let slow = Faults {
        rate_slow: 0.3,
        slow_delay: Duration::from_millis(40),
        seed: 5,
        ..Faults::default()
    };
    let cfg = config(1001)
        .with_latency(Duration::from_millis(20))
        .with_faults(slow);
    let api = start(cfg.clone()).await;
    let yaml = users_connector(FAST_HTTP, &users_request("offset", 20, true, 8));
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &records, &cfg, 1001);
    let stats = api.stats();
    assert_eq!(stats.pages.offset, 51);
    assert!(
        stats.max_in_flight > 1,
        "pages were not fetched concurrently: {stats:?}"
    );
    assert!(stats.max_in_flight <= 8, "more than 8 at once: {stats:?}");
    assert!(stats.faults.slow > 5, "{stats:?}");
    api.shutdown().await;
}

/// Sequential paging (a cursor) never has two page requests in flight.
#[tokio::test]
async fn sequential_paging_one_request_at_a_time() {
    let cfg = config(120).with_latency(Duration::from_millis(5));
    let api = start(cfg.clone()).await;
    let yaml = users_connector(FAST_HTTP, &users_request("cursor", 10, false, 1));
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &records, &cfg, 120);
    assert_eq!(api.stats().max_in_flight, 1);
    api.shutdown().await;
}

/// `max_pages` stops early: exactly that many pages, the first records in order.
#[tokio::test]
async fn max_pages_limits_the_run() {
    let cfg = config(300);
    let api = start(cfg.clone()).await;
    let request = users_request("cursor", 10, false, 1).replace(
        r#"paging: { kind: cursor, cursor: "$.next_cursor" }"#,
        r#"paging: { kind: cursor, cursor: "$.next_cursor", max_pages: 3 }"#,
    );
    let yaml = users_connector(FAST_HTTP, &request);
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &records, &cfg, 30);
    assert_eq!(api.stats().pages.cursor, 3);
    api.shutdown().await;
}

/// The API caps the page size (10) below `paging.limit` (25). With a known total the engine
/// notices on page 1 (fewer records than both the page size and the total) and fails: records
/// would otherwise be skipped silently.
#[tokio::test]
async fn page_size_capped_by_the_api_is_an_error() {
    for (kind, concurrency) in [("offset", 4), ("offset", 1), ("page", 4), ("page", 1)] {
        let cfg = config(257).with_max_page_size(10);
        let api = start(cfg.clone()).await;
        let yaml = users_connector(FAST_HTTP, &users_request(kind, 25, true, concurrency));
        let engine = engine(&yaml, &api.base_url());
        let (records, error) = aggregate_partial(&engine, "account", None).await;
        let error = error.unwrap_or_else(|| {
            panic!(
                "{kind}/{concurrency}: a short run of {} records",
                records.len()
            )
        });
        assert!(
            matches!(error, wsc_engine::EngineError::Paging { .. }),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains("operation `account_aggregation`, page 1: page 1 held 10 records, fewer than the page size 25 although the total is 257"),
            "{text}"
        );
        assert!(text.contains("set `paging.limit` to at most 10"), "{text}");
        assert!(
            records.is_empty(),
            "nothing is emitted from a run that would skip records"
        );
        api.shutdown().await;
    }
}

#[tokio::test]
async fn a_capped_page_size_with_a_known_total_is_an_error_not_missing_records() {
    // 5 users, at most 2 per page, the connector asks for 10 with a total: the whole total fits
    // in one page of the requested size, so no later page would ever reveal the cap.
    for concurrency in [1, 4] {
        let config = config(5).with_max_page_size(2);
        let api = start(config).await;
        let yaml = users_connector(FAST_HTTP, &users_request("offset", 10, true, concurrency));
        let engine = engine(&yaml, &api.base_url());
        let err = aggregate(&engine, "account", None)
            .await
            .expect_err("records would be skipped")
            .to_string();
        assert!(err.contains("caps the page size at 2"), "{err}");
        assert!(err.contains("`paging.limit` to at most 2"), "{err}");
    }
}
