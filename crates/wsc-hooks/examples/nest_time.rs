//! How long a hook takes to build a value nested N levels deep, which sizes the hook thread's
//! stack against the time limit (docs/hooks.md, "Limits"). A measurement, not a test: it
//! prints and asserts nothing.
//!
//! `cargo run -p wsc-hooks --release --example nest_time`

use std::time::{Duration, Instant};

use serde_json::json;
use wsc_hooks::{
    HookAllocator, HookKind, HookOrigin, HookRuntime, HookScope, Limits, ResponseView,
};
use wsc_spec::model::Hook;

#[global_allocator]
static ALLOC: HookAllocator = HookAllocator;

fn main() {
    let rt = HookRuntime::new(
        "nest_time",
        Limits {
            max_duration: wsc_hooks::MAX_DURATION_CAP,
            max_operations: u64::MAX,
            ..Limits::default()
        },
    );
    let origin = HookOrigin::new("connectors/nest_time.yaml", "hooks.after", HookKind::After);
    for n in [1000, 2000, 4000, 8000, 16000, 32000] {
        let hook = Hook {
            file: None,
            script: Some(format!("let a = [];\nfor i in 0..{n} {{\n  a = [a];\n}}")),
        };
        let compiled = match rt.compile(&hook, &origin) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("does not compile: {e}");
                return;
            }
        };
        let mut records = vec![json!({"identity": "1", "attributes": {}})];
        let started = Instant::now();
        let r = rt.after(
            &compiled,
            &ResponseView::default(),
            &mut records,
            &HookScope::default(),
        );
        println!(
            "{n} levels: {:?} {:?}",
            started.elapsed(),
            r.err().map(|e| e.kind)
        );
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
}
