//! `Engine::aggregate_lines`: records written as JSON Lines straight from the pages (the
//! compiled projection) are byte for byte what `Engine::aggregate` gives written by the output
//! writer, for every paging style, with hooks, partitions and tricky values, and the
//! completeness checks (duplicates, mapping errors) hold the same. Over loopback HTTP, against
//! the synthetic API and the replay server.

mod common;

use common::*;
use serde_json::json;
use wsc_engine::output::write_record_json;
use wsc_engine::{Chunk, Engine, EngineError};
use wsc_testkit::replay::{Cassette, ReplayServer};

/// The records of `aggregate` written by the output writer, and the error that ended the run.
async fn via_records(e: &Engine) -> (Vec<u8>, Option<String>) {
    let names = e.attribute_names("account_aggregation").unwrap();
    let (records, error) = aggregate_partial(e, "account", None).await;
    let mut out = Vec::new();
    for r in &records {
        write_record_json(&mut out, r, &names);
        out.push(b'\n');
    }
    (out, error.map(|e| e.to_string()))
}

/// The chunks of `aggregate_lines` (records written the same way), how many came as lines,
/// and the error that ended the run.
async fn via_lines(e: &Engine) -> (Vec<u8>, usize, Option<String>) {
    let names = e.attribute_names("account_aggregation").unwrap();
    let mut stream = match e.aggregate_lines("account", None).await {
        Ok(s) => s,
        Err(err) => return (Vec::new(), 0, Some(err.to_string())),
    };
    let (mut out, mut as_lines, mut error) = (Vec::new(), 0, None);
    while let Some(chunk) = stream.next_chunk().await {
        match chunk {
            Ok(Chunk::Lines(l)) => {
                assert!(error.is_none(), "lines after the error");
                as_lines += l.len();
                out.extend_from_slice(l.as_bytes());
            }
            Ok(Chunk::Records(rs)) => {
                for r in &rs {
                    write_record_json(&mut out, r, &names);
                    out.push(b'\n');
                }
            }
            Err(err) => error = Some(err.to_string()),
        }
    }
    let finished = stream.finish().await;
    assert_eq!(
        finished.is_err(),
        error.is_some(),
        "finish agrees with the stream"
    );
    (out, as_lines, error)
}

/// Runs `yaml` both ways against `base_url` (a fresh engine each) and asserts the same output
/// and error; returns the output, the records that came as lines and the error.
async fn same_both_ways(yaml: &str, base_url: &str) -> (String, usize, Option<String>) {
    let (want, want_err) = via_records(&engine(yaml, base_url)).await;
    let (got, as_lines, got_err) = via_lines(&engine(yaml, base_url)).await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
    assert_eq!(got_err, want_err);
    (String::from_utf8(got).unwrap(), as_lines, got_err)
}

#[tokio::test]
async fn every_paging_style_writes_the_same_lines() {
    let config = config(1234).with_max_page_size(100);
    let api = start(config.clone()).await;
    for (kind, total, concurrency) in [
        ("offset", false, 1),
        ("offset", true, 4),
        ("page", true, 3),
        ("cursor", false, 1),
        ("next_url", false, 1),
        ("link_header", false, 1),
    ] {
        let yaml = users_connector(FAST_HTTP, &users_request(kind, 100, total, concurrency));
        let (text, as_lines, err) = same_both_ways(&yaml, &api.base_url()).await;
        assert_eq!(err, None, "{kind}");
        assert_eq!(text.lines().count(), 1234, "{kind}");
        assert_eq!(as_lines, 1234, "{kind}: every record came as a line");
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first, expected_user(&config, 0), "{kind}");
    }
}

