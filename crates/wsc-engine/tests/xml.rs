//! XML responses (`format: xml`) over real loopback HTTP against the synthetic API's XML
//! endpoints: XPath records and attributes with namespaces, predicates, `text()`, `count()`
//! and typed conversions; offset paging from an XML total; a missing records element; hostile
//! XML (billion laughs, deep nesting, an external entity) refused; JSON and XML mixed up;
//! SOAP 1.1 and 1.2 faults.

mod common;

use common::*;
use serde_json::{Value, json};
use wsc_testkit::synthetic::user;

/// An XML account aggregation of `/xml/users` with this `records` XPath and extra keys.
fn xml_connector(records: &str, extra: &str) -> String {
    format!(
        r#"{HEADER}{FAST_HTTP}namespaces:
  u: "urn:wsc:synthetic:users"
operations:
  account_aggregation:
    format: xml
    request:
      path: /xml/users
      query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
    paging: {{ kind: offset, limit: 25, total: "/u:users/@total" }}
    records: "{records}"
    identity: "@id"
    name: "u:userName/text()"
    attributes:
      email: "u:email"
      active: {{ path: "@active", type: bool }}
      employeeNumber: {{ path: "u:employeeNumber", type: int }}
      groups: {{ path: "u:groups/u:group", multi: true }}
      groupCount: {{ path: "count(u:groups/u:group)", type: int }}
      firstGroup: "u:groups/u:group[1]"
      label: {{ template: "{{{{record.email}}}} ({{{{record.employeeNumber}}}})" }}
{extra}"#
    )
}

fn expected(cfg: &wsc_testkit::synthetic::SyntheticConfig, i: usize) -> Value {
    let u = user(cfg, i);
    json!({
        "type": "account",
        "identity": u.id,
        "name": u.user_name,
        "attributes": {
            "email": u.emails[0].value,
            "active": u.active,
            "employeeNumber": u.employee_number,
            "groups": u.groups,
            "groupCount": u.groups.len(),
            "firstGroup": u.groups.first(),
            "label": format!("{} ({})", u.emails[0].value, u.employee_number),
        }
    })
}

#[tokio::test]
async fn xml_listing_with_namespaces_paging_and_types() {
    let cfg = config(257);
    let api = start(cfg.clone()).await;
    let engine = engine(&xml_connector("/u:users/u:user", ""), &api.base_url());
    let records = aggregate(&engine, "account", None)
        .await
        .expect("aggregates");
    let names = engine.attribute_names("account_aggregation").unwrap();
    assert_eq!(records.len(), 257);
    assert_identities_unique(&records);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.to_json(&names), expected(&cfg, i), "user {i}");
    }
    // 257 users in pages of 25 with a known total: 11 pages, nothing more.
    assert_eq!(api.stats().data_requests, 11);
    assert_eq!(engine.summary().records, 257);
    api.shutdown().await;
}

#[tokio::test]
async fn xml_predicates_select_records() {
    let cfg = config(60);
    let api = start(cfg.clone()).await;
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    format: xml
    namespaces: {{ s: "urn:wsc:synthetic:users" }}
    request: {{ path: /xml/users, query: {{ limit: "100" }} }}
    records: "/s:users/s:user[@active='true'][s:groups/s:group]"
    identity: "@id"
    attributes:
      position: {{ path: "count(preceding-sibling::s:user) + 1", type: int }}
      upper: "translate(s:userName, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')"
"#
    );
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None)
        .await
        .expect("aggregates");
    let names = engine.attribute_names("account_aggregation").unwrap();
    let want: Vec<usize> = (0..60)
        .filter(|&i| user(&cfg, i).active && !user(&cfg, i).groups.is_empty())
        .collect();
    assert!(
        !want.is_empty() && want.len() < 60,
        "the predicate drops some users"
    );
    let got: Vec<&str> = records.iter().map(|r| r.identity.as_str()).collect();
    let ids: Vec<String> = want.iter().map(|&i| user(&cfg, i).id).collect();
    assert_eq!(got, ids);
    for (r, &i) in records.iter().zip(&want) {
        assert_eq!(r.attribute(&names, "position"), Some(&json!(i + 1)));
        assert_eq!(
            r.attribute(&names, "upper"),
            Some(&json!(user(&cfg, i).user_name.to_uppercase()))
        );
    }
    api.shutdown().await;
}

#[tokio::test]
async fn empty_xml_listing_is_no_records() {
    let api = start(config(0)).await;
    let engine = engine(&xml_connector("/u:users/u:user", ""), &api.base_url());
    let records = aggregate(&engine, "account", None)
        .await
        .expect("aggregates");
    assert!(records.is_empty());
    api.shutdown().await;
}

