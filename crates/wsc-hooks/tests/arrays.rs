//! The array functions wsc replaces (`retain`, `filter`, `map`, `some`, `all`: see
//! `src/arrays.rs`) give what Rhai's own give, for every way of writing the function: checked
//! against a plain `rhai::Engine` running the same script.

mod common;

use common::*;
use wsc_hooks::{HookErrorKind, HookKind, HookScope};

/// Runs `script` (statements, then an expression after the last `;;`) in wsc's runtime and in
/// a plain Rhai engine, and gives the expression's value as Rhai's debug text from each.
fn both(script: &str) -> (String, String) {
    let (stmts, expr) = match script.rfind(";;") {
        Some(i) => (&script[..=i], &script[i + 2..]),
        None => ("", script),
    };
    let ours = run(&format!("{stmts}\nresult = ({expr}).to_debug();"))
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    let ours = ours.as_str().expect("a string").to_string();
    let rhai = rhai::Engine::new()
        .eval::<String>(&format!("{stmts}\n({expr}).to_debug()"))
        .unwrap_or_else(|e| panic!("plain Rhai, {script}: {e}"));
    (ours, rhai)
}

/// Runs an `after_operation` script and gives its `result`.
fn run(script: &str) -> Result<serde_json::Value, wsc_hooks::HookError> {
    let rt = runtime();
    let hook = compile(&rt, HookKind::AfterOperation, script).unwrap_or_else(|e| panic!("{e}"));
    let mut result = serde_json::Value::Null;
    rt.after_operation(&hook, &mut result, &HookScope::default())?;
    Ok(result)
}

/// `body` after [`RECORDS`].
fn with_records(body: &str) -> String {
    if body.contains(";;") {
        format!("{RECORDS} {body}")
    } else {
        format!("{RECORDS};; {body}")
    }
}

fn same(script: &str) {
    let (ours, rhai) = both(script);
    assert_eq!(ours, rhai, "{script}");
}

const RECORDS: &str = r#"let records = [
    #{identity: "a", attributes: #{active: true, n: 1}},
    #{identity: "b", attributes: #{active: false, n: 2}},
    #{identity: "c", attributes: #{active: true, n: 3}},
    #{identity: "d", attributes: #{active: false, n: 4}},
];"#;

#[test]
fn closures_with_the_element() {
    for body in [
        "let d = records.retain(|r| r.attributes.active);; [records, d]",
        "[records.filter(|r| r.attributes.n > 2), records]",
        "records.map(|r| { r.attributes.n *= 10; r })",
        "[records.some(|r| r.attributes.n == 3), records.some(|r| r.attributes.n == 9)]",
        "[records.all(|r| r.attributes.n > 0), records.all(|r| r.attributes.active)]",
        // The closure's copy changes; the array does not.
        "let kept = records.filter(|r| { r.attributes.n = 0; true });; [records, kept]",
        "records.retain(|r| { r.attributes.n = 0; true });; records",
    ] {
        same(&with_records(body));
    }
}

#[test]
fn closures_with_the_element_and_its_index() {
    for body in [
        "let d = records.retain(|r, i| i % 2 == 0);; [records, d]",
        "records.filter(|r, i| i > 0 && r.attributes.active)",
        "records.map(|r, i| `${r.identity}${i}`)",
        "[records.some(|r, i| i == 3), records.all(|r, i| i < 3)]",
    ] {
        same(&with_records(body));
    }
}

#[test]
fn closures_on_this() {
    for body in [
        "records.retain(|| this.attributes.active);; records",
        "records.map(|| this.identity)",
        "records.filter(|| this.attributes.n < 3)",
        // Bound to `this`, the element itself changes (as with Rhai's functions).
        "let x = records.filter(|| { this.attributes.n = 7; true });; [records, x]",
        "[records.some(|| this.identity == \"d\"), records.all(|| this.identity != \"\")]",
    ] {
        same(&with_records(body));
    }
}

#[test]
fn closures_that_capture_variables() {
    for body in [
        "let min = 2;; records.filter(|r| r.attributes.n >= min)",
        "let tag = \"x\";; records.map(|r, i| `${tag}${i}${r.identity}`)",
        "let want = false; records.retain(|r| r.attributes.active == want);; records",
    ] {
        same(&with_records(body));
    }
}