#[tokio::test]
async fn an_after_hook_and_records_marked_deleted_keep_their_meaning() {
    let api = start(config(300).with_max_page_size(100)).await;
    let request = users_request("offset", 100, true, 2);
    // The hook drops inactive users and changes one attribute: the lines are the hook's.
    let hooked = users_connector(FAST_HTTP, &request).replace(
        "    identity:",
        "    hooks:\n      after:\n        script: |\n          records.retain(|r| r.attributes.active);\n          records = records.map(|r| { r.attributes.title = \"T\"; r });\n    identity:",
    );
    let (text, _, err) = same_both_ways(&hooked, &api.base_url()).await;
    assert_eq!(err, None);
    assert!(text.lines().count() < 300);
    assert!(text.lines().all(|l| l.contains(r#""title":"T""#)));
    // `delta.deleted` marks are not in the lines: such records stay records.
    let deleted = users_connector(FAST_HTTP, &request).replace(
        "    identity:",
        "    delta: { deleted: \"$.deletedAt\" }\n    identity:",
    );
    let (text, as_lines, err) = same_both_ways(&deleted, &api.base_url()).await;
    assert_eq!((text.lines().count(), as_lines, err), (300, 0, None));
}

fn connector(mapping: &str, paging: &str) -> String {
    format!(
        r#"{HEADER}operations:
  account_aggregation:
    request: {{ path: /Users, query: {{ offset: "{{{{page.offset}}}}" }} }}
    records: "$.items[*]"
{paging}{mapping}"#
    )
}

/// Offset pages of two, each body served as written (`text`), then an empty page.
async fn pages(bodies: &[&str]) -> ReplayServer {
    let mut interactions: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            json!({
                "request": { "path": "/api/Users", "query": { "offset": (2 * i).to_string() } },
                "response": { "text": b, "headers": { "content-type": "application/json" } },
                "times": 0
            })
        })
        .collect();
    interactions.push(json!({
        "request": { "path": "/api/Users", "query": { "offset": (2 * bodies.len()).to_string() } },
        "response": { "body": { "items": [] } },
        "times": 0
    }));
    let cassette: Cassette =
        serde_json::from_value(json!({ "interactions": interactions })).unwrap();
    ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap()
}

const TRICKY_MAPPING: &str = r#"    identity: "$.id"
    name: "$.name"
    attributes:
      text: "$.text"
      number: "$.n"
      asInt: { path: "$.n", type: int }
      asText: { path: "$.n", type: string }
      list: { path: "$.list", multi: true }
      object: "$.o"
"#;

#[tokio::test]
async fn escapes_and_number_formats_are_written_as_the_writers_write_them() {
    let page1 = r#"{"items": [
        {"id": "a", "name": "plain", "text": "caf\u00e9 \/ \"q\"", "n": 1, "list": ["x"], "o": {"k": 1}},
        {"id": "b", "name": "é", "text": "tab\there", "n": -0, "list": [], "o": {"k": 1, "k": 2}}
    ]}"#;
    let page2 = r#"{"items": [
        {"id": "c\u0041", "name": 12, "text": "\ud83d\ude00", "n": 1.0, "list": "one", "o": []},
        {"id": 7, "name": null, "text": "", "n": 1e3, "list": [null, 2.0], "o": {"a\u00e9": "x"}}
    ]}"#;
    let server = pages(&[page1, page2]).await;
    let yaml = connector(TRICKY_MAPPING, "    paging: { kind: offset, limit: 2 }\n");
    let (text, as_lines, err) = same_both_ways(&yaml, &server.base_url()).await;
    assert_eq!(err, None);
    assert_eq!(as_lines, 4);
    assert!(text.contains(r#""text":"café / \"q\"""#), "{text}");
    assert!(text.contains(r#""identity":"cA","name":"12""#), "{text}");
    assert!(
        text.contains(r#""number":1000.0,"asInt":1000,"asText":"1e3""#),
        "{text}"
    );
    assert!(
        text.contains(r#""number":-0.0,"asInt":0,"asText":"-0""#),
        "{text}"
    );
    assert!(
        text.contains(r#""number":1.0,"asInt":1,"asText":"1.0""#),
        "{text}"
    );
}

#[tokio::test]
async fn mapping_errors_and_duplicates_are_the_same_as_for_records() {
    let page = |ids: [&str; 2]| {
        format!(
            r#"{{"items": [{{"id": {}, "n": 1}}, {{"id": {}, "n": "x"}}]}}"#,
            ids[0], ids[1]
        )
    };
    // A value that does not convert, on page 2 (page 1 is mapped the ordinary way).
    let typed = "    identity: \"$.id\"\n    attributes:\n      n: { path: \"$.n\", type: int }\n";
    let (p1, p2) = (page(["\"a\"", "\"b\""]), page(["\"c\"", "\"d\""]));
    let server = pages(&[&p1, &p2]).await;
    let yaml = connector(typed, "    paging: { kind: offset, limit: 2 }\n");
    let (_, _, err) = same_both_ways(&yaml, &server.base_url()).await;
    let err = err.expect("the run fails");
    assert!(err.contains("cannot convert \"x\" to int"), "{err}");

    // `b` again on page 2: an error, or dropped with a warning.
    let untyped = "    identity: \"$.id\"\n    attributes:\n      n: \"$.n\"\n";
    let (p1, p2) = (page(["\"a\"", "\"b\""]), page(["\"b\"", "\"c\""]));
    let server = pages(&[&p1, &p2]).await;
    let yaml = connector(untyped, "    paging: { kind: offset, limit: 2 }\n");
    let (_, _, err) = same_both_ways(&yaml, &server.base_url()).await;
    let err = err.expect("the run fails");
    assert!(err.contains("account `b` was delivered twice"), "{err}");
    let warn = yaml.replace("    paging:", "    on_duplicate: warn\n    paging:");
    let (text, _, err) = same_both_ways(&warn, &server.base_url()).await;
    assert_eq!(err, None);
    let ids: Vec<&str> = text
        .lines()
        .map(|l| l.split('"').nth(7).unwrap_or_default())
        .collect();
    assert_eq!(ids, ["a", "b", "c"], "the first copy is kept");
    let e = engine(&warn, &server.base_url());
    let _ = via_lines(&e).await;
    assert_eq!(e.summary().duplicates, 1);
}

#[tokio::test]
async fn a_stream_of_lines_read_as_records_is_an_internal_error_not_a_short_run() {
    let api = start(config(300).with_max_page_size(100)).await;
    let yaml = users_connector(FAST_HTTP, &users_request("offset", 100, false, 1));
    let e = engine(&yaml, &api.base_url());
    let mut stream = e.aggregate_lines("account", None).await.unwrap();
    let mut error = None;
    while let Some(b) = stream.next_batch().await {
        if let Err(err) = b {
            error = Some(err);
        }
    }
    assert!(matches!(error, Some(EngineError::Internal(_))), "{error:?}");
    assert!(stream.finish().await.is_err());
}
