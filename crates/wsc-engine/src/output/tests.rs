use super::*;
use serde_json::json;

fn names(ns: &[&str]) -> Vec<Arc<str>> {
    ns.iter().map(|n| Arc::from(*n)).collect()
}

fn account() -> (Record, Vec<Arc<str>>) {
    (
        Record {
            object_type: "account".into(),
            identity: "u1".into(),
            name: Some("Ann".into()),
            attributes: vec![
                json!("a@x"),
                json!(true),
                json!(42),
                json!(1.5),
                Value::Null,
                json!(["g1", "g2"]),
                json!({"k": "v, \"q\""}),
                json!("line\nbreak \u{1} é"),
            ],
            members: None,
            deleted: false,
        },
        names(&["email", "active", "n", "f", "none", "groups", "obj", "text"]),
    )
}

fn group() -> (Record, Vec<Arc<str>>) {
    (
        Record {
            object_type: "group".into(),
            identity: "g1".into(),
            name: None,
            attributes: vec![json!("desc")],
            members: Some(vec!["u1".into(), "u;2".into()]),
            deleted: false,
        },
        names(&["description"]),
    )
}

fn run(mut sink: Box<dyn Sink + Send>, recs: &[(Record, Vec<Arc<str>>)]) {
    for (r, n) in recs {
        sink.write(r, n).unwrap();
    }
    sink.finish().unwrap();
}

/// A writer whose contents stay readable after the sink consumed it.
#[derive(Clone, Default)]
struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);
impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn output(format: Format, recs: &[(Record, Vec<Arc<str>>)]) -> String {
    let w = Shared::default();
    run(sink(format, w.clone()), recs);
    w.text()
}

#[test]
fn json_lines_exact_output() {
    let out = output(Format::JsonLines, &[account(), group()]);
    let expected = concat!(
        r#"{"type":"account","identity":"u1","name":"Ann","attributes":{"email":"a@x","active":true,"n":42,"f":1.5,"none":null,"groups":["g1","g2"],"obj":{"k":"v, \"q\""},"text":"line\nbreak \u0001 é"}}"#,
        "\n",
        r#"{"type":"group","identity":"g1","name":null,"attributes":{"description":"desc"},"members":["u1","u;2"]}"#,
        "\n"
    );
    assert_eq!(out, expected);
}

#[test]
fn hand_written_json_matches_serde_json() {
    for (r, n) in [account(), group()] {
        let mut buf = Vec::new();
        write_record_json(&mut buf, &r, &n);
        let via_serde = serde_json::to_string(&RecordJson {
            record: &r,
            names: &n,
        })
        .unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), via_serde);
        assert_eq!(
            serde_json::from_str::<Value>(&via_serde).unwrap(),
            r.to_json(&n)
        );
    }
    let values = [
        json!(u64::MAX),
        json!(i64::MIN),
        json!(0.1),
        json!(1e300),
        json!(-0.0),
        json!(5.0),
        json!({"a": [1, {"b": null}], "c": "\u{7f}\u{2028}"}),
    ];
    for v in values {
        let mut buf = Vec::new();
        write_value(&mut buf, &v);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
    }
}

#[test]
fn json_array_compact_and_pretty() {
    assert_eq!(output(Format::Json, &[]), "[]\n");
    assert_eq!(output(Format::JsonPretty, &[]), "[]\n");
    let recs = [account(), group()];
    let expected = json!([recs[0].0.to_json(&recs[0].1), recs[1].0.to_json(&recs[1].1)]);
    let compact = output(Format::Json, &recs);
    assert_eq!(compact.lines().count(), 1);
    assert_eq!(serde_json::from_str::<Value>(&compact).unwrap(), expected);
    let pretty = output(Format::JsonPretty, &recs);
    assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), expected);
    assert!(
        pretty.starts_with("[\n  {\n    \"type\": \"account\",\n"),
        "{pretty}"
    );
    assert!(pretty.ends_with("  }\n]\n"), "{pretty}");
    let one = output(Format::JsonPretty, &[group()]);
    assert_eq!(
        one,
        "[\n  {\n    \"type\": \"group\",\n    \"identity\": \"g1\",\n    \"name\": null,\n    \"attributes\": {\n      \"description\": \"desc\"\n    },\n    \"members\": [\n      \"u1\",\n      \"u;2\"\n    ]\n  }\n]\n"
    );
}

