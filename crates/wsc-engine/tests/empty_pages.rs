//! Paging past empty pages (`paging.past_empty_pages`) and the loop guard
//! (`paging.max_empty_pages`): an API that returns an empty page while it says more records
//! follow is read to its end, and one that never ends fails the run instead of paging forever;
//! a cursor or next-page URL given a second time stops the listing as well. Against the
//! replay server.

mod common;

use common::*;
use serde_json::{Value, json};
use wsc_engine::EngineError;
use wsc_testkit::replay::{Cassette, ReplayServer};

async fn serve(interactions: Vec<Value>) -> ReplayServer {
    let cassette: Cassette =
        serde_json::from_value(json!({ "interactions": interactions })).unwrap();
    ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap()
}

/// An offset page at `offset` holding `ids`, with the API's `has_more` flag.
fn page(offset: u32, ids: &[&str], has_more: bool) -> Value {
    json!({
        "request": { "path": "/api/Users", "query": { "offset": offset.to_string() } },
        "response": { "body": {
            "has_more": has_more,
            "items": ids.iter().map(|i| json!({ "id": i })).collect::<Vec<_>>()
        } },
        "times": 0
    })
}

/// A chain of `/api/Users` pages: page `i` is requested with no query when `i` is 0, else with
/// `param=value(i)` (exactly), and answers `{ "items": items(i), "next": next[i] }`.
fn chain(
    param: &str,
    value: impl Fn(usize) -> String,
    items: impl Fn(usize) -> Value,
    next: &[String],
) -> Vec<Value> {
    next.iter()
        .enumerate()
        .map(|(i, next)| {
            let query = if i == 0 {
                json!({})
            } else {
                json!({ param: value(i) })
            };
            json!({
                "request": { "path": "/api/Users", "query": query, "query_match": "exact" },
                "response": { "body": { "items": items(i), "next": next } }
            })
        })
        .collect()
}

/// `c1`, `c2`, ...: the cursor of page `i`.
fn cursor(i: usize) -> String {
    format!("c{i}")
}

/// One record per page, `u<i>`.
fn one_user(i: usize) -> Value {
    json!([{ "id": format!("u{i}") }])
}

fn offset_connector(paging_extra: &str) -> String {
    format!(
        r#"{HEADER}operations:
  account_aggregation:
    request: {{ path: /Users, query: {{ offset: "{{{{page.offset}}}}" }} }}
    records: "$.items[*]"
    identity: "$.id"
    paging: {{ kind: offset, limit: 2{paging_extra} }}
"#
    )
}

/// A cursor listing of `/Users` (the cursor in the `cursor` query parameter, the next one at
/// `$.next`).
fn cursor_connector(paging_extra: &str) -> String {
    format!(
        r#"{HEADER}operations:
  account_aggregation:
    request: {{ path: /Users, query: {{ cursor: "{{{{page.cursor}}}}" }} }}
    records: "$.items[*]"
    identity: "$.id"
    paging: {{ kind: cursor, cursor: "$.next"{paging_extra} }}
"#
    )
}

const UNTIL_NO_MORE: &str = r#", stop_when: "{{#if response.has_more}}false{{else}}true{{/if}}""#;

/// Pages of 2: [a b] more, [] more, [] more, [c d] more, [e] no more.
async fn gappy_api() -> ReplayServer {
    serve(vec![
        page(0, &["a", "b"], true),
        page(2, &[], true),
        page(4, &[], true),
        page(6, &["c", "d"], true),
        page(8, &["e"], false),
    ])
    .await
}

#[tokio::test]
async fn an_offset_listing_goes_past_empty_pages_until_stop_when() {
    let server = gappy_api().await;
    let e = engine(
        &offset_connector(&format!(", past_empty_pages: true{UNTIL_NO_MORE}")),
        &server.base_url(),
    );
    let ids: Vec<String> = aggregate(&e, "account", None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.identity)
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    assert_eq!(e.summary().requests, 5);

    // Without it, the first empty page ends the listing (the documented default), which is
    // why an API like this one needs the key.
    let e = engine(&offset_connector(UNTIL_NO_MORE), &server.base_url());
    assert_eq!(aggregate(&e, "account", None).await.unwrap().len(), 2);
}

