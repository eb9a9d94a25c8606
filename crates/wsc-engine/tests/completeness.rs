//! Completeness: a page without the key its records are read from is an error, never "no
//! records" (a typo in `records`, or an API that changed its shape); `records_optional` and a
//! total of 0 are the ways a page may leave the key out. Against the replay server.

mod common;

use common::*;
use serde_json::json;
use wsc_engine::EngineError;
use wsc_testkit::replay::{Cassette, ReplayServer};

fn connector(records: &str, extra: &str) -> String {
    format!(
        r#"{HEADER}operations:
  account_aggregation:
    request: {{ path: /Users }}
    records: "{records}"
    identity: "$.id"
{extra}"#
    )
}

async fn serve(body: serde_json::Value) -> ReplayServer {
    let cassette: Cassette = serde_json::from_value(json!({
        "interactions": [ { "request": { "path": "/api/Users" }, "response": { "body": body }, "times": 5 } ]
    }))
    .unwrap();
    ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_typo_in_records_is_an_error_with_a_suggestion_not_zero_records() {
    let server = serve(json!({
        "totalResults": 2, "startIndex": 1,
        "Resources": [ { "id": "a" }, { "id": "b" } ]
    }))
    .await;
    let typo = engine(&connector("$.Resource[*]", ""), &server.base_url());
    let err = aggregate(&typo, "account", None).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, EngineError::Map { .. }), "{err:?}");
    for want in [
        "connector `it`, operation `account_aggregation`",
        "`records: $.Resource[*]` found nothing: `$.Resource` is not in the response",
        "the response has: totalResults, startIndex, Resources",
        "did you mean `Resources`",
        "records_optional: true",
    ] {
        assert!(text.contains(want), "missing {want:?} in: {text}");
    }
    // The right path reads both records.
    let engine = engine(&connector("$.Resources[*]", ""), &server.base_url());
    assert_eq!(aggregate(&engine, "account", None).await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_empty_list_is_no_records_but_a_missing_one_is_an_error() {
    let server = serve(json!({ "items": [] })).await;
    let e = engine(&connector("$.items[*]", ""), &server.base_url());
    assert!(aggregate(&e, "account", None).await.unwrap().is_empty());

    let server = serve(json!({ "other": 1 })).await;
    let e = engine(&connector("$.items[*]", ""), &server.base_url());
    let err = aggregate(&e, "account", None).await.unwrap_err();
    assert!(
        err.to_string().contains("`$.items` is not in the response"),
        "{err}"
    );
}

#[tokio::test]
async fn records_optional_and_a_zero_total_allow_a_missing_key() {
    let server = serve(json!({ "totalResults": 0 })).await;
    let optional = engine(
        &connector("$.Resources[*]", "    records_optional: true\n"),
        &server.base_url(),
    );
    assert!(
        aggregate(&optional, "account", None)
            .await
            .unwrap()
            .is_empty()
    );
    // SCIM leaves `Resources` out when totalResults is 0: a total of 0 says "no records".
    let paged = connector(
        "$.Resources[*]",
        "    paging: { kind: offset, limit: 10, total: \"$.totalResults\" }\n",
    )
    .replace(
        "request: { path: /Users }",
        "request: { path: /Users, query: { startIndex: \"{{page.offset}}\" } }",
    );
    let e = engine(&paged, &server.base_url());
    assert!(aggregate(&e, "account", None).await.unwrap().is_empty());
}

/// Offset pages of 2 that deliver 4 records while reporting a total of 5 (a record was
/// removed while the listing ran).
async fn short_of_its_total() -> ReplayServer {
    let page = |offset: &str, ids: &[&str]| {
        json!({
            "request": { "path": "/api/Users", "query": { "offset": offset } },
            "response": { "body": { "total": 5, "items": ids.iter().map(|i| json!({ "id": i })).collect::<Vec<_>>() } },
            "times": 0
        })
    };
    let cassette: Cassette = serde_json::from_value(json!({
        "interactions": [ page("0", &["a", "b"]), page("2", &["c", "d"]), page("4", &[]) ]
    }))
    .unwrap();
    ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap()
}

fn offset_connector(concurrency: u32, extra: &str) -> String {
    connector(
        "$.items[*]",
        &format!(
            "    paging: {{ kind: offset, limit: 2, total: \"$.total\", concurrency: {concurrency}{extra} }}\n"
        ),
    )
    .replace(
        "request: { path: /Users }",
        "request: { path: /Users, query: { offset: \"{{page.offset}}\" } }",
    )
}

#[tokio::test]
async fn records_delivered_must_match_the_reported_total() {
    let server = short_of_its_total().await;
    for concurrency in [1, 3] {
        let e = engine(&offset_connector(concurrency, ""), &server.base_url());
        let err = aggregate(&e, "account", None).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, EngineError::Paging { .. }), "{err:?}");
        assert!(
            text.contains("reported a total of 5 records, but the listing delivered 4"),
            "concurrency {concurrency}: {text}"
        );
        assert!(text.contains("on_total_mismatch: warn"), "{text}");
    }
    // A source that changes while it is read may say so: the run finishes with a warning.
    let e = engine(
        &offset_connector(1, ", on_total_mismatch: warn"),
        &server.base_url(),
    );
    assert_eq!(aggregate(&e, "account", None).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_matching_total_passes_with_concurrent_pages() {
    // The synthetic API's totals are exact: offset paging with 4 pages in flight.
    let api = start(config(57)).await;
    let e = engine(
        &users_connector(FAST_HTTP, &users_request("offset", 10, true, 4)),
        &api.base_url(),
    );
    assert_eq!(aggregate(&e, "account", None).await.unwrap().len(), 57);
}

/// An offset API over 12 records that returns at most `cap` per page whatever `limit` asks.
async fn capped_api(cap: usize) -> ReplayServer {
    let ids: Vec<String> = (0..12).map(|i| format!("u{i:02}")).collect();
    let page = |offset: usize| {
        let items: Vec<_> = ids
            .iter()
            .skip(offset)
            .take(cap)
            .map(|id| json!({ "id": id }))
            .collect();
        json!({
            "request": { "path": "/api/Users", "query": { "offset": offset.to_string() } },
            "response": { "body": { "items": items } },
            "times": 0
        })
    };
    let cassette: Cassette = serde_json::from_value(json!({
        "interactions": [ page(0), page(10), page(20) ]
    }))
    .unwrap();
    ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap()
}

fn no_total_connector(extra: &str) -> String {
    connector(
        "$.items[*]",
        &format!("    paging: {{ kind: offset, limit: 10{extra} }}\n"),
    )
    .replace(
        "request: { path: /Users }",
        "request: { path: /Users, query: { offset: \"{{page.offset}}\" } }",
    )
}

#[tokio::test]
async fn without_a_total_a_short_page_is_confirmed_by_one_more_request() {
    // The API caps pages at 5 although `limit` asks for 10: page 1 is short, and the
    // confirming request finds more records, so records 5..10 were skipped.
    let capped = capped_api(5).await;
    let e = engine(&no_total_connector(""), &capped.base_url());
    let err = aggregate(&e, "account", None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("page 1 held 5 records, fewer than the page size 10, yet page 2 holds more"),
        "{err}"
    );
    // An honest API: the short page 2 is confirmed as the end by an empty page 3.
    let honest = capped_api(10).await;
    let e = engine(&no_total_connector(""), &honest.base_url());
    assert_eq!(aggregate(&e, "account", None).await.unwrap().len(), 12);
    assert_eq!(e.summary().requests, 3);
    // `confirm_end: false` states the API never caps: the short page ends the listing.
    let e = engine(
        &no_total_connector(", confirm_end: false"),
        &honest.base_url(),
    );
    assert_eq!(aggregate(&e, "account", None).await.unwrap().len(), 12);
    assert_eq!(e.summary().requests, 2);
}

#[tokio::test]
async fn an_empty_page_with_a_next_cursor_does_not_end_the_listing() {
    let cassette: Cassette = serde_json::from_value(json!({
        "interactions": [
            { "request": { "path": "/api/Users", "query": {}, "query_match": "exact" },
              "response": { "body": { "items": [], "next": "c2" } } },
            { "request": { "path": "/api/Users", "query": { "cursor": "c2" }, "query_match": "exact" },
              "response": { "body": { "items": [ { "id": "a" } ], "next": null } } }
        ]
    }))
    .unwrap();
    let server = ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap();
    let yaml = connector(
        "$.items[*]",
        "    paging: { kind: cursor, cursor: \"$.next\" }\n",
    )
    .replace(
        "request: { path: /Users }",
        "request: { path: /Users, query: { cursor: \"{{page.cursor}}\" } }",
    );
    let e = engine(&yaml, &server.base_url());
    let records = aggregate(&e, "account", None).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].identity, "a");
}

