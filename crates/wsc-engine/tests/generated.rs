//! A seeded generator over the engine's compilers and parsers: JSONPaths (the compiler and
//! evaluation on parsed pages), response bodies (the JSON DOM) and templates (through a whole
//! connector built into an engine), from real expressions mutated and nested thousands deep,
//! never panic and never overflow the stack. The run is bounded by its iteration count and the
//! seed is fixed, so a failure reproduces.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::*;
use wsc_engine::doc::Doc;
use wsc_engine::path::CompiledPath;

use wsc_testkit::rng::Rng;

fn mutate(rng: &mut Rng, base: &str, tokens: &[&str], deep: &[&str]) -> String {
    let mut b = base.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 => b.truncate(at),
            1 => {
                let end = (at + 1 + rng.below(6)).min(b.len());
                b.drain(at.min(end)..end);
            }
            2 | 3 => {
                let t = rng.pick(tokens).as_bytes().to_vec();
                b.splice(at..at, t);
            }
            4 => {
                let n = *rng.pick(&[2, 33, 300, 5_000]);
                let run = rng.pick(deep).repeat(n);
                b.splice(at..at, run.into_bytes());
            }
            _ => {
                if at < b.len() {
                    b[at] = rng.next() as u8;
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

const PATHS: &[&str] = &[
    "$.items[*]",
    "$.emails[0].value",
    "$['@odata.nextLink']",
    "$.members[*].value",
    "$.Resources[?(@.active == true)].id",
    "$..id",
    "$.items[1:3]",
    "$.items[-1]",
    "$.a.b.c",
    "$[?(@.type == 'work' && (@.primary || @.n > 2))].value",
    "$.items[?length(@.groups) > 0]",
];

const PATH_TOKENS: &[&str] = &[
    "$",
    ".",
    "..",
    "[",
    "]",
    "*",
    "?",
    "@",
    "(",
    ")",
    "'",
    "\"",
    "==",
    "!=",
    "<",
    "&&",
    "||",
    "!",
    ":",
    ",",
    "-1",
    "0",
    "18446744073709551616",
    "length(",
    "match(",
    "\\",
    "é",
    " ",
];

const PATH_DEEP: &[&str] = &["[", "(", "[?(", "!", "$..", "[?@.a && (", "length("];

fn page() -> Vec<u8> {
    let mut items = Vec::new();
    for i in 0..20 {
        items.push(format!(
            r#"{{"id":"u{i}","type":"work","primary":{},"n":{i},"groups":[{{"value":"g{i}"}}],"emails":[{{"value":"u{i}@x.test"}}],"a":{{"b":{{"c":[1,2.5e300,-0,"x"]}}}}}}"#,
            i % 2 == 0
        ));
    }
    format!(
        r#"{{"items":[{}],"Resources":[{{"active":true,"id":"r"}}],"@odata.nextLink":"https://x.test/next","total":20}}"#,
        items.join(",")
    )
    .into_bytes()
}

#[test]
fn jsonpaths_compile_and_select_without_panicking() {
    let mut rng = Rng(0x9a7b_0001_0000_0001);
    let page = page();
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let docs = [
        Doc::parse(&page).unwrap(),
        Doc::parse(deep.as_bytes()).unwrap(),
    ];
    let mut compiled = 0;
    for i in 0..3_000 {
        let base = *rng.pick(PATHS);
        let expr = mutate(&mut rng, base, PATH_TOKENS, PATH_DEEP);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let Ok(p) = CompiledPath::compile(&expr) else {
                return false;
            };
            {
                for d in &docs {
                    let n = p.select(d).len();
                    let _ = p.first(d);
                    let mut m = 0;
                    p.for_each(d, |_| m += 1);
                    assert_eq!(n, m, "select and for_each disagree");
                }
            }
            true
        }));
        match outcome {
            Ok(ok) => compiled += usize::from(ok),
            Err(_) => {
                let shown: String = expr.chars().take(300).collect();
                panic!("path {i} panicked: {shown}");
            }
        }
    }
    assert!(compiled >= 300, "only {compiled} mutants compiled");
}

#[test]
fn response_bodies_parse_or_fail_without_panicking() {
    let mut rng = Rng(0xb0d1_e5b0_d1e5_0002);
    let page = String::from_utf8(page()).unwrap();
    let tokens = [
        "[", "]", "{", "}", "\"", ",", ":", "\\", "\\u", "\\ud800", "1e999", "-", "0", "tru",
        "null", "\u{0}", "é", "\u{feff}", " ",
    ];
    let deep = ["[", "{\"a\":", "[{\"b\":"];
    for i in 0..2_000 {
        let body = mutate(&mut rng, &page, &tokens, &deep);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(d) = Doc::parse(body.as_bytes()) {
                let v = d.to_value();
                let mut out = Vec::new();
                d.write_json(&mut out);
                let again = Doc::parse(&out).expect("written JSON parses again");
                assert_eq!(again.to_value(), v);
            }
        }));
        if outcome.is_err() {
            let shown: String = body.chars().take(300).collect();
            panic!("body {i} panicked: {shown}");
        }
    }
    for open in ["[", "{\"a\":", "[{\"b\":"] {
        let body = open.repeat(100_000);
        let e = Doc::parse(body.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("nested deeper"), "{e}");
    }
}

/// Templates in a request, through loading and compiling a whole connector.
#[test]
fn templates_load_and_compile_without_panicking() {
    let mut rng = Rng(0x7e47_1a7e_0000_0003);
    let templates = [
        "{{settings.base_url}}",
        "{{#if settings.token}}yes{{else}}no{{/if}}",
        "{{urlencode settings.token}}",
        "{{#each page}}{{@index}}{{/each}}",
        "a-{{page.offset}}-b",
        "{{#if (eq settings.token 'x')}}1{{else if settings.base_url}}2{{/if}}",
    ];
    let tokens = [
        "{{",
        "}}",
        "{{#if a}}",
        "{{/if}}",
        "(",
        ")",
        "'",
        "[",
        "]",
        "{{else}}",
        "~",
        "#",
        "/",
        "..",
        "@index",
        "this",
        "=",
        "{{!--",
        "--}}",
        "\\",
        "{{{",
        "}}}",
        ">",
    ];
    let deep = [
        "(eq ",
        "{{#if settings.token}}",
        "{{else if a}}",
        "[",
        "(",
        "{{#each x}}",
    ];
    let mut compiled = 0;
    for i in 0..150 {
        let base = *rng.pick(&templates);
        let t = mutate(&mut rng, base, &tokens, &deep)
            .replace('\'', "''")
            .replace(['\n', '\r'], " ");
        let yaml = users_connector(
            "",
            &format!(
                "    request:\n      path: /users\n      headers: {{ X-T: '{t}' }}\n    records: \"$.items[*]\"\n"
            ),
        );
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if wsc_spec::load_bytes(yaml.as_bytes(), "it.yaml", std::path::Path::new(".")).is_ok() {
                let _ = try_engine(&yaml, &[("base_url", "http://127.0.0.1:9"), ("token", "t")]);
                return true;
            }
            false
        }));
        match outcome {
            Ok(engine_built) => compiled += usize::from(engine_built),
            Err(_) => {
                let shown: String = t.chars().take(300).collect();
                panic!("template {i} panicked: {shown}");
            }
        }
    }
    assert!(
        compiled >= 15,
        "only {compiled} mutants reached the template compiler"
    );
}
