//! Numeric keys that read an instance setting (`limit: "{{settings.page_size}}"`), against the
//! synthetic API: page size, page concurrency, page limit and for_each concurrency take the
//! setting's value, and a value a key cannot take stops the engine from being built.

mod common;

use std::time::Duration;

use common::*;

/// Offset paging with a total, every number from a setting, and a for_each step per user.
const CONNECTOR: &str = r#"connector: it
settings:
  base_url: {}
  token: { secret: true }
  page_size: { default: 100 }
  parallel_pages: { type: int, default: 4 }
  pages: { type: int, default: 1000 }
  parallel_users: { type: int, default: 4 }
  rps: { type: number, default: 1000 }
base_url: "{{settings.base_url}}/api"
auth: { type: bearer, token: "{{settings.token}}" }
http:
  retry: { max_attempts: 4, initial_backoff: 1ms, max_backoff: 5ms, max_retry_after: 5ms }
  requests_per_second: "{{settings.rps}}"
operations:
  account_aggregation:
    steps:
      - name: users
        request:
          path: /users/offset
          query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
        paging:
          kind: offset
          limit: "{{settings.page_size}}"
          total: "$.total"
          concurrency: "{{ settings.parallel_pages }}"
          max_pages: "{{settings.pages}}"
        records: "$.items[*]"
      - name: groups
        for_each: users
        concurrency: "{{settings.parallel_users}}"
        request: { path: "/users/{{record.id}}/groups" }
        records: "$.items[*]"
        merge: { into: memberOf, value: "$.id" }
    identity: "$.id"
    name: "$.userName"
"#;

fn engine_with(base_url: &str, settings: &[(&str, &str)]) -> Result<wsc_engine::Engine, String> {
    let mut all = vec![("base_url", base_url), ("token", TOKEN)];
    all.extend_from_slice(settings);
    try_engine(CONNECTOR, &all)
}

#[tokio::test]
async fn page_size_concurrency_and_page_limit_come_from_settings() {
    let api = start(config(23).with_latency(Duration::from_millis(1))).await;
    let engine = engine_with(
        &api.base_url(),
        &[
            ("page_size", "5"),
            ("parallel_pages", "1"),
            ("parallel_users", "1"),
        ],
    )
    .unwrap();
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_eq!(records.len(), 23);
    let stats = api.stats();
    // 23 users by 5: five pages. One page and one for_each request at a time (the step's
    // requests for one page overlap the fetch of the next page).
    assert_eq!(stats.pages.offset, 5, "{stats:?}");
    assert_eq!(stats.data_requests, 5 + 23, "{stats:?}");
    assert!(stats.max_in_flight <= 1 + 1, "{stats:?}");

    // `max_pages` from a setting: two pages of 5.
    let engine = engine_with(&api.base_url(), &[("page_size", "5"), ("pages", "2")]).unwrap();
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_eq!(records.len(), 10);
    assert_eq!(api.stats().pages.offset, 5 + 2);
    api.shutdown().await;
}

#[test]
fn values_a_key_cannot_take_stop_the_engine() {
    let base = "http://127.0.0.1:9";
    let e = engine_with(base, &[("page_size", "0")]).unwrap_err();
    assert!(
        e.contains("setting `page_size` is 0, but `operations.account_aggregation.steps[0].paging.limit` reads it and must be at least 1"),
        "{e}"
    );
    assert!(
        e.contains("declare `min: 1` on `settings.page_size`"),
        "{e}"
    );
    let e = engine_with(base, &[("parallel_users", "0")]).unwrap_err();
    assert!(
        e.contains("`operations.account_aggregation.steps[1].concurrency` reads it"),
        "{e}"
    );
    let e = engine_with(base, &[("rps", "0")]).unwrap_err();
    assert!(
        e.contains(
            "setting `rps` is 0, but `http.requests_per_second` reads it and must be greater than 0"
        ),
        "{e}"
    );
    assert!(engine_with(base, &[("rps", "2.5")]).is_ok());
    let e = engine_with(base, &[("page_size", "-5")]).unwrap_err();
    assert!(e.contains("`operations.account_aggregation.steps[0].paging.limit` reads setting `page_size`, which is the number `-5` here"), "{e}");
}
