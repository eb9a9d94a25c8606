//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;
use wsc_hooks::{
    CompileError, CompiledHook, HookError, HookKind, HookOrigin, HookRuntime, HookScope, Limits,
    ResponseView,
};
use wsc_spec::model::Hook;

/// A runtime with default limits for connector `test`.
pub fn runtime() -> HookRuntime {
    HookRuntime::new("test", Limits::default())
}

/// An inline hook.
pub fn inline(script: &str) -> Hook {
    Hook {
        file: None,
        script: Some(script.to_string()),
    }
}

/// Compiles an inline script of `kind` in `connectors/test.yaml`.
pub fn compile(
    rt: &HookRuntime,
    kind: HookKind,
    script: &str,
) -> Result<CompiledHook, CompileError> {
    let origin = HookOrigin::new("connectors/test.yaml", format!("hooks.{kind}"), kind);
    rt.compile(&inline(script), &origin)
}

/// Runs an inline `after` script over `records` with an empty response.
pub fn run_after(script: &str, records: &mut Vec<Value>) -> Result<(), HookError> {
    let rt = runtime();
    let hook = compile(&rt, HookKind::After, script).expect("compiles");
    rt.after(
        &hook,
        &ResponseView::default(),
        records,
        &HookScope::default(),
    )
    .map(|_| ())
}

/// Evaluates a `result = <expr>` after_operation script and gives the result.
pub fn eval(expr: &str) -> Result<Value, HookError> {
    let rt = runtime();
    let hook = compile(&rt, HookKind::AfterOperation, &format!("result = {expr};"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut result = Value::Null;
    rt.after_operation(&hook, &mut result, &HookScope::default())?;
    Ok(result)
}

/// A fresh temporary directory for this test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsc-hooks-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
