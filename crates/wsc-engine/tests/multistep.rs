//! Multi-step operations: a `get_object` whose `for_each` step merges each user's groups, and
//! an aggregation that runs a `for_each` step per user with bounded concurrency.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wsc_engine::EngineError;
use wsc_testkit::synthetic::{Faults, group_summary, user, user_id};

/// get_object as in connectors/demo.yaml (a group type needs a group aggregation).
const GET_OBJECT: &str = r#"  group_aggregation:
    group:
      request: { path: /groups/cursor, query: { cursor: "{{page.cursor}}" } }
      paging: { kind: cursor, cursor: "$.next_cursor" }
      records: "$.items[*]"
      identity: "$.id"
  get_object:
    account:
      steps:
        - name: user
          request: { path: "/users/{{plan.identity}}" }
        - name: groups
          for_each: user
          request: { path: "/users/{{record.id}}/groups" }
          records: "$.items[*]"
          merge: { into: groups, value: "$.id" }
      identity: "$.id"
      name: "$.userName"
      attributes:
        email: "$.emails[0].value"
        active: { path: "$.active", type: bool }
        groups: { path: "$.groups[*]", multi: true }
    group:
      request: { path: "/groups/{{plan.identity}}" }
      identity: "$.id"
      name: "$.displayName"
      attributes:
        description: "$.description"
      members: "$.members[*]"
"#;

#[tokio::test]
async fn get_object_merges_groups_from_a_second_request() {
    let cfg = config(60);
    let api = start(cfg.clone()).await;
    let yaml = format!(
        "{}{GET_OBJECT}",
        users_connector(FAST_HTTP, &users_request("cursor", 20, false, 1))
    );
    let engine = engine(&yaml, &api.base_url());
    let names = engine.attribute_names("get_object.account").unwrap();
    let mut with_groups = 0;
    for i in [0, 1, 2, 3, 17, 42, 59] {
        let u = user(&cfg, i);
        let rec = engine.get_object("account", &u.id).await.unwrap();
        let expected = json!({
            "type": "account",
            "identity": u.id,
            "name": u.user_name,
            "attributes": {
                "email": u.emails[0].value,
                "active": u.active,
                "groups": u.groups,
            }
        });
        assert_eq!(rec.to_json(&names), expected, "user {i}");
        with_groups += usize::from(!u.groups.is_empty());
    }
    assert!(with_groups > 2, "the sample should hold users with groups");
    // Two requests per object: the user, then its groups.
    assert_eq!(api.stats().data_requests, 14);
    api.shutdown().await;
}

#[tokio::test]
async fn get_object_of_a_group_and_not_found() {
    let cfg = config(60);
    let api = start(cfg.clone()).await;
    let yaml = format!(
        "{}{GET_OBJECT}",
        users_connector(FAST_HTTP, &users_request("cursor", 20, false, 1))
    );
    let engine = engine(&yaml, &api.base_url());
    let g = api.group(4);
    let rec = engine.get_object("group", &g.id).await.unwrap();
    assert_eq!(rec.identity, g.id);
    assert_eq!(rec.name.as_deref(), Some(g.display_name.as_str()));
    assert_eq!(rec.members.as_deref(), Some(g.members.as_slice()));
    assert!(!g.members.is_empty());

    let error = engine.get_object("account", "u9999999").await.unwrap_err();
    assert!(matches!(error, EngineError::NotFound(_)), "{error:?}");
    assert!(error.to_string().contains("u9999999"), "{error}");
    api.shutdown().await;
}

/// An aggregation whose primary step pages through users and whose `for_each` step reads
/// each user's groups (three at a time) and merges their ids.
fn per_user_aggregation(concurrency: u32) -> String {
    format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    steps:
      - name: users
        request:
          path: /users/offset
          query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
        paging: {{ kind: offset, limit: 20, total: "$.total" }}
        records: "$.items[*]"
      - name: groups
        for_each: users
        concurrency: {concurrency}
        request: {{ path: "/users/{{{{record.id}}}}/groups" }}
        records: "$.items[*]"
        merge: {{ into: memberOf, value: "$.id" }}
    identity: "$.id"
    name: "$.userName"
    attributes:
      memberOf: {{ path: "$.memberOf[*]", multi: true }}
      groups: {{ path: "$.groups[*]", multi: true }}
"#
    )
}

