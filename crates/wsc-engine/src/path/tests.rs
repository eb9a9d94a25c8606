use super::*;
use jsonpath_rust::JsonPath as _;
use serde_json::Value;

const DOCS: &[&str] = &[
    r#"{"id":"u1","userName":"ann","name":{"givenName":"Ann","familyName":null},
        "emails":[{"value":"a@x","primary":true},{"value":"b@x"}],
        "groups":["g1","g2","g3"],"active":true,"n":7,"nested":[[1,2],[3],[]],
        "odd key":{"with space":1,"quote'\"":2},"empty":{},"arr":[],"zero":0,
        "a":{"b":{"c":[{"d":1},{"d":2},{"e":3}]}}}"#,
    r#"[{"id":1,"v":"x"},{"id":2,"v":null},{"id":3},"s",4,null,[5]]"#,
    r#"{"items":[{"id":"a","members":["m1","m2"]},{"id":"b","members":[]},{"id":"c"}],
        "total":3,"next":null}"#,
    r#""just a string""#,
    "42",
    "null",
    "[]",
    "{}",
];

const SIMPLE: &[&str] = &[
    "$",
    "$.id",
    "$.userName",
    "$.name.givenName",
    "$.name.familyName",
    "$.name.missing",
    "$.missing.deeper",
    "$['id']",
    "$[\"id\"]",
    "$['odd key']['with space']",
    "$['odd key']['quote\\'\"']",
    "$.emails[0].value",
    "$.emails[1].value",
    "$.emails[2].value",
    "$.emails[-1].value",
    "$.emails[-2]",
    "$.emails[-3]",
    "$.emails[*].value",
    "$.emails[*].primary",
    "$.emails.*",
    "$.groups[*]",
    "$.groups",
    "$.groups[0]",
    "$.groups.*",
    "$.name.*",
    "$.name[*]",
    "$.*",
    "$[*]",
    "$[*].id",
    "$[*].v",
    "$[0]",
    "$[-1]",
    "$[6][0]",
    "$[100]",
    "$.nested[*]",
    "$.nested[*][*]",
    "$.nested[*][0]",
    "$.empty.*",
    "$.arr[*]",
    "$.arr[0]",
    "$.id[0]",
    "$.id.*",
    "$.n.x",
    "$[0].id",
    "$.items[*]",
    "$.items[*].id",
    "$.items[*].members[*]",
    "$.items[*].members",
    "$.a.b.c[*].d",
    "$.a.b.c[1]",
    "$.zero",
    "$.next",
];

const GENERAL: &[&str] = &[
    "$..id",
    "$..d",
    "$.emails[?@.primary].value",
    "$.emails[?(@.primary == true)].value",
    "$[?@.id > 1].id",
    "$.items[?@.id == 'b'].id",
    "$.groups[0:2]",
    "$.groups[::-1]",
    "$.groups[0,2]",
    "$['id','userName']",
    "$.items[?length(@.members) > 0].id",
    "$.emails[?@.value == 'b@x']",
    "$..*",
];

fn jsonpath_rust_results(v: &Value, path: &str) -> Vec<Value> {
    v.query(path)
        .unwrap_or_else(|e| panic!("jsonpath-rust rejects {path}: {e}"))
        .into_iter()
        .cloned()
        .collect()
}

fn ours(doc: &Doc<'_>, p: &CompiledPath) -> Vec<Value> {
    p.select(doc).iter().map(Doc::to_value).collect()
}

#[test]
fn simple_paths_compile_to_steps() {
    for p in SIMPLE {
        let c = CompiledPath::compile(p).unwrap();
        assert!(c.is_simple(), "{p} should be simple");
        assert_eq!(c.as_str(), *p);
        assert_eq!(
            c.is_singular(),
            !p.contains('*'),
            "{p}: singular iff no wildcard"
        );
    }
    for p in GENERAL {
        let c = CompiledPath::compile(p).unwrap();
        assert!(!c.is_simple(), "{p} should use the general engine");
        assert!(!c.is_singular());
    }
    assert!(CompiledPath::compile("$").unwrap().is_root());
    assert!(CompiledPath::root().is_root());
    assert!(!CompiledPath::compile("$.a").unwrap().is_root());
}

#[test]
fn results_agree_with_jsonpath_rust() {
    for src in DOCS {
        let value: Value = serde_json::from_str(src).unwrap();
        let doc = Doc::parse(src.as_bytes()).unwrap();
        for p in SIMPLE.iter().chain(GENERAL) {
            let c = CompiledPath::compile(p).unwrap();
            let expected = jsonpath_rust_results(&value, p);
            let got = ours(&doc, &c);
            assert_eq!(got, expected, "path {p} on {src}");
            // first() and for_each() agree with select().
            assert_eq!(
                c.first(&doc).map(Doc::to_value),
                expected.first().cloned(),
                "first {p}"
            );
            let mut each = Vec::new();
            c.for_each(&doc, |d| each.push(d.to_value()));
            assert_eq!(each, expected, "for_each {p}");
            assert_eq!(c.select(&doc).len(), expected.len());
        }
    }
}

#[test]
fn single_node_results_do_not_allocate_a_vector() {
    let doc = Doc::parse(br#"{"a":{"b":[10,20]}}"#).unwrap();
    let p = CompiledPath::compile("$.a.b[1]").unwrap();
    assert!(matches!(p.select(&doc), Selection::One(Doc::Number(_))));
    let p = CompiledPath::compile("$.a.x").unwrap();
    assert!(matches!(p.select(&doc), Selection::None));
    let p = CompiledPath::compile("$.a.b[*]").unwrap();
    let sel = p.select(&doc);
    assert!(matches!(sel, Selection::Many(ref v) if v.len() == 2));
    assert_eq!(sel.into_iter().count(), 2);
}

#[test]
fn results_borrow_from_the_document() {
    let body = br#"{"items":[{"id":"x1"},{"id":"x2"}]}"#.to_vec();
    let doc = Doc::parse(&body).unwrap();
    let p = CompiledPath::compile("$..id").unwrap();
    let ids: Vec<&str> = p.select(&doc).iter().filter_map(Doc::as_str).collect();
    assert_eq!(ids, ["x1", "x2"]);
}

#[test]
fn invalid_paths_are_errors() {
    for bad in [
        "",
        "$.",
        "$[",
        "$..",
        "$.a[?@.b ==]",
        "a.b",
        "$[01]",
        "$['a",
    ] {
        let e = CompiledPath::compile(bad).expect_err(bad);
        assert_eq!(e.path, bad);
        assert!(e.to_string().contains("invalid JSONPath"), "{e}");
    }
}

#[test]
fn duplicate_keys_use_the_last_member() {
    let doc = Doc::parse(br#"{"a":1,"a":2}"#).unwrap();
    let p = CompiledPath::compile("$.a").unwrap();
    assert_eq!(p.first(&doc).and_then(Doc::as_i64), Some(2));
}
