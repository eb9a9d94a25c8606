//! Hostile hooks, tried as an attacker would: deep values, memory growth by indexed
//! assignment, expensive built-ins in a loop, secrets thrown, logged or put in records. Each
//! one ends with a limit error naming the hook, never with an abort of the test process.
//!
//! This test binary installs the counting allocator, as the `wsc` binary does, so the memory
//! limit is enforced.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wsc_hooks::{
    HookAllocator, HookError, HookErrorKind, HookKind, HookRuntime, HookScope, Limits, ResponseView,
};

#[global_allocator]
static ALLOC: HookAllocator = HookAllocator;

fn after_with(rt: &HookRuntime, script: &str, scope: &HookScope) -> Result<Vec<Value>, HookError> {
    let hook = compile(rt, HookKind::After, script).expect("compiles");
    let mut records = vec![json!({"identity": "1", "attributes": {}})];
    rt.after(&hook, &ResponseView::default(), &mut records, scope)
        .map(|_| records)
}

fn after(script: &str) -> Result<Vec<Value>, HookError> {
    after_with(&runtime(), script, &HookScope::default())
}

fn names_the_hook(err: &HookError) {
    let text = err.to_string();
    assert!(text.contains("hook `hooks.after`"), "{text}");
    assert!(text.starts_with("connectors/test.yaml:"), "{text}");
}

/// Deep nesting in a local variable: Rhai clones, compares, prints and drops values
/// recursively. 20,000 levels aborted the process on a 2 MiB worker stack; here the caller's
/// stack is 64 KiB and 2,000 levels (cheaper to build in a debug build) would abort it the same
/// way, had the hook run on the caller's stack. It runs on a stack of its own.
#[test]
fn deep_value_does_not_depend_on_the_callers_stack() {
    let rt = runtime();
    let hook = compile(
        &rt,
        HookKind::After,
        "let a = [];\nfor i in 0..2000 {\n  a = [a];\n}\nlet b = a;\nlet same = a == b;\nlet text = `${a}`;",
    )
    .unwrap();
    let result = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn_scoped(s, || {
                rt.after(
                    &hook,
                    &ResponseView::default(),
                    &mut vec![],
                    &HookScope::default(),
                )
                .map(|_| ())
            })
            .unwrap()
            .join()
            .unwrap()
    });
    if let Err(e) = result {
        // A slow machine may reach the time limit first; never anything else.
        assert_eq!(e.kind, HookErrorKind::Timeout, "{e}");
    }
}

/// 5,000 levels put into `state`: the conversion back to JSON recursed without a bound.
#[test]
fn deep_value_in_state_is_refused() {
    let err = after("let a = [];\nfor i in 0..300 {\n  a = [a];\n}\nstate.deep = a;").unwrap_err();
    assert_eq!(err.kind, HookErrorKind::TooDeep, "{err}");
    assert!(err.message.contains("state.deep"), "{err}");
    assert!(err.message.contains("deeper than 256 levels"), "{err}");
    assert!(err.message.contains("limits.max_depth"), "{err}");
    names_the_hook(&err);
}

#[test]
fn deep_value_in_records_and_json_stringify_is_refused() {
    let err =
        after("let a = [];\nfor i in 0..300 {\n  a = [a];\n}\nrecords[0].x = a;").unwrap_err();
    assert_eq!(err.kind, HookErrorKind::TooDeep, "{err}");
    assert!(err.message.contains("records[0].x"), "{err}");
    let err = after("let a = [];\nfor i in 0..300 {\n  a = [a];\n}\nlet s = json_stringify(a);")
        .unwrap_err();
    assert!(err.message.contains("json_stringify"), "{err}");
    assert!(err.message.contains("limits.max_depth"), "{err}");
}

/// One 8 MiB string put into 600 array slots: Rhai does not size-check indexed assignment,
/// and this reached 2 GiB in a second before the allocator aborted.
#[test]
fn memory_growth_by_indexed_assignment_is_stopped() {
    let script = "let s = \"x\";\nfor i in 0..23 {\n  s += s;\n}\nlet a = [];\na.pad(600, ());\nfor i in 0..600 {\n  a[i] = s + i;\n}";
    let err = after(script).unwrap_err();
    assert_eq!(err.kind, HookErrorKind::OutOfMemory, "{err}");
    assert!(err.message.contains("limits.max_memory"), "{err}");
    names_the_hook(&err);
    assert!(err.location.line.is_some(), "{err}");
}