#[tokio::test]
async fn a_missing_records_element_is_an_error_naming_the_namespace() {
    let api = start(config(5)).await;
    // A typo in the element name.
    let engine1 = engine(&xml_connector("/u:people/u:user", ""), &api.base_url());
    let e = aggregate(&engine1, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`records: /u:people/u:user` found nothing"),
        "{e}"
    );
    assert!(e.contains("in namespace `urn:wsc:synthetic:users`"), "{e}");
    assert!(
        e.contains("with the prefix declared for it: `/u:users`"),
        "{e}"
    );
    // No prefix: XPath 1.0 names without a prefix are in no namespace.
    let engine2 = engine(&xml_connector("/users/user", ""), &api.base_url());
    let e = aggregate(&engine2, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("XPath 1.0 has no default namespace"), "{e}");
    assert!(e.contains("`/u:users`"), "{e}");
    api.shutdown().await;
}

/// An aggregation of `/xml/hostile?kind=KIND`.
fn hostile_connector(kind: &str) -> String {
    format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    format: xml
    request: {{ path: /xml/hostile, query: {{ kind: {kind} }} }}
    records: "/users/user"
    identity: "@id"
    attributes:
      name: "name"
"#
    )
}

#[tokio::test]
async fn hostile_xml_fails_cleanly() {
    let api = start(config(1)).await;
    for (kind, want) in [
        ("laughs", "has a DOCTYPE, which wsc refuses"),
        ("xxe", "has a DOCTYPE, which wsc refuses"),
        (
            "deep",
            "nests elements deeper than 256 levels (at line 1, column",
        ),
    ] {
        let engine = engine(&hostile_connector(kind), &api.base_url());
        let (records, e) = aggregate_partial(&engine, "account", None).await;
        let e = e.unwrap_or_else(|| panic!("{kind}: no error")).to_string();
        assert!(e.contains(want), "{kind}: {e}");
        assert!(records.is_empty(), "{kind}");
        // Nothing from /etc/passwd reaches the error.
        assert!(!e.contains("root:"), "{kind}: {e}");
    }
    api.shutdown().await;
}

#[tokio::test]
async fn json_and_xml_mixed_up_fail_clearly() {
    let api = start(config(3)).await;
    // An XML operation that gets JSON.
    let engine1 = engine(&hostile_connector("json"), &api.base_url());
    let first = api.stats().data_requests;
    let e = aggregate(&engine1, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        api.stats().data_requests - first,
        1,
        "JSON is no truncated XML: not retried"
    );
    assert!(e.contains("not well-formed XML"), "{e}");
    assert!(
        e.contains("Content-Type is application/json: is `format: xml` right"),
        "{e}"
    );
    // A JSON operation that gets XML: not retried as a broken body, and says what to do.
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    request: {{ path: /xml/users }}
    records: "$.users[*]"
    identity: "$.id"
"#
    );
    let engine2 = engine(&yaml, &api.base_url());
    let before = api.stats().data_requests;
    let e = aggregate(&engine2, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the body is XML (Content-Type: application/xml"),
        "{e}"
    );
    assert!(e.contains("set `format: xml`"), "{e}");
    assert_eq!(api.stats().data_requests - before, 1, "not retried");
    api.shutdown().await;
}

#[tokio::test]
async fn typed_values_from_xml_convert_like_json() {
    let api = start(config(3)).await;
    let yaml = xml_connector("/u:users/u:user", "").replace(
        "active: { path: \"@active\", type: bool }",
        "active: { path: \"u:userName\", type: bool }",
    );
    let engine = engine(&yaml, &api.base_url());
    let e = aggregate(&engine, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("active"), "{e}");
    assert!(e.contains("bool") || e.contains("boolean"), "{e}");
    api.shutdown().await;
}

/// A get_object-like read of `/xml/fault` with these query parameters.
fn fault_connector(query: &str) -> String {
    format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    format: xml
    request: {{ path: /xml/fault, query: {{ {query} }} }}
    records: "/users/user"
    identity: "@id"
"#
    )
}

