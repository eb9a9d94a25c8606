//! Every ```rhai block of docs/hooks.md compiles (as the hook kind named on its first line,
//! `// kind: after`) and runs on sample data; the main examples are checked in detail.

mod common;

use common::*;
use serde_json::{Value, json};
use wsc_hooks::{HookKind, HookOrigin, HookRuntime, HookScope, RequestView, ResponseView};

fn examples() -> Vec<(HookKind, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/hooks.md"))
        .expect("docs/hooks.md");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match &mut current {
            None if line.trim() == "```rhai" => current = Some(String::new()),
            Some(block) if line.trim() == "```" => {
                let first = block.lines().next().unwrap_or_default();
                let kind = first
                    .strip_prefix("// kind: ")
                    .and_then(|k| k.split_whitespace().next())
                    .unwrap_or_else(|| panic!("rhai block without `// kind:` line:\n{block}"));
                let kind = match kind {
                    "before" => HookKind::Before,
                    "after" => HookKind::After,
                    "before_operation" => HookKind::BeforeOperation,
                    "after_operation" => HookKind::AfterOperation,
                    other => panic!("unknown kind {other}"),
                };
                out.push((kind, std::mem::take(block)));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

fn sample_records() -> Vec<Value> {
    vec![
        json!({"type": "account", "identity": "1", "name": "ada", "attributes": {
            "email": "ada@example.com", "givenName": "Ada", "familyName": "Lovelace",
            "active": true, "created": "2024-05-01T12:00:00Z", "updated": "2024-06-01T00:00:00Z"}}),
        json!({"type": "account", "identity": "2", "name": "bob", "attributes": {
            "email": "bob@example.com", "active": false, "updated": "2024-07-01T00:00:00Z"}}),
        json!({"type": "account", "identity": "3", "name": "cy", "attributes": {
            "givenName": "Cy", "active": true, "updated": "2024-05-15T00:00:00Z"}}),
    ]
}

fn scope() -> HookScope {
    HookScope {
        operation: "account_aggregation".into(),
        settings: json!({"api_secret": "s3cr3t", "default_locale": "de_DE"}),
        page: json!({"number": 1, "limit": 100}),
        plan: json!({"identity": "ada", "attributes": {"email": "  ADA@Example.com "}}),
        ..HookScope::default()
    }
}

fn request() -> RequestView {
    RequestView {
        method: "POST".into(),
        url: "https://api.example.com/v1/users".into(),
        body: json!({"userName": "ada"}),
        ..RequestView::default()
    }
}

fn response() -> ResponseView {
    let body = r#"{"items": [], "partial": false}"#;
    ResponseView {
        status: 200,
        body: body.into(),
        json: serde_json::from_str(body).unwrap(),
        ..ResponseView::default()
    }
}

struct Ran {
    request: RequestView,
    records: Vec<Value>,
    state: serde_json::Map<String, Value>,
    plan: Option<Value>,
}

fn run(rt: &HookRuntime, kind: HookKind, script: &str) -> Ran {
    let origin = HookOrigin::new("docs/hooks.md", "example", kind);
    let hook = rt
        .compile_source(script, &origin)
        .unwrap_or_else(|e| panic!("{e}\n{script}"));
    let scope = scope();
    let mut ran = Ran {
        request: request(),
        records: sample_records(),
        state: Default::default(),
        plan: None,
    };
    let outcome = match kind {
        HookKind::Before => rt.before(&hook, &mut ran.request, &scope),
        HookKind::After => rt.after(&hook, &response(), &mut ran.records, &scope),
        HookKind::BeforeOperation => rt.before_operation(&hook, &scope),
        HookKind::AfterOperation => {
            let mut result = json!({"records": 3});
            rt.after_operation(&hook, &mut result, &scope)
        }
    }
    .unwrap_or_else(|e| panic!("{e}\n{script}"));
    outcome.state.apply_to(&mut ran.state);
    ran.plan = outcome.plan;
    ran
}

#[test]
fn every_example_compiles_and_runs() {
    let rt = runtime();
    let examples = examples();
    assert!(examples.len() >= 8, "found {}", examples.len());
    for (kind, script) in &examples {
        run(&rt, *kind, script);
    }
}

#[test]
fn hmac_signing_example() {
    let rt = runtime();
    let (kind, script) = examples()
        .into_iter()
        .find(|(_, s)| s.contains("X-Signature"))
        .unwrap();
    let ran = run(&rt, kind, &script);
    let ts = ran.request.headers["X-Timestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let payload = format!("POST\nhttps://api.example.com/v1/users\n{ts}\n{{\"userName\":\"ada\"}}");
    let expected = {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s3cr3t").unwrap();
        mac.update(payload.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(ran.request.headers["X-Signature"], expected.as_str());
}

#[test]
fn drop_and_compute_example() {
    let rt = runtime();
    let (kind, script) = examples()
        .into_iter()
        .find(|(_, s)| s.contains("Keep active users only"))
        .unwrap();
    let ran = run(&rt, kind, &script);
    let ids: Vec<_> = ran.records.iter().map(|r| r["identity"].clone()).collect();
    assert_eq!(ids, [json!("1"), json!("3")]);
    let a = &ran.records[0]["attributes"];
    assert_eq!(a["domain"], "example.com");
    assert_eq!(a["displayName"], "Ada Lovelace");
    assert_eq!(a["created_unix"], 1_714_564_800);
    let c = &ran.records[1]["attributes"];
    assert_eq!(c["displayName"], "Cy");
    assert_eq!(c["domain"], Value::Null);
}

#[test]
fn high_water_mark_example() {
    let rt = runtime();
    let (kind, script) = examples()
        .into_iter()
        .find(|(_, s)| s.contains("high-water") || s.contains("state.last_updated = u"))
        .unwrap();
    let ran = run(&rt, kind, &script);
    assert_eq!(ran.state["last_updated"], "2024-07-01T00:00:00Z");
}

#[test]
fn plan_example() {
    let rt = runtime();
    let (kind, script) = examples()
        .into_iter()
        .find(|(_, s)| s.starts_with("// kind: before_operation"))
        .unwrap();
    let ran = run(&rt, kind, &script);
    assert_eq!(
        ran.plan,
        Some(
            json!({"identity": "ada", "attributes": {"email": "ada@example.com", "locale": "de_DE"}})
        )
    );
}
