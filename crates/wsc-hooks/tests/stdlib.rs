//! The hook standard library.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;
use wsc_hooks::{HookErrorKind, HookKind, HookScope, ResponseView};

fn ok(expr: &str) -> serde_json::Value {
    eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}"))
}

fn fails(expr: &str) -> String {
    let err = eval(expr).unwrap_err();
    assert_eq!(err.kind, HookErrorKind::Runtime, "{expr}: {err}");
    err.message
}

#[test]
fn base64() {
    assert_eq!(ok(r#"base64_encode("hello")"#), "aGVsbG8=");
    assert_eq!(ok(r#"base64_decode("aGVsbG8=")"#), "hello");
    assert_eq!(ok(r#"base64_encode("??>")"#), "Pz8+");
    assert_eq!(ok(r#"base64url_encode("??>")"#), "Pz8-");
    assert_eq!(ok(r#"base64url_encode("a")"#), "YQ");
    assert_eq!(ok(r#"base64url_decode("Pz8-")"#), "??>");
    assert_eq!(ok(r#"base64url_decode("YQ==")"#), "a");
    assert_eq!(ok(r#"base64url_decode("YQ")"#), "a");
    assert_eq!(ok(r#"base64_decode_blob("/w==")"#), json!([255]));
    assert_eq!(ok(r#"base64_encode(base64_decode_blob("_-8"))"#), "/+8=");
    // Basic auth header.
    assert_eq!(
        ok(r#""Basic " + base64_encode("user:pa55")"#),
        "Basic dXNlcjpwYTU1"
    );
    let m = fails(r#"base64_decode("not base64!")"#);
    assert!(m.starts_with("base64_decode: not valid base64"), "{m}");
    let m = fails(r#"base64_decode("/w==")"#);
    assert!(m.contains("not UTF-8"), "{m}");
}

#[test]
fn url_encoding() {
    assert_eq!(
        ok(r#"url_encode("a b&c=d/é~-_.")"#),
        "a%20b%26c%3Dd%2F%C3%A9~-_."
    );
    assert_eq!(ok(r#"url_decode("a%20b%26c%3Dd%2F%C3%A9~")"#), "a b&c=d/é~");
    assert_eq!(ok(r#"url_decode(url_encode("x?y=1&z=ü"))"#), "x?y=1&z=ü");
    assert!(fails(r#"url_decode("%FF")"#).contains("url_decode: "));
}

#[test]
fn hashes_and_hmac() {
    assert_eq!(
        ok(r#"sha256_hex("abc")"#),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        ok(r#"hmac_sha256_hex("key", "The quick brown fox jumps over the lazy dog")"#),
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
    assert_eq!(
        ok(r#"hmac_sha256_base64("key", "The quick brown fox jumps over the lazy dog")"#),
        "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
    );
    // A binary key given in base64.
    assert_eq!(
        ok(
            r#"hmac_sha256_hex(base64_decode_blob("a2V5"), "The quick brown fox jumps over the lazy dog")"#
        ),
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
}

#[test]
fn json() {
    assert_eq!(
        ok(r#"json_parse("{\"b\":[1,2.5,null,true],\"a\":\"x\"}")"#),
        json!({"a": "x", "b": [1, 2.5, null, true]})
    );
    assert_eq!(ok(r#"json_parse("[1]")[0] + 1"#), 2);
    assert_eq!(
        ok(r#"json_stringify(#{a: 1, b: [true, ()]})"#),
        r#"{"a":1,"b":[true,null]}"#
    );
    assert_eq!(ok(r#"json_stringify("q\"")"#), r#""q\"""#);
    assert_eq!(ok(r#"json_stringify_pretty([1])"#), "[\n  1\n]");
    assert!(fails(r#"json_parse("{")"#).starts_with("json_parse: not valid JSON"));
    assert!(fails(r#"json_stringify(Fn("f"))"#).contains("has no JSON form"));
}

#[test]
fn dates() {
    let now = ok("now_unix()").as_i64().unwrap();
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - real).abs() < 5);
    let ms = ok("now_unix_ms()").as_i64().unwrap();
    assert!((ms / 1000 - real).abs() < 5);
    let iso = ok("now_iso()");
    let iso = iso.as_str().unwrap();
    assert_eq!(iso.len(), 20, "{iso}");
    assert!(iso.ends_with('Z') && iso.as_bytes()[10] == b'T', "{iso}");
    assert!((ok("parse_date(now_iso()) - now_unix()").as_i64().unwrap()).abs() < 5);

    for text in [
        "2024-05-01T12:00:00Z",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T12:00:00.000Z",
        "Wed, 01 May 2024 12:00:00 GMT",
        "Wed, 01 May 2024 12:00:00 +0000",
        "2024-05-01T12:00:00",
        "2024-05-01 12:00:00",
    ] {
        assert_eq!(
            ok(&format!("parse_date(\"{text}\")")),
            1_714_564_800,
            "{text}"
        );
    }
    assert_eq!(ok(r#"parse_date("2024-05-01")"#), 1_714_521_600);
    assert_eq!(
        ok(r#"parse_date("01/05/2024 12:00", "%d/%m/%Y %H:%M")"#),
        1_714_564_800
    );
    assert_eq!(
        ok(r#"parse_date("01/05/2024 14:00 +0200", "%d/%m/%Y %H:%M %z")"#),
        1_714_564_800
    );
    assert!(
        fails(r#"parse_date("yesterday")"#).starts_with("parse_date: cannot read \"yesterday\"")
    );
    assert!(fails(r#"parse_date("2024", "%d/%m/%Y")"#).contains("does not match"));

    assert_eq!(
        ok(r#"format_date(1714564800, "%Y-%m-%dT%H:%M:%SZ")"#),
        "2024-05-01T12:00:00Z"
    );
    assert_eq!(
        ok(r#"format_date(1714564800, "%a, %d %b %Y %H:%M:%S GMT")"#),
        "Wed, 01 May 2024 12:00:00 GMT"
    );
    assert_eq!(ok(r#"format_date(0, "%Y-%m-%d")"#), "1970-01-01");
    assert_eq!(
        ok(r#"format_date(parse_date("2024-05-01T12:00:00Z") + 86400, "%F")"#),
        "2024-05-02"
    );
    assert!(fails(r#"format_date(0, "%Y %")"#).starts_with("format_date: bad format"));
}

#[test]
fn uuid() {
    let a = ok("uuid_v4()");
    let b = ok("uuid_v4()");
    let a = a.as_str().unwrap();
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "4");
    assert_eq!(a.matches('-').count(), 4);
    assert_ne!(a, b.as_str().unwrap());
}

/// A `MakeWriter` collecting everything into one buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[test]
fn logging_goes_to_tracing() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = runtime();
        let hook = compile(
            &rt,
            HookKind::After,
            "log_info(`page has ${records.len()} records`);\nlog_warn(\"careful\");\nprint(\"printed\");\ndebug(\"debugged\");\nlog_info(42);",
        )
        .unwrap();
        rt.after(
            &hook,
            &ResponseView::default(),
            &mut vec![json!({})],
            &HookScope::default(),
        )
        .unwrap();
    });
    let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    eprintln!("{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[0].contains("INFO wsc::hook: page has 1 records"),
        "{out}"
    );
    assert!(
        lines[0].contains("connector=test hook=hooks.after line=1"),
        "{out}"
    );
    assert!(lines[1].contains("WARN wsc::hook: careful"), "{out}");
    assert!(lines[1].contains("line=2"), "{out}");
    assert!(lines[2].contains("INFO wsc::hook: printed"), "{out}");
    assert!(
        lines[2].ends_with("hook=hooks.after"),
        "no line for print: {out}"
    );
    assert!(lines[3].contains("DEBUG wsc::hook: \"debugged\""), "{out}");
    assert!(lines[4].contains("INFO wsc::hook: 42"), "{out}");
}

/// 30 `log_warn` calls of an 8 MiB string wrote 240 MiB to stderr: messages are cut at
/// `max_log_message`, and past `max_log_total` dropped with one warning (and a count when the
/// runtime is dropped).
#[test]
fn log_output_is_capped() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = wsc_hooks::HookRuntime::new(
            "test",
            wsc_hooks::Limits {
                max_log_total: 20 * 1024,
                ..wsc_hooks::Limits::default()
            },
        );
        let hook = compile(
            &rt,
            HookKind::After,
            "let s = \"x\";\nfor i in 0..23 {\n  s += s;\n}\nfor i in 0..30 {\n  log_warn(s);\n}",
        )
        .unwrap();
        for _ in 0..2 {
            rt.after(
                &hook,
                &ResponseView::default(),
                &mut vec![],
                &HookScope::default(),
            )
            .unwrap();
        }
    });
    let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(out.len() < 30 * 1024, "{} bytes logged", out.len());
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("(8384512 more bytes dropped; limits.max_log_message)"),
        "{}",
        &lines[0][lines[0].len() - 200..]
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("reached 20480 bytes (limits.max_log_total)"))
            .count(),
        1,
        "one warning"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .contains("56 hook log message(s) were dropped"),
        "{}",
        lines.last().unwrap()
    );
}
