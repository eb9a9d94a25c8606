//! Running hooks: what each hook point sees and may change, state, errors and their locations,
//! file hooks, and `on_error: skip_record`.

mod common;

use common::*;
use serde_json::{Value, json};
use wsc_hooks::{
    CompileErrorKind, HookErrorKind, HookErrorMode, HookKind, HookOrigin, HookRuntime, HookScope,
    Limits, RequestView, ResponseView, SourcePos, inline_position,
};
use wsc_spec::model::Hook;

fn users() -> Vec<Value> {
    vec![
        json!({"type": "account", "identity": "1", "name": "ada", "attributes": {"email": "ada@x.io", "active": true, "department": "R&D"}}),
        json!({"type": "account", "identity": "2", "name": "bob", "attributes": {"email": "bob@x.io", "active": false, "department": "Ops"}}),
        json!({"type": "account", "identity": "3", "name": "cy", "attributes": {"email": "cy@x.io", "active": true, "department": "Ops"}}),
    ]
}

#[test]
fn before_hook_signs_and_changes_the_request() {
    let rt = runtime();
    let script = r#"
        let ts = "1700000000";
        let payload = request.method + "\n" + request.url + "\n" + ts + "\n" + json_stringify(request.body);
        request.headers["X-Timestamp"] = ts;
        request.headers["X-Signature"] = hmac_sha256_hex(settings.api_secret, payload);
        request.headers.remove("x-unused");
        request.headers["X-Count"] = 3;
        request.query.expand = ["groups", "roles"];
        request.query.page_size = page.limit;
        request.body.name = "Ada Lovelace";
        request.method = "put";
        state.last_signed = ts;
    "#;
    let hook = compile(&rt, HookKind::Before, script).unwrap();
    let mut request = RequestView {
        method: "POST".into(),
        url: "https://api.example.com/v1/users".into(),
        query: serde_json::from_value(json!({"filter": "x"})).unwrap(),
        headers: serde_json::from_value(json!({"x-unused": "1", "accept": "application/json"}))
            .unwrap(),
        body: json!({"userName": "ada", "name": "ada"}),
    };
    let scope = HookScope {
        settings: json!({"api_secret": "s3cr3t"}),
        page: json!({"limit": 50}),
        ..HookScope::default()
    };
    let outcome = rt.before(&hook, &mut request, &scope).unwrap();

    let payload = "POST\nhttps://api.example.com/v1/users\n1700000000\n{\"name\":\"ada\",\"userName\":\"ada\"}";
    let expected_sig = {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s3cr3t").unwrap();
        mac.update(payload.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(request.method, "PUT");
    assert_eq!(
        Value::Object(request.headers.clone()),
        json!({"accept": "application/json", "X-Count": "3", "X-Signature": expected_sig, "X-Timestamp": "1700000000"})
    );
    assert_eq!(
        Value::Object(request.query.clone()),
        json!({"filter": "x", "expand": ["groups", "roles"], "page_size": "50"})
    );
    // Key order of the body is kept; changed value in place.
    assert_eq!(
        serde_json::to_string(&request.body).unwrap(),
        r#"{"userName":"ada","name":"Ada Lovelace"}"#
    );
    assert_eq!(
        Value::Object(outcome.state.set),
        json!({"last_signed": "1700000000"})
    );
    assert!(outcome.plan.is_none());
}

#[test]
fn before_hook_that_does_not_mention_request_leaves_it_alone() {
    let rt = runtime();
    let hook = compile(
        &rt,
        HookKind::Before,
        "state.calls = (state.calls ?? 0) + 1;",
    )
    .unwrap();
    let mut request = RequestView {
        method: "GET".into(),
        url: "https://x".into(),
        ..RequestView::default()
    };
    let before = request.clone();
    let mut state = serde_json::Map::new();
    state.insert("calls".into(), json!(41));
    let scope = HookScope {
        state,
        ..HookScope::default()
    };
    let outcome = rt.before(&hook, &mut request, &scope).unwrap();
    assert_eq!(request, before);
    assert_eq!(outcome.state.set.get("calls"), Some(&json!(42)));
}

#[test]
fn invalid_request_changes_are_reported() {
    let rt = runtime();
    for (script, needle) in [
        (
            "request.headers.X = #{a: 1};",
            "request.headers[\"X\"] must be a string",
        ),
        ("request.method = 42;", "request.method must be a string"),
        ("request = 1;", "`request` must be an object map"),
        ("request.query = [];", "request.query must be an object map"),
    ] {
        let hook = compile(&rt, HookKind::Before, script).unwrap();
        let err = rt
            .before(&hook, &mut RequestView::default(), &HookScope::default())
            .unwrap_err();
        assert_eq!(err.kind, HookErrorKind::InvalidOutput, "{script}: {err}");
        assert!(err.message.contains(needle), "{script}: {err}");
    }
}

#[test]
fn after_hook_drops_adds_and_computes() {
    let script = r#"
        // Drop disabled users, add a computed attribute, add one record.
        records.retain(|r| r.attributes.active);
        // `for r in records` iterates over copies; `for_each` binds each record to `this`.
        records.for_each(|| {
            this.attributes.domain = this.attributes.email.split("@")[1];
            this.attributes.display = `${this.name.to_upper()} (${this.attributes.department})`;
        });
        records.push(#{type: "account", identity: "svc", name: "service", attributes: #{active: true}});
    "#;
    let mut records = users();
    run_after(script, &mut records).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["identity"], "1");
    assert_eq!(records[1]["identity"], "3");
    assert_eq!(records[2]["identity"], "svc");
    assert_eq!(records[0]["attributes"]["domain"], "x.io");
    assert_eq!(records[1]["attributes"]["display"], "CY (Ops)");
    // Original key order is kept, new keys follow.
    assert_eq!(
        serde_json::to_string(&records[1]).unwrap(),
        r#"{"type":"account","identity":"3","name":"cy","attributes":{"email":"cy@x.io","active":true,"department":"Ops","display":"CY (Ops)","domain":"x.io"}}"#
    );
}

#[test]
fn after_hook_may_reassign_records() {
    let mut records = users();
    run_after(
        "records = records.filter(|r| r.attributes.department == \"Ops\").map(|r| { r.name = r.name + \"!\"; r });",
        &mut records,
    )
    .unwrap();
    let names: Vec<_> = records.iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, vec![json!("bob!"), json!("cy!")]);

    let mut records = users();
    run_after("records = [];", &mut records).unwrap();
    assert!(records.is_empty());
}

#[test]
fn after_hook_sees_the_response_and_context() {
    let rt = runtime();
    let script = r#"
        if response.status != 200 { throw "bad status"; }
        for i in 0..records.len() {
            let a = records[i].attributes;
            a.page = page.number;
            a.total = response.json.total;
            a.raw_len = response.body.len();
            a.request_id = response.headers["x-request-id"];
            a.tenant = settings.tenant;
            a.op = operation;
            a.prev_count = prev.count;
            records[i].attributes = a;
        }
        state.cursor = response.json.next;
    "#;
    let hook = compile(&rt, HookKind::After, script).unwrap();
    let body = r#"{"total": 3, "next": "abc"}"#;
    let response = ResponseView {
        status: 200,
        headers: serde_json::from_value(json!({"x-request-id": "r-1"})).unwrap(),
        body: body.into(),
        json: serde_json::from_str(body).unwrap(),
    };
    let scope = HookScope {
        operation: "account_aggregation".into(),
        settings: json!({"tenant": "acme"}),
        page: json!({"number": 2}),
        prev: json!({"count": 7}),
        ..HookScope::default()
    };
    let mut records = vec![json!({"identity": "1", "attributes": {}})];
    let outcome = rt.after(&hook, &response, &mut records, &scope).unwrap();
    assert_eq!(
        records[0]["attributes"],
        json!({"op": "account_aggregation", "page": 2, "prev_count": 7, "raw_len": body.len(), "request_id": "r-1", "tenant": "acme", "total": 3})
    );
    assert_eq!(outcome.state.set.get("cursor"), Some(&json!("abc")));
}

#[test]
fn invalid_records_are_reported() {
    for (script, needle) in [
        ("records = 5;", "`records` must be an array, found i64"),
        (
            "records.push(\"x\");",
            "records[3] must be an object map, found string",
        ),
        ("records[0].f = Fn(\"x\");", "records[0].f is a Fn"),
    ] {
        let mut records = users();
        let err = run_after(script, &mut records).unwrap_err();
        assert_eq!(err.kind, HookErrorKind::InvalidOutput, "{script}: {err}");
        assert!(err.message.contains(needle), "{script}: {err}");
        assert_eq!(records, users(), "records are untouched on error");
    }
}

#[test]
fn state_changes_are_returned() {
    let rt = runtime();
    let hook = compile(
        &rt,
        HookKind::After,
        "state.a = 2; state.remove(\"gone\"); state.new_key = #{x: [1, 2]}; state.same = state.same;",
    )
    .unwrap();
    let mut state = serde_json::Map::new();
    state.insert("a".into(), json!(1));
    state.insert("gone".into(), json!(true));
    state.insert("same".into(), json!("s"));
    let scope = HookScope {
        state: state.clone(),
        ..HookScope::default()
    };
    let outcome = rt
        .after(&hook, &ResponseView::default(), &mut vec![], &scope)
        .unwrap();
    assert_eq!(
        Value::Object(outcome.state.set.clone()),
        json!({"a": 2, "new_key": {"x": [1, 2]}})
    );
    assert_eq!(outcome.state.removed, vec!["gone".to_string()]);
    outcome.state.apply_to(&mut state);
    assert_eq!(
        Value::Object(state),
        json!({"a": 2, "same": "s", "new_key": {"x": [1, 2]}})
    );

    let hook = compile(&rt, HookKind::After, "let x = state.a;").unwrap();
    let outcome = rt
        .after(&hook, &ResponseView::default(), &mut vec![], &scope)
        .unwrap();
    assert!(outcome.state.is_empty());
}

#[test]
fn operation_hooks() {
    let rt = runtime();
    let hook = compile(
        &rt,
        HookKind::BeforeOperation,
        "plan.attributes.email = plan.attributes.email.to_lower(); state.runs = 1;",
    )
    .unwrap();
    let scope = HookScope {
        operation: "create_account".into(),
        plan: json!({"identity": "ada", "attributes": {"email": "ADA@X.IO"}}),
        ..HookScope::default()
    };
    let outcome = rt.before_operation(&hook, &scope).unwrap();
    assert_eq!(
        outcome.plan,
        Some(json!({"identity": "ada", "attributes": {"email": "ada@x.io"}}))
    );
    assert_eq!(outcome.state.set.get("runs"), Some(&json!(1)));

    let unchanged = compile(&rt, HookKind::BeforeOperation, "let e = plan.identity;").unwrap();
    assert_eq!(rt.before_operation(&unchanged, &scope).unwrap().plan, None);

    let after = compile(
        &rt,
        HookKind::AfterOperation,
        "result.attributes.provisioned_by = \"wsc\"; result.remove(\"secret\"); log_info(`done ${operation} for ${plan.identity}`);",
    )
    .unwrap();
    let mut result = json!({"identity": "ada", "secret": "x", "attributes": {}});
    rt.after_operation(&after, &mut result, &scope).unwrap();
    assert_eq!(
        result,
        json!({"identity": "ada", "attributes": {"provisioned_by": "wsc"}})
    );
}

#[test]
fn variables_of_other_hook_points_do_not_compile() {
    let rt = runtime();
    let err = compile(&rt, HookKind::Before, "records.push(#{});").unwrap_err();
    assert_eq!(err.kind, CompileErrorKind::Syntax);
    assert!(
        err.message
            .contains("unknown variable `records`; a `before` hook sees `operation`, `settings`"),
        "{err}"
    );
    // A typo is caught at load, with its position.
    let err = compile(&rt, HookKind::After, "let n = 1;\nrecrods.clear();").unwrap_err();
    assert_eq!(
        (err.location.line, err.location.column),
        (Some(2), Some(1)),
        "{err}"
    );
    assert!(err.message.contains("`recrods`"), "{err}");
}

#[test]
fn throw_reports_the_message_and_inline_position() {
    let rt = runtime();
    let yaml = "connector: acme\noperations:\n  account_aggregation:\n    hooks:\n      after:\n        script: |\n          let n = records.len();\n          if n > 1 {\n            throw `too many records: ${n}`;\n          }\n";
    let start = inline_position(yaml, "operations.account_aggregation.hooks.after.script").unwrap();
    assert_eq!(start, SourcePos::new(7, 11));
    let origin = HookOrigin::new(
        "connectors/acme.yaml",
        "operations.account_aggregation.hooks.after",
        HookKind::After,
    )
    .with_inline_start(start);
    let script = "let n = records.len();\nif n > 1 {\n  throw `too many records: ${n}`;\n}\n";
    let hook = rt.compile(&inline(script), &origin).unwrap();
    let err = rt
        .after(
            &hook,
            &ResponseView::default(),
            &mut users(),
            &HookScope::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::Thrown);
    assert_eq!(err.message, "too many records: 3");
    // Line 3 of the script is line 9 of the connector; column 3 + indentation 10.
    assert_eq!(
        (err.location.line, err.location.column),
        (Some(9), Some(13))
    );
    assert_eq!(
        err.to_string(),
        "connectors/acme.yaml:9:13: hook `operations.account_aggregation.hooks.after` of connector `test` failed: too many records: 3"
    );
}

#[test]
fn errors_inside_functions_name_the_function() {
    let mut records = users();
    let err = run_after(
        "fn check(r) {\n  if !r.attributes.active { throw `inactive: ${r.identity}`; }\n}\nfor r in records { check(r); }",
        &mut records,
    )
    .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::Thrown);
    assert!(err.message.starts_with("inactive: 2"), "{err}");
    assert!(err.message.contains("in function `check`"), "{err}");
    assert_eq!(err.location.line, Some(2), "{err}");
}

