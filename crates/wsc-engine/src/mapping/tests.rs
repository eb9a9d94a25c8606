use super::*;
use crate::doc::Doc;
use crate::path::CompiledPath;
use serde_json::json;
use wsc_spec::model::Operation;

/// Test templates: `field:<key>` reads `record.<key>`, `concat:<a>,<b>` joins two fields with a
/// space, `list` returns `["x", null, "y"]`, `fail` fails to render; `bad` does not compile.
struct FakeTemplates;

struct Fake(String);

impl RecordTemplate for Fake {
    fn render(
        &self,
        record: &Value,
        _run: Option<&serde_json::Map<String, Value>>,
    ) -> Result<Value, String> {
        if let Some(k) = self.0.strip_prefix("field:") {
            return Ok(record.get(k).cloned().unwrap_or(Value::Null));
        }
        if let Some(ks) = self.0.strip_prefix("concat:") {
            let parts: Vec<String> = ks
                .split(',')
                .map(|k| {
                    record
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                })
                .collect();
            return Ok(Value::String(parts.join(" ")));
        }
        match self.0.as_str() {
            "list" => Ok(json!(["x", null, "y"])),
            _ => Err(format!("cannot render {}", "x".repeat(1000))),
        }
    }
}

impl TemplateCompiler for FakeTemplates {
    fn compile(&self, source: &str) -> Result<Box<dyn RecordTemplate>, String> {
        if source == "bad" {
            return Err("unclosed `{{`".into());
        }
        Ok(Box::new(Fake(source.to_string())))
    }
}

fn op(v: Value) -> Operation {
    serde_json::from_value(v).expect("operation")
}

fn mapper(v: Value) -> RecordMapper {
    RecordMapper::new("account", &op(v), &FakeTemplates).expect("mapper")
}

fn mapper_err(v: Value) -> MapError {
    RecordMapper::new("account", &op(v), &FakeTemplates).expect_err("should not compile")
}

fn doc(s: &str) -> Doc<'_> {
    Doc::parse(s.as_bytes()).expect("json")
}

/// Maps `record` with a single attribute definition `def`, returning its value.
fn one(def: Value, record: &str) -> Result<Value, MapError> {
    let m = mapper(json!({"identity": "$.id", "attributes": {"a": def}}));
    let r = m.map(&doc(record))?;
    Ok(r.attributes[0].clone())
}

fn conv(ty: &str, value: Value) -> Result<Value, MapError> {
    let rec = json!({"id": "1", "v": value}).to_string();
    one(json!({"path": "$.v", "type": ty}), &rec)
}

const USER: &str = r#"{"id":"u0000001","userName":"ada.lovelace","displayName":"Ada Lovelace",
  "name":{"givenName":"Ada","familyName":"Lovelace"},
  "emails":[{"value":"ada.lovelace@example.com","primary":true}],"active":true,
  "department":"Engineering","title":"Engineer","employeeNumber":100001,
  "created":"2019-03-04T05:06:07Z","lastModified":"2021-01-02T03:04:05+01:00",
  "groups":["g00001","g00007"]}"#;

fn demo_account() -> Value {
    json!({
        "records": "$.items[*]",
        "identity": "$.id",
        "name": "$.userName",
        "attributes": {
            "displayName": "$.displayName",
            "givenName": "$.name.givenName",
            "familyName": "$.name.familyName",
            "email": "$.emails[0].value",
            "active": { "path": "$.active", "type": "bool" },
            "department": "$.department",
            "title": "$.title",
            "employeeNumber": { "path": "$.employeeNumber", "type": "int" },
            "groups": { "path": "$.groups[*]", "multi": true }
        }
    })
}

#[test]
fn maps_the_demo_account() {
    let m = mapper(demo_account());
    let names: Vec<&str> = m.attribute_names().iter().map(|n| n.as_ref()).collect();
    assert_eq!(
        names,
        [
            "displayName",
            "givenName",
            "familyName",
            "email",
            "active",
            "department",
            "title",
            "employeeNumber",
            "groups"
        ]
    );
    assert_eq!(m.records_path().as_str(), "$.items[*]");
    let r = m.map(&doc(USER)).unwrap();
    assert_eq!(r.object_type.as_ref(), "account");
    assert_eq!(r.identity, "u0000001");
    assert_eq!(r.name.as_deref(), Some("ada.lovelace"));
    assert_eq!(
        r.attributes,
        vec![
            json!("Ada Lovelace"),
            json!("Ada"),
            json!("Lovelace"),
            json!("ada.lovelace@example.com"),
            json!(true),
            json!("Engineering"),
            json!("Engineer"),
            json!(100001),
            json!(["g00001", "g00007"]),
        ]
    );
    assert_eq!(r.members, None);
    assert_eq!(
        r.attribute(m.attribute_names(), "email"),
        Some(&json!("ada.lovelace@example.com"))
    );
    assert_eq!(r.attribute(m.attribute_names(), "nope"), None);
}

