//! Date windows (`windows`): an aggregation read as successive time windows, each paged to
//! its end, in order; the last window's end kept in the connector state after a complete run
//! and where the next run starts; a failed run keeps nothing. The synthetic API's `from` /
//! `to` select users by index, so windows over the first seconds of 1970 (`window.start_unix`)
//! read users by index: window [4 s, 8 s) reads users 4 to 7.

mod common;

use common::*;
use indexmap::IndexMap;
use serde_json::{Value, json};
use wsc_engine::{Engine, RunContext};
use wsc_testkit::synthetic::user_id;

fn connector(from: &str) -> String {
    format!(
        r#"connector: it
settings:
  base_url: {{}}
  token: {{ secret: true }}
  start_at: {{ default: "1970-01-01T00:00:00Z" }}
  end_at: {{}}
base_url: "{{{{settings.base_url}}}}/api"
auth: {{ type: bearer, token: "{{{{settings.token}}}}" }}
{FAST_HTTP}operations:
  account_aggregation:
    windows: {{ start: "{{{{settings.start_at}}}}", size: 4s, end: "{{{{settings.end_at}}}}" }}
    request:
      path: /users/offset
      query:
        offset: "{{{{page.offset}}}}"
        limit: "{{{{page.limit}}}}"
        from: "{from}"
        to: "{{{{window.end_unix}}}}"
    paging: {{ kind: offset, limit: 3, total: "$.total" }}
    records: "$.items[*]"
    identity: "$.id"
    attributes:
      window: {{ template: "{{{{window.index}}}}", type: int }}
"#
    )
}

const FROM: &str = "{{window.start_unix}}";

/// An engine whose run starts from connector state `state`, the last window ending at
/// `end_at` (seconds after 1970-01-01T00:00:00Z).
fn windowed(yaml: &str, base: &str, end_at: u32, state: Value) -> Engine {
    let loaded = load(yaml);
    let explicit: IndexMap<String, Value> = [
        ("base_url", base.to_string()),
        ("token", TOKEN.to_string()),
        ("end_at", format!("1970-01-01T00:00:{end_at:02}Z")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::String(v)))
    .collect();
    let r =
        wsc_engine::settings::resolve(&loaded.connector, &explicit, &IndexMap::new(), &|_| None)
            .unwrap();
    let auth = wsc_engine::static_authenticator(&loaded, &r).unwrap();
    let run = RunContext {
        state,
        ..RunContext::default()
    };
    Engine::new(&loaded, &r, auth, run).unwrap()
}

fn ids(records: &[wsc_engine::Record]) -> Vec<String> {
    records.iter().map(|r| r.identity.clone()).collect()
}

fn saved_end(engine: &Engine) -> Option<Value> {
    engine
        .state_changes()
        .set
        .get("window_end")
        .and_then(|m| m.get("account_aggregation"))
        .cloned()
}

#[tokio::test]
async fn windows_are_read_in_order_and_the_next_run_starts_at_the_saved_end() {
    let cfg = config(30);
    let api = start(cfg.clone()).await;
    let yaml = connector(FROM);
    // Three windows of 4 s: users 0..12, every one once, window by window.
    let e = windowed(&yaml, &api.base_url(), 12, Value::Null);
    let records = aggregate(&e, "account", None).await.unwrap();
    assert_eq!(ids(&records), (0..12).map(user_id).collect::<Vec<_>>());
    assert_identities_unique(&records);
    // Each record carries the window it was read in.
    let by_window: Vec<i64> = records
        .iter()
        .map(|r| {
            attr(&e, "account_aggregation", r, "window")
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(by_window, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    // Each window paged to its end: 4 users by 3 is 2 pages.
    assert_eq!(api.stats().pages.offset, 6);
    let end = saved_end(&e).expect("the end of the last window is kept");
    assert_eq!(end, json!("1970-01-01T00:00:12Z"));

    // The next run starts there (not at `start_at`), and ends at its own end.
    let state = json!({ "window_end": { "account_aggregation": end } });
    let e = windowed(&yaml, &api.base_url(), 20, state);
    let records = aggregate(&e, "account", None).await.unwrap();
    assert_eq!(ids(&records), (12..20).map(user_id).collect::<Vec<_>>());
    assert_eq!(saved_end(&e), Some(json!("1970-01-01T00:00:20Z")));

    // Nothing new: no window, nothing read, the end stays.
    let state = json!({ "window_end": { "account_aggregation": "1970-01-01T00:00:20Z" } });
    let before = api.stats().pages.offset;
    let e = windowed(&yaml, &api.base_url(), 20, state);
    assert!(aggregate(&e, "account", None).await.unwrap().is_empty());
    assert_eq!(api.stats().pages.offset, before);
    assert_eq!(saved_end(&e), None);
    api.shutdown().await;
}

#[tokio::test]
async fn a_failed_run_does_not_advance() {
    let api = start(config(30)).await;
    // The second window's request is refused (400: `from` is not a number).
    let yaml = connector("{{#if (eq window.index 1)}}x{{else}}{{window.start_unix}}{{/if}}");
    let e = windowed(&yaml, &api.base_url(), 12, Value::Null);
    let (records, error) = aggregate_partial(&e, "account", None).await;
    let error = error.expect("the second window fails");
    assert_eq!(error.http_status(), Some(400), "{error}");
    assert!(records.len() <= 4, "only the first window's records");
    assert_eq!(saved_end(&e), None, "a failed run keeps no end");
    api.shutdown().await;
}
