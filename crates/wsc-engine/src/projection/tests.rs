use std::path::Path;

use wsc_testkit::rng::Rng;

use super::*;
use crate::doc::Doc;
use crate::mapping::{RecordTemplate, TemplateCompiler};

struct NoTemplates;
impl TemplateCompiler for NoTemplates {
    fn compile(&self, _: &str) -> Result<Box<dyn RecordTemplate>, String> {
        Err("no templates here".into())
    }
}

/// The mapper of a group aggregation whose mapping is `mapping` (indented by four).
fn mapper(mapping: &str) -> RecordMapper {
    let mapping = mapping.replace("\n    ", "\n      ");
    let yaml = format!(
        "connector: t\nbase_url: http://127.0.0.1:9\nauth: {{ type: none }}\noperations:\n  test_connection:\n    request: {{ method: GET, path: /ping }}\n  group_aggregation:\n    group:\n      request: {{ method: GET, path: /groups }}\n  {mapping}"
    );
    let loaded = wsc_spec::load_bytes(yaml.as_bytes(), "t.yaml", Path::new("."))
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let op = loaded.connector.operations.group_aggregation["group"].clone();
    RecordMapper::new("group", &op, &NoTemplates).unwrap()
}

/// The page mapped the ordinary way: its JSON Lines, or the first mapping error.
fn ordinary(m: &RecordMapper, body: &str) -> Result<Lines, MapError> {
    let doc = Doc::parse_str(body).unwrap();
    let mut lines = Lines::default();
    for r in m.map_page(&doc) {
        lines.push_record(&r?, m.attribute_names());
    }
    Ok(lines)
}

/// The page through the projection, and how many records took the ordinary path; `None` when
/// the tape did not take the records.
fn projected_counted(
    p: &Projection,
    m: &RecordMapper,
    body: &str,
) -> Option<Result<(Lines, usize), MapError>> {
    let mut tape = Tape::default();
    let (_, text) = p.parse(body.as_bytes(), &mut tape).unwrap();
    let text = text?;
    let mut lines = Lines::default();
    Some(
        match p.write_page(text, &tape, m, &IdHasher::default(), &mut lines) {
            Ok(n) => Ok((lines, n)),
            Err(PageFailure::Map(e)) => Err(e),
            Err(PageFailure::Bug(b)) => panic!("{b}"),
        },
    )
}

fn projected(p: &Projection, m: &RecordMapper, body: &str) -> Option<Result<Lines, MapError>> {
    projected_counted(p, m, body).map(|r| r.map(|(l, _)| l))
}

const MAPPING: &str = r#"    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
    members: "$.members[*].value"
    attributes:
      displayName: "$.displayName"
      email: "$.emails[0].value"
      last: "$.emails[-1].value"
      every: { path: "$.emails[*].value", multi: true }
      nested: "$.name"
      anything: "$.x"
      active: { path: "$.x", type: bool }
      number: { path: "$.x", type: int }
      float: { path: "$.x", type: float }
      text: { path: "$.x", type: string }
      when: { path: "$.x", type: datetime }
      groups: { path: "$.groups", multi: true }
      typed: { path: "$.groups[*]", multi: true, type: string }
      fallback: { path: "$.missing", default: "none" }
      listed: { path: "$.missing", multi: true, default: ["a", "b"] }
      fixed: { value: 42 }
      star: "$.name.*"
"#;

/// Values that write differently from their source text, or not at all.
const TRICKY: &[&str] = &[
    r#""plain""#,
    r#""caf\u00e9""#,
    r#""a\/b""#,
    r#""tab\there""#,
    r#""q\"uote\\""#,
    r#""\u0000\u001f\u007f""#,
    r#""\ud83d\ude00 😀""#,
    r#""é日本""#,
    r#""\u2028""#,
    r#""""#,
    r#"" 12 ""#,
    r#""true""#,
    r#""0""#,
    r#""2024-01-02T03:04:05Z""#,
    r#""1700000000""#,
    "1",
    "-0",
    "0",
    "1.0",
    "1.50",
    "1e3",
    "1E400",
    "-1e-7",
    "0.1",
    "123456789012345678",
    "1234567890123456789",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "1700000000",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    r#"[1, "a", null, [true]]"#,
    r#"{"a": 1, "b": 2, "a": 3}"#,
    r#"{"k\u0065y": 1}"#,
    r#"{"z": 1.50, "y": "\u00e9"}"#,
];

fn value(r: &mut Rng) -> String {
    r.pick(TRICKY).to_string()
}

