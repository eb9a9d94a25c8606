//! Micro-benchmark of an `after` hook on the data plane: pages of 250 users mapped with the
//! `account_aggregation` mapping of `connectors/demo.yaml`, run through an `after` hook the
//! way the engine runs one (records to the hook runtime and back, then written as JSON
//! Lines), against the same pages without a hook. One thread, no network. Prints the cost of
//! each hook per record: its time minus the time without a hook.
//!
//! ```text
//! cargo run --release -p wsc-engine --example hook_bench [-- <pages per round> <rounds>]
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::Value;
use wsc_engine::Record;
use wsc_engine::doc::Doc;
use wsc_engine::mapping::RecordMapper;
use wsc_hooks::{
    HookErrorMode, HookKind, HookOrigin, HookRecord, HookRuntime, HookScope, Limits, RecordShape,
    ResponseView,
};
use wsc_spec::model::Hook;

#[path = "common/pages.rs"]
mod pages;
use pages::{DISTINCT_PAGES, PAGE, demo_mapper, page};

#[global_allocator]
static ALLOC: wsc_hooks::HookAllocator = wsc_hooks::HookAllocator;

/// The hooks measured.
const HOOKS: &[(&str, &str)] = &[
    (
        "drop inactive records",
        "records.retain(|r| r.attributes.active);",
    ),
    (
        "set one attribute",
        "for i in 0..records.len() { records[i].attributes.title = \"x\"; }",
    ),
    (
        "set one attribute (map)",
        "records = records.map(|r| { r.attributes.title = \"x\"; r });",
    ),
];

/// How the hook gets the records.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// As the engine does: mapped records handed over as they are
    /// (`HookRuntime::after_records`).
    Records,
    /// Through JSON: `Record::into_json`, `HookRuntime::after`, `Record::from_json_owned` (the
    /// engine's path before `after_records`; still the path of raw records).
    Json,
}

/// Maps one page, runs `hook` over it as the engine does, writes the records; returns them.
fn run_page(
    mapper: &RecordMapper,
    hook: Option<(&HookRuntime, &wsc_hooks::CompiledHook, Path)>,
    body: &[u8],
    out: &mut Vec<u8>,
) -> usize {
    let doc = Doc::parse(body).expect("parse");
    let mut records: Vec<Record> = mapper.map_page(&doc).map(|r| r.expect("map")).collect();
    let names = mapper.attribute_names();
    match hook {
        None => {}
        Some((rt, h, Path::Records)) => {
            let mut hooked: Vec<HookRecord> = records.into_iter().map(Into::into).collect();
            let shape = RecordShape {
                object_type: mapper.object_type(),
                names,
            };
            rt.after_records(
                h,
                &ResponseView::default(),
                &mut hooked,
                shape,
                &HookScope::default(),
                HookErrorMode::Stop,
            )
            .expect("hook");
            records = hooked.into_iter().map(Into::into).collect();
        }
        Some((rt, h, Path::Json)) => {
            let mut json: Vec<Value> = records.into_iter().map(|r| r.into_json(names)).collect();
            rt.after(
                h,
                &ResponseView::default(),
                &mut json,
                &HookScope::default(),
            )
            .expect("hook");
            records = json
                .into_iter()
                .map(|v| Record::from_json_owned(v, mapper.object_type(), names).expect("record"))
                .collect();
        }
    }
    for r in &records {
        wsc_engine::output::write_record_json(out, r, names);
        out.push(b'\n');
    }
    records.len()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let per_round: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(40);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let mapper = demo_mapper();
    let pages: Vec<Vec<u8>> = (0..DISTINCT_PAGES).map(|p| page(p * PAGE)).collect();
    // Secrets hidden in what hooks give back, as the engine sets it up.
    let redactor = wsc_engine::redact::Redactor::new(["bench-secret-token-value".to_string()]);
    let rt = HookRuntime::new("bench", Limits::default())
        .with_redaction(std::sync::Arc::new(move |s: &str| redactor.text(s)));
    let compiled: Vec<_> = HOOKS
        .iter()
        .map(|(name, script)| {
            let hook = Hook {
                file: None,
                script: Some((*script).into()),
            };
            let origin = HookOrigin::new("bench.yaml", *name, HookKind::After);
            rt.compile(&hook, &origin).expect("the hook compiles")
        })
        .collect();
    let mut out = Vec::with_capacity(1 << 20);
    // Both paths write the same lines.
    for h in &compiled {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        run_page(&mapper, Some((&rt, h, Path::Records)), &pages[0], &mut a);
        run_page(&mapper, Some((&rt, h, Path::Json)), &pages[0], &mut b);
        assert!(a == b, "the two paths wrote different records");
    }
    // Best of `rounds` rounds of `per_round` pages, per record.
    let mut time = |hook: Option<(&HookRuntime, &wsc_hooks::CompiledHook, Path)>| {
        let mut best = Duration::MAX;
        let mut allocs = 0;
        for _ in 0..rounds {
            let a = wsc_hooks::thread_allocations();
            let t = Instant::now();
            for k in 0..per_round {
                out.clear();
                black_box(run_page(&mapper, hook, &pages[k % pages.len()], &mut out));
            }
            best = best.min(t.elapsed());
            allocs = wsc_hooks::thread_allocations() - a;
        }
        let n = (per_round * PAGE) as f64;
        (best.as_secs_f64() * 1e6 / n, allocs as f64 / n)
    };
    let (none, none_allocs) = time(None);
    println!(
        "pages of {PAGE} users, {} attributes, best of {rounds} rounds of {per_round} pages (allocations counted on this thread, the hook's included)",
        mapper.attribute_names().len()
    );
    println!("  no hook: {none:.2} us/record ({none_allocs:.1} allocations/record on this thread)");
    for ((name, script), h) in HOOKS.iter().zip(&compiled) {
        let (t, allocs) = time(Some((&rt, h, Path::Records)));
        let (tj, _) = time(Some((&rt, h, Path::Json)));
        println!(
            "  {name:<26} {t:>6.2} us/record, hook cost {:>5.2} us/record ({allocs:.1} allocations/record on this thread); through JSON {:>5.2} ({:.1}x)   `{script}`",
            t - none,
            tj - none,
            (tj - none) / (t - none)
        );
    }
}