#[test]
fn map_page_applies_the_records_path() {
    let m = mapper(demo_account());
    let page = format!(r#"{{"total":2,"items":[{USER},{{"id":7,"userName":null}}]}}"#);
    let page = doc(&page);
    let recs: Vec<Record> = m.map_page(&page).collect::<Result<_, _>>().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].identity, "7");
    assert_eq!(recs[1].name, None);
    assert_eq!(recs[1].attributes[0], Value::Null);
    assert_eq!(recs[1].attributes[8], json!([]));

    // A records path that selects the array itself is flattened; default `$` is the body.
    let m = mapper(json!({"records": "$.items", "identity": "$.id"}));
    assert_eq!(
        m.map_page(&doc(r#"{"items":[{"id":"a"},{"id":"b"}]}"#))
            .count(),
        2
    );
    let m = mapper(json!({"identity": "$.id"}));
    assert_eq!(m.records_path().as_str(), "$");
    let ids: Vec<String> = m
        .map_page(&doc(r#"{"id":"only"}"#))
        .map(|r| r.unwrap().identity)
        .collect();
    assert_eq!(ids, ["only"]);
    assert_eq!(m.map_page(&doc(r#"[{"id":"x"},{"id":"y"}]"#)).count(), 2);
    let m = mapper(json!({"records": "$.items[*]", "identity": "$.id"}));
    assert_eq!(m.map_page(&doc(r#"{"items":[]}"#)).count(), 0);
    assert_eq!(m.map_page(&doc(r#"{"other":1}"#)).count(), 0);
}

#[test]
fn identity_rules() {
    let m = mapper(json!({"identity": "$.id", "name": "$.n"}));
    assert_eq!(m.map(&doc(r#"{"id":42,"n":1.5}"#)).unwrap().identity, "42");
    assert_eq!(
        m.map(&doc(r#"{"id":42,"n":1.5}"#)).unwrap().name.as_deref(),
        Some("1.5")
    );
    assert_eq!(
        m.map(&doc(r#"{"id":"x","n":true}"#))
            .unwrap()
            .name
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        m.map(&doc(r#"{"id":12345678901234567890123}"#))
            .unwrap()
            .identity,
        "12345678901234567890123"
    );
    for bad in [r#"{"n":"a"}"#, r#"{"id":null}"#, r#"{"id":""}"#] {
        let e = m.map(&doc(bad)).unwrap_err();
        assert!(
            matches!(e, MapError::MissingIdentity { ref path, .. } if path == "$.id"),
            "{e}"
        );
        assert!(e.to_string().contains("$.id"), "{e}");
    }
    let e = m.map(&doc(r#"{"id":{"x":1}}"#)).unwrap_err();
    assert!(
        matches!(
            e,
            MapError::BadScalar {
                field: "identity",
                found: "object",
                ..
            }
        ),
        "{e}"
    );
    let e = m.map(&doc(r#"{"id":"a","n":[1]}"#)).unwrap_err();
    assert!(
        matches!(
            e,
            MapError::BadScalar {
                field: "name",
                found: "array",
                ..
            }
        ),
        "{e}"
    );
    // Without an identity path (write operations), the identity is empty.
    let m = mapper(json!({"attributes": {"a": "$.a"}}));
    assert_eq!(m.map(&doc(r#"{"a":1}"#)).unwrap().identity, "");
}

#[test]
fn errors_show_at_most_200_characters_of_the_record() {
    let m = mapper(json!({"identity": "$.id"}));
    let big = format!(r#"{{"secretish":"{}"}}"#, "z".repeat(10_000));
    let e = m.map(&doc(&big)).unwrap_err().to_string();
    assert!(e.len() < 400, "{} chars", e.len());
    assert!(e.contains("secretish"));

    let big = format!(r#"{{"id":"1","v":"{}"}}"#, "9".repeat(10_000));
    let e = one(json!({"path": "$.v", "type": "bool"}), &big)
        .unwrap_err()
        .to_string();
    assert!(e.len() < 300, "{e}");

    let big = format!(r#"{{"id":"1","pad":"{}"}}"#, "p".repeat(10_000));
    let e = one(json!({"path": "$.v", "required": true}), &big)
        .unwrap_err()
        .to_string();
    assert!(e.len() < 400, "{e}");
    let e = one(json!({"template": "fail"}), r#"{"id":"1"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.len() < 500, "{e}");
}

#[test]
fn plain_paths_keep_json_as_found() {
    let rec = r#"{"id":"1","o":{"k":[1,{"x":null}]},"n":1.50,"s":"t","z":null}"#;
    assert_eq!(one(json!("$.o"), rec).unwrap(), json!({"k":[1,{"x":null}]}));
    assert_eq!(one(json!("$.n"), rec).unwrap(), json!(1.5));
    assert_eq!(one(json!("$.s"), rec).unwrap(), json!("t"));
    assert_eq!(one(json!("$.z"), rec).unwrap(), Value::Null);
    assert_eq!(one(json!("$.missing"), rec).unwrap(), Value::Null);
    assert_eq!(
        one(json!("$.o.k[*]"), rec).unwrap(),
        json!(1),
        "first match"
    );
    assert_eq!(one(json!("$..x"), rec).unwrap(), Value::Null);
}

#[test]
fn multi_values() {
    let rec = r#"{"id":"1","groups":["a","b"],"objs":[{"id":"x"},{"id":"y"},{"no":1},{"id":null}],
                  "one":"solo","empty":[],"nested":[[1,2],[3]],"nums":[1,"2"]}"#;
    let multi = |p: &str| one(json!({"path": p, "multi": true}), rec).unwrap();
    assert_eq!(multi("$.groups[*]"), json!(["a", "b"]));
    assert_eq!(
        multi("$.groups"),
        json!(["a", "b"]),
        "a single array match is flattened"
    );
    assert_eq!(multi("$.objs[*].id"), json!(["x", "y"]), "nulls dropped");
    assert_eq!(multi("$.one"), json!(["solo"]));
    assert_eq!(multi("$.empty"), json!([]));
    assert_eq!(multi("$.empty[*]"), json!([]));
    assert_eq!(multi("$.missing"), json!([]));
    assert_eq!(
        multi("$.nested[*]"),
        json!([[1, 2], [3]]),
        "only one level is flattened"
    );
    assert_eq!(
        multi("$.objs[?@.id]"),
        json!([{"id":"x"},{"id":"y"},{"id":null}])
    );
    assert_eq!(
        one(json!({"path": "$.nums", "multi": true, "type": "int"}), rec).unwrap(),
        json!([1, 2])
    );
    assert_eq!(
        one(
            json!({"path": "$.missing", "multi": true, "default": "d"}),
            rec
        )
        .unwrap(),
        json!(["d"])
    );
    assert_eq!(
        one(
            json!({"path": "$.missing", "multi": true, "default": ["d", "e"]}),
            rec
        )
        .unwrap(),
        json!(["d", "e"])
    );
    let e = one(
        json!({"path": "$.empty", "multi": true, "required": true}),
        rec,
    )
    .unwrap_err();
    assert!(matches!(e, MapError::MissingRequired { .. }), "{e}");
    let e = one(
        json!({"path": "$.groups", "multi": true, "type": "int"}),
        rec,
    )
    .unwrap_err();
    assert!(matches!(e, MapError::Conversion { ty: "int", .. }), "{e}");
}

#[test]
fn defaults_and_required() {
    let rec = r#"{"id":"1","z":null,"f":false,"e":""}"#;
    assert_eq!(
        one(json!({"path": "$.m", "default": "x"}), rec).unwrap(),
        json!("x")
    );
    assert_eq!(
        one(json!({"path": "$.z", "default": 5}), rec).unwrap(),
        json!(5)
    );
    assert_eq!(
        one(json!({"path": "$.f", "default": true}), rec).unwrap(),
        json!(false)
    );
    assert_eq!(
        one(json!({"path": "$.e", "default": "x"}), rec).unwrap(),
        json!("")
    );
    assert_eq!(
        one(json!({"path": "$.m", "default": "7", "type": "int"}), rec).unwrap(),
        json!(7),
        "defaults are converted to the type"
    );
    let e = one(json!({"path": "$.z", "required": true}), rec).unwrap_err();
    assert!(
        matches!(e, MapError::MissingRequired { ref attribute, ref from, .. } if attribute == "a" && from == "$.z"),
        "{e}"
    );
    assert_eq!(
        one(json!({"path": "$.z", "required": true, "default": 1}), rec).unwrap(),
        json!(1)
    );
    // A default that does not convert is a load-time error.
    let e =
        mapper_err(json!({"attributes": {"a": {"path": "$.x", "type": "int", "default": "x"}}}));
    assert!(matches!(e, MapError::Definition { .. }), "{e}");
}

#[test]
fn constants_and_templates() {
    let rec = r#"{"id":"1","first":"Ada","last":"Lovelace","n":"5"}"#;
    assert_eq!(one(json!({"value": "fixed"}), rec).unwrap(), json!("fixed"));
    assert_eq!(
        one(json!({"value": "3", "type": "int"}), rec).unwrap(),
        json!(3)
    );
    assert_eq!(
        one(json!({"value": "a", "multi": true}), rec).unwrap(),
        json!(["a"])
    );
    assert_eq!(
        one(json!({"template": "concat:first,last"}), rec).unwrap(),
        json!("Ada Lovelace")
    );
    assert_eq!(
        one(json!({"template": "field:n", "type": "int"}), rec).unwrap(),
        json!(5)
    );
    assert_eq!(
        one(json!({"template": "field:none", "default": "d"}), rec).unwrap(),
        json!("d")
    );
    assert_eq!(
        one(json!({"template": "list", "multi": true}), rec).unwrap(),
        json!(["x", "y"])
    );
    let e = one(json!({"template": "fail"}), rec).unwrap_err();
    assert!(matches!(e, MapError::Template { .. }), "{e}");
    let e = mapper_err(json!({"attributes": {"a": {"template": "bad"}}}));
    assert!(e.to_string().contains("unclosed"), "{e}");
    let e = mapper_err(json!({"attributes": {"a": {"value": "x", "type": "int"}}}));
    assert!(matches!(e, MapError::Definition { .. }), "{e}");
    let e = mapper_err(json!({"attributes": {"a": {"path": "$.a", "value": 1}}}));
    assert!(e.to_string().contains("exactly one"), "{e}");
    let e = mapper_err(json!({"attributes": {"a": {"type": "int"}}}));
    assert!(e.to_string().contains("exactly one"), "{e}");
    let e = mapper_err(json!({"attributes": {"a": "$[?"}}));
    assert!(
        matches!(e, MapError::Path { ref field, .. } if field == "attributes.a"),
        "{e}"
    );
    let e = mapper_err(json!({"identity": "$$"}));
    assert!(
        matches!(e, MapError::Path { ref field, .. } if field == "identity"),
        "{e}"
    );
}

#[test]
fn string_conversion() {
    assert_eq!(conv("string", json!("s")).unwrap(), json!("s"));
    assert_eq!(conv("string", json!(12)).unwrap(), json!("12"));
    assert_eq!(conv("string", json!(-1.5)).unwrap(), json!("-1.5"));
    assert_eq!(conv("string", json!(true)).unwrap(), json!("true"));
    assert_eq!(conv("string", Value::Null).unwrap(), Value::Null);
    let e = conv("string", json!({"a": 1})).unwrap_err();
    assert!(
        matches!(e, MapError::Conversion { ty: "string", .. }),
        "{e}"
    );
    let e = conv("string", json!([1])).unwrap_err();
    assert!(e.to_string().contains("[1]"), "{e}");
    // Big numbers keep their text.
    let r = one(
        json!({"path": "$.v", "type": "string"}),
        r#"{"id":"1","v":123456789012345678901234}"#,
    );
    assert_eq!(r.unwrap(), json!("123456789012345678901234"));
}

#[test]
fn int_conversion() {
    assert_eq!(conv("int", json!(7)).unwrap(), json!(7));
    assert_eq!(conv("int", json!(-7)).unwrap(), json!(-7));
    assert_eq!(conv("int", json!(7.0)).unwrap(), json!(7));
    assert_eq!(conv("int", json!("42")).unwrap(), json!(42));
    assert_eq!(conv("int", json!(" -42 ")).unwrap(), json!(-42));
    assert_eq!(conv("int", json!("1e3")).unwrap(), json!(1000));
    assert_eq!(conv("int", json!(u64::MAX)).unwrap(), json!(u64::MAX));
    for bad in [
        json!(1.5),
        json!("1.5"),
        json!("abc"),
        json!(""),
        json!(true),
        json!([1]),
        json!(1e300),
    ] {
        let e = conv("int", bad.clone()).unwrap_err();
        match &e {
            MapError::Conversion {
                attribute,
                ty,
                value,
                ..
            } => {
                assert_eq!(attribute, "a");
                assert_eq!(*ty, "int");
                assert_eq!(value, &bad.to_string());
            }
            other => panic!("{other}"),
        }
    }
    let e = conv("int", json!(1.5)).unwrap_err().to_string();
    assert!(
        e.contains("attribute `a`") && e.contains("1.5") && e.contains("int"),
        "{e}"
    );
    assert!(e.contains("whole number"), "{e}");
    let r = one(
        json!({"path": "$.v", "type": "int"}),
        r#"{"id":"1","v":123456789012345678901234}"#,
    );
    assert!(r.unwrap_err().to_string().contains("range"));
}

#[test]
fn float_conversion() {
    assert_eq!(conv("float", json!(7)).unwrap(), json!(7.0));
    assert_eq!(conv("float", json!(2.5)).unwrap(), json!(2.5));
    assert_eq!(conv("float", json!("2.5")).unwrap(), json!(2.5));
    assert_eq!(conv("float", json!("-1e2")).unwrap(), json!(-100.0));
    for bad in [json!("x"), json!(true), json!({})] {
        let e = conv("float", bad).unwrap_err();
        assert!(matches!(e, MapError::Conversion { ty: "float", .. }), "{e}");
    }
    let r = one(
        json!({"path": "$.v", "type": "float"}),
        r#"{"id":"1","v":1e400}"#,
    );
    assert!(r.unwrap_err().to_string().contains("range"));
}

#[test]
fn bool_conversion() {
    for (v, b) in [
        (json!(true), true),
        (json!(false), false),
        (json!("true"), true),
        (json!("FALSE"), false),
        (json!(" True "), true),
        (json!(1), true),
        (json!(0), false),
        (json!("1"), true),
        (json!("0"), false),
    ] {
        assert_eq!(conv("bool", v.clone()).unwrap(), json!(b), "{v}");
    }
    for bad in [json!(2), json!(1.5), json!("yes"), json!(""), json!([true])] {
        let e = conv("bool", bad.clone()).unwrap_err();
        assert!(
            matches!(e, MapError::Conversion { ty: "bool", .. }),
            "{bad}: {e}"
        );
    }
}

#[test]
fn datetime_conversion() {
    let cases = [
        (json!("2019-03-04T05:06:07Z"), "2019-03-04T05:06:07Z"),
        (json!("2019-03-04t05:06:07z"), "2019-03-04T05:06:07Z"),
        (json!("2019-03-04 05:06:07Z"), "2019-03-04T05:06:07Z"),
        (json!("2021-01-02T03:04:05+01:00"), "2021-01-02T02:04:05Z"),
        (json!("2021-01-01T00:30:00+01:00"), "2020-12-31T23:30:00Z"),
        (json!("2020-12-31T23:30:00-05:30"), "2021-01-01T05:00:00Z"),
        (
            json!("2020-02-29T12:00:00.123456Z"),
            "2020-02-29T12:00:00.123456Z",
        ),
        (
            json!("2020-02-29T12:00:00.500+0200"),
            "2020-02-29T10:00:00.5Z",
        ),
        (json!("2020-02-29T12:00:00.000Z"), "2020-02-29T12:00:00Z"),
        (json!("2020-02-29T12:00:00"), "2020-02-29T12:00:00Z"),
        (json!("2020-02-29"), "2020-02-29T00:00:00Z"),
        (json!("2016-12-31T23:59:60Z"), "2017-01-01T00:00:00Z"),
        (json!(0), "1970-01-01T00:00:00Z"),
        (json!(1_700_000_000), "2023-11-14T22:13:20Z"),
        (json!(1_700_000_000_123_i64), "2023-11-14T22:13:20.123Z"),
        (json!(1_700_000_000.5), "2023-11-14T22:13:20.5Z"),
        (json!(-86_400), "1969-12-31T00:00:00Z"),
        (json!("1700000000"), "2023-11-14T22:13:20Z"),
        (json!(" 2019-03-04T05:06:07Z "), "2019-03-04T05:06:07Z"),
    ];
    for (v, want) in cases {
        assert_eq!(conv("datetime", v.clone()).unwrap(), json!(want), "{v}");
    }
    for bad in [
        json!("2019-02-29T00:00:00Z"),
        json!("2019-13-01T00:00:00Z"),
        json!("2019-00-01"),
        json!("2019-01-01T24:00:00Z"),
        json!("2019-01-01T23:60:00Z"),
        json!("2019-01-01T23:00:00+24:00"),
        json!("2019-01-01T23:00:00Zx"),
        json!("2019-01-01T23:00"),
        json!("2019-1-1"),
        json!("yesterday"),
        json!(""),
        json!("0000-01-01T00:00:00+01:00"),
        json!(true),
        json!({}),
        json!(1e300),
    ] {
        let e = conv("datetime", bad.clone()).unwrap_err();
        assert!(
            matches!(e, MapError::Conversion { ty: "datetime", .. }),
            "{bad}: {e}"
        );
    }
}

#[test]
fn members_of_groups() {
    let m = RecordMapper::new(
        "group",
        &op(
            json!({"identity": "$.id", "name": "$.displayName", "members": "$.members[*]",
                   "attributes": {"description": "$.description"}}),
        ),
        &FakeTemplates,
    )
    .unwrap();
    assert!(m.has_members());
    let r = m
        .map(&doc(
            r#"{"id":"g1","displayName":"G","members":["u1",2,null]}"#,
        ))
        .unwrap();
    assert_eq!(r.object_type.as_ref(), "group");
    assert_eq!(r.members, Some(vec!["u1".to_string(), "2".to_string()]));
    assert_eq!(r.attributes, vec![Value::Null]);
    let r = m.map(&doc(r#"{"id":"g2"}"#)).unwrap();
    assert_eq!(r.members, Some(vec![]));
    let e = m
        .map(&doc(r#"{"id":"g3","members":[{"id":"u1"}]}"#))
        .unwrap_err();
    assert!(
        matches!(
            e,
            MapError::BadMember {
                found: "object",
                ..
            }
        ),
        "{e}"
    );

    // `$.members` pointing at the array gives the same list.
    let m = RecordMapper::new(
        "group",
        &op(json!({"identity": "$.id", "members": "$.members"})),
        &FakeTemplates,
    )
    .unwrap();
    let r = m.map(&doc(r#"{"id":"g1","members":["a","b"]}"#)).unwrap();
    assert_eq!(r.members, Some(vec!["a".to_string(), "b".to_string()]));
}

#[test]
fn record_to_json() {
    let m = mapper(demo_account());
    let r = m.map(&doc(USER)).unwrap();
    let j = r.to_json(m.attribute_names());
    assert_eq!(j["type"], "account");
    assert_eq!(j["identity"], "u0000001");
    assert_eq!(j["attributes"]["groups"], json!(["g00001", "g00007"]));
    assert!(j.get("members").is_none());
}

#[test]
fn mapper_and_records_are_thread_safe() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RecordMapper>();
    send_sync::<Record>();
    send_sync::<MapError>();
    send_sync::<Doc<'static>>();
    send_sync::<CompiledPath>();
}

#[test]
fn owned_json_conversions_match_the_copying_ones() {
    use std::sync::Arc;
    let names: Vec<Arc<str>> = vec!["a".into(), "b".into()];
    let ty: Arc<str> = "account".into();
    let r = Record {
        object_type: ty.clone(),
        identity: "u1".into(),
        name: Some("n".into()),
        attributes: vec![json!({"x": [1, "y"]}), Value::Null],
        members: Some(vec!["m1".into()]),
        deleted: false,
    };
    assert_eq!(r.clone().into_json(&names), r.to_json(&names));
    for v in [
        r.to_json(&names),
        json!({"identity": 7, "name": true, "attributes": {"b": 1}, "type": "role", "deleted": true}),
        json!({"identity": "x", "attributes": {"zz": 1}}),
        json!({"name": "no identity"}),
        json!([1]),
    ] {
        assert_eq!(
            Record::from_json_owned(v.clone(), &ty, &names),
            Record::from_json(&v, &ty, &names),
            "{v}"
        );
    }
}
