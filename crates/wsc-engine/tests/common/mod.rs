//! Helpers shared by the engine's integration tests: connectors written as YAML strings, run
//! over real loopback HTTP against the synthetic identity API of `wsc-testkit`.

#![allow(dead_code)]

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Value, json};
use wsc_engine::{Engine, EngineError, Record, RunContext};
use wsc_spec::{LoadError, Loaded};
use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig, user, user_id};

/// The bearer token of the synthetic API in these tests (a secret setting of the connectors).
pub const TOKEN: &str = "it-bearer-7Qx9Zr2mK4";

/// Settings, auth and fast retries shared by the test connectors. `{{settings.base_url}}` is
/// the synthetic API's base URL; the token is a secret setting.
pub const HEADER: &str = r#"connector: it
settings:
  base_url: { description: "base URL of the synthetic API" }
  token: { secret: true }
base_url: "{{settings.base_url}}/api"
auth: { type: bearer, token: "{{settings.token}}" }
"#;

/// The default `http:` block: four attempts, millisecond backoffs.
pub const FAST_HTTP: &str = r#"http:
  retry: { max_attempts: 4, initial_backoff: 1ms, max_backoff: 5ms, max_retry_after: 5ms }
"#;

/// Mapping of a synthetic user (indented for an operation under `operations:`).
pub const USER_MAPPING: &str = r#"    identity: "$.id"
    name: "$.userName"
    attributes:
      displayName: "$.displayName"
      givenName: "$.name.givenName"
      familyName: "$.name.familyName"
      email: "$.emails[0].value"
      active: { path: "$.active", type: bool }
      department: "$.department"
      title: "$.title"
      employeeNumber: { path: "$.employeeNumber", type: int }
      created: { path: "$.created", type: datetime }
      groups: { path: "$.groups[*]", multi: true }
    entitlements:
      - { attribute: groups, group_type: group }
"#;

