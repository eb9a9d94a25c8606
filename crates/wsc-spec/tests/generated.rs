//! A seeded generator over the connector loader and the template analyser: the connectors in
//! connectors/ mutated (brackets, dashes, quotes, indicators inserted, runs of them thousands
//! deep, lines indented or dropped, bytes deleted, the file truncated) and template strings
//! mutated the same way never panic and never overflow the stack; every error is located.
//! The run is bounded by its iteration count (a few seconds) and the seed is fixed, so a
//! failure reproduces.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// xorshift64: small, seeded, the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// YAML indicators and pieces that change structure.
const YAML_TOKENS: &[&str] = &[
    "[", "]", "{", "}", "- ", "-", "? ", ": ", ":", ",", "\"", "'", "#", "|", ">", "|-", "&a ",
    "*a", "!!str ", "<<: *a", "\n", "\n  ", "\n    - ", "\t", "\\", "%", "@", "`", "---\n",
    "...\n", "\u{feff}", "\r", "\0", "é", "{{", "}}", "$.", "..",
];

/// Runs of tokens that nest, for depth.
const DEEP_YAML: &[&str] = &["[", "{", "- ", "{a: ", "[{", "? ", "\"", "{\"a\":"];

/// Runs that nest inside one string: JSONPath filters and templates.
const DEEP_STRING: &[&str] = &[
    "(",
    "[?(",
    "[?(@.a==1 && (",
    "$..",
    "[",
    "{{#if a}}",
    "{{#each x}}",
    "{{#if (eq ",
    "(eq ",
    "{{> ",
];

fn mutate(rng: &mut Rng, original: &[u8], tokens: &[&str], deep: &[&str]) -> Vec<u8> {
    let mut b = original.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(b.len() + 1);
        match rng.below(10) {
            0 => b.truncate(at),
            1 => {
                let end = (at + 1 + rng.below(40)).min(b.len());
                b.drain(at.min(end)..end);
            }
            2 | 3 => {
                let t = rng.pick(tokens).as_bytes().to_vec();
                b.splice(at..at, t);
            }
            4 => {
                let t = rng
                    .pick(deep)
                    .repeat(*rng.pick(&[3, 40, 70, 130, 3_000, 50_000]));
                b.splice(at..at, t.into_bytes());
            }
            5 => {
                // Indent the line that holds `at` further.
                let start = b[..at]
                    .iter()
                    .rposition(|c| *c == b'\n')
                    .map_or(0, |i| i + 1);
                let pad = vec![b' '; 1 + rng.below(6)];
                b.splice(start..start, pad);
            }
            6 => {
                // The same line indented one step more, many times: deep block nesting.
                let start = b[..at]
                    .iter()
                    .rposition(|c| *c == b'\n')
                    .map_or(0, |i| i + 1);
                let n = *rng.pick(&[10, 80, 400]);
                let deep: String = (0..n)
                    .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                    .collect();
                b.splice(start..start, deep.into_bytes());
            }
            8 => {
                // Deepen an expression: a run of subexpressions, filters or blocks right
                // inside a template (`{{`) or a JSONPath (`$`).
                let starts: Vec<usize> = (0..b.len())
                    .filter(|i| b[*i] == b'$' || b[*i..].starts_with(b"{{"))
                    .collect();
                if !starts.is_empty() {
                    let i = *rng.pick(&starts);
                    let after = if b[i] == b'$' { i + 1 } else { i + 2 };
                    let run = rng
                        .pick(DEEP_STRING)
                        .repeat(*rng.pick(&[40, 1_000, 20_000]));
                    b.splice(after..after, run.into_bytes());
                }
            }
            7 => {
                if at < b.len() {
                    b[at] = rng.next() as u8;
                }
            }
            _ => {
                let end = (at + rng.below(200)).min(b.len());
                let copy = b[at..end].to_vec();
                b.splice(at..at, copy);
            }
        }
    }
    b
}

