//! Attribute templates read the record, the instance's plain settings and `now`; a secret
//! setting or `state` in one is a load error, never a value written into every record or a
//! failure at run time. Against the replay server.

mod common;

use common::*;
use serde_json::json;
use wsc_testkit::replay::{Cassette, ReplayServer};

fn connector(attributes: &str) -> String {
    format!(
        r#"connector: it
settings:
  base_url: {{ description: "base URL" }}
  token: {{ secret: true }}
  region: {{ default: eu-west }}
base_url: "{{{{settings.base_url}}}}/api"
auth: {{ type: bearer, token: "{{{{settings.token}}}}" }}
operations:
  account_aggregation:
    request: {{ path: /Users }}
    records: "$.items[*]"
    identity: "$.id"
    attributes:
{attributes}"#
    )
}

#[tokio::test]
async fn attribute_templates_read_plain_settings_and_now() {
    let cassette: Cassette = serde_json::from_value(json!({
        "interactions": [ { "request": { "path": "/api/Users" },
            "response": { "body": { "items": [ { "id": "a" }, { "id": "b" } ] } } } ]
    }))
    .unwrap();
    let server = ReplayServer::start(cassette, std::path::PathBuf::from("."))
        .await
        .unwrap();
    let yaml = connector(
        "      where: { template: \"{{settings.region}}/{{record.id}}\" }\n      seen: { template: \"{{now}}\" }\n",
    );
    let e = engine(&yaml, &server.base_url());
    let records = aggregate(&e, "account", None).await.unwrap();
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(
            attr(&e, "account_aggregation", r, "where"),
            &json!(format!("eu-west/{}", r.identity))
        );
        let seen = attr(&e, "account_aggregation", r, "seen");
        assert!(
            seen.as_str()
                .is_some_and(|s| s.len() >= 20 && s.contains('T')),
            "{seen}"
        );
    }
}

#[test]
fn secret_settings_and_state_are_refused_in_attribute_templates() {
    let yaml = connector("      leak: { template: \"{{settings.token}}\" }\n");
    let err = load_err(&yaml);
    assert!(
        err.contains("attribute `leak` reads secret setting `token`"),
        "{err}"
    );
    let yaml = connector("      last: { template: \"{{state.cursor}}\" }\n");
    let err = load_err(&yaml);
    assert!(
        err.contains("`state` is not set in attribute templates"),
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