#[test]
fn memory_limit_is_configurable() {
    let rt = HookRuntime::new(
        "test",
        Limits {
            max_memory: 1024 * 1024,
            ..Limits::default()
        },
    );
    let err = after_with(
        &rt,
        "let s = \"x\";\ns.pad(4096, \"x\");\nlet a = [];\nfor i in 0..1000 {\n  a.push(s + i);\n}",
        &HookScope::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::OutOfMemory, "{err}");
    assert!(err.message.contains("1048576 bytes"), "{err}");
    // A run that stays under the budget is not stopped.
    after_with(
        &rt,
        "let a = [];\nfor i in 0..100 {\n  a.push(i);\n}",
        &HookScope::default(),
    )
    .unwrap();
}

/// `json_stringify` of a 900,000-element array is one operation of tens of milliseconds:
/// within the operation limit such a loop ran for hours. The default time limit stops it.
#[test]
fn expensive_builtin_in_a_loop_is_stopped_by_the_default_time_limit() {
    assert_eq!(Limits::default().max_duration, Duration::from_secs(1));
    let rt = HookRuntime::new(
        "test",
        Limits {
            max_duration: Duration::from_millis(200),
            ..Limits::default()
        },
    );
    let err = after_with(
        &rt,
        "let a = [];\na.pad(200000, 1);\nloop {\n  let s = json_stringify(a);\n}",
        &HookScope::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::Timeout, "{err}");
    assert!(err.message.contains("limits.max_duration"), "{err}");
    names_the_hook(&err);
}

fn secret_scope() -> HookScope {
    HookScope {
        settings: json!({"token": "s3cr3t-T0KEN-value", "region": "eu"}),
        ..HookScope::default()
    }
}

fn redacting() -> HookRuntime {
    runtime().with_redaction(Arc::new(|s: &str| {
        s.replace("s3cr3t-T0KEN-value", "[redacted]")
    }))
}

#[test]
fn thrown_secret_is_redacted() {
    let err = after_with(
        &redacting(),
        "throw \"x=\" + settings.token;",
        &secret_scope(),
    )
    .unwrap_err();
    assert_eq!(err.kind, HookErrorKind::Thrown);
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(err.message.contains("x=[redacted]"), "{err}");
}

#[test]
fn runtime_error_with_secret_is_redacted() {
    let err = after_with(
        &redacting(),
        "let m = #{};\nlet x = m[settings.token].y;",
        &secret_scope(),
    )
    .unwrap_err();
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

#[test]
fn secret_in_records_is_redacted() {
    let records = after_with(
        &redacting(),
        "records[0].attributes.leak = \"t=\" + settings.token;\nrecords[0].attributes[settings.token] = 1;",
        &secret_scope(),
    )
    .unwrap();
    let text = serde_json::to_string(&records).unwrap();
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(text.contains("t=[redacted]"), "{text}");
}

/// One watchdog thread serves every run: runs on several threads at once each stop at their
/// own time limit, a later short run is not held up by an earlier long one, and a run that
/// ends in time is never cancelled afterwards.
#[test]
fn concurrent_runs_each_stop_at_their_own_time_limit() {
    let endless = "let n = 0;\nloop { n += 1; }";
    let limited = |ms: u64| {
        HookRuntime::new(
            "test",
            Limits {
                max_duration: Duration::from_millis(ms),
                max_operations: u64::MAX,
                ..Limits::default()
            },
        )
    };
    let (long, short) = (limited(1500), limited(100));
    std::thread::scope(|s| {
        let l = s.spawn(|| {
            let t = std::time::Instant::now();
            let err = after_with(&long, endless, &HookScope::default()).unwrap_err();
            (err.kind, t.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        let t = std::time::Instant::now();
        let err = after_with(&short, endless, &HookScope::default()).unwrap_err();
        let short_took = t.elapsed();
        assert_eq!(err.kind, HookErrorKind::Timeout, "{err}");
        assert!(short_took < Duration::from_millis(1200), "{short_took:?}");
        // A run that finishes in time, after the short one ended, is left alone.
        after_with(&short, "let x = 1;", &HookScope::default()).unwrap();
        let (kind, long_took) = l.join().unwrap();
        assert_eq!(kind, HookErrorKind::Timeout);
        assert!(long_took >= Duration::from_millis(1500), "{long_took:?}");
    });
}
