//! `after` hooks over mapped records (`HookRuntime::after_records`): scripts see the same
//! `records` as through JSON (`HookRuntime::after`) and leave the same records; unchanged
//! values come back as they were given (not converted), changed ones are converted, checked
//! for secrets and validated against the operation's attributes.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::{Value, json};
use wsc_hooks::{
    HookErrorKind, HookErrorMode, HookKind, HookRecord, HookRuntime, HookScope, Limits,
    RecordShape, ResponseView,
};

fn names() -> Vec<Arc<str>> {
    ["email", "active", "department", "groups", "title", "score"]
        .into_iter()
        .map(Arc::from)
        .collect()
}

fn account() -> Arc<str> {
    Arc::from("account")
}

fn users() -> Vec<HookRecord> {
    let user = |id: &str, name: &str, active: bool, dept: &str, groups: Value| HookRecord {
        object_type: account(),
        identity: id.into(),
        name: Some(name.into()),
        attributes: vec![
            json!(format!("{name}@x.io")),
            json!(active),
            json!(dept),
            groups,
            Value::Null,
            json!(1.5),
        ],
        members: None,
        deleted: false,
    };
    vec![
        user("1", "ada", true, "R&D", json!(["g1", "g2"])),
        user("2", "bob", false, "Ops", json!([])),
        user("3", "cy", true, "Ops", json!([{"id": "g3", "n": 1}])),
    ]
}

