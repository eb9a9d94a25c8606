//! Hooks in the engine, over real loopback HTTP: `after` hooks change, drop and add records
//! and set connector state; `before` hooks change requests (seen by a replay server that
//! checks the header); errors and sandbox limits stop the operation with the hook's location;
//! `on_error: skip_record` drops only the failing records.

mod common;

use base64::Engine as _;
use common::*;
use serde_json::json;
use wsc_testkit::replay::{Cassette, ReplayServer};
use wsc_testkit::synthetic::user;

/// The users connector with `hooks` (YAML lines at operation level) and an extra attribute.
fn connector(hooks: &str) -> String {
    format!(
        "{HEADER}{FAST_HTTP}operations:\n  account_aggregation:\n{}{hooks}{}      initials: {{ value: \"\" }}\n",
        users_request("offset", 10, false, 1),
        USER_MAPPING.replace(
            "    entitlements:\n      - { attribute: groups, group_type: group }\n",
            ""
        )
    )
}

#[tokio::test]
async fn after_hook_drops_records_adds_attributes_and_sets_state() {
    let config = config(35);
    let api = start(config.clone()).await;
    let yaml = connector(
        r#"    hooks:
      after:
        script: |
          records.retain(|r| r.attributes.active);
          for i in 0..records.len() {
            let a = records[i].attributes;
            records[i].attributes.initials = a.givenName.sub_string(0, 1) + a.familyName.sub_string(0, 1);
          }
          if "pages" in state { state.pages += 1 } else { state.pages = 1 }
"#,
    );
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    let active: Vec<usize> = (0..35).filter(|i| user(&config, *i).active).collect();
    assert!(!active.is_empty() && active.len() < 35);
    assert_eq!(records.len(), active.len());
    for (r, i) in records.iter().zip(&active) {
        let u = user(&config, *i);
        assert_eq!(r.identity, u.id);
        let initials: String = [&u.name.given_name, &u.name.family_name]
            .iter()
            .map(|s| s.chars().next().unwrap())
            .collect();
        assert_eq!(
            attr(&engine, "account_aggregation", r, "initials"),
            &json!(initials)
        );
    }
    // 35 users, 10 per page, no total: 4 pages (the last short) and the empty page that
    // confirms the end (`paging.confirm_end`).
    let changes = engine.state_changes();
    assert_eq!(changes.set.get("pages"), Some(&json!(5)), "{changes:?}");
}

#[tokio::test]
async fn endless_hook_is_stopped_with_its_location() {
    let api = start(config(5)).await;
    let yaml = connector(
        "    hooks:\n      after:\n        script: |\n          let n = 0;\n          loop { n += 1; }\n",
    );
    let engine = engine(&yaml, &api.base_url());
    let err = aggregate(&engine, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("operations"), "{err}");
    assert!(err.contains("hooks.after"), "{err}");
    assert!(err.contains("it.yaml"), "{err}");
}

#[tokio::test]
async fn hooks_cannot_reach_files() {
    // `import` is refused when the connector loads.
    let yaml = connector("    hooks:\n      after:\n        script: 'import \"std/fs\" as fs;'\n");
    let err = match try_engine(&yaml, &[("base_url", "http://127.0.0.1:9"), ("token", "x")]) {
        Ok(_) => panic!("a hook importing a module compiled"),
        Err(e) => e,
    };
    assert!(
        err.contains("hooks.after") && err.contains("import"),
        "{err}"
    );
    // There is no function that reads a file: calling one stops the operation and says why.
    let api = start(config(3)).await;
    let yaml = connector(
        "    hooks:\n      after:\n        script: 'let t = read_file(\"/etc/passwd\");'\n",
    );
    let engine = engine(&yaml, &api.base_url());
    let err = aggregate(&engine, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hooks.after") && err.contains("file system"),
        "{err}"
    );
}

