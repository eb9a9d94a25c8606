//! Static partitions: one ordered stream, partition by partition, even when partitions run
//! concurrently; one partition alone; unknown partition names.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use wsc_engine::EngineError;
use wsc_testkit::synthetic::{group_id, group_summary, user, user_id};

/// Two partitions reading different collections with different page sizes, both mapped as
/// accounts (`id`, `displayName`).
const PARTITIONED: &str = r#"operations:
  account_aggregation:
    partitions:
      list:
        - { name: people, coll: users, size: 7 }
        - { name: teams, coll: groups, size: 5 }
      concurrency: 2
    request:
      path: "/{{partition.coll}}/cursor"
      query: { cursor: "{{page.cursor}}", limit: "{{partition.size}}" }
    paging: { kind: cursor, cursor: "$.next_cursor" }
    records: "$.items[*]"
    identity: "$.id"
    name: "$.displayName"
"#;

fn connector() -> String {
    format!("{HEADER}{FAST_HTTP}{PARTITIONED}")
}

/// (identity, name) of users `0..users` then groups `0..groups`.
fn expected(
    cfg: &wsc_testkit::synthetic::SyntheticConfig,
    users: bool,
    groups: bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if users {
        out.extend((0..cfg.users).map(|i| (user_id(i), user(cfg, i).display_name)));
    }
    if groups {
        out.extend((0..cfg.groups).map(|g| (group_id(g), group_summary(cfg, g).display_name)));
    }
    out
}