#[test]
fn mutated_connectors_load_or_fail_located() {
    let mut rng = Rng(0x0ddb_a11c_0ffe_e5ed);
    for file in common::connectors() {
        let original = std::fs::read(&file).unwrap();
        for i in 0..150 {
            // Deep runs of YAML, or of JSONPath and template syntax inside a value.
            let deep = if rng.below(2) == 0 {
                DEEP_YAML
            } else {
                DEEP_STRING
            };
            let mutant = mutate(&mut rng, &original, YAML_TOKENS, deep);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                match wsc_spec::load_bytes(&mutant, "mutant.yaml", Path::new("connectors")) {
                    Ok(_) => None,
                    Err(wsc_spec::LoadError::Invalid(r)) => Some(r),
                    Err(e) => panic!("{e}"),
                }
            }));
            let shown = || String::from_utf8_lossy(&mutant[..mutant.len().min(2000)]).into_owned();
            let Ok(report) = outcome else {
                panic!(
                    "{} mutant {i} panicked the loader; its start:\n{}",
                    file.display(),
                    shown()
                );
            };
            let Some(report) = report else { continue };
            let text = report.render();
            assert!(report.error_count() > 0, "{text}");
            for d in &report.diagnostics {
                assert!(d.line > 0 && d.column > 0, "unlocated: {d:?}\n{}", shown());
            }
            // The depth check comes first and is conservative: the YAML library's own
            // recursion limit (128) is never what stops a document.
            assert!(
                !text.contains("recursion limit"),
                "{} mutant {i} reached the YAML library's recursion limit:\n{text}",
                file.display()
            );
        }
    }
}

/// Template strings of the shipped connectors, mutated, never panic the analyser.
#[test]
fn mutated_templates_never_panic() {
    let mut rng = Rng(0x7e3b_1a7e_5eed_0002);
    let mut templates: Vec<String> = Vec::new();
    for file in common::connectors() {
        let text = std::fs::read_to_string(&file).unwrap();
        for piece in text.split('"') {
            if piece.contains("{{") {
                templates.push(piece.to_string());
            }
        }
    }
    templates.push("{{#each record.groups}}{{this.id}}{{/each}}".into());
    // Deep but well-formed: a thousand subexpressions, blocks and `else if`s.
    let n = 1_000;
    templates.push(format!("{{{{x {}a{}}}}}", "(eq ".repeat(n), ")".repeat(n)));
    templates.push(format!("{}x{}", "{{#if a}}".repeat(n), "{{/if}}".repeat(n)));
    templates.push(format!(
        "{{{{#if a}}}}{}{{{{/if}}}}",
        "{{else if b}}".repeat(n * 10)
    ));
    templates.push("{{#if (eq settings.a \"b\")}}x{{else}}y{{/if}}".into());
    let tokens = [
        "{{",
        "}}",
        "{{#if a}}",
        "{{/if}}",
        "{{#each x}}",
        "{{/each}}",
        "(",
        ")",
        "\"",
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
        "|",
        "{{!--",
        "--}}",
        "\\",
        "{{{",
        "}}}",
        ">",
        "&",
    ];
    for i in 0..3_000 {
        let base = rng.pick(&templates).clone();
        let mutant = mutate(&mut rng, base.as_bytes(), &tokens, DEEP_STRING);
        let text = String::from_utf8_lossy(&mutant).into_owned();
        if catch_unwind(|| wsc_spec::template::analyze(&text)).is_err() {
            let shown: String = text.chars().take(500).collect();
            panic!("template {i} panicked the analyser: {shown}");
        }
    }
}

/// The depth scan itself never panics, whatever the bytes.
#[test]
fn the_depth_scan_takes_any_text() {
    let mut rng = Rng(0x5ca1_ab1e_0000_0003);
    for _ in 0..3_000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(2) == 0 {
                    *rng.pick(b"[]{}-?:,'\"#|> \n\r\t\\&*!%ab")
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        for max in [0, 1, 3, 64] {
            let _ = wsc_spec::limits::scan(&text, max, max * 3);
        }
    }
}