#[tokio::test]
async fn soap_faults_are_errors_with_their_fault_string() {
    let api = start(config(1)).await;
    for (query, want, requests) in [
        // SOAP 1.1 over HTTP 500, a client fault: not retried.
        (
            "version: \"11\"",
            "SOAP fault soap:Client: Unknown user id u9999999",
            1,
        ),
        // SOAP 1.2, a sender fault.
        (
            "version: \"12\"",
            "SOAP fault env:Sender: Unknown user id u9999999",
            1,
        ),
        // A server fault is retried like any HTTP 500 (four attempts here).
        (
            "version: \"11\", code: Server",
            "SOAP fault soap:Server: Unknown user id u9999999",
            4,
        ),
        // A fault in a 200 response.
        (
            "version: \"11\", status: \"200\"",
            "SOAP fault soap:Client: Unknown user id u9999999",
            1,
        ),
    ] {
        let engine = engine(&fault_connector(query), &api.base_url());
        let before = api.stats().data_requests;
        let e = aggregate(&engine, "account", None)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{query}: {e}");
        assert_eq!(api.stats().data_requests - before, requests, "{query}: {e}");
    }
    api.shutdown().await;
}

/// An XML aggregation of `/xml/users` paged by `paging` (a cursor or next-URL paging block)
/// with `query`.
fn xml_paged(query: &str, paging: &str) -> String {
    format!(
        r#"{HEADER}{FAST_HTTP}namespaces:
  u: "urn:wsc:synthetic:users"
operations:
  account_aggregation:
    format: xml
    request: {{ path: /xml/users, query: {{ {query} }} }}
    paging: {paging}
    records: "/u:users/u:user"
    identity: "@id"
    name: "u:userName"
"#
    )
}

#[tokio::test]
async fn cursor_and_next_url_paging_from_xml_values() {
    let cfg = config(53);
    let api = start(cfg.clone()).await;
    let ids: Vec<String> = (0..53).map(|i| user(&cfg, i).id).collect();
    for (query, paging) in [
        (
            r#"after: "{{page.cursor}}", limit: "10""#,
            r#"{ kind: cursor, cursor: "/u:users/@cursor" }"#,
        ),
        (
            r#"limit: "10""#,
            r#"{ kind: next_url, next_url: "normalize-space(/u:users/u:next)" }"#,
        ),
    ] {
        let before = api.stats().data_requests;
        let engine = engine(&xml_paged(query, paging), &api.base_url());
        let records = aggregate(&engine, "account", None)
            .await
            .unwrap_or_else(|e| panic!("{paging}: {e}"));
        let got: Vec<&str> = records.iter().map(|r| r.identity.as_str()).collect();
        assert_eq!(got, ids, "{paging}");
        // Six pages of at most 10; the last has no cursor or next URL.
        assert_eq!(api.stats().data_requests - before, 6, "{paging}");
    }
    api.shutdown().await;
}

#[tokio::test]
async fn get_object_reads_one_xml_record() {
    let cfg = config(30);
    let api = start(cfg.clone()).await;
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}operations:
  get_object:
    account:
      format: xml
      namespaces: {{ x: "urn:wsc:synthetic:users" }}
      request: {{ path: /xml/users, query: {{ offset: "{{{{plan.identity}}}}", limit: "1" }} }}
      records: "/x:users/x:user"
      identity: "@id"
      name: "x:userName"
      attributes:
        groups: {{ path: "x:groups/x:group", multi: true }}
        inGroups: {{ path: "count(x:groups/x:group) > 0", type: bool }}
"#
    );
    let engine = engine(&yaml, &api.base_url());
    let names = engine.attribute_names("get_object.account").unwrap();
    let r = engine.get_object("account", "17").await.expect("reads");
    let u = user(&cfg, 17);
    assert_eq!(r.identity, u.id);
    assert_eq!(r.name.as_deref(), Some(u.user_name.as_str()));
    assert_eq!(r.attribute(&names, "groups"), Some(&json!(u.groups)));
    assert_eq!(
        r.attribute(&names, "inGroups"),
        Some(&json!(!u.groups.is_empty()))
    );
    api.shutdown().await;
}

#[tokio::test]
async fn error_rules_of_xml_operations_read_xpath() {
    let api = start(config(1)).await;
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    format: xml
    request: {{ path: /xml/error }}
    records: "/users/user"
    identity: "@id"
    errors:
      - {{ path: "/result/status", equals: "failed", message: "/result/message" }}
"#
    );
    let engine = engine(&yaml, &api.base_url());
    let e = aggregate(&engine, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("Quota exceeded for this tenant"), "{e}");
    assert!(
        !e.contains("found nothing"),
        "the rule, not the missing records: {e}"
    );
    // Without the rule, the page has no records element: an error all the same.
    let engine = engine_without_rule(&yaml, &api.base_url());
    let e = aggregate(&engine, "account", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("`records: /users/user` found nothing"), "{e}");
    assert!(e.contains("the root element is `result`"), "{e}");
    api.shutdown().await;
}