/// Some requests are slow (the server's "slow" fault, fixed seed), so for_each requests
/// finish out of order; the records keep the users' order.
#[tokio::test]
async fn aggregation_with_a_step_per_user() {
    let slow = Faults {
        rate_slow: 0.2,
        slow_delay: Duration::from_millis(15),
        seed: 3,
        ..Faults::default()
    };
    let cfg = config(73)
        .with_latency(Duration::from_millis(2))
        .with_faults(slow);
    let api = start(cfg.clone()).await;
    let engine = engine(&per_user_aggregation(3), &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_eq!(records.len(), 73);
    assert_identities_unique(&records);
    for (i, r) in records.iter().enumerate() {
        let u = user(&cfg, i);
        assert_eq!(r.identity, user_id(i));
        assert_eq!(r.name.as_deref(), Some(u.user_name.as_str()));
        let merged = attr(&engine, "account_aggregation", r, "memberOf");
        assert_eq!(merged, &json!(u.groups), "user {i}");
        assert_eq!(attr(&engine, "account_aggregation", r, "groups"), merged);
    }
    let stats = api.stats();
    assert_eq!(stats.pages.offset, 4);
    assert_eq!(stats.data_requests, 4 + 73, "one groups request per user");
    assert!(
        stats.max_in_flight <= 3 + 4,
        "for_each concurrency is bounded: {stats:?}"
    );
    assert!(stats.faults.slow > 5, "{stats:?}");
    api.shutdown().await;
}

/// Group summaries merged whole (no `value`): each is the object the API sends.
#[tokio::test]
async fn merged_records_are_whole_objects() {
    let cfg = config(25);
    let api = start(cfg.clone()).await;
    let yaml = per_user_aggregation(2)
        .replace(
            r#"merge: { into: memberOf, value: "$.id" }"#,
            "merge: { into: memberOf }",
        )
        .replace(
            r#"memberOf: { path: "$.memberOf[*]", multi: true }"#,
            "memberOf: \"$.memberOf\"",
        );
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_eq!(records.len(), 25);
    for (i, r) in records.iter().enumerate() {
        let want: Vec<Value> = wsc_testkit::synthetic::user_group_ids(&cfg, i)
            .into_iter()
            .map(|g| serde_json::to_value(group_summary(&cfg, g)).unwrap())
            .collect();
        assert_eq!(
            attr(&engine, "account_aggregation", r, "memberOf"),
            &Value::Array(want),
            "user {i}"
        );
    }
    api.shutdown().await;
}

/// A failing `for_each` request fails the whole aggregation.
#[tokio::test]
async fn failing_for_each_step_fails_the_run() {
    let api = start(config(25)).await;
    let yaml = per_user_aggregation(2).replace(
        "/users/{{record.id}}/groups",
        "/users/{{record.id}}/nothing",
    );
    let engine = engine(&yaml, &api.base_url());
    let error = aggregate(&engine, "account", None).await.unwrap_err();
    assert_eq!(error.http_status(), Some(404), "{error}");
    assert!(error.to_string().contains("step `groups`"), "{error}");
    api.shutdown().await;
}

/// Two group types over one listing: with `cache: true` the second reads it from memory.
#[tokio::test]
async fn cached_listing_is_read_once_per_run() {
    let cfg = config(10).with_groups(7);
    let api = start(cfg.clone()).await;
    let op = |cache: bool| {
        format!(
            r#"    request: {{ path: /groups/offset, query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }} }}
    paging: {{ kind: offset, limit: 3, total: "$.total" }}
    cache: {cache}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.displayName"
"#
        )
    };
    let yaml = |cache: bool| {
        format!(
            "{HEADER}{FAST_HTTP}operations:\n  group_aggregation:\n    team:\n{}    squad:\n{}",
            op(cache)
                .replace("\n    ", "\n      ")
                .replacen("    request", "      request", 1),
            op(cache)
                .replace("\n    ", "\n      ")
                .replacen("    request", "      request", 1),
        )
    };
    let eng = engine(&yaml(true), &api.base_url());
    let before = api.stats().requests;
    let teams = aggregate(&eng, "team", None).await.unwrap();
    let after_teams = api.stats().requests;
    let squads = aggregate(&eng, "squad", None).await.unwrap();
    assert_eq!(teams.len(), 7);
    assert_eq!(squads.len(), 7);
    assert_eq!(
        api.stats().requests,
        after_teams,
        "the second listing came from the cache"
    );
    assert_eq!(after_teams - before, 3);
    assert_eq!(eng.summary().cache_hits, 3);

    // Without `cache`, each object type reads the listing itself.
    let eng = engine(&yaml(false), &api.base_url());
    let before = api.stats().requests;
    aggregate(&eng, "team", None).await.unwrap();
    aggregate(&eng, "squad", None).await.unwrap();
    assert_eq!(api.stats().requests - before, 6);
    api.shutdown().await;
}

/// Nested `for_each` levels: users → their groups → each group's description, merged level
/// by level, in order; memberships read from the deepest level.
#[tokio::test]
async fn nested_for_each_levels_merge_into_their_parents() {
    use wsc_testkit::synthetic::{group, group_index};
    let cfg = config(9).with_groups(6);
    let api = start(cfg.clone()).await;
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    steps:
      - name: users
        request: {{ path: /users/offset, query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }} }}
        paging: {{ kind: offset, limit: 4, total: "$.total" }}
        records: "$.items[*]"
      - name: groups
        for_each: users
        concurrency: 3
        request: {{ path: "/users/{{{{record.id}}}}/groups" }}
        records: "$.items[*]"
        merge: {{ into: memberships }}
      - name: detail
        for_each: groups
        concurrency: 2
        request: {{ path: "/groups/{{{{record.id}}}}", query: {{ user: "{{{{parent.id}}}}" }} }}
        merge: {{ into: about, mode: first, value: "$.description" }}
    identity: "$.id"
    attributes:
      groups: {{ path: "$.memberships[*].id", multi: true }}
      about: {{ path: "$.memberships[*].about", multi: true }}
"#
    );
    let eng = engine(&yaml, &api.base_url());
    let records = aggregate(&eng, "account", None).await.unwrap();
    assert_eq!(records.len(), 9);
    let mut nested_requests = 0;
    for (i, r) in records.iter().enumerate() {
        let u = wsc_testkit::synthetic::user(&cfg, i);
        assert_eq!(r.identity, u.id);
        let groups = attr(&eng, "account_aggregation", r, "groups");
        assert_eq!(groups, &serde_json::json!(u.groups), "{}", r.identity);
        let about: Vec<String> = u
            .groups
            .iter()
            .map(|g| group(&cfg, group_index(g).unwrap()).description)
            .collect();
        assert_eq!(
            attr(&eng, "account_aggregation", r, "about"),
            &serde_json::json!(about)
        );
        nested_requests += u.groups.len();
    }
    assert!(nested_requests > 0, "the test data has memberships");
    // 3 listing pages, one groups request per user, one detail request per membership.
    assert_eq!(eng.summary().requests as usize, 3 + 9 + nested_requests);
    api.shutdown().await;
}
