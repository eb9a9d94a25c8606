//! API-side delta: with a previous run, `delta.query` joins the aggregation's request (templates
//! over `last_run`), and records matching `delta.deleted` are marked deleted. Without one, the
//! request is the full one. Checked by a replay server that matches the exact query.

mod common;

use common::*;
use indexmap::IndexMap;
use serde_json::{Value, json};
use wsc_engine::{Engine, RunContext};
use wsc_testkit::replay::{Cassette, ReplayServer};

const CONNECTOR: &str = r#"connector: it
settings:
  base_url: {}
  token: { secret: true }
base_url: "{{settings.base_url}}/api"
auth: { type: bearer, token: "{{settings.token}}" }
operations:
  account_aggregation:
    request: { path: /users, query: { top: "100" } }
    records: "$.value[*]"
    identity: "$.id"
    name: "$.userName"
    delta:
      query: { changedSince: "{{last_run.started_at}}" }
      deleted: "$['@removed']"
"#;

fn engine_with(base_url: &str, last_run: Value) -> Engine {
    let loaded = load(CONNECTOR);
    let explicit: IndexMap<String, Value> = [
        ("base_url".to_string(), json!(base_url)),
        ("token".to_string(), json!(TOKEN)),
    ]
    .into_iter()
    .collect();
    let settings =
        wsc_engine::settings::resolve(&loaded.connector, &explicit, &IndexMap::new(), &|_| None)
            .unwrap();
    let auth = wsc_engine::static_authenticator(&loaded, &settings).unwrap();
    Engine::new(
        &loaded,
        &settings,
        auth,
        RunContext {
            last_run,
            ..RunContext::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn delta_query_only_with_a_previous_run_and_deleted_markers() {
    let cassette: Cassette = serde_json::from_value(json!({
        "interactions": [
            { "request": { "path": "/api/users", "query": { "top": "100" }, "query_match": "exact" },
              "response": { "body": { "value": [ { "id": "u1", "userName": "ann" }, { "id": "u2", "userName": "bob" } ] } } },
            { "request": { "path": "/api/users",
                           "query": { "top": "100", "changedSince": "2026-11-01T00:00:00Z" }, "query_match": "exact" },
              "response": { "body": { "value": [
                  { "id": "u1", "userName": "ann2" },
                  { "id": "u2", "@removed": { "reason": "deleted" } } ] } } }
        ]
    }))
    .unwrap();
    let server = ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap();
    // First run: no previous run, the full request.
    let full = aggregate(
        &engine_with(&server.base_url(), Value::Null),
        "account",
        None,
    )
    .await
    .unwrap();
    assert_eq!(full.len(), 2);
    assert!(full.iter().all(|r| !r.deleted));
    // Incremental run.
    let last = json!({ "started_at": "2026-11-01T00:00:00Z", "records": 2 });
    let changes = aggregate(&engine_with(&server.base_url(), last), "account", None)
        .await
        .unwrap();
    let summary: Vec<(&str, bool)> = changes
        .iter()
        .map(|r| (r.identity.as_str(), r.deleted))
        .collect();
    assert_eq!(summary, [("u1", false), ("u2", true)]);
    assert_eq!(changes[0].name.as_deref(), Some("ann2"));
    let report = server.report();
    assert!(report.problems().is_empty(), "{}", report.problems());
    server.shutdown().await;
}