fn engine_without_rule(yaml: &str, base_url: &str) -> wsc_engine::Engine {
    let cut = yaml.find("    errors:").expect("the connector has errors");
    engine(&yaml[..cut], base_url)
}

#[tokio::test]
async fn truncated_xml_pages_are_retried() {
    let faults = wsc_testkit::synthetic::Faults {
        fail_first: 2,
        fail_first_kind: wsc_testkit::synthetic::FaultKind::Malformed,
        ..wsc_testkit::synthetic::Faults::default()
    };
    let cfg = config(57);
    let api = start(cfg.clone().with_faults(faults)).await;
    let engine = engine(&xml_connector("/u:users/u:user", ""), &api.base_url());
    let records = aggregate(&engine, "account", None)
        .await
        .expect("aggregates");
    let names = engine.attribute_names("account_aggregation").unwrap();
    assert_eq!(records.len(), 57);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.to_json(&names), expected(&cfg, i), "user {i}");
    }
    assert_eq!(engine.summary().retries, 2);
    api.shutdown().await;
}

/// The users and each user's groups, as the operation maps them.
fn with_groups(cfg: &wsc_testkit::synthetic::SyntheticConfig, i: usize) -> Value {
    let u = user(cfg, i);
    json!({
        "type": "account",
        "identity": u.id,
        "name": u.user_name,
        "attributes": { "id": u.id, "email": u.emails[0].value, "memberOf": u.groups }
    })
}

#[tokio::test]
async fn xml_list_step_and_xml_for_each_step() {
    let cfg = config(47);
    let api = start(cfg.clone()).await;
    // The mapping paths are XPaths of the primary (XML) step's records; `memberOf` is the
    // merged value; later steps see the record's attributes by name (`record.id`).
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}namespaces:
  u: "urn:wsc:synthetic:users"
operations:
  account_aggregation:
    format: xml
    steps:
      - name: users
        request:
          path: /xml/users
          query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
        paging: {{ kind: offset, limit: 20, total: "/u:users/@total" }}
        records: "/u:users/u:user"
      - name: groups
        for_each: users
        request: {{ path: /xml/groups, query: {{ user: "{{{{record.id}}}}" }} }}
        records: "/u:groups/u:group"
        merge: {{ into: memberOf }}
    identity: "@id"
    name: "u:userName"
    attributes:
      id: "@id"
      email: "u:email"
      memberOf: {{ path: memberOf, multi: true }}
"#
    );
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None)
        .await
        .expect("aggregates");
    let names = engine.attribute_names("account_aggregation").unwrap();
    assert_eq!(records.len(), 47);
    let mut grouped = 0;
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.to_json(&names), with_groups(&cfg, i), "user {i}");
        grouped += usize::from(!user(&cfg, i).groups.is_empty());
    }
    assert!(grouped > 2, "the sample should hold users with groups");
    // 3 pages of users, then one request per user.
    assert_eq!(api.stats().data_requests, 3 + 47);
    api.shutdown().await;
}

#[tokio::test]
async fn json_list_step_and_xml_for_each_step() {
    let cfg = config(33);
    let api = start(cfg.clone()).await;
    let yaml = format!(
        r#"{HEADER}{FAST_HTTP}operations:
  account_aggregation:
    steps:
      - name: users
        request:
          path: /users/offset
          query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
        paging: {{ kind: offset, limit: 20, total: "$.total" }}
        records: "$.items[*]"
      - name: groups
        for_each: users
        format: xml
        namespaces: {{ u: "urn:wsc:synthetic:users" }}
        request: {{ path: /xml/groups, query: {{ user: "{{{{record.id}}}}" }} }}
        records: "/u:groups/u:group"
        save: {{ owner: "/u:groups/@user" }}
        merge: {{ into: memberOf, value: "text()" }}
    identity: "$.id"
    name: "$.userName"
    attributes:
      id: "$.id"
      email: "$.emails[0].value"
      memberOf: {{ path: "$.memberOf[*]", multi: true }}
"#
    );
    let engine = engine(&yaml, &api.base_url());
    let records = aggregate(&engine, "account", None)
        .await
        .expect("aggregates");
    let names = engine.attribute_names("account_aggregation").unwrap();
    assert_eq!(records.len(), 33);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.to_json(&names), with_groups(&cfg, i), "user {i}");
    }
    assert_eq!(api.stats().data_requests, 2 + 33);
    api.shutdown().await;
}
