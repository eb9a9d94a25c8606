use super::*;
use serde_json::{Value, json};

fn parse(s: &str) -> Doc<'_> {
    match Doc::parse(s.as_bytes()) {
        Ok(d) => d,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

fn err(s: &[u8]) -> DocError {
    match Doc::parse(s) {
        Ok(d) => panic!("{:?} should not parse, got {d}", String::from_utf8_lossy(s)),
        Err(e) => e,
    }
}

/// A tiny deterministic PRNG (xorshift) for generated documents.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_string(r: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{1f}", "\u{7f}", "é", "日本",
        "😀", "\u{2028}", "key", "",
    ];
    (0..r.below(6))
        .map(|_| PIECES[r.below(PIECES.len() as u64) as usize])
        .collect()
}

fn random_value(r: &mut Rng, depth: u32) -> Value {
    let kind = if depth >= 6 { r.below(4) } else { r.below(7) };
    match kind {
        0 => Value::Null,
        1 => Value::Bool(r.below(2) == 0),
        2 => match r.below(5) {
            0 => json!(r.next()),
            1 => json!(-(r.below(1 << 62) as i64)),
            2 => json!((r.next() as f64) / 7.0),
            3 => json!(r.below(100)),
            _ => json!(-((r.next() % 100_000) as f64) / 1000.0),
        },
        3 => Value::String(random_string(r)),
        4 | 5 => Value::Array(
            (0..r.below(5))
                .map(|_| random_value(r, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..r.below(5) {
                m.insert(random_string(r), random_value(r, depth + 1));
            }
            Value::Object(m)
        }
    }
}

#[test]
fn parses_scalars_and_containers() {
    let d = parse(r#" {"a": 1, "b": [true, false, null], "c": {"d": "e"}, "f": -2.5e3} "#);
    assert_eq!(d.get("a").and_then(Doc::as_i64), Some(1));
    assert_eq!(d.get("b").and_then(Doc::as_array).map(<[_]>::len), Some(3));
    assert_eq!(
        d.get("c").and_then(|c| c.get("d")).and_then(Doc::as_str),
        Some("e")
    );
    assert_eq!(d.get("f").and_then(Doc::as_f64), Some(-2500.0));
    assert_eq!(d.get("f").and_then(Doc::as_i64), None);
    assert!(d.get("zz").is_none());
    assert!(parse("null").is_null());
    assert_eq!(parse("[]").as_array().map(<[_]>::len), Some(0));
    assert_eq!(parse("{}").as_object().map(<[_]>::len), Some(0));
    assert_eq!(d.type_name(), "object");
    assert_eq!(
        d.get("b").and_then(|b| b.get_index(0)),
        Some(&Doc::Bool(true))
    );
}

#[test]
fn strings_without_escapes_borrow() {
    let d = parse(r#"{"plain":"hello","esc":"a\nb"}"#);
    let Doc::Object(members) = &d else {
        panic!("object")
    };
    assert!(matches!(members[0].0, Cow::Borrowed(_)));
    assert!(matches!(members[0].1, Doc::String(Cow::Borrowed("hello"))));
    assert!(matches!(&members[1].1, Doc::String(Cow::Owned(s)) if s == "a\nb"));
}

#[test]
fn escapes_and_unicode() {
    let src = r#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u65e5\ud83d\ude00", "é日本😀", "\u0000", "\uD834\uDD1E"]"#;
    let d = parse(src);
    let v: Value = serde_json::from_str(src).unwrap();
    assert_eq!(d.to_value(), v);
    assert_eq!(d.get_index(1).and_then(Doc::as_str), Some("é日😀"));
    assert_eq!(d.get_index(4).and_then(Doc::as_str), Some("𝄞"));
    // Written back exactly as serde_json writes it.
    assert_eq!(d.to_json_string(), serde_json::to_string(&v).unwrap());
}

#[test]
fn escaper_matches_serde_json() {
    let mut all = String::new();
    for c in (0u32..0x300).filter_map(char::from_u32) {
        all.push(c);
    }
    all.push_str("\u{2028}\u{2029}😀\u{fffd}");
    let mut out = Vec::new();
    write_json_str(&mut out, &all);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        serde_json::to_string(&all).unwrap()
    );
}

#[test]
fn numbers_keep_their_exact_text() {
    for n in [
        "0",
        "-0",
        "7",
        "-7",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
        "-9223372036854775808",
        "-9223372036854775809",
        "0.1",
        "1.10",
        "1.000000000000000000000001",
        "1e400",
        "-1E-400",
        "6.02214076e+23",
    ] {
        let d = parse(n);
        assert_eq!(d.to_json_string(), n, "round trip of {n}");
        let arr = format!("[{n}, {{\"k\": {n}}}]");
        assert_eq!(
            parse(&arr).to_json_string(),
            arr.replace(", ", ",").replace(": ", ":")
        );
    }
}

#[test]
fn numbers_classify_like_serde_json() {
    for n in [
        "0",
        "-0",
        "7",
        "-7",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "9223372036854775807",
        "9223372036854775808",
        "0.1",
        "1.10",
        "1e2",
        "1E-2",
        "123456789012345678901234567890",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
    ] {
        let v: Value = serde_json::from_str(n).unwrap();
        let d = parse(n);
        assert_eq!(d.to_value(), v, "to_value of {n}");
        assert_eq!(d.as_i64(), v.as_i64(), "as_i64 of {n}");
        assert_eq!(d.as_u64(), v.as_u64(), "as_u64 of {n}");
        assert_eq!(d.as_f64(), v.as_f64(), "as_f64 of {n}");
        assert_eq!(Doc::from_value(&v).to_value(), v);
    }
    // Out of f64 range: serde_json refuses it; the value becomes null.
    assert_eq!(parse("1e400").to_value(), Value::Null);
    assert_eq!(Number::parse("1.5").map(|n| n.as_f64()), Some(1.5));
    assert!(Number::parse("01").is_none());
    assert!(Number::parse("1.").is_none());
    assert_eq!(Number::from_f64(f64::NAN), None);
    assert_eq!(
        Number::from_f64(2.5).map(|n| n.as_str().to_string()),
        Some("2.5".into())
    );
    assert_eq!(
        Number::from_f64(1e300).map(|n| n.as_str().to_string()),
        Some(serde_json::to_string(&1e300).unwrap())
    );
}

#[test]
fn invalid_numbers_are_errors() {
    for bad in [
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "1e+",
        "+1",
        "NaN",
        "Infinity",
        "-Infinity",
        "0x10",
        "1.e3",
        "--1",
        "[1.]",
        "[-]",
        "{\"a\":01}",
    ] {
        let e = err(bad.as_bytes());
        assert!(
            !matches!(e.kind, DocErrorKind::Eof) || bad.ends_with(['-', 'e', '+', '.']),
            "{bad}: {e}"
        );
    }
}

#[test]
fn truncated_bodies_are_eof_errors() {
    let full = r#"{"items":[{"id":"u1","name":{"givenName":"Ann"},"n":12.5,"ok":true,"x":null,"s":"a\u00e9"}],"total":1}"#;
    for cut in 0..full.len() {
        let e = err(&full.as_bytes()[..cut]);
        if cut == 0 {
            assert_eq!(e.kind, DocErrorKind::Empty);
        } else {
            assert!(e.is_eof(), "cut at {cut} ({:?}): {e}", &full[..cut]);
            assert_eq!(e.line, 1);
        }
    }
    // "1" is a complete body, but "12.5" cut after "12." is not.
    assert!(err(b"[12.").is_eof());
    assert!(err(b"tru").is_eof());
    assert!(err(b"\"abc").is_eof());
    assert!(err(b"\"a\\u00").is_eof());
}

#[test]
fn errors_have_line_and_column() {
    let e = err(b"{\n  \"a\": 1,\n  \"b\": tru e\n}");
    assert_eq!((e.line, e.column), (3, 8));
    assert!(e.to_string().contains("line 3 column 8"), "{e}");

    let e = err(b"{\"a\":1}\n  x");
    assert_eq!(e.kind, DocErrorKind::TrailingCharacters);
    assert_eq!((e.line, e.column), (2, 3));

    let e = err("[\"é\", é]".as_bytes());
    assert_eq!((e.line, e.column), (1, 7));
    assert!(matches!(e.kind, DocErrorKind::Unexpected(ref c, _) if c == "é"));

    let e = err(b"");
    assert_eq!(e.kind, DocErrorKind::Empty);
    assert_eq!(err(b"   \n ").kind, DocErrorKind::Empty);
}

#[test]
fn syntax_errors() {
    let cases: &[(&[u8], DocErrorKind)] = &[
        (
            b"[1,]",
            DocErrorKind::Unexpected("]".into(), "a JSON value"),
        ),
        (
            b"{\"a\":1,}",
            DocErrorKind::Unexpected("}".into(), "a string key"),
        ),
        (b"{\"a\" 1}", DocErrorKind::Unexpected("1".into(), "`:`")),
        (
            b"{a:1}",
            DocErrorKind::Unexpected("a".into(), "a string key"),
        ),
        (b"[1 2]", DocErrorKind::Unexpected("2".into(), "`,` or `]`")),
        (b"\"a\tb\"", DocErrorKind::ControlCharacter),
        (b"\"a\\xb\"", DocErrorKind::InvalidEscape),
        (b"\"\\u12G4\"", DocErrorKind::InvalidEscape),
        (b"\"\\ud800\"", DocErrorKind::LoneSurrogate),
        (b"\"\\ud800\\u0041\"", DocErrorKind::LoneSurrogate),
        (b"\"\\udc00\"", DocErrorKind::LoneSurrogate),
        (b"[\"\xff\"]", DocErrorKind::InvalidUtf8),
        (b"nul", DocErrorKind::Eof),
        (
            b"nulx",
            DocErrorKind::Unexpected("nulx".into(), "a JSON value"),
        ),
        (b"{} {}", DocErrorKind::TrailingCharacters),
        (b"'a'", DocErrorKind::Unexpected("'".into(), "a JSON value")),
    ];
    for (src, kind) in cases {
        let e = err(src);
        assert_eq!(&e.kind, kind, "{:?}", String::from_utf8_lossy(src));
    }
    // A byte-order mark is skipped.
    assert_eq!(parse("\u{feff}[1]").to_json_string(), "[1]");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(Doc::parse(ok.as_bytes()).is_ok());
    let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert_eq!(err(too_deep.as_bytes()).kind, DocErrorKind::TooDeep);
    let huge = "[{\"a\":".repeat(100_000);
    assert_eq!(err(huge.as_bytes()).kind, DocErrorKind::TooDeep);
}

#[test]
fn duplicate_keys_last_wins_like_serde_json() {
    let src = r#"{"a":1,"b":2,"a":3}"#;
    let d = parse(src);
    assert_eq!(d.get("a").and_then(Doc::as_i64), Some(3));
    let v: Value = serde_json::from_str(src).unwrap();
    assert_eq!(d.to_value(), v);
    // Written back as it came.
    assert_eq!(d.to_json_string(), src);
}

#[test]
fn random_documents_round_trip_and_agree_with_serde_json() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2000 {
        let v = random_value(&mut r, 0);
        let text = if r.below(2) == 0 {
            serde_json::to_string(&v).unwrap()
        } else {
            serde_json::to_string_pretty(&v).unwrap()
        };
        let d = parse(&text);
        // serde_json without `float_roundtrip` may read a float back 1 ULP off what it wrote;
        // the document agrees with what serde_json reads.
        let reread: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(d.to_value(), reread, "{text}");
        assert_eq!(d.to_json_string(), serde_json::to_string(&v).unwrap());
        assert_eq!(Doc::from_value(&v), d);
        assert_eq!(Doc::from(v.clone()).to_value(), reread);
        assert_eq!(serde_json::to_value(&d).unwrap(), reread);
        assert_eq!(d.clone().into_owned(), d);
        let de: Doc<'_> = serde_json::from_str(&text).unwrap();
        assert_eq!(de, d);
    }
}

#[test]
fn mutated_documents_are_accepted_exactly_when_serde_json_accepts_them() {
    let mut r = Rng(42);
    let mut checked = 0;
    for _ in 0..3000 {
        let v = random_value(&mut r, 0);
        let mut bytes = serde_json::to_vec(&v).unwrap();
        if bytes.is_empty() {
            continue;
        }
        match r.below(3) {
            0 => bytes.truncate(r.below(bytes.len() as u64) as usize),
            1 => {
                let i = r.below(bytes.len() as u64) as usize;
                const POOL: &[u8] = b"{}[]\":,\\ 0123456789-+.eEtrufalsn\x01\xc3\xff";
                bytes[i] = POOL[r.below(POOL.len() as u64) as usize];
            }
            _ => {
                let i = r.below(bytes.len() as u64) as usize;
                bytes.remove(i);
            }
        }
        let ours = Doc::parse(&bytes);
        let theirs = serde_json::from_slice::<Value>(&bytes);
        match (&ours, &theirs) {
            (Ok(d), Ok(v)) => assert_eq!(&d.to_value(), v),
            (Err(_), Err(_)) => {}
            (Ok(_), Err(e)) if e.to_string().contains("out of range") => {}
            _ => panic!(
                "disagree on {:?}: ours {:?}, serde_json {:?}",
                String::from_utf8_lossy(&bytes),
                ours.map(|d| d.to_json_string()),
                theirs
            ),
        }
        checked += 1;
    }
    assert!(checked > 2000);
}

#[test]
fn equality_follows_serde_json() {
    let pairs = [
        ("1", "1.0", false),
        ("1.0", "1.00", true),
        ("1e2", "100.0", true),
        ("100", "1e2", false),
        (r#"{"a":1,"b":2}"#, r#"{"b":2,"a":1}"#, true),
        (r#"{"a":1}"#, r#"{"a":1,"b":2}"#, false),
        ("[1,2]", "[2,1]", false),
        (r#""a""#, r#""\u0061""#, true),
        ("null", "false", false),
    ];
    for (a, b, eq) in pairs {
        let (da, db) = (parse(a), parse(b));
        let (va, vb): (Value, Value) = (
            serde_json::from_str(a).unwrap(),
            serde_json::from_str(b).unwrap(),
        );
        assert_eq!(va == vb, eq, "serde_json {a} vs {b}");
        assert_eq!(da == db, eq, "{a} vs {b}");
    }
}

#[test]
fn snippets_are_bounded() {
    let long = format!("{{\"k\":\"{}\"}}", "é".repeat(1000));
    let d = parse(&long);
    let s = d.snippet(200);
    assert_eq!(s.chars().count(), 201);
    assert!(s.ends_with('…'));
    assert_eq!(parse("[1]").snippet(200), "[1]");
    assert_eq!(truncate_chars("abc", 2), "ab…");
    assert_eq!(truncate_chars("abc", 3), "abc");
}

#[test]
fn display_and_serde_deserialize_borrow() {
    let src = r#"{"a":[1,"x"],"b":{"c":null}}"#;
    let d: Doc<'_> = serde_json::from_str(src).unwrap();
    assert_eq!(d.to_string(), src);
    let Doc::Object(members) = &d else {
        panic!("object")
    };
    assert!(matches!(members[0].0, Cow::Borrowed("a")));
}

#[test]
fn string_scan_finds_every_stop_byte_at_every_position() {
    for len in 0..40 {
        for stop in [b'"', b'\\', 0u8, 0x1f, b'\n'] {
            for at in 0..len {
                let mut v = vec![b'a'; len];
                // Bytes just around the stop classes must not be taken for stops.
                for (k, x) in v.iter_mut().enumerate() {
                    *x = [b'a', b' ', b'!', b'#', b'[', b']', 0x7f, b'~'][k % 8];
                }
                v[at] = stop;
                assert_eq!(
                    skip_string_content(&v, 0),
                    at,
                    "len {len} stop {stop:#x} at {at}"
                );
            }
            let v = vec![b'#'; len];
            assert_eq!(skip_string_content(&v, 0), len);
        }
    }
    let s = "é€😀 x".repeat(5);
    assert_eq!(skip_string_content(s.as_bytes(), 0), s.len());
}