#[test]
fn csv_quoting_and_lists() {
    let out = output(Format::Csv, &[account()]);
    let expected = concat!(
        "type,identity,name,email,active,n,f,none,groups,obj,text\n",
        "account,u1,Ann,a@x,true,42,1.5,,g1;g2,\"{\"\"k\"\":\"\"v, \\\"\"q\\\"\"\"\"}\",\"line\nbreak \u{1} é\"\n",
    );
    assert_eq!(out, expected);

    let out = output(Format::Csv, &[group()]);
    assert_eq!(
        out,
        "type,identity,name,description,members\ngroup,g1,,desc,u1;u;2\n"
    );

    let mut tricky = group();
    tricky.0.identity = "a,b".into();
    tricky.0.name = Some("say \"hi\"".into());
    tricky.0.attributes = vec![json!([1, "x,y", {"a": 1}, [2, 3]])];
    let out = output(Format::Csv, &[tricky]);
    assert_eq!(
        out,
        "type,identity,name,description,members\ngroup,\"a,b\",\"say \"\"hi\"\"\",\"1;x,y;{\"\"a\"\":1};[2,3]\",u1;u;2\n"
    );
}

#[test]
fn csv_header_for_empty_runs() {
    let w = Shared::default();
    let n = names(&["a", "b,c"]);
    run(Box::new(Csv::with_header(w.clone(), &n, true)), &[]);
    assert_eq!(w.text(), "type,identity,name,a,\"b,c\",members\n");
    assert_eq!(output(Format::Csv, &[]), "");
}

#[test]
fn large_outputs_flush_in_chunks() {
    let w = Shared::default();
    let mut s = JsonLines::new(w.clone());
    let (r, n) = account();
    for _ in 0..5000 {
        s.write(&r, &n).unwrap();
    }
    assert!(
        w.0.lock().unwrap().len() >= FLUSH_AT,
        "flushed while writing"
    );
    let inner = s.into_inner().unwrap();
    assert_eq!(inner.text().lines().count(), 5000);
}

#[test]
fn into_inner_returns_the_writer() {
    let (r, n) = group();
    let mut a = JsonArray::new(Vec::new(), false);
    a.write(&r, &n).unwrap();
    let v: Value = serde_json::from_slice(&a.into_inner().unwrap()).unwrap();
    assert_eq!(v, json!([r.to_json(&n)]));
    let mut c = Csv::new(Vec::new());
    c.write(&r, &n).unwrap();
    assert_eq!(c.into_inner().unwrap().len(), 61);
}

#[test]
fn lines_written_as_they_are_give_the_same_output_as_records() {
    let recs = [account(), group(), account()];
    for format in [Format::JsonLines, Format::Json] {
        let w = Shared::default();
        let mut s = sink(format, w.clone());
        assert!(s.takes_lines());
        // One record, then two as lines, then an empty chunk and a large one.
        s.write(&recs[0].0, &recs[0].1).unwrap();
        let mut lines = crate::Lines::from_records(&[recs[1].0.clone()], &recs[1].1);
        s.write_lines(lines.as_bytes()).unwrap();
        lines = crate::Lines::from_records(&[recs[2].0.clone()], &recs[2].1);
        s.write_lines(lines.as_bytes()).unwrap();
        s.write_lines(b"").unwrap();
        let many: Vec<Record> = (0..500).map(|_| recs[0].0.clone()).collect();
        s.write_lines(crate::Lines::from_records(&many, &recs[0].1).as_bytes())
            .unwrap();
        s.finish().unwrap();
        let mut all: Vec<(Record, Vec<Arc<str>>)> = recs.to_vec();
        all.extend((0..500).map(|_| account()));
        assert_eq!(w.text(), output(format, &all), "{format:?}");
    }
    for format in [Format::JsonPretty, Format::Csv] {
        let mut s = sink(format, Shared::default());
        assert!(!s.takes_lines());
        assert!(s.write_lines(b"{}\n").is_err(), "{format:?}");
    }
}
