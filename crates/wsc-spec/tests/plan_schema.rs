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
        n += 1;
    }
    assert!(n >= 3, "expected plan examples in docs/provisioning.md");
}