#[test]
fn ordinary_runtime_errors() {
    let mut records = users();
    let err = run_after("let x = records[0].name + 1 - 2;", &mut records).unwrap_err();
    assert_eq!(err.kind, HookErrorKind::Runtime);
    assert_eq!(err.location.line, Some(1));
    assert!(err.location.column.is_some());
    assert!(
        !err.message.contains("line 1"),
        "no duplicated position: {err}"
    );
}

#[test]
fn file_hooks_are_read_once_and_located() {
    let dir = temp_dir("file-hooks");
    std::fs::create_dir_all(dir.join("hooks")).unwrap();
    std::fs::write(
        dir.join("hooks/after.rhai"),
        "// Adds a flag.\nlet strict = settings.strict;\nrecords.for_each(|| {\n  this.attributes.flag = this.attributes.active && strict;\n});\n",
    )
    .unwrap();
    let connector = dir.join("acme.yaml");
    let rt = runtime();
    let origin = HookOrigin::new(
        &connector,
        "operations.account_aggregation.hooks.after",
        HookKind::After,
    );
    let hook = Hook {
        file: Some("hooks/after.rhai".into()),
        script: None,
    };
    let compiled = rt.compile(&hook, &origin).unwrap();
    assert_eq!(compiled.file(), dir.join("hooks/after.rhai"));
    assert!(!compiled.is_inline());
    // Compiled once: removing the file does not matter any more.
    std::fs::remove_file(dir.join("hooks/after.rhai")).unwrap();
    let scope = HookScope {
        settings: json!({"strict": true}),
        ..HookScope::default()
    };
    let mut records = users();
    rt.after(&compiled, &ResponseView::default(), &mut records, &scope)
        .unwrap();
    assert_eq!(records[0]["attributes"]["flag"], true);
    assert_eq!(records[1]["attributes"]["flag"], false);

    // A runtime error points into the hook file (here: `settings.strict` is a string).
    let scope = HookScope {
        settings: json!({"strict": "yes"}),
        ..HookScope::default()
    };
    let err = rt
        .after(&compiled, &ResponseView::default(), &mut users(), &scope)
        .unwrap_err();
    assert_eq!(err.location.file, dir.join("hooks/after.rhai"));
    assert_eq!(err.location.line, Some(4), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:4:", dir.join("hooks/after.rhai").display())),
        "{text}"
    );
    assert!(
        text.contains(&connector.display().to_string()),
        "names the connector file: {text}"
    );

    // A syntax error in a file hook points into the file.
    std::fs::write(dir.join("hooks/bad.rhai"), "let x = 1;\nlet y = ;\n").unwrap();
    let err = rt
        .compile(
            &Hook {
                file: Some("hooks/bad.rhai".into()),
                script: None,
            },
            &origin,
        )
        .unwrap_err();
    assert_eq!(err.kind, CompileErrorKind::Syntax);
    assert_eq!(err.location.file, dir.join("hooks/bad.rhai"));
    assert_eq!(
        (err.location.line, err.location.column),
        (Some(2), Some(9)),
        "{err}"
    );
    assert!(err.to_string().contains("does not compile"), "{err}");

    // A missing file.
    let err = rt
        .compile(
            &Hook {
                file: Some("hooks/missing.rhai".into()),
                script: None,
            },
            &origin,
        )
        .unwrap_err();
    assert_eq!(err.kind, CompileErrorKind::Io);
    assert!(err.message.contains("missing.rhai"), "{err}");

    // Neither file nor script.
    let err = rt.compile(&Hook::default(), &origin).unwrap_err();
    assert_eq!(err.kind, CompileErrorKind::Invalid);
}