#[tokio::test]
async fn a_dry_run_does_not_check_the_records_key_of_its_stand_in_responses() {
    let yaml = format!(
        r#"{HEADER}operations:
  create_account:
    request: {{ method: POST, path: /Users, body: {{ userName: "{{{{plan.attributes.userName}}}}" }} }}
    records: "$.data"
    identity: "$.id"
"#
    );
    let loaded = load(&yaml);
    let settings: indexmap::IndexMap<String, serde_json::Value> = [
        ("base_url".to_string(), json!("http://127.0.0.1:9")),
        ("token".to_string(), json!(TOKEN)),
    ]
    .into_iter()
    .collect();
    let settings = wsc_engine::settings::resolve(
        &loaded.connector,
        &settings,
        &indexmap::IndexMap::new(),
        &|_| None,
    )
    .unwrap();
    let auth = wsc_engine::static_authenticator(&loaded, &settings).unwrap();
    let run = wsc_engine::RunContext {
        wire: wsc_engine::Wire {
            dry_run: true,
            ..wsc_engine::Wire::default()
        },
        ..wsc_engine::RunContext::default()
    };
    let engine = wsc_engine::Engine::new(&loaded, &settings, auth, run).unwrap();
    let plan = wsc_spec::plan::load_plan(
        b"operation: create_account\nattributes: { userName: ann }\n",
        std::path::Path::new("plan.yaml"),
    )
    .unwrap();
    let done = engine.provision(&plan.requests[0]).await.unwrap();
    assert_eq!(done.operation, "create_account");
}

