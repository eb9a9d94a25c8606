//! Where the time of an `after` hook over mapped records goes: pages of 250 records shaped
//! like `connectors/demo.yaml`'s users (9 attributes), run with `HookRuntime::after_records`.
//! Prints, per script, the time per record; the first scripts split the fixed costs (a run
//! that does not touch `records`, one that only reads its length).
//!
//! ```text
//! cargo run --release -p wsc-hooks --example records_bench [-- <pages> <script index>]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wsc_hooks::{
    HookErrorMode, HookKind, HookOrigin, HookRecord, HookRuntime, HookScope, Limits, RecordShape,
    ResponseView,
};
use wsc_spec::model::Hook;

#[global_allocator]
static ALLOC: wsc_hooks::HookAllocator = wsc_hooks::HookAllocator;

const SCRIPTS: &[&str] = &[
    "state.x = 1;",
    "let n = records.len();",
    "records.retain(|r| r.attributes.active);",
    "for i in 0..records.len() { records[i].attributes.title = \"x\"; }",
    "records = records.map(|r| { r.attributes.title = \"x\"; r });",
];

fn page(ty: &Arc<str>) -> Vec<HookRecord> {
    (0..250)
        .map(|i| HookRecord {
            object_type: ty.clone(),
            identity: format!("u{i:07}"),
            name: Some(format!("ada.lovelace{i}")),
            attributes: vec![
                json!(format!("Ada Lovelace {i}")),
                json!("Ada"),
                json!("Lovelace"),
                json!(format!("ada.lovelace{i}@example.com")),
                json!(i % 11 != 0),
                json!("Engineering"),
                json!("Engineer"),
                json!(100_000 + i),
                Value::Array((0..i % 5).map(|k| json!(format!("g{k:05}"))).collect()),
            ],
            members: None,
            deleted: false,
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let pages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let only: Option<usize> = args.next().and_then(|a| a.parse().ok());
    let ty: Arc<str> = Arc::from("account");
    let names: Vec<Arc<str>> = [
        "displayName",
        "givenName",
        "familyName",
        "email",
        "active",
        "department",
        "title",
        "employeeNumber",
        "groups",
    ]
    .into_iter()
    .map(Arc::from)
    .collect();
    let shape = RecordShape {
        object_type: &ty,
        names: &names,
    };
    let rt = HookRuntime::new("bench", Limits::default()).with_redaction(Arc::new(|s: &str| {
        s.replace("bench-secret-token-value", "[redacted]")
    }));
    let input = page(&ty);
    for (k, script) in SCRIPTS.iter().enumerate() {
        if only.is_some_and(|o| o != k) {
            continue;
        }
        let hook = Hook {
            file: None,
            script: Some((*script).into()),
        };
        let origin = HookOrigin::new("bench.yaml", format!("h{k}"), HookKind::After);
        let h = rt.compile(&hook, &origin).expect("compiles");
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let mut t = Duration::ZERO;
            for _ in 0..pages {
                let mut records = input.clone();
                let start = Instant::now();
                rt.after_records(
                    &h,
                    &ResponseView::default(),
                    &mut records,
                    shape,
                    &HookScope::default(),
                    HookErrorMode::Stop,
                )
                .expect("runs");
                t += start.elapsed();
                std::hint::black_box(records);
            }
            best = best.min(t);
        }
        let per = best.as_secs_f64() * 1e6 / (pages * input.len()) as f64;
        println!("{per:>6.2} us/record  `{script}`");
    }
}
