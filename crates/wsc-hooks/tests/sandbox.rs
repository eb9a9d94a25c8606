//! The sandbox: endless loops, deep recursion, huge values, imports and file access are all
//! stopped with clear errors.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use wsc_hooks::{
    CompileErrorKind, HookErrorKind, HookKind, HookOrigin, HookRuntime, HookScope, Limits,
    ResponseView,
};

#[test]
fn endless_loop_is_stopped() {
    let rt = runtime();
    let hook = compile(&rt, HookKind::After, "let n = 0;\nloop {\n  n += 1;\n}").unwrap();
    let started = std::time::Instant::now();
    let err = rt
        .after(
            &hook,
            &ResponseView::default(),
            &mut vec![],
            &HookScope::default(),
        )
        .unwrap_err();
    eprintln!("endless loop stopped after {:?}: {err}", started.elapsed());
    assert_eq!(err.kind, HookErrorKind::TooManyOperations);
    assert!(err.kind.is_limit());
    let text = err.to_string();
    assert!(text.contains("hook exceeded 1000000 operations"), "{text}");
    assert!(text.contains("hooks.after"), "names the hook: {text}");
    assert!(text.contains("`test`"), "names the connector: {text}");
    assert!(
        text.starts_with("connectors/test.yaml:"),
        "names the file: {text}"
    );
    assert!(err.location.line.is_some());
}

#[test]
fn endless_loop_with_custom_limit() {
    let rt = HookRuntime::new(
        "test",
        Limits {
            max_operations: 5_000,
            ..Limits::default()
        },
    );
    let hook = compile(&rt, HookKind::Before, "while true {}").unwrap();
    let err = rt
        .before(&hook, &mut Default::default(), &HookScope::default())
        .unwrap_err();
    assert!(
        err.message.contains("hook exceeded 5000 operations"),
        "{err}"
    );
}

#[test]
fn wall_clock_limit() {
    let rt = HookRuntime::new(
        "test",
        Limits {
            max_operations: u64::MAX,
            max_duration: Duration::from_millis(50),
            ..Limits::default()
        },
    );
    let hook = compile(&rt, HookKind::After, "loop {}").unwrap();
    let started = std::time::Instant::now();
    let err = rt
        .after(
            &hook,
            &ResponseView::default(),
            &mut vec![],
            &HookScope::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.message.contains("longer than 50ms"), "{err}");
}

#[test]
fn deep_recursion_is_stopped() {
    let rt = runtime();
    let hook = compile(
        &rt,
        HookKind::After,
        "fn down(n) {\n  down(n + 1)\n}\ndown(0);",
    )
    .unwrap();
    let err = rt
        .after(
            &hook,
            &ResponseView::default(),
            &mut vec![],
            &HookScope::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::StackOverflow, "{err}");
    assert!(err.message.contains("call depth of 64"), "{err}");
}

#[test]
fn huge_string_is_refused() {
    let mut records = vec![];
    let err = run_after("let s = \"x\";\nloop {\n  s += s;\n}", &mut records).unwrap_err();
    assert_eq!(err.kind, HookErrorKind::DataTooLarge, "{err}");
    assert!(err.message.contains("Length of string"), "{err}");
    assert!(err.message.contains("limits.max_string_size"), "{err}");
    assert_eq!(err.location.line, Some(3), "{err}");
}

#[test]
fn huge_array_and_map_are_refused() {
    let rt = HookRuntime::new(
        "test",
        Limits {
            max_array_size: 100,
            max_map_size: 100,
            ..Limits::default()
        },
    );
    let hook = compile(
        &rt,
        HookKind::After,
        "let a = [];\nfor i in 0..1000 { a.push(i); }",
    )
    .unwrap();
    let err = rt
        .after(
            &hook,
            &ResponseView::default(),
            &mut vec![],
            &HookScope::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::DataTooLarge, "{err}");
    assert!(err.message.contains("limits.max_array_size"), "{err}");

    // Maps are checked when built by operators and functions (`+=`, `mixin`, `json_parse`).
    let hook = compile(
        &rt,
        HookKind::After,
        "let m = #{};\nfor i in 0..1000 {\n  let one = #{};\n  one[`k${i}`] = i;\n  m += one;\n}",
    )
    .unwrap();
    let err = rt
        .after(
            &hook,
            &ResponseView::default(),
            &mut vec![],
            &HookScope::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::DataTooLarge, "{err}");
    assert!(err.message.contains("limits.max_map_size"), "{err}");
}