fn pairs(records: &[wsc_engine::Record]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| (r.identity.clone(), r.name.clone().unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn partitions_are_listed() {
    let api = start(config(10)).await;
    let engine = engine(&connector(), &api.base_url());
    let parts = engine.partitions("account").await.unwrap();
    assert_eq!(
        parts,
        vec![
            json!({ "name": "people", "coll": "users", "size": 7 }),
            json!({ "name": "teams", "coll": "groups", "size": 5 }),
        ]
    );
    assert_eq!(api.stats().requests, 0, "static partitions need no request");
    api.shutdown().await;
}

#[tokio::test]
async fn all_partitions_give_one_ordered_stream() {
    // Latency makes the two partitions overlap; the stream is still people, then teams.
    let cfg = config(66).with_latency(Duration::from_millis(3));
    let api = start(cfg.clone()).await;
    let engine = engine(&connector(), &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_eq!(pairs(&records), expected(&cfg, true, true));
    assert_identities_unique(&records);
    let stats = api.stats();
    assert_eq!(stats.pages.cursor, 10 + 3, "66 users by 7, 13 groups by 5");
    assert_eq!(stats.user_items, 66);
    assert_eq!(stats.group_items, 13);
    api.shutdown().await;
}

#[tokio::test]
async fn one_partition_alone() {
    let cfg = config(66);
    let api = start(cfg.clone()).await;
    let engine = engine(&connector(), &api.base_url());
    let teams = aggregate(&engine, "account", Some("teams")).await.unwrap();
    assert_eq!(pairs(&teams), expected(&cfg, false, true));
    assert_eq!(api.stats().pages.cursor, 3);
    assert_eq!(api.stats().user_items, 0, "the other partition did not run");
    let people = aggregate(&engine, "account", Some("people")).await.unwrap();
    assert_eq!(pairs(&people), expected(&cfg, true, false));
    api.shutdown().await;
}

#[tokio::test]
async fn unknown_partition_lists_the_known_ones() {
    let api = start(config(10)).await;
    let engine = engine(&connector(), &api.base_url());
    let error = aggregate(&engine, "account", Some("staff"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, EngineError::NoPartition { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("`staff`"), "{text}");
    assert!(text.contains("people, teams"), "{text}");
    assert_eq!(api.stats().requests, 0);
    api.shutdown().await;
}

/// A partition name given for an aggregation without partitions is an error too.
#[tokio::test]
async fn partition_of_an_unpartitioned_aggregation() {
    let api = start(config(10)).await;
    let yaml = users_connector(FAST_HTTP, &users_request("cursor", 5, false, 1));
    let engine = engine(&yaml, &api.base_url());
    assert!(engine.partitions("account").await.unwrap().is_empty());
    let error = aggregate(&engine, "account", Some("people"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, EngineError::NoPartition { .. }),
        "{error:?}"
    );
    api.shutdown().await;
}

/// A partition that fails fails the run; records of earlier partitions may have been
/// emitted, but the run never ends successfully.
#[tokio::test]
async fn failing_partition_fails_the_run() {
    let api = start(config(30)).await;
    let yaml = connector().replace("coll: groups", "coll: nothing");
    let engine = engine(&yaml, &api.base_url());
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let error = error.expect("the second partition fails");
    assert_eq!(error.http_status(), Some(404), "{error}");
    assert!(records.len() <= 30);
    api.shutdown().await;
}

/// Partitions from a static list joined with those of a list setting (windows of users).
const UNION: &str = r#"  windows: { type: list }
operations:
  account_aggregation:
    partitions:
      list:
        - { name: first, from: 0, to: 5 }
      from_setting: windows
    request:
      path: /users/offset
      query:
        offset: "{{page.offset}}"
        limit: "{{page.limit}}"
        from: "{{partition.from}}"
        to: "{{partition.to}}"
    paging: { kind: offset, limit: 3, total: "$.total" }
    records: "$.items[*]"
    identity: "$.id"
    name: "$.displayName"
"#;

fn union_connector() -> String {
    // HEADER ends with the settings block's last entry before base_url: splice the list
    // setting in after `token`.
    let header = HEADER.replace(
        "  token: { secret: true }\n",
        &format!(
            "  token: {{ secret: true }}\n{}",
            UNION.lines().next().unwrap()
        ),
    );
    let header = header.replacen("{ type: list }", "{ type: list }\n", 1);
    let ops = UNION.split_once('\n').unwrap().1;
    format!("{header}{FAST_HTTP}{ops}")
}

#[tokio::test]
async fn partitions_from_a_list_setting_joined_with_a_static_list() {
    let cfg = config(20);
    let api = start(cfg.clone()).await;
    let yaml = union_connector();
    let windows = r#"[{"name":"w2","from":5,"to":9},{"name":"w3","from":9,"to":12}]"#;
    let engine = try_engine(
        &yaml,
        &[
            ("base_url", &api.base_url()),
            ("token", TOKEN),
            ("windows", windows),
        ],
    )
    .unwrap();
    let parts = engine.partitions("account").await.unwrap();
    let names: Vec<&str> = parts.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["first", "w2", "w3"]);
    let records = aggregate(&engine, "account", None).await.unwrap();
    let ids: Vec<String> = records.iter().map(|r| r.identity.clone()).collect();
    assert_eq!(ids, (0..12).map(user_id).collect::<Vec<_>>());
    // One partition of the setting's alone.
    let one = aggregate(&engine, "account", Some("w3")).await.unwrap();
    assert_eq!(one.len(), 3);

    // A name from both sources would read its records twice: refused.
    let dup = try_engine(
        &yaml,
        &[
            ("base_url", &api.base_url()),
            ("token", TOKEN),
            ("windows", r#"[{"name":"first","from":5,"to":9}]"#),
        ],
    )
    .unwrap();
    let e = aggregate(&dup, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("partition `first` comes twice"), "{e}");

    // Text items become `{ name, value }`; an empty union reads nothing and is an error.
    let texts = yaml
        .replace(
            "      list:\n        - { name: first, from: 0, to: 5 }\n",
            "",
        )
        .replace("\"{{partition.from}}\"", "\"{{partition.value}}\"")
        .replace("        to: \"{{partition.to}}\"\n", "");
    let e = try_engine(
        &texts,
        &[
            ("base_url", &api.base_url()),
            ("token", TOKEN),
            ("windows", "[]"),
        ],
    )
    .unwrap();
    let err = aggregate(&e, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("they are empty this run"), "{err}");
    let e = try_engine(
        &texts,
        &[
            ("base_url", &api.base_url()),
            ("token", TOKEN),
            ("windows", "15,18"),
        ],
    )
    .unwrap();
    let parts = e.partitions("account").await.unwrap();
    assert_eq!(parts[0], json!({ "name": "15", "value": "15" }));
    // from=15 reads users 15..20, from=18 users 18..20: overlapping partitions are caught.
    let err = aggregate(&e, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("`u0000018` was delivered twice"), "{err}");
    api.shutdown().await;
}

/// Many partitions with `concurrency: 1`: the partition the reader waits for must get the
/// permit first. A later one holding it while its channel is full deadlocked (every time with
/// 16 partitions). The timeout only turns a deadlock into a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_partitions_one_at_a_time_do_not_deadlock() {
    let cfg = config(160);
    let api = start(cfg.clone()).await;
    let parts: String = (0..16)
        .map(|i| {
            format!(
                "        - {{ name: p{i:02}, from: {}, to: {} }}\n",
                i * 10,
                (i + 1) * 10
            )
        })
        .collect();
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    partitions:
      concurrency: 1
      list:
{parts}    request:
      path: /users/offset
      query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}", from: "{{{{partition.from}}}}", to: "{{{{partition.to}}}}" }}
    paging: {{ kind: offset, limit: 2, total: "$.total" }}
    records: "$.items[*]"
    identity: "$.id"
"#
    );
    let eng = engine(&yaml, &api.base_url());
    let records = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        aggregate(&eng, "account", None),
    )
    .await
    .expect("the partitioned aggregation finished (no deadlock)")
    .unwrap();
    let ids: Vec<String> = records.iter().map(|r| r.identity.clone()).collect();
    assert_eq!(ids, (0..160).map(user_id).collect::<Vec<_>>());
    api.shutdown().await;
}

/// Attribute templates of a partitioned aggregation read `partition`: every record carries
/// the partition it was read in, field by field or whole; concurrent partitions do not mix.
#[tokio::test]
async fn attribute_templates_read_the_partition() {
    let cfg = config(12).with_latency(Duration::from_millis(2));
    let api = start(cfg.clone()).await;
    let yaml = format!(
        "{}    attributes:\n      part: {{ template: \"{{{{partition.name}}}}\" }}\n      size: {{ template: \"{{{{partition.size}}}}\", type: int }}\n      whole: {{ template: \"{{{{partition}}}}\", type: json }}\n      tag: {{ template: \"{{{{partition.coll}}}}/{{{{record.id}}}}\" }}\n",
        connector()
    );
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_eq!(pairs(&records), expected(&cfg, true, true));
    for r in &records {
        let people = r.identity.starts_with('u');
        let (name, coll, size) = if people {
            ("people", "users", 7)
        } else {
            ("teams", "groups", 5)
        };
        assert_eq!(
            attr(&engine, "account_aggregation", r, "part"),
            &json!(name),
            "{r:?}"
        );
        assert_eq!(
            attr(&engine, "account_aggregation", r, "size"),
            &json!(size),
            "{r:?}"
        );
        assert_eq!(
            attr(&engine, "account_aggregation", r, "whole"),
            &json!({ "name": name, "coll": coll, "size": size }),
            "{r:?}"
        );
        assert_eq!(
            attr(&engine, "account_aggregation", r, "tag"),
            &json!(format!("{coll}/{}", r.identity)),
            "{r:?}"
        );
    }
    // One partition alone carries its own.
    let teams = aggregate(&engine, "account", Some("teams")).await.unwrap();
    assert!(!teams.is_empty());
    assert!(
        teams
            .iter()
            .all(|r| attr(&engine, "account_aggregation", r, "part") == &json!("teams"))
    );
    api.shutdown().await;
}
