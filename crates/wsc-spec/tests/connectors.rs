//! Every connector in connectors/ loads with no errors and no warnings, and the JSON Schema
//! accepts each of them (converted to JSON) with a standard validator while rejecting broken
//! files.

mod common;

fn schema_validator() -> jsonschema::Validator {
    jsonschema::validator_for(&wsc_spec::schema::connector_schema()).expect("the schema compiles")
}

fn yaml_as_json(path: &std::path::Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap();
    wsc_spec::load::parse_yaml_value(
        &bytes,
        &path.display().to_string(),
        &wsc_spec::limits::Limits::CONNECTOR,
    )
    .unwrap()
}

#[test]
fn every_connector_is_valid_without_warnings() {
    for file in common::connectors() {
        let loaded = wsc_spec::load_file(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            loaded.warnings.diagnostics.len(),
            0,
            "{}: {}",
            file.display(),
            loaded.warnings.render()
        );
    }
}

#[test]
fn schema_accepts_every_connector() {
    let v = schema_validator();
    for file in common::connectors() {
        let json = yaml_as_json(&file);
        let errors: Vec<String> = v
            .iter_errors(&json)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn schema_rejects_broken_files() {
    let v = schema_validator();
    let root = common::root().join("fixtures/invalid");
    for name in [
        "unknown_key.yaml",
        "misspelt_paging_kind.yaml",
        "wrong_type_limit.yaml",
        "misspelt_auth_type.yaml",
        "key_of_another_auth_kind.yaml",
        "oauth2_missing_token_url.yaml",
        "misspelt_operation.yaml",
        "bad_duration.yaml",
        "bad_status.yaml",
        "jsonpath_without_dollar.yaml",
    ] {
        let json = yaml_as_json(&root.join(name));
        assert!(!v.is_valid(&json), "the schema accepted {name}");
    }
}

#[test]
fn committed_schema_is_up_to_date() {
    let path = common::root().join("docs/connector.schema.json");
    let generated =
        serde_json::to_string_pretty(&wsc_spec::schema::connector_schema()).unwrap() + "\n";
    if std::env::var_os("WSC_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/connector.schema.json is stale: run `cargo run -p wsc-cli -- schema --out docs/connector.schema.json` (or WSC_UPDATE_SCHEMA=1 cargo test)"
    );
}

#[test]
fn yaml_merge_keys_are_applied() {
    let src = br#"connector: merged
base_url: "https://api.test"
operations:
  account_aggregation:
    request: { path: /users }
    records: "$.items[*]"
    identity: "$.id"
    attributes: &attrs
      email: "$.email"
      active: { path: "$.active", type: bool }
  get_object:
    account:
      request: { path: "/users/{{plan.identity}}" }
      identity: "$.id"
      attributes:
        <<: *attrs
        groups: { path: "$.groups[*]", multi: true }
"#;
    let loaded = wsc_spec::load_bytes(src, "merged.yaml", std::path::Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let get = &loaded.connector.operations.get_object["account"];
    let names: Vec<&str> = get.attributes.keys().map(String::as_str).collect();
    assert!(
        names.contains(&"email") && names.contains(&"active") && names.contains(&"groups"),
        "{names:?}"
    );

    // An error inside a merged document is still located through its key path.
    let bad = String::from_utf8_lossy(src).replace(
        "identity: \"$.id\"\n      attributes:",
        "identity: \"$.id\"\n      atributes:",
    );
    let err =
        wsc_spec::load_bytes(bad.as_bytes(), "merged.yaml", std::path::Path::new(".")).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("atributes") && text.contains("merged.yaml:15:"),
        "{text}"
    );
}