/// Request and paging of an account aggregation over the synthetic API, for every paging
/// style. `limit` is the page size; `total` adds `total: "$.total"` where the style has one.
pub fn users_request(kind: &str, limit: u64, total: bool, concurrency: u32) -> String {
    let total = if total { r#", total: "$.total""# } else { "" };
    match kind {
        "offset" => format!(
            r#"    request:
      path: /users/offset
      query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
    paging: {{ kind: offset, limit: {limit}{total}, concurrency: {concurrency} }}
    records: "$.items[*]"
"#
        ),
        "page" => format!(
            r#"    request:
      path: /users/page
      query: {{ page: "{{{{page.number}}}}", per_page: "{{{{page.limit}}}}" }}
    paging: {{ kind: page, limit: {limit}{total}, concurrency: {concurrency} }}
    records: "$.items[*]"
"#
        ),
        "cursor" => format!(
            r#"    request:
      path: /users/cursor
      query: {{ cursor: "{{{{page.cursor}}}}", limit: "{limit}" }}
    paging: {{ kind: cursor, cursor: "$.next_cursor" }}
    records: "$.items[*]"
"#
        ),
        "next_url" => format!(
            r#"    request:
      path: /users/next
      query: {{ limit: "{limit}" }}
    paging: {{ kind: next_url, next_url: "$.next" }}
    records: "$.items[*]"
"#
        ),
        "link_header" => format!(
            r#"    request:
      path: /users/link
      query: {{ page: "1", per_page: "{limit}" }}
    paging: {{ kind: link_header }}
    records: "$[*]"
"#
        ),
        other => panic!("unknown paging kind {other}"),
    }
}

/// A connector with `http` (a whole `http:` block, or empty) and an account aggregation made
/// of `aggregation` (request, paging, records) and [`USER_MAPPING`].
pub fn users_connector(http: &str, aggregation: &str) -> String {
    format!("{HEADER}{http}operations:\n  account_aggregation:\n{aggregation}{USER_MAPPING}")
}

/// A synthetic directory of `users` users and 13 groups, Bearer [`TOKEN`].
pub fn config(users: usize) -> SyntheticConfig {
    SyntheticConfig::new(users)
        .with_groups(13)
        .with_auth(AuthMode::Bearer(TOKEN.into()))
}

/// Starts the synthetic API.
pub async fn start(config: SyntheticConfig) -> SyntheticApi {
    SyntheticApi::start(config)
        .await
        .expect("the synthetic API starts")
}

/// Loads connector YAML, panicking with the rendered diagnostics when it is invalid.
pub fn load(yaml: &str) -> Loaded {
    match wsc_spec::load_bytes(yaml.as_bytes(), "it.yaml", Path::new(".")) {
        Ok(l) => l,
        Err(LoadError::Invalid(report)) => panic!("invalid test connector:\n{}", report.render()),
        Err(e) => panic!("{e}"),
    }
}

/// Builds an engine for a connector with these settings (no environment).
pub fn try_engine(yaml: &str, settings: &[(&str, &str)]) -> Result<Engine, String> {
    let loaded = load(yaml);
    let explicit: IndexMap<String, Value> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let resolved =
        wsc_engine::settings::resolve(&loaded.connector, &explicit, &IndexMap::new(), &|_| None)
            .map_err(|errs| {
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
    let auth = wsc_engine::static_authenticator(&loaded, &resolved).map_err(|e| e.to_string())?;
    Engine::new(&loaded, &resolved, auth, RunContext::default()).map_err(|e| e.to_string())
}

/// An engine for `yaml` pointed at `base_url` with the right token.
pub fn engine(yaml: &str, base_url: &str) -> Engine {
    engine_with_token(yaml, base_url, TOKEN)
}

/// An engine for `yaml` pointed at `base_url` with `token`.
pub fn engine_with_token(yaml: &str, base_url: &str, token: &str) -> Engine {
    try_engine(yaml, &[("base_url", base_url), ("token", token)]).expect("the engine builds")
}

/// Runs an aggregation to the end: every record, or the first error.
pub async fn aggregate(
    engine: &Engine,
    object: &str,
    partition: Option<&str>,
) -> Result<Vec<Record>, EngineError> {
    let (records, error) = aggregate_partial(engine, object, partition).await;
    match error {
        Some(e) => Err(e),
        None => Ok(records),
    }
}

/// Runs an aggregation to the end: the records received, and the error that ended it (if
/// any). The stream must end right after an error.
pub async fn aggregate_partial(
    engine: &Engine,
    object: &str,
    partition: Option<&str>,
) -> (Vec<Record>, Option<EngineError>) {
    let mut stream = match engine.aggregate(object, partition).await {
        Ok(x) => x,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut records = Vec::new();
    let mut error = None;
    while let Some(batch) = stream.next_batch().await {
        match batch {
            Ok(b) => {
                assert!(error.is_none(), "records arrived after the error {error:?}");
                records.extend(b);
            }
            Err(e) => {
                assert!(error.is_none(), "a second error after {error:?}: {e}");
                error = Some(e);
            }
        }
    }
    match stream.finish().await {
        Ok(_) => assert!(error.is_none(), "finish() succeeded after {error:?}"),
        Err(e) => {
            if error.is_none() {
                error = Some(e);
            }
        }
    }
    (records, error)
}

/// The record the test connectors' [`USER_MAPPING`] makes of user `index`.
pub fn expected_user(config: &SyntheticConfig, index: usize) -> Value {
    let u = user(config, index);
    json!({
        "type": "account",
        "identity": u.id,
        "name": u.user_name,
        "attributes": {
            "displayName": u.display_name,
            "givenName": u.name.given_name,
            "familyName": u.name.family_name,
            "email": u.emails[0].value,
            "active": u.active,
            "department": u.department,
            "title": u.title,
            "employeeNumber": u.employee_number,
            "created": u.created,
            "groups": u.groups,
        }
    })
}

/// Asserts `records` are exactly users `0..n` of `config`, in order, none duplicated, every
/// attribute as [`expected_user`] says.
pub fn assert_users(engine: &Engine, records: &[Record], config: &SyntheticConfig, n: usize) {
    assert_user_range(engine, records, config, 0..n);
}

/// Like [`assert_users`] for users `range`.
pub fn assert_user_range(
    engine: &Engine,
    records: &[Record],
    config: &SyntheticConfig,
    range: std::ops::Range<usize>,
) {
    let names = engine
        .attribute_names("account_aggregation")
        .expect("the connector aggregates accounts");
    assert_identities_unique(records);
    let got: Vec<&str> = records.iter().map(|r| r.identity.as_str()).collect();
    let want: Vec<String> = range.clone().map(user_id).collect();
    assert_eq!(got.len(), want.len(), "number of records");
    if let Some(k) = (0..got.len()).find(|&k| got[k] != want[k]) {
        let end = (k + 5).min(got.len());
        panic!(
            "records out of order at position {k}: got {:?}, expected {:?}",
            &got[k..end],
            &want[k..end]
        );
    }
    for (r, i) in records.iter().zip(range) {
        assert_eq!(r.to_json(&names), expected_user(config, i), "user {i}");
    }
}

/// Asserts no identity occurs twice.
pub fn assert_identities_unique(records: &[Record]) {
    let mut seen = HashSet::new();
    for r in records {
        assert!(seen.insert(r.identity.as_str()), "duplicate {}", r.identity);
    }
}

/// The value of attribute `name` of a record.
pub fn attr<'r>(engine: &Engine, key: &str, r: &'r Record, name: &str) -> &'r Value {
    let names: Arc<[Arc<str>]> = engine.attribute_names(key).expect("operation exists");
    let i = names
        .iter()
        .position(|n| n.as_ref() == name)
        .unwrap_or_else(|| panic!("no attribute {name} in {names:?}"));
    &r.attributes[i]
}