fn record(r: &mut Rng, i: usize) -> String {
    let mut fields: Vec<String> = Vec::new();
    let mut maybe = |r: &mut Rng, key: &str, v: String| {
        if r.below(6) > 0 {
            fields.push(format!("\"{key}\": {v}"));
        }
    };
    let id = match r.below(12) {
        0 => value(r),
        1 => format!("{i}"),
        _ => format!("\"u{i}\""),
    };
    maybe(r, "id", id);
    let user = value(r);
    maybe(r, "userName", user);
    let display = value(r);
    maybe(r, "displayName", display);
    let emails: Vec<String> = (0..r.below(4))
        .map(|_| format!("{{\"value\": {}, \"primary\": {}}}", value(r), value(r)))
        .collect();
    maybe(r, "emails", format!("[{}]", emails.join(", ")));
    let name = format!(
        "{{\"givenName\": {}, \"familyName\": {}}}",
        value(r),
        value(r)
    );
    maybe(r, "name", name);
    let x = value(r);
    maybe(r, "x", x);
    let groups = match r.below(4) {
        0 => value(r),
        _ => format!(
            "[{}]",
            (0..r.below(4))
                .map(|_| value(r))
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    maybe(r, "groups", groups);
    let members: Vec<String> = (0..r.below(3))
        .map(|_| format!("{{\"value\": {}}}", value(r)))
        .collect();
    maybe(r, "members", format!("[{}]", members.join(", ")));
    if r.below(20) == 0 {
        // A repeated key: the last one counts.
        fields.push(format!("\"x\": {}", value(&mut r.clone())));
    }
    if r.below(30) == 0 {
        fields.push("\"esc\\u0061ped\": 1".into());
    }
    let ws = if r.below(3) == 0 { "\n  " } else { "" };
    format!("{{{ws}{}}}", fields.join(&format!(",{ws}")))
}

#[test]
fn the_projection_writes_what_the_ordinary_mapping_writes() {
    let m = mapper(MAPPING);
    let p = Projection::compile(&m, &[], false).expect("the mapping compiles to a projection");
    let mut r = Rng(0x5eed_1234_abcd_0001);
    let (mut same, mut errors) = (0, 0);
    for page in 0..400 {
        let n = r.below(6);
        let records: Vec<String> = (0..n).map(|i| record(&mut r, page * 10 + i)).collect();
        let body = format!("{{\"total\": 9, \"items\": [{}]}}", records.join(","));
        let want = ordinary(&m, &body);
        let got = projected(&p, &m, &body).expect("the tape takes the records");
        match (&want, &got) {
            (Ok(w), Ok(g)) => {
                assert_eq!(
                    String::from_utf8_lossy(g.as_bytes()),
                    String::from_utf8_lossy(w.as_bytes()),
                    "{body}"
                );
                assert_eq!(g.len(), w.len());
                same += 1;
            }
            (Err(w), Err(g)) => {
                assert_eq!(g, w, "{body}");
                errors += 1;
            }
            _ => panic!("{body}\nordinary: {want:?}\nprojected: {got:?}"),
        }
    }
    assert!(
        same > 50 && errors > 50,
        "{same} pages alike, {errors} errors alike"
    );
}

#[test]
fn plain_records_are_written_without_the_ordinary_path() {
    // Escapes, repeated keys, numbers as identities, nested values, typed values: every record
    // is written by the projection itself, exactly as the ordinary path writes it.
    let m = mapper(
        r#"    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
    members: "$.members[*].value"
    attributes:
      displayName: "$.displayName"
      email: "$.emails[0].value"
      every: { path: "$.emails[*].value", multi: true }
      nested: "$.name"
      float: { path: "$.x", type: float }
      text: { path: "$.x", type: string }
      groups: { path: "$.groups", multi: true }
      fixed: { value: [1, "a"] }
"#,
    );
    let p = Projection::compile(&m, &[], false).unwrap();
    let body = r#"{"items": [
        {"id": "u1", "userName": "a\u00e9\/", "displayName": "x\"y", "x": 1.50,
         "emails": [{"value": "e1"}, {"value": "e2"}], "groups": ["g1", null, "g2"],
         "name": {"givenName": "G", "familyName": "F", "givenName": "H"}},
        {"id": 7, "userName": true, "x": "3", "groups": "solo", "members": [{"value": 5}, {"value": "m\\u00e9"}]}
    ]}"#;
    let (got, ordinary_records) = projected_counted(&p, &m, body).unwrap().unwrap();
    assert_eq!(got, ordinary(&m, body).unwrap());
    assert_eq!(ordinary_records, 0);
    let text = String::from_utf8(got.into_bytes()).unwrap();
    assert!(text.contains(r#""name":"aé/""#), "{text}");
    assert!(
        text.contains(r#""nested":{"givenName":"H","familyName":"F"}"#),
        "{text}"
    );
    assert!(text.contains(r#""identity":"7","name":"true""#), "{text}");
}

#[test]
fn what_cannot_be_projected_is_left_to_the_ordinary_path() {
    let m = mapper(MAPPING);
    // A path outside the records is fine; one into them, or needing the whole page, is not.
    let total = CompiledPath::compile("$.total").unwrap();
    let first = CompiledPath::compile("$.items[0].id").unwrap();
    let all = CompiledPath::compile("$..total").unwrap();
    let root = CompiledPath::compile("$").unwrap();
    assert!(Projection::compile(&m, &[&total], false).is_some());
    assert!(Projection::compile(&m, &[&first], false).is_none());
    assert!(Projection::compile(&m, &[&all], false).is_none());
    assert!(Projection::compile(&m, &[&root], false).is_none());
    assert!(Projection::compile(&m, &[], true).is_none());
    let filtered = mapper(
        "    records: \"$.items[*]\"\n    identity: \"$.id\"\n    attributes:\n      a: \"$.e[?(@.t == 1)].v\"\n",
    );
    assert!(Projection::compile(&filtered, &[], false).is_none());
    let deep = mapper("    records: \"$.items[*].users[*]\"\n    identity: \"$.id\"\n");
    assert!(Projection::compile(&deep, &[], false).is_none());

    // Records that are not an array, a repeated records key, a body that is not JSON: the
    // page is left to the ordinary path, which reads it exactly.
    let p = Projection::compile(&m, &[], false).unwrap();
    let mut tape = Tape::default();
    for body in [
        r#"{"items": {"a": {"id": "1"}}}"#,
        r#"{"items": [{"id": "1"}], "items": [{"id": "2"}]}"#,
        r#"{"other": []}"#,
    ] {
        let (doc, text) = p.parse(body.as_bytes(), &mut tape).unwrap();
        assert!(text.is_none(), "{body}");
        assert_eq!(doc, Doc::parse_str(body).unwrap(), "{body}");
    }
    for body in [
        &br#"{"items": [{"id": "1"},]}"#[..],
        b"{\"items\": [\"\xff\"]}",
    ] {
        assert_eq!(
            p.parse(body, &mut tape).unwrap_err(),
            Doc::parse(body).unwrap_err()
        );
    }
}

#[test]
fn the_tape_accepts_exactly_what_the_parser_accepts() {
    // Mutated pages: whatever the parser says (error with its position, or the document), a
    // parse with the hole says the same, and the tape's records are the parser's.
    let m = mapper(MAPPING);
    let p = Projection::compile(&m, &[], false).unwrap();
    let mut r = Rng(0x7a9e_0000_1111_2222);
    let pieces = [
        "", " ", ",", "]", "[", "{", "}", ":", "\"", "\\", "\\u12", "\\ud800", "1e", "-", "tru",
        "\u{1}", "0x1", "01", "[[[[", "\"a\":",
    ];
    for _ in 0..3000 {
        let good = format!("{{\"items\": [{}], \"total\": 1}}", record(&mut r, 1));
        let mut b = good.into_bytes();
        for _ in 0..r.below(3) {
            let at = r.below(b.len() + 1);
            let piece = r.pick(&pieces).as_bytes().to_vec();
            match r.below(3) {
                0 => {
                    b.splice(at..at, piece);
                }
                1 => {
                    let end = (at + 1 + r.below(4)).min(b.len());
                    b.drain(at.min(end)..end);
                }
                _ => b.truncate(at),
            }
        }
        let mut tape = Tape::default();
        match (Doc::parse(&b), p.parse(&b, &mut tape)) {
            (Err(e), Err(g)) => assert_eq!(e, g, "{}", String::from_utf8_lossy(&b)),
            (Ok(d), Ok((_, Some(text)))) => {
                let items: Vec<Doc<'_>> = m.select_records(&d).into_iter().cloned().collect();
                assert_eq!(Projection::count(&tape), items.len());
                for (k, rec) in tape.children(0).enumerate() {
                    let n = tape.node(rec);
                    let one = Doc::parse_str(&text[n.start as usize..n.end as usize]).unwrap();
                    assert_eq!(one, items[k], "{}", String::from_utf8_lossy(&b));
                }
            }
            (Ok(d), Ok((g, None))) => assert_eq!(g, d, "{}", String::from_utf8_lossy(&b)),
            (want, got) => panic!(
                "{}: parser {want:?}, with the hole {got:?}",
                String::from_utf8_lossy(&b)
            ),
        }
    }
}

#[test]
fn the_tape_declines_nesting_beyond_the_limit() {
    let m = mapper(MAPPING);
    let p = Projection::compile(&m, &[], false).unwrap();
    let mut tape = Tape::default();
    for depth in [crate::doc::MAX_DEPTH - 2, crate::doc::MAX_DEPTH - 1] {
        let body = format!(
            "{{\"items\": [{}{}]}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let want = Doc::parse_str(&body).map(|_| ());
        let got = p.parse(body.as_bytes(), &mut tape).map(|_| ());
        assert_eq!(got, want, "depth {depth}");
    }
}