#[test]
fn hooks_of_a_loaded_connector() {
    // The way the engine is expected to compile hooks: load the connector, find each hook's
    // position, compile.
    let dir = temp_dir("loaded");
    std::fs::create_dir_all(dir.join("hooks")).unwrap();
    std::fs::write(
        dir.join("hooks/sign.rhai"),
        "request.headers[\"X-Sig\"] = sha256_hex(request.url);\n",
    )
    .unwrap();
    let yaml = r#"connector: acme
base_url: https://api.example.com
auth: { type: none }
operations:
  account_aggregation:
    request: { method: GET, path: /users }
    records: "$.items[*]"
    identity: "$.id"
    hooks:
      before: { file: hooks/sign.rhai }
      after:
        script: |
          records.retain(|r| r.attributes.active != false);
          records.for_each(|| this.attributes.source = "acme");
"#;
    let path = dir.join("acme.yaml");
    std::fs::write(&path, yaml).unwrap();
    let loaded = wsc_spec::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let hooks = loaded
        .connector
        .operations
        .account_aggregation
        .as_ref()
        .unwrap()
        .hooks
        .clone()
        .unwrap();
    let rt = HookRuntime::new(&loaded.connector.connector, Limits::default());
    let base = "operations.account_aggregation.hooks";
    let before = rt
        .compile(
            hooks.before.as_ref().unwrap(),
            &HookOrigin::new(&path, format!("{base}.before"), HookKind::Before),
        )
        .unwrap();
    let start = inline_position(yaml, &format!("{base}.after.script")).unwrap();
    let after = rt
        .compile(
            hooks.after.as_ref().unwrap(),
            &HookOrigin::new(&path, format!("{base}.after"), HookKind::After)
                .with_inline_start(start),
        )
        .unwrap();
    let mut request = RequestView {
        method: "GET".into(),
        url: "https://api.example.com/users".into(),
        ..RequestView::default()
    };
    rt.before(&before, &mut request, &HookScope::default())
        .unwrap();
    assert_eq!(request.headers["X-Sig"].as_str().unwrap().len(), 64);
    let mut records = users();
    rt.after(
        &after,
        &ResponseView::default(),
        &mut records,
        &HookScope::default(),
    )
    .unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["attributes"]["source"], "acme");
}