/// What the engine makes of a JSON record a hook left (`Record::from_json_owned`).
fn from_json(v: Value, names: &[Arc<str>]) -> Result<HookRecord, String> {
    let Value::Object(mut o) = v else {
        return Err("not an object".into());
    };
    let identity = match o.remove("identity") {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("a record needs a string `identity`".into()),
    };
    let name = match o.remove("name") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let mut attrs = match o.remove("attributes") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(other) => return Err(format!("`attributes` must be an object, found {other}")),
    };
    if let Some(extra) = attrs
        .keys()
        .find(|k| !names.iter().any(|n| n.as_ref() == k.as_str()))
    {
        return Err(format!("attribute `{extra}` is not declared"));
    }
    let attributes = names
        .iter()
        .map(|n| attrs.remove(n.as_ref()).unwrap_or(Value::Null))
        .collect();
    let members = match o.remove("members") {
        Some(Value::Array(a)) => Some(
            a.into_iter()
                .map(|m| match m {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
        ),
        _ => None,
    };
    let object_type = match o.get("type") {
        Some(Value::String(t)) => Arc::from(t.as_str()),
        _ => account(),
    };
    Ok(HookRecord {
        object_type,
        identity,
        name,
        attributes,
        members,
        deleted: o.get("deleted") == Some(&Value::Bool(true)),
    })
}

fn redacting_runtime() -> HookRuntime {
    HookRuntime::new("test", Limits::default())
        .with_redaction(Arc::new(|s: &str| s.replace("s3cr3t", "[redacted]")))
}

/// Runs `script` over `records` the new way.
fn run_records(
    rt: &HookRuntime,
    script: &str,
    records: &mut Vec<HookRecord>,
    mode: HookErrorMode,
) -> Result<wsc_hooks::AfterOutcome, wsc_hooks::HookError> {
    let hook = compile(rt, HookKind::After, script).unwrap_or_else(|e| panic!("{e}"));
    let names = names();
    let ty = account();
    let shape = RecordShape {
        object_type: &ty,
        names: &names,
    };
    let scope = HookScope {
        settings: json!({"token": "s3cr3t"}),
        ..HookScope::default()
    };
    rt.after_records(
        &hook,
        &ResponseView::default(),
        records,
        shape,
        &scope,
        mode,
    )
}

/// Runs `script` both ways: through JSON (and the engine's reading of JSON records) and over
/// mapped records; both must give the same records.
fn both_ways(script: &str, input: Vec<HookRecord>) -> Vec<HookRecord> {
    let rt = redacting_runtime();
    let names = names();
    let mut json: Vec<Value> = input.iter().map(|r| r.to_json(&names)).collect();
    let hook = compile(&rt, HookKind::After, script).unwrap();
    let scope = HookScope {
        settings: json!({"token": "s3cr3t"}),
        ..HookScope::default()
    };
    rt.after(&hook, &ResponseView::default(), &mut json, &scope)
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    let through_json: Vec<HookRecord> = json
        .into_iter()
        .map(|v| from_json(v, &names).unwrap())
        .collect();
    let mut records = input;
    run_records(&rt, script, &mut records, HookErrorMode::Stop)
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    assert_eq!(records, through_json, "{script}");
    records
}

#[test]
fn scripts_leave_the_same_records_as_through_json() {
    for script in [
        "",
        "let n = records.len();",
        "records.retain(|r| r.attributes.active);",
        "for i in 0..records.len() { records[i].attributes.title = \"x\"; }",
        "records = records.map(|r| { r.attributes.title = \"x\"; r });",
        "records.for_each(|| { this.attributes.department.make_upper(); });",
        "records.for_each(|| this.attributes.groups.push(\"g9\"));",
        "records[2].attributes.groups[0].n = 2;",
        "records[0].attributes.remove(\"email\"); records[1].attributes.active = ();",
        "records[0].attributes = #{title: \"only\"};",
        "records[0].attributes = ();",
        "records.push(#{identity: \"svc\", attributes: #{active: true}});",
        "records.push(#{identity: 42, name: 7, attributes: #{}, members: [\"a\", 1]});",
        "records.push(records[0]); records.push(records[0]); records[3].identity = \"1b\";",
        "records.reverse(); records.remove(1);",
        "records = [records[2], records[0]];",
        "records = [];",
        "records[0].name = (); records[1].name = \"Bob\"; records[2].type = \"robot\";",
        "records[0].members = [\"m1\"]; records[1].deleted = true;",
        "records[0].attributes.score = 2.5; records[1].attributes.score = 3;",
        "let a = records[0].identity; records[1].identity = a; records[0].identity = \"z\";",
        "records.sort(|a, b| if a.name < b.name { 1 } else { -1 });",
        "records[0].attributes.title = settings.token; records[1].name = `n=${settings.token}`;",
        "records[0].attributes.title = #{k: settings.token, l: [settings.token]};",
        "records[0].extra = 1; records[0].attributes.title = to_json(records[1]);",
        "records[0].attributes.title = type_of(records[0]) + type_of(records[0].attributes);",
        "records[0].attributes.title = records[0].attributes.keys(); records[1].attributes.title = \"email\" in records[1].attributes;",
        "records[0].attributes.title = `${records[1]}`;",
    ] {
        both_ways(script, users());
    }
}

/// `users()` with every string made different for page `p` (and one record fewer on odd
/// pages).
fn page_of_users(p: usize) -> Vec<HookRecord> {
    let mut users = users();
    for u in &mut users {
        u.identity = format!("{}-{p}", u.identity);
        u.name = u
            .name
            .as_ref()
            .map(|n| format!("{n} of page {p} with a longer name"));
        u.attributes[2] = json!(format!("dept {p}"));
    }
    if p % 2 == 1 {
        users.pop();
    }
    users
}

#[test]
fn pages_in_a_row_give_what_single_pages_give() {
    // One runtime keeps the maps and strings of a page for the next (`spare.rs`): scripts
    // that change strings in place, keep them, copy records or change their keys must leave,
    // page after page, what a fresh runtime leaves through JSON.
    for script in [
        "let n = records.len();",
        "records.retain(|r| r.attributes.active);",
        "records.for_each(|| { this.attributes.department.make_upper(); this.name += \"!\"; });",
        "for r in records { r.identity += \"x\"; } records[0].attributes.email += \"y\";",
        "records[0].identity += \"-changed\"; records[0].attributes.groups.push(\"g9\");",
        "state.ids = records.map(|r| r.identity); state.keep = records[0];",
        "records.push(records[0]); records[0].identity = \"copy\";",
        "records[0].extra = 1; records[1].deleted = true;",
        "records[0].attributes.remove(\"email\"); records[0].attributes.extra = ();",
        "records[0].attributes = #{title: \"only\"}; records[1].members = [\"m\"];",
    ] {
        let rt = redacting_runtime();
        for p in 0..4 {
            let input = page_of_users(p);
            let expected = {
                let names = names();
                let fresh = redacting_runtime();
                let hook = compile(&fresh, HookKind::After, script).unwrap();
                let mut json: Vec<Value> = input.iter().map(|r| r.to_json(&names)).collect();
                let scope = HookScope {
                    settings: json!({"token": "s3cr3t"}),
                    ..HookScope::default()
                };
                match fresh.after(&hook, &ResponseView::default(), &mut json, &scope) {
                    Ok(_) => Some(
                        json.into_iter()
                            .map(|v| from_json(v, &names))
                            .collect::<Result<Vec<_>, _>>(),
                    ),
                    Err(_) => None,
                }
            };
            let mut records = input;
            let got = run_records(&rt, script, &mut records, HookErrorMode::Stop);
            match expected {
                Some(Ok(want)) => {
                    got.unwrap_or_else(|e| panic!("{script}, page {p}: {e}"));
                    assert_eq!(records, want, "{script}, page {p}");
                }
                // An invalid record (an undeclared attribute): an error both ways.
                Some(Err(_)) | None => {
                    assert!(got.is_err(), "{script}, page {p}: no error");
                }
            }
        }
    }
}

#[test]
fn unchanged_values_are_given_back_as_they_were() {
    // A value from the API that holds a secret is written as mapped when the hook passes it
    // through (as without a hook); what the hook changes or adds is checked for secrets.
    let rt = redacting_runtime();
    let mut records = users();
    records[0].attributes[2] = json!("dept s3cr3t");
    records[1].name = Some("s3cr3t bob".into());
    let script = "records[0].attributes.title = settings.token;\nrecords[2].attributes.title = \"plain\";\nrecords[2].name = \"x \" + settings.token;";
    run_records(&rt, script, &mut records, HookErrorMode::Stop).unwrap();
    assert_eq!(records[0].attributes[2], json!("dept s3cr3t"));
    assert_eq!(records[1].name.as_deref(), Some("s3cr3t bob"));
    assert_eq!(records[0].attributes[4], json!("[redacted]"));
    assert_eq!(records[2].attributes[4], json!("plain"));
    assert_eq!(records[2].name.as_deref(), Some("x [redacted]"));

    // A script that changes nothing gives back exactly what it was given.
    let mut records = users();
    run_records(
        &rt,
        "records.retain(|r| true);",
        &mut records,
        HookErrorMode::Stop,
    )
    .unwrap();
    assert_eq!(records, users());
}

#[test]
fn dropped_added_and_changed_records() {
    let out = both_ways(
        "records.retain(|r| r.attributes.active);\nrecords[0].attributes.title = \"T\";\nrecords[1].attributes.remove(\"groups\");\nrecords.push(#{type: \"account\", identity: \"svc\", name: \"service\", attributes: #{active: true, score: 9}});",
        users(),
    );
    let ids: Vec<_> = out.iter().map(|r| r.identity.as_str()).collect();
    assert_eq!(ids, ["1", "3", "svc"]);
    assert_eq!(out[0].attributes[4], json!("T"));
    assert_eq!(out[0].attributes[3], json!(["g1", "g2"]));
    assert_eq!(out[1].attributes[3], Value::Null);
    assert_eq!(
        out[2].attributes,
        vec![
            Value::Null,
            json!(true),
            Value::Null,
            Value::Null,
            Value::Null,
            json!(9)
        ]
    );
    assert_eq!(out[2].name.as_deref(), Some("service"));
}

#[test]
fn invalid_records_stop_the_run_naming_the_problem() {
    let rt = runtime();
    for (script, kind, needle) in [
        (
            "records[1].attributes.nickname = \"b\";",
            HookErrorKind::InvalidRecord,
            "attribute `nickname` is not declared under the operation's `attributes`",
        ),
        (
            "records[0].identity = ();",
            HookErrorKind::InvalidRecord,
            "a record needs a string `identity`",
        ),
        (
            "records[0].identity = [1];",
            HookErrorKind::InvalidRecord,
            "a record needs a string `identity`",
        ),
        (
            "records[0].attributes = 5;",
            HookErrorKind::InvalidRecord,
            "`attributes` must be an object, found 5",
        ),
        (
            "records.push(\"x\");",
            HookErrorKind::InvalidOutput,
            "records[3] must be an object map, found string",
        ),
        (
            "records = 5;",
            HookErrorKind::InvalidOutput,
            "`records` must be an array",
        ),
        (
            "records[0].attributes.title = Fn(\"x\");",
            HookErrorKind::InvalidOutput,
            "records[0].attributes.title is a Fn",
        ),
    ] {
        for mode in [HookErrorMode::Stop, HookErrorMode::SkipRecord] {
            let mut records = users();
            let result = run_records(&rt, script, &mut records, mode);
            if mode == HookErrorMode::SkipRecord && kind == HookErrorKind::InvalidOutput {
                // Retried record by record, and failing on each.
                let out = result.unwrap();
                assert_eq!(out.skipped.len(), 3, "{script}");
                assert!(records.is_empty(), "{script}");
                continue;
            }
            // An invalid record stops the run whatever the mode.
            let err = result.unwrap_err();
            assert_eq!(err.kind, kind, "{script}: {err}");
            assert!(err.message.contains(needle), "{script}: {err}");
            assert_eq!(records, users(), "{script}: records are untouched on error");
        }
    }
}

#[test]
fn skip_record_leaves_out_the_records_the_hook_fails_on() {
    let rt = runtime();
    let script = "for i in 0..records.len() {\n  if records[i].identity == \"2\" { throw \"no\"; }\n  records[i].attributes.title = \"ok\";\n}";
    let mut records = users();
    let out = run_records(&rt, script, &mut records, HookErrorMode::SkipRecord).unwrap();
    let ids: Vec<_> = records.iter().map(|r| r.identity.as_str()).collect();
    assert_eq!(ids, ["1", "3"]);
    assert_eq!(records[1].attributes[4], json!("ok"));
    assert_eq!(out.skipped.len(), 1);
    assert_eq!(out.skipped[0].index, 1);
    assert_eq!(out.skipped[0].record["identity"], "2");
    assert_eq!(out.skipped[0].record["attributes"]["department"], "Ops");
    assert_eq!(out.skipped[0].error.message, "no");
}

#[test]
fn limits_hold_over_mapped_records() {
    let rt = HookRuntime::new(
        "test",
        Limits {
            max_operations: 10_000,
            ..Limits::default()
        },
    );
    let mut records = users();
    let err = run_records(&rt, "loop {}", &mut records, HookErrorMode::SkipRecord).unwrap_err();
    assert_eq!(err.kind, HookErrorKind::TooManyOperations);
    assert_eq!(records, users());

    let rt = runtime();
    let mut records = users();
    let err = run_records(
        &rt,
        "let a = []; for i in 0..300 { a = [a]; } records[0].attributes.title = a;",
        &mut records,
        HookErrorMode::Stop,
    )
    .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::TooDeep, "{err}");
    assert!(
        err.message.contains("records[0].attributes.title[0]"),
        "{err}"
    );
}

#[test]
fn a_hook_that_does_not_mention_records_leaves_them_alone() {
    let rt = runtime();
    let mut records = users();
    let out = run_records(&rt, "state.x = 1;", &mut records, HookErrorMode::Stop).unwrap();
    assert_eq!(records, users());
    assert_eq!(out.outcome.state.set.get("x"), Some(&json!(1)));
}