/// Offset pages of 2 over 5 records in a bare JSON array, the total in `X-Total-Count`
/// (as json-server, PostgREST and many Rails APIs do), the next cursor in `X-Next`.
async fn header_api(total: &str) -> ReplayServer {
    let ids = ["a", "b", "c", "d", "e"];
    let page = |offset: usize| {
        let items: Vec<_> = ids
            .iter()
            .skip(offset)
            .take(2)
            .map(|id| json!({ "id": id }))
            .collect();
        let mut headers = json!({ "X-Total-Count": total });
        if offset + 2 < ids.len() {
            headers["X-Next"] = json!((offset + 2).to_string());
        }
        json!({
            "request": { "path": "/api/Users", "query": { "offset": offset.to_string() } },
            "response": { "headers": headers, "body": items },
            "times": 0
        })
    };
    let cassette: Cassette = serde_json::from_value(json!({
        "interactions": [ page(0), page(2), page(4), page(6) ]
    }))
    .unwrap();
    ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap()
}

fn header_connector(paging: &str) -> String {
    connector("$[*]", &format!("    paging: {paging}\n")).replace(
        "request: { path: /Users }",
        "request: { path: /Users, query: { offset: \"{{page.offset}}\" } }",
    )
}

#[tokio::test]
async fn a_total_in_a_response_header_is_read_and_pages_run_concurrently() {
    let server = header_api("5").await;
    let e = engine(
        &header_connector(
            "{ kind: offset, limit: 2, concurrency: 3, total: { header: X-Total-Count } }",
        ),
        &server.base_url(),
    );
    let records = aggregate(&e, "account", None).await.unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.identity.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    // The total ends the listing: 3 pages, no confirming request for the short last page.
    assert_eq!(e.summary().requests, 3);

    // The header's total is checked like a body total.
    let lying = header_api("6").await;
    let e = engine(
        &header_connector("{ kind: offset, limit: 2, total: { header: x-total-count } }"),
        &lying.base_url(),
    );
    let err = aggregate(&e, "account", None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("reported a total of 6 records, but the listing delivered 5"),
        "{err}"
    );
}

#[tokio::test]
async fn a_cursor_in_a_response_header_is_followed() {
    let server = header_api("5").await;
    let yaml = header_connector("{ kind: cursor, cursor: { header: X-Next } }").replace(
        "offset: \"{{page.offset}}\"",
        "offset: \"{{#if page.cursor}}{{page.cursor}}{{else}}0{{/if}}\"",
    );
    let e = engine(&yaml, &server.base_url());
    let records = aggregate(&e, "account", None).await.unwrap();
    assert_eq!(records.len(), 5);
}