#[tokio::test]
async fn thrown_errors_stop_or_skip_records() {
    let config = config(12);
    let api = start(config.clone()).await;
    let throw = r#"records.for_each(|| if this.identity == "u0000003" { throw "bad record " + this.identity; });"#;
    let stop = connector(&format!(
        "    hooks:\n      after:\n        script: '{throw}'\n"
    ));
    let engine_stop = engine(&stop, &api.base_url());
    let err = aggregate(&engine_stop, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad record u0000003"), "{err}");

    let skip = connector(&format!(
        "    hooks:\n      on_error: skip_record\n      after:\n        script: '{throw}'\n"
    ));
    let engine_skip = engine(&skip, &api.base_url());
    let records = aggregate(&engine_skip, "account", None).await.unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.identity.as_str()).collect();
    assert_eq!(ids.len(), 11);
    assert!(!ids.contains(&"u0000003"));
}

#[tokio::test]
async fn records_a_hook_leaves_must_be_records_of_the_operation() {
    // Stopped with the hook's name and what is wrong, whatever `on_error` says.
    let api = start(config(3)).await;
    for (script, needle) in [
        (
            "records[0].attributes.nickname = 1;",
            "attribute `nickname` is not declared under the operation's `attributes`",
        ),
        (
            "records[1].identity = [1];",
            "a record needs a string `identity`",
        ),
    ] {
        for on_error in ["stop", "skip_record"] {
            let yaml = connector(&format!(
                "    hooks:\n      on_error: {on_error}\n      after:\n        script: '{script}'\n"
            ));
            let engine = engine(&yaml, &api.base_url());
            let err = aggregate(&engine, "account", None)
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("a record the hook left is not valid"), "{err}");
            assert!(err.contains(needle), "{err}");
            assert!(err.contains("hooks.after"), "{err}");
        }
    }
    // A number is written as the identity's text; the engine's attributes come back in order.
    let yaml = connector(
        "    hooks:\n      after:\n        script: 'if records.len() > 1 { records[0].identity = 7; records[1].attributes.initials = \"XY\"; }'\n",
    );
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_eq!(records[0].identity, "7");
    assert_eq!(
        attr(&engine, "account_aggregation", &records[1], "initials"),
        &json!("XY")
    );
    assert_eq!(
        attr(&engine, "account_aggregation", &records[0], "initials"),
        &json!("")
    );
}

#[tokio::test]
async fn before_hook_signs_requests() {
    let sig =
        base64::engine::general_purpose::STANDARD.encode(format!("GET /api/users/u1 {TOKEN}"));
    let cassette: Cassette = serde_json::from_value(json!({
        "interactions": [{
            "request": { "method": "GET", "path": "/api/users/u1", "headers": { "x-signature": sig } },
            "response": { "body": { "id": "u1", "userName": "ann" } }
        }]
    }))
    .unwrap();
    let server = ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap();
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}operations:
  get_object:
    account:
      request: {{ path: "/users/{{{{plan.identity}}}}" }}
      identity: "$.id"
      name: "$.userName"
      hooks:
        before:
          script: |
            let path = request.url.sub_string(request.url.index_of("/api/"));
            request.headers["X-Signature"] = base64_encode(request.method + " " + path + " " + settings.token);
"#
    );
    let engine = engine(&yaml, &server.base_url());
    let rec = engine.get_object("account", "u1").await.unwrap();
    assert_eq!(rec.name.as_deref(), Some("ann"));
    let report = server.report();
    assert!(report.problems().is_empty(), "{}", report.problems());
    server.shutdown().await;
}

#[tokio::test]
async fn values_saved_by_steps_become_connector_state() {
    let api = start(config(7)).await;
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    steps:
      - name: probe
        request: {{ path: /users/offset, query: {{ offset: "0", limit: "3" }} }}
        save: {{ user_count: "$.total" }}
      - name: users
        request:
          path: /users/offset
          query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
        paging: {{ kind: offset, limit: 5, total: "$.total" }}
        records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
"#
    );
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_eq!(records.len(), 7);
    let changes = engine.state_changes();
    assert_eq!(
        changes.set.get("user_count"),
        Some(&json!(7)),
        "{changes:?}"
    );
}