#[test]
fn wrong_hook_point_is_refused() {
    let rt = runtime();
    let hook = compile(&rt, HookKind::After, "let x = 1;").unwrap();
    let err = rt
        .before(&hook, &mut RequestView::default(), &HookScope::default())
        .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::WrongKind);
}

#[test]
fn skip_record_mode_drops_only_the_failing_records() {
    let rt = runtime();
    let hook = compile(
        &rt,
        HookKind::After,
        "for i in 0..records.len() {\n  if records[i].identity == \"2\" { throw \"no email domain\"; }\n  records[i].attributes.checked = true;\n}\nstate.seen = (state.seen ?? 0) + records.len();",
    )
    .unwrap();

    // stop: the error comes back, records untouched.
    let mut records = users();
    let err = rt
        .after_with_mode(
            &hook,
            &ResponseView::default(),
            &mut records,
            &HookScope::default(),
            HookErrorMode::Stop,
        )
        .unwrap_err();
    assert_eq!(err.message, "no email domain");
    assert_eq!(records, users());

    // skip_record: records 1 and 3 pass, 2 is skipped with its error.
    let out = rt
        .after_with_mode(
            &hook,
            &ResponseView::default(),
            &mut records,
            &HookScope::default(),
            HookErrorMode::SkipRecord,
        )
        .unwrap();
    let ids: Vec<_> = records
        .iter()
        .map(|r| r["identity"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "3"]);
    assert_eq!(records[0]["attributes"]["checked"], true);
    assert_eq!(out.skipped.len(), 1);
    assert_eq!(out.skipped[0].index, 1);
    assert_eq!(out.skipped[0].record["identity"], "2");
    assert_eq!(out.skipped[0].error.message, "no email domain");
    assert_eq!(out.skipped[0].error.location.line, Some(2));
    // State carried from run to run.
    assert_eq!(out.outcome.state.set.get("seen"), Some(&json!(2)));

    // Limit errors stop even with skip_record.
    let looping = compile(&rt, HookKind::After, "loop {}").unwrap();
    let err = rt
        .after_with_mode(
            &looping,
            &ResponseView::default(),
            &mut users(),
            &HookScope::default(),
            HookErrorMode::SkipRecord,
        )
        .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::TooManyOperations);
}