#[tokio::test]
async fn too_many_empty_pages_in_a_row_fail_the_run() {
    let server = gappy_api().await;
    let e = engine(
        &offset_connector(&format!(
            ", past_empty_pages: true, max_empty_pages: 1{UNTIL_NO_MORE}"
        )),
        &server.base_url(),
    );
    let err = aggregate(&e, "account", None).await.unwrap_err();
    assert!(matches!(err, EngineError::Paging { .. }), "{err:?}");
    let text = err.to_string();
    for want in [
        "2 empty pages in a row and the API still says there is more",
        "`paging.max_empty_pages` (now 1)",
    ] {
        assert!(text.contains(want), "missing {want:?} in: {text}");
    }
    // Two allowed: the run reads all five records.
    let e = engine(
        &offset_connector(&format!(
            ", past_empty_pages: true, max_empty_pages: 2{UNTIL_NO_MORE}"
        )),
        &server.base_url(),
    );
    assert_eq!(aggregate(&e, "account", None).await.unwrap().len(), 5);
}

#[tokio::test]
async fn an_api_that_never_ends_hits_the_default_guard() {
    // Every offset answers an empty page that says there is more.
    let server = serve(vec![json!({
        "request": { "path": "/api/Users" },
        "response": { "body": { "has_more": true, "items": [] } },
        "times": 0
    })])
    .await;
    let e = engine(
        &offset_connector(&format!(", past_empty_pages: true{UNTIL_NO_MORE}")),
        &server.base_url(),
    );
    let err = aggregate(&e, "account", None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("11 empty pages in a row and the API still says there is more"),
        "{err}"
    );
    assert_eq!(e.summary().requests, 11);
}

#[tokio::test]
async fn empty_pages_with_fresh_cursors_are_guarded_too() {
    let next: Vec<String> = (1..=6).map(cursor).collect();
    let interactions = chain("cursor", cursor, |_| json!([]), &next);
    let server = serve(interactions).await;
    let e = engine(
        &cursor_connector(", max_empty_pages: 3"),
        &server.base_url(),
    );
    let err = aggregate(&e, "account", None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("4 empty pages in a row and the API still says there is more"),
        "{err}"
    );
}

/// A cursor listing whose cursors run c1, c2, c3, then c2 again: pages with records, so only
/// the cursor guard sees the loop (the pages after the repeat would repeat records).
#[tokio::test]
async fn a_cursor_given_a_second_time_stops_the_listing() {
    let next = ["c1", "c2", "c3", "c2"].map(String::from);
    let interactions = chain("cursor", cursor, one_user, &next);
    let server = serve(interactions).await;
    let e = engine(&cursor_connector(""), &server.base_url());
    let err = aggregate(&e, "account", None).await.unwrap_err();
    assert!(
        err.to_string().contains(
            "the API returned cursor `c2` a second time; stopping instead of looping forever"
        ),
        "{err}"
    );
    assert_eq!(e.summary().requests, 4);
}

/// The same with next-page URLs: the third page links back to the second.
#[tokio::test]
async fn a_next_url_given_a_second_time_stops_the_listing() {
    let next = ["/api/Users?p=1", "/api/Users?p=2", "/api/Users?p=1"].map(String::from);
    let interactions = chain("p", |i| i.to_string(), one_user, &next);
    let server = serve(interactions).await;
    let yaml = format!(
        r#"{HEADER}operations:
  account_aggregation:
    request: {{ path: /Users }}
    records: "$.items[*]"
    identity: "$.id"
    paging: {{ kind: next_url, next_url: "$.next" }}
"#
    );
    let e = engine(&yaml, &server.base_url());
    let err = aggregate(&e, "account", None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("a second time; stopping instead of looping forever")
            && err.to_string().contains("/api/Users?p=1"),
        "{err}"
    );
    assert_eq!(e.summary().requests, 3);
}

#[tokio::test]
async fn past_empty_pages_needs_an_end_and_an_offset_or_page_listing() {
    let no_end = offset_connector(", past_empty_pages: true");
    let err = load_err(&no_end);
    assert!(
        err.contains("`past_empty_pages: true` but nothing says where the listing ends"),
        "{err}"
    );
    let cursor = no_end.replace("kind: offset, limit: 2", "kind: cursor, cursor: \"$.next\"");
    let err = load_err(&cursor);
    assert!(
        err.contains("`past_empty_pages` does not apply to paging kind `cursor`"),
        "{err}"
    );
}

/// The rendered load errors of a connector that must not load.
fn load_err(yaml: &str) -> String {
    match wsc_spec::load_bytes(yaml.as_bytes(), "it.yaml", std::path::Path::new(".")) {
        Err(wsc_spec::LoadError::Invalid(report)) => report.render(),
        Err(e) => e.to_string(),
        Ok(_) => panic!("the connector loaded:\n{yaml}"),
    }
}