#[tokio::test]
async fn a_declared_total_missing_from_the_first_page_is_an_error() {
    let server = header_api("5").await;
    // The total is in a header, but the connector reads the body.
    let e = engine(
        &header_connector("{ kind: offset, limit: 2, total: \"$.headers['x-total-count']\" }"),
        &server.base_url(),
    );
    let err = aggregate(&e, "account", None).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, EngineError::Paging { .. }), "{err:?}");
    assert!(text.contains("found nothing on the first page"), "{text}");
    assert!(
        text.contains("total: { header: x-total-count }"),
        "the hint names the header: {text}"
    );
    // A misspelt header.
    let e = engine(
        &header_connector("{ kind: offset, limit: 2, total: { header: X-Total-Counts } }"),
        &server.base_url(),
    );
    let text = aggregate(&e, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("did you mean `x-total-count`"), "{text}");
    // A misspelt body path, with the keys the page has.
    let body = serve(json!({ "totalResults": 1, "Resources": [ { "id": "a" } ] })).await;
    let yaml = connector(
        "$.Resources[*]",
        "    paging: { kind: offset, limit: 10, total: \"$.totalResult\" }\n",
    )
    .replace(
        "request: { path: /Users }",
        "request: { path: /Users, query: { startIndex: \"{{page.offset}}\" } }",
    );
    let e = engine(&yaml, &body.base_url());
    let text = aggregate(&e, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("did you mean `totalResults`"), "{text}");
}

/// Offset pages of 2 over a list that gained a record at its front while it was read: `b`
/// comes again at the start of page 2.
async fn shifting_list() -> ReplayServer {
    let page = |offset: &str, ids: &[&str]| {
        json!({
            "request": { "path": "/api/Users", "query": { "offset": offset } },
            "response": { "body": { "items": ids.iter().map(|i| json!({ "id": i })).collect::<Vec<_>>() } },
            "times": 0
        })
    };
    let cassette: Cassette = serde_json::from_value(json!({
        "interactions": [ page("0", &["a", "b"]), page("2", &["b", "c"]), page("4", &["d"]), page("6", &[]) ]
    }))
    .unwrap();
    ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_identity_delivered_twice_fails_the_run_or_is_dropped_with_a_warning() {
    let server = shifting_list().await;
    let yaml = connector("$.items[*]", "    paging: { kind: offset, limit: 2 }\n").replace(
        "request: { path: /Users }",
        "request: { path: /Users, query: { offset: \"{{page.offset}}\" } }",
    );
    let e = engine(&yaml, &server.base_url());
    let err = aggregate(&e, "account", None).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("account `b` was delivered twice in one run"),
        "{text}"
    );
    assert!(text.contains("on_duplicate: warn"), "{text}");

    let e = engine(
        &yaml.replace("    paging:", "    on_duplicate: warn\n    paging:"),
        &server.base_url(),
    );
    let records = aggregate(&e, "account", None).await.unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.identity.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d"], "the first copy is kept");
    let summary = e.summary();
    assert_eq!(summary.duplicates, 1);
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    assert!(
        summary.warnings[0].contains("account `b` was delivered twice; the first copy is kept"),
        "{:?}",
        summary.warnings
    );
}

#[tokio::test]
async fn an_attribute_path_no_record_matches_is_one_warning_with_a_suggestion() {
    let server = serve(json!({
        "items": [
            { "id": "a", "email": "a@x", "manager": null, "groups": [] },
            { "id": "b", "email": "b@x", "groups": [] }
        ]
    }))
    .await;
    let yaml = connector(
        "$.items[*]",
        r#"    attributes:
      mail: "$.emial"
      email: "$.email"
      manager: "$.manager.id"
      groups: { path: "$.groups[*]", multi: true }
"#,
    );
    let e = engine(&yaml, &server.base_url());
    let records = aggregate(&e, "account", None).await.unwrap();
    assert_eq!(records.len(), 2, "a warning, not an error");
    let warnings = e.summary().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    for want in [
        "operation `account_aggregation`",
        "`mail: $.emial` matched nothing on the first page: none of its 2 records has `emial` (did you mean `email`?)",
    ] {
        assert!(
            warnings[0].contains(want),
            "missing {want:?} in {warnings:?}"
        );
    }
    // Once per operation: a second run of the same engine does not repeat it.
    aggregate(&e, "account", None).await.unwrap();
    assert_eq!(e.summary().warnings.len(), 1);
}