#[test]
fn exit_ends_the_script_early() {
    let mut records = users();
    run_after("records.pop();\nexit();\nrecords.clear();", &mut records).unwrap();
    assert_eq!(records.len(), 2);
}

#[test]
fn closures_may_capture_context_and_state() {
    let rt = runtime();
    let hook = compile(
        &rt,
        HookKind::After,
        "records.for_each(|| {\n  this.attributes.tenant = settings.tenant;\n  state.count = (state.count ?? 0) + 1;\n});\nrecords.retain(|r| r.attributes.department != settings.skip);",
    )
    .unwrap();
    let scope = HookScope {
        settings: json!({"tenant": "acme", "skip": "Ops"}),
        ..HookScope::default()
    };
    let mut records = users();
    let outcome = rt
        .after(&hook, &ResponseView::default(), &mut records, &scope)
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["attributes"]["tenant"], "acme");
    assert_eq!(outcome.state.set.get("count"), Some(&json!(3)));
}

#[test]
fn errors_inside_closures() {
    let mut records = users();
    let err = run_after(
        "records.retain(|r| {\n  if r.identity == \"2\" { throw \"bad record 2\"; }\n  true\n});",
        &mut records,
    )
    .unwrap_err();
    eprintln!("{err}");
    assert_eq!(err.kind, HookErrorKind::Thrown);
    assert!(err.message.starts_with("bad record 2"), "{err}");
    assert!(
        err.message
            .ends_with("(in a closure, called from function `retain`)"),
        "{err}"
    );
    assert_eq!(err.location.line, Some(2), "{err}");
}