#[test]
fn import_is_refused_at_compile_time() {
    let dir = temp_dir("import");
    std::fs::write(dir.join("secret.rhai"), "export const X = 42;").unwrap();
    let rt = runtime();
    for script in [
        "import \"secret\" as s;\nrecords.push(#{x: s::X});".to_string(),
        format!("import \"{}\" as s;", dir.join("secret").display()),
        "import \"/etc/passwd\" as p;".to_string(),
    ] {
        let err = compile(&rt, HookKind::After, &script).unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::Refused, "{err}");
        assert!(
            err.message.contains("`import` is not allowed in hooks"),
            "{err}"
        );
        assert_eq!(err.location.line, Some(1), "{err}");
        assert_eq!(err.location.column, Some(1), "{err}");
    }
}

#[test]
fn eval_is_refused() {
    let rt = runtime();
    let err = compile(&rt, HookKind::After, "let x = eval(\"40 + 2\");").unwrap_err();
    assert_eq!(err.kind, CompileErrorKind::Refused, "{err}");
    assert!(err.message.contains("`eval` is not allowed"), "{err}");
}

#[test]
fn reading_files_is_refused() {
    // There is no file API at all: any attempt fails with a clear message.
    let dir = temp_dir("read");
    let file = dir.join("data.txt");
    std::fs::write(&file, "secret").unwrap();
    for f in [
        "open_file",
        "read_file",
        "read_string",
        "File",
        "env",
        "system",
        "exec",
    ] {
        let script = format!("let x = {f}(\"{}\");", file.display());
        let mut records = vec![];
        let err = run_after(&script, &mut records).unwrap_err();
        assert_eq!(err.kind, HookErrorKind::Runtime, "{err}");
        assert!(
            err.message.contains("Function not found")
                && err
                    .message
                    .contains("no file system, network or environment access"),
            "{err}"
        );
    }
}

#[test]
fn sleep_is_refused() {
    let mut records = vec![];
    let err = run_after("sleep(10);", &mut records).unwrap_err();
    assert_eq!(err.kind, HookErrorKind::Refused, "{err}");
    assert!(
        err.message.contains("sleep: not available in hooks"),
        "{err}"
    );
}

#[test]
fn read_only_context_cannot_be_changed() {
    let rt = runtime();
    let hook = compile(&rt, HookKind::After, "settings.base_url = \"http://evil\";").unwrap();
    let scope = HookScope {
        settings: json!({"base_url": "https://api.example.com"}),
        ..HookScope::default()
    };
    let err = rt
        .after(&hook, &ResponseView::default(), &mut vec![], &scope)
        .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::Runtime);
    assert!(err.message.contains("constant"), "{err}");
}

#[test]
fn engine_is_shareable_across_threads() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<HookRuntime>();
    is_send_sync::<wsc_hooks::CompiledHook>();

    let rt = std::sync::Arc::new(runtime());
    let origin = HookOrigin::new("c.yaml", "after", HookKind::After);
    let hook = rt
        .compile_source("records.push(#{identity: `${records.len()}`});", &origin)
        .unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let rt = rt.clone();
            let hook = hook.clone();
            std::thread::spawn(move || {
                let mut records = vec![json!({"identity": "a"})];
                rt.after(
                    &hook,
                    &ResponseView::default(),
                    &mut records,
                    &HookScope::default(),
                )
                .unwrap();
                records
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().len(), 2);
    }
}

#[test]
fn zero_limits_do_not_mean_unlimited() {
    let rt = HookRuntime::new(
        "test",
        Limits {
            max_operations: 0,
            ..Limits::default()
        },
    );
    let hook = compile(&rt, HookKind::After, "loop {}").unwrap();
    let err = rt
        .after(
            &hook,
            &ResponseView::default(),
            &mut vec![],
            &HookScope::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::TooManyOperations, "{err}");
    assert!(err.message.contains("exceeded 1 operations"), "{err}");
    assert_eq!(rt.limits().max_operations, 1);
}
