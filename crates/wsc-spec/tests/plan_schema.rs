//! docs/plan.schema.json is the JSON Schema of provisioning plans, generated from the same
//! types `wsc provision` reads; `WSC_UPDATE_SCHEMA=1 cargo test -p wsc-spec` rewrites it.

mod common;

#[test]
fn committed_plan_schema_is_current() {
    let path = common::root().join("docs/plan.schema.json");
    let want = serde_json::to_string_pretty(&wsc_spec::plan::plan_schema()).unwrap() + "\n";
    if std::env::var_os("WSC_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/plan.schema.json is stale: run `WSC_UPDATE_SCHEMA=1 cargo test -p wsc-spec`"
    );
}

#[test]
fn example_plans_in_the_docs_load() {
    let doc = std::fs::read_to_string(common::root().join("docs/provisioning.md")).unwrap();
    let mut n = 0;
    for block in doc.split("```yaml\n").skip(1) {
        let body = block.split("```").next().unwrap();
        if !body.contains("operation:")
            || body.contains("operations:")
            || body.contains("cassette:")
        {
            continue;
        }
        let plan = wsc_spec::plan::load_plan(body.as_bytes(), std::path::Path::new("doc.yaml"))
            .unwrap_or_else(|r| panic!("{}\n{body}", r.render()));
        for r in &plan.requests {
            assert!(r.problems().is_empty(), "{:?}\n{body}", r.problems());
        }
        // Each example runs on one of the shipped connectors as written.
        let fits: Vec<String> = ["scim2", "okta", "msgraph"]
            .iter()
            .filter_map(|c| {
                let loaded =
                    wsc_spec::load::load_file(&common::root().join(format!("connectors/{c}.yaml")))
                        .unwrap();
                plan.check(&loaded.connector).err().map(|r| r.render())
            })
            .collect();
        assert!(
            fits.len() < 3,
            "no shipped connector takes this plan:\n{body}\n{fits:?}"
        );
        n += 1;
    }
    assert!(n >= 4, "expected plan examples in docs/provisioning.md");
}

/// The connector snippets of docs/provisioning.md (whole `operations:` maps, single
/// operations, `http:`) validate inside a minimal connector.
#[test]
fn example_connector_snippets_in_the_docs_validate() {
    let doc = std::fs::read_to_string(common::root().join("docs/provisioning.md")).unwrap();
    let head = "connector: doc\nbase_url: https://api.example.com\nauth: { type: none }\n";
    // The operations snippets lean on, where the snippet does not define them itself.
    let support = |body: &str| -> String {
        [
            ("get_object:", "  get_object:\n    account:\n      request: { method: GET, path: \"/Users/{{plan.identity}}\" }\n      identity: \"$.id\"\n      attributes: { otherMails: { path: \"$.otherMails[*]\", multi: true } }\n"),
            ("add_entitlement:", "  add_entitlement: { request: { method: POST, path: /x } }\n"),
            ("remove_entitlement:", "  remove_entitlement: { request: { method: POST, path: /y } }\n"),
        ]
        .iter()
        .filter(|(k, _)| !body.contains(k))
        .map(|(_, v)| *v)
        .collect()
    };
    let mut n = 0;
    for block in doc.split("```yaml\n").skip(1) {
        let body: String = block.split("```").next().unwrap().to_string();
        // Indented snippets (inside a list item) lose their common indentation.
        let indent = body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let body: String = body
            .lines()
            .map(|l| l.get(indent..).unwrap_or("").to_string() + "\n")
            .collect();
        let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let text = if first.starts_with("operations:") {
            format!("{head}{body}{}", support(&body))
        } else if first.starts_with("http:") {
            format!(
                "{head}{body}operations:\n  test_connection: {{ request: {{ method: GET, path: / }} }}\n"
            )
        } else if first.ends_with("_account:") || first.ends_with("_entitlement:") {
            let indented: String = body.lines().map(|l| format!("  {l}\n")).collect();
            format!("{head}operations:\n{}{indented}", support(&body))
        } else {
            continue;
        };
        let loaded = wsc_spec::load::load_bytes(text.as_bytes(), "doc.yaml", &common::root())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            loaded.warnings.error_count(),
            0,
            "{}\n{text}",
            loaded.warnings.render()
        );
        n += 1;
    }
    assert!(
        n >= 6,
        "expected connector snippets in docs/provisioning.md, found {n}"
    );
}
