//! The record stream at the engine's boundary, against the synthetic API: a reader that stops
//! stops the run (plain and partitioned aggregations alike), and a run read to the end
//! finishes with its summary.

mod common;

use std::time::Duration;

use common::*;

/// Requests the API has served once they stop changing.
async fn settled_requests(api: &wsc_testkit::synthetic::SyntheticApi) -> u64 {
    let mut last = api.stats().data_requests;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = api.stats().data_requests;
        if now == last {
            return now;
        }
        last = now;
    }
}

const PARTITIONED: &str = r#"operations:
  account_aggregation:
    partitions:
      list:
        - { name: a }
        - { name: b }
        - { name: c }
      concurrency: 3
    request:
      path: /users/cursor
      query: { cursor: "{{page.cursor}}", limit: "5" }
    paging: { kind: cursor, cursor: "$.next_cursor" }
    records: "$.items[*]"
    identity: "$.id"
"#;

#[tokio::test]
async fn a_reader_that_stops_stops_the_run() {
    let api = start(config(2000)).await;
    let plain = users_connector(FAST_HTTP, &users_request("cursor", 5, false, 1));
    let partitioned = format!("{HEADER}{FAST_HTTP}{PARTITIONED}");
    for (what, yaml) in [("plain", plain), ("partitioned", partitioned)] {
        let before = api.stats().data_requests;
        let engine = engine(&yaml, &api.base_url());
        let mut stream = engine.aggregate("account", None).await.unwrap();
        let first = stream
            .next_batch()
            .await
            .expect("a batch")
            .expect("records");
        assert_eq!(first.len(), 5, "{what}");
        drop(stream);
        let served = settled_requests(&api).await - before;
        // 2000 users in pages of 5 would be 400 requests (per partition).
        assert!(
            served < 40,
            "{what}: {served} requests after the reader stopped"
        );
    }
}

#[tokio::test]
async fn a_run_read_to_the_end_finishes_with_its_summary() {
    let api = start(config(23)).await;
    let yaml = users_connector(FAST_HTTP, &users_request("offset", 10, true, 2));
    let engine = engine(&yaml, &api.base_url());
    let (records, summary) = engine
        .aggregate("account", None)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(records.len(), 23);
    assert_eq!(summary.records, 23);
    assert_eq!(summary.pages, 3);
    assert_eq!(summary.requests, api.stats().data_requests);
}
