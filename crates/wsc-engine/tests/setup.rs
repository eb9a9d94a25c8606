//! `setup` requests: a side effect before reading, per partition or per record, with its own
//! answer rules. The synthetic API's `POST /groups/{id}/join` answers as Slack's
//! `conversations.join`: `{"ok": true}` the first time, `already_in_channel` after, and
//! `is_archived` for an archived group.

mod common;

use common::*;
use wsc_engine::Engine;
use wsc_testkit::synthetic::group_id;

/// The join rules of every test: accepted when joined or already in; archived skips.
const JOIN_RULES: &str = r#"        accept:
          - { path: "$.ok", equals: true }
          - { path: "$.error", equals: already_in_channel }
        skip:
          - { path: "$.error", equals: is_archived }
"#;

/// Each partition is one group, read whole after joining it.
fn per_partition(rules: &str) -> String {
    format!(
        r#"{HEADER}{FAST_HTTP}operations:
  group_aggregation:
    group:
      partitions:
        list: [{{ name: g00000 }}, {{ name: g00001 }}, {{ name: g00002 }}, {{ name: g00003 }}]
        concurrency: 2
      setup:
        - name: join
          run: per_partition
          request: {{ method: POST, path: "/groups/{{{{partition.name}}}}/join" }}
{rules}      request: {{ path: "/groups/{{{{partition.name}}}}" }}
      records: "$"
      identity: "$.id"
      name: "$.displayName"
"#
    )
}

/// The group listing; each listed group joined before it is kept.
fn per_record(rules: &str) -> String {
    format!(
        r#"{HEADER}{FAST_HTTP}operations:
  group_aggregation:
    group:
      setup:
        - name: join
          run: per_record
          request: {{ method: POST, path: "/groups/{{{{record.id}}}}/join" }}
{rules}      request:
        path: /groups/offset
        query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
      paging: {{ kind: offset, limit: 4, total: "$.total" }}
      records: "$.items[*]"
      identity: "$.id"
      name: "$.displayName"
"#
    )
}

fn indent(rules: &str, by: usize) -> String {
    rules
        .lines()
        .map(|l| format!("{}{l}\n", " ".repeat(by)))
        .collect()
}

async fn run(engine: &Engine) -> Result<(Vec<String>, Vec<String>), String> {
    let stream = engine
        .aggregate("group", None)
        .await
        .map_err(|e| e.to_string())?;
    let (records, summary) = stream.collect().await.map_err(|e| e.to_string())?;
    Ok((
        records.into_iter().map(|r| r.identity).collect(),
        summary.warnings,
    ))
}

#[tokio::test]
async fn per_partition_joins_once_and_an_archived_partition_is_skipped_with_a_warning() {
    let api = start(config(5).with_archived_groups([2])).await;
    let yaml = per_partition(&indent(JOIN_RULES, 2));
    let e = engine(&yaml, &api.base_url());
    let (ids, warnings) = run(&e).await.unwrap();
    assert_eq!(ids, [group_id(0), group_id(1), group_id(3)]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("partition `g00002` skipped: setup `join` got HTTP 200")
            && warnings[0].contains("is_archived"),
        "{warnings:?}"
    );
    let joined: Vec<(String, u32)> = api.joins().into_iter().collect();
    assert_eq!(
        joined,
        [(group_id(0), 1), (group_id(1), 1), (group_id(3), 1)]
    );
    // A second run: `already_in_channel` is success too.
    let e = engine_with_token(&yaml, &api.base_url(), TOKEN);
    let (ids, _) = run(&e).await.unwrap();
    assert_eq!(ids, [group_id(0), group_id(1), group_id(3)]);
    assert!(api.joins().values().all(|n| *n == 2), "{:?}", api.joins());
    api.shutdown().await;
}

#[tokio::test]
async fn per_record_keeps_the_records_whose_setup_succeeded_in_order() {
    let api = start(config(5).with_archived_groups([3, 7])).await;
    let e = engine(&per_record(&indent(JOIN_RULES, 2)), &api.base_url());
    let (ids, warnings) = run(&e).await.unwrap();
    let want: Vec<String> = (0..13)
        .filter(|g| ![3, 7].contains(g))
        .map(group_id)
        .collect();
    assert_eq!(ids, want);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("skipped: setup `join`"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("g00003"), "{warnings:?}");
    assert_eq!(api.joins().len(), 11);
    api.shutdown().await;
}

#[tokio::test]
async fn an_answer_neither_accepted_nor_skipped_fails_the_run() {
    let api = start(config(5).with_archived_groups([1])).await;
    // Without the skip rule, `is_archived` is a failure.
    let rules = indent(JOIN_RULES, 2).replace(
        "          skip:\n            - { path: \"$.error\", equals: is_archived }\n",
        "",
    );
    let e = engine(&per_record(&rules), &api.base_url());
    let err = run(&e).await.unwrap_err();
    assert!(
        err.contains("step `setup join`")
            && err.contains("the answer matches neither its `accept` nor its `skip` rules")
            && err.contains("is_archived"),
        "{err}"
    );
    // Without any rule, a 2xx is success: every join's answer is taken.
    let plain = per_partition("");
    let e = engine(&plain, &api.base_url());
    let (ids, warnings) = run(&e).await.unwrap();
    assert_eq!(ids.len(), 4);
    assert!(warnings.is_empty(), "{warnings:?}");
    // A status no rule takes fails as any request does (404: no such group).
    let missing = per_partition(&indent(JOIN_RULES, 2)).replace("g00003", "g00099");
    let e = engine(&missing, &api.base_url());
    let err = run(&e).await.unwrap_err();
    assert!(err.contains("404"), "{err}");
    api.shutdown().await;
}
