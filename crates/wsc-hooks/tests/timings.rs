//! Timings: compiling a trivial `after` hook and running it over 1,000 records. Prints, never
//! asserts on time. `cargo test -p wsc-hooks --release --test timings -- --nocapture`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use wsc_hooks::{HookKind, HookScope, ResponseView};

fn page(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            json!({
                "type": "account",
                "identity": format!("u{i}"),
                "name": format!("user{i}"),
                "attributes": {
                    "email": format!("user{i}@example.com"),
                    "givenName": "Given",
                    "familyName": "Family",
                    "active": i % 3 != 0,
                    "department": "Engineering",
                    "groups": ["g1", "g2"],
                }
            })
        })
        .collect()
}

fn time<F: FnMut()>(iterations: u32, mut f: F) -> Duration {
    f(); // warm up
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations
}

#[test]
fn timings() {
    let rt = runtime();
    let scripts = [
        ("no records access", "state.x = 1;"),
        (
            "retain (drop inactive)",
            "records.retain(|r| r.attributes.active);",
        ),
        (
            "for_each (add attribute)",
            "records.for_each(|| this.attributes.domain = this.attributes.email.split(\"@\")[1]);",
        ),
    ];
    let response = ResponseView::default();
    let scope = HookScope::default();
    let input = page(1000);
    eprintln!(
        "profile: {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    // The fixed cost of a run: a stack of its own (and the watchdog) for an empty script.
    let empty = compile(&rt, HookKind::After, "let x = 1;").unwrap();
    let fixed = time(500, || {
        rt.after(&empty, &response, &mut Vec::new(), &scope)
            .unwrap();
    });
    eprintln!("empty hook, no records        run {fixed:>9.1?} (the hook stack and watchdog)");
    for (what, script) in scripts {
        let compile_time = time(200, || {
            compile(&rt, HookKind::After, script).unwrap();
        });
        let hook = compile(&rt, HookKind::After, script).unwrap();
        let mut out_len = 0;
        let run_time = time(20, || {
            let mut records = input.clone();
            rt.after(&hook, &response, &mut records, &scope).unwrap();
            out_len = records.len();
        });
        let clone_time = time(20, || {
            let records = input.clone();
            std::hint::black_box(records);
        });
        eprintln!(
            "{what:<26} compile {:>8.1?}   run over 1000 records {:>8.2?} (of which cloning the input {:>7.2?}; {} records out)",
            compile_time, run_time, clone_time, out_len
        );
    }
}