#[test]
fn named_functions() {
    for body in [
        "fn active(r) { r.attributes.active };; records.filter(Fn(\"active\"))",
        "fn id(r, i) { `${r.identity}:${i}` };; records.map(Fn(\"id\"))",
        "fn mine() { this.identity };; records.map(Fn(\"mine\"))",
        // Overloads: bound to `this` first, as Rhai tries it.
        "fn pick() { \"this\" } fn pick(r) { \"arg\" };; records.map(Fn(\"pick\"))",
        "fn pick(r) { \"arg\" } fn pick(r, i) { \"index\" };; records.map(Fn(\"pick\"))",
        "fn big(x) { x > 2 } let a = [1, 2, 3, 4]; a.retain(Fn(\"big\"));; a",
        "fn at(x, i) { x + i };; [1, 2, 3].map(Fn(\"at\"))",
        "fn add(x, y) { x + y };; [1, 2, 3].map(Fn(\"add\").curry(10))",
        "[1, -2, 3].map(Fn(\"abs\"))",
        "[\"a\", \"\", \"b\"].filter(Fn(\"is_empty\"))",
    ] {
        same(&with_records(body));
    }
}

#[test]
fn empty_arrays_and_constants() {
    for body in [
        "let a = []; let d = a.retain(|x| x > 1);; [a, d]",
        "[[].filter(|x| true), [].map(|x| x), [].some(|x| true), [].all(|x| false)]",
        "const A = [1, 2, 3];; [A.map(|x| x * 2), A.filter(|x| x > 1), A.some(|x| x == 2)]",
        "[1, 2, 3].map(|x| if x == 2 { () } else { x })",
        "[1, 2, 3].filter(|x| x)",
    ] {
        same(body);
    }
}

/// The message of a failing script, from both.
fn both_fail(script: &str) -> (String, String) {
    let ours = run(script).unwrap_err();
    assert!(
        matches!(ours.kind, HookErrorKind::Runtime | HookErrorKind::Thrown),
        "{script}: {ours}"
    );
    let rhai = rhai::Engine::new().run(script).unwrap_err();
    (ours.message, rhai.to_string())
}

#[test]
fn errors_name_the_array_function_as_rhai_does() {
    for (script, function) in [
        ("[1, 2, 3].map(|x| x / 0);", "map"),
        ("[1, 2, 3].filter(|x, i| nope(x));", "filter"),
        (
            "let a = [1, 2, 3]; a.retain(|x| { throw \"stop\" });",
            "retain",
        ),
        ("[1, 2, 3].some(|a, b, c| true);", "some"),
        ("fn f(a, b, c) { true } [1].all(Fn(\"f\"));", "all"),
    ] {
        let (ours, rhai) = both_fail(script);
        // wsc's message says where the hook is; Rhai's text is in it, without its position.
        let rhai = rhai.split(" (line").next().unwrap_or(&rhai);
        let rhai = rhai.strip_prefix("Runtime error: ").unwrap_or(rhai);
        assert!(ours.contains(rhai), "{script}\n wsc: {ours}\nRhai: {rhai}");
        assert!(
            ours.contains(&format!("function `{function}`")),
            "{script}: {ours}"
        );
    }
}

#[test]
fn retain_on_a_constant_is_refused() {
    let e = run("const A = [1, 2]; A.retain(|x| x > 1);").unwrap_err();
    let rhai = rhai::Engine::new()
        .run("const A = [1, 2]; A.retain(|x| x > 1);")
        .unwrap_err();
    assert!(e.message.contains("constant"), "{e}");
    assert!(rhai.to_string().contains("constant"), "{rhai}");
}

#[test]
fn a_failing_retain_leaves_what_rhai_leaves() {
    // The elements dropped before the failing call are gone, the rest stay.
    same(
        "let a = [1, 2, 3, 4]; \
         try { a.retain(|x| if x == 3 { throw 1 } else { x > 1 }); } catch { } ;; a",
    );
}
