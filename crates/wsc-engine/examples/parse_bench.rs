//! The parser comparison of issue 13 (docs/performance.md, "A SIMD JSON parser"): the parse of
//! one page of 250 synthetic users (the pages `map_bench` uses) by the engine's tape and `Doc`,
//! by `serde_json` (typed and borrowed, what the baseline does; and `Value`), by `sonic-rs` and
//! by `simd-json` (which mutates its input, so the copy of the body is counted), and the whole
//! projection (parse + write) for the end-to-end share. One thread; the cases alternate in
//! chunks of pages inside each round so all see the same load; the median round is reported.
//! It then prints how each parser treats the inputs where exactness is at stake.
//!
//! ```text
//! cargo run --release -p wsc-engine --features simd-compare --example parse_bench \
//!     [-- <pages per round> <rounds>]
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use wsc_engine::Lines;
use wsc_engine::doc::Doc;
use wsc_engine::projection::PageWriter;

#[path = "common/baseline.rs"]
mod baseline;
#[path = "common/pages.rs"]
mod pages;
use baseline::BPage;
use pages::{DISTINCT_PAGES, PAGE, demo_mapper, page};

/// One parser under test: parses a page, returns something derived from it (records or nodes).
type Case<'a> = (&'static str, Box<dyn FnMut(&[u8]) -> usize + 'a>);

/// Every node of a lazily parsed value, visited the way a projection would (each container
/// iterated, each scalar's raw text read).
fn sonic_walk(v: sonic_rs::LazyValue<'_>) -> usize {
    use sonic_rs::JsonValueTrait;
    if v.is_object() {
        let mut n = 1;
        for m in v.into_object_iter().expect("object") {
            let (k, v) = m.expect("member");
            n += k.len() + sonic_walk(v);
        }
        n
    } else if v.is_array() {
        let mut n = 1;
        for e in v.into_array_iter().expect("array") {
            n += sonic_walk(e.expect("element"));
        }
        n
    } else {
        v.as_raw_str().len()
    }
}

/// The copy of a body simd-json parses in place (reused from page to page).
fn copy_into(buf: &mut Vec<u8>, body: &[u8]) {
    buf.clear();
    buf.extend_from_slice(body);
}

fn cases<'a>(writer: &'a mut PageWriter, full: &'a mut PageWriter) -> Vec<Case<'a>> {
    let mut v: Vec<Case<'a>> = Vec::new();
    v.push((
        "tape (PageWriter::parse_page: envelope Doc + records tape)",
        Box::new(move |b| writer.parse_page(b).expect("tape")),
    ));
    v.push((
        "Doc::parse (borrowed DOM)",
        Box::new(|b| match Doc::parse(b).expect("doc").get("items") {
            Some(Doc::Array(a)) => a.len(),
            _ => 0,
        }),
    ));
    v.push((
        "serde_json typed borrowed (the baseline)",
        Box::new(|b| {
            serde_json::from_slice::<BPage<'_>>(b)
                .expect("serde typed")
                .items
                .len()
        }),
    ));
    v.push((
        "serde_json::Value",
        Box::new(|b| {
            serde_json::from_slice::<serde_json::Value>(b).expect("serde value")["items"]
                .as_array()
                .map_or(0, Vec::len)
        }),
    ));
    v.push((
        "sonic-rs Value (from_slice)",
        Box::new(|b| {
            use sonic_rs::{JsonContainerTrait, JsonValueTrait};
            sonic_rs::from_slice::<sonic_rs::Value>(b)
                .expect("sonic value")
                .get("items")
                .and_then(|a| a.as_array())
                .map_or(0, |a| a.len())
        }),
    ));
    v.push((
        "sonic-rs typed borrowed (from_slice::<BPage>)",
        Box::new(|b| {
            sonic_rs::from_slice::<BPage<'_>>(b)
                .expect("sonic typed")
                .items
                .len()
        }),
    ));
    v.push((
        "sonic-rs lazy: get(items) + to_array_iter (records as raw text)",
        Box::new(|b| {
            let items = sonic_rs::get_from_slice(b, ["items"]).expect("sonic get");
            let mut n = 0;
            for r in sonic_rs::to_array_iter(items.as_raw_str()) {
                black_box(r.expect("record").as_raw_str());
                n += 1;
            }
            n
        }),
    ));
    v.push((
        "sonic-rs lazy: every node (to_object_iter/to_array_iter)",
        Box::new(|b| sonic_walk(sonic_rs::get_from_slice(b, ["items"]).expect("sonic get"))),
    ));
    let mut copy = Vec::new();
    v.push((
        "simd-json: the copy of the body alone",
        Box::new(move |b| {
            copy_into(&mut copy, b);
            black_box(&copy).len()
        }),
    ));
    let (mut copy, mut bufs) = (Vec::new(), simd_json::Buffers::default());
    let mut kept = Some(simd_json::Tape::null());
    v.push((
        "simd-json tape (copy + fill_tape, buffers reused)",
        Box::new(move |b| {
            copy_into(&mut copy, b);
            let mut tape = kept.take().expect("tape").reset();
            simd_json::fill_tape(&mut copy, &mut bufs, &mut tape).expect("simd tape");
            let n = tape.0.len();
            kept = Some(tape.reset());
            n
        }),
    ));
    let (mut copy, mut bufs) = (Vec::new(), simd_json::Buffers::default());
    v.push((
        "simd-json BorrowedValue (copy + to_borrowed_value_with_buffers)",
        Box::new(move |b| {
            use simd_json::prelude::*;
            copy_into(&mut copy, b);
            simd_json::to_borrowed_value_with_buffers(&mut copy, &mut bufs)
                .expect("simd value")
                .get("items")
                .and_then(|a| a.as_array())
                .map_or(0, Vec::len)
        }),
    ));
    let (mut copy, mut bufs) = (Vec::new(), simd_json::Buffers::default());
    v.push((
        "simd-json typed borrowed (copy + serde::from_slice_with_buffers::<BPage>)",
        Box::new(move |b| {
            copy_into(&mut copy, b);
            simd_json::serde::from_slice_with_buffers::<BPage<'_>>(&mut copy, &mut bufs)
                .expect("simd typed")
                .items
                .len()
        }),
    ));
    v.push((
        "projection: tape parse + write JSON Lines (PageWriter::write_page)",
        Box::new(move |b| {
            let mut lines = Lines::default();
            full.write_page(b, &mut lines).expect("projection");
            black_box(lines.as_bytes()).len()
        }),
    ));
    v
}

fn main() {
    let mut args = std::env::args().skip(1);
    let per_round: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(400);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);

    let pages: Vec<Vec<u8>> = (0..DISTINCT_PAGES).map(|p| page(p * PAGE)).collect();
    let bytes: usize = pages.iter().map(Vec::len).sum::<usize>() / pages.len();
    let mapper = std::sync::Arc::new(demo_mapper());
    let mut writer = PageWriter::new(mapper.clone()).expect("the demo mapping compiles");
    let mut full = PageWriter::new(mapper).expect("the demo mapping compiles");
    println!(
        "page: {PAGE} users, {bytes} bytes; {per_round} pages x {rounds} rounds per case; simd-json implementation: {:?}; sonic-rs built for avx2+pclmulqdq: {}",
        simd_json::Deserializer::algorithm(),
        cfg!(all(target_feature = "avx2", target_feature = "pclmulqdq")),
    );
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", l.trim());
    }

    let mut cases = cases(&mut writer, &mut full);
    // Each parser must read the page (the record parsers find 250 records).
    for (name, f) in cases.iter_mut() {
        let n = f(&pages[0]);
        assert!(n >= PAGE, "{name}: {n}");
    }

    const CHUNK: usize = 10;
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        let mut round = vec![Duration::ZERO; cases.len()];
        for c in 0..per_round.div_ceil(CHUNK) {
            for (k, (_, f)) in cases.iter_mut().enumerate() {
                let t = Instant::now();
                for i in 0..CHUNK {
                    black_box(f(black_box(&pages[(c * CHUNK + i) % pages.len()])));
                }
                round[k] += t.elapsed();
            }
        }
        for (k, d) in round.into_iter().enumerate() {
            times[k].push(d);
        }
    }
    let pages_per_round = (per_round.div_ceil(CHUNK) * CHUNK) as f64;
    let per_page = |v: &mut Vec<Duration>| {
        v.sort();
        (
            v[v.len() / 2].as_secs_f64() * 1e9 / pages_per_round,
            v[0].as_secs_f64() * 1e9 / pages_per_round,
            v[v.len() - 1].as_secs_f64() * 1e9 / pages_per_round,
        )
    };
    let medians: Vec<(f64, f64, f64)> = times.iter_mut().map(per_page).collect();
    let tape = medians[0].0;
    println!(
        "| parser (per page of {PAGE} users, {bytes} bytes) | ns/page (median) | min - max | ns/record | MB/s | / tape |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for ((name, _), (med, min, max)) in cases.iter().zip(&medians) {
        println!(
            "| {name} | {med:.0} | {min:.0} - {max:.0} | {:.0} | {:.0} | {:.2}x |",
            med / PAGE as f64,
            bytes as f64 / med * 1e3,
            med / tape,
        );
    }
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at end: {}", l.trim());
    }
    exactness();
}

/// How each parser treats the inputs where exactness is at stake.
fn exactness() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes();
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        (
            "numbers",
            br#"[1.50,1e3,-0,123456789012345678901,0.1000000000000000055511151231257827,1E400]"#
                .to_vec(),
        ),
        ("number > u64 only", br#"[123456789012345678901]"#.to_vec()),
        ("number 1E400 only", br#"[1E400]"#.to_vec()),
        ("duplicate key", br#"{"a":1,"a":2}"#.to_vec()),
        ("depth 256", deep(256)),
        ("depth 257", deep(257)),
        ("depth 1025", deep(1025)),
        ("invalid UTF-8 in a string", b"[\"a\xffb\"]".to_vec()),
        ("lone surrogate escape", br#"["\ud800"]"#.to_vec()),
        ("byte-order mark", b"\xef\xbb\xbf[1]".to_vec()),
        ("raw tab in a string", b"[\"a\tb\"]".to_vec()),
        ("trailing comma", b"[1,]".to_vec()),
        ("trailing text", b"[1] x".to_vec()),
        ("leading zero", b"[01]".to_vec()),
    ];
    let short = |s: String| {
        if s.len() > 110 {
            format!("{}...", &s[..110])
        } else {
            s
        }
    };
    println!("\nexactness (ok: the value read back; err: the error):");
    for (name, input) in inputs {
        println!("- {name}:");
        let doc = Doc::parse(&input).map(|d| {
            let mut out = Vec::new();
            d.write_json(&mut out);
            format!(
                "{} (as serde_json::Value: {})",
                String::from_utf8_lossy(&out),
                d.to_value()
            )
        });
        println!("    Doc        {}", short(show(doc)));
        let sj = serde_json::from_slice::<serde_json::Value>(&input).map(|v| v.to_string());
        println!("    serde_json {}", short(show(sj)));
        let sv = sonic_rs::from_slice::<sonic_rs::Value>(&input)
            .map(|v| sonic_rs::to_string(&v).unwrap_or_default());
        println!("    sonic Value {}", short(show(sv)));
        let lazy = sonic_rs::to_array_iter(&input[..])
            .map(|e| e.map(|v| v.as_raw_str().to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(" | "));
        let lazy = if input.starts_with(b"{") {
            sonic_rs::get_from_slice(&input, ["a"]).map(|v| format!("a = {}", v.as_raw_str()))
        } else {
            lazy
        };
        println!("    sonic lazy {}", short(show(lazy)));
        let mut copy = input.clone();
        let bv = simd_json::to_borrowed_value(&mut copy).map(|v| v.to_string());
        println!("    simd-json  {}", short(show(bv)));
        let mut copy = input.clone();
        let tape = simd_json::to_tape(&mut copy).map(|t| format!("{:?}", t.0));
        println!("    simd tape  {}", short(show(tape)));
        if input.starts_with(b"{") {
            use simd_json::prelude::*;
            let doc = Doc::parse(&input).expect("doc");
            let sv = sonic_rs::from_slice::<sonic_rs::Value>(&input).expect("sonic");
            let mut copy = input.clone();
            let bv = simd_json::to_borrowed_value(&mut copy).expect("simd-json");
            println!(
                "    get(\"a\"): Doc {:?}, sonic Value {:?}, simd-json {:?}",
                doc.get("a").map(|d| d.to_value().to_string()),
                sonic_rs::JsonValueTrait::get(&sv, "a").map(|v| v.to_string()),
                bv.get("a").map(|v| v.to_string()),
            );
        }
    }
}

fn show<T: std::fmt::Display, E: std::fmt::Display>(r: Result<T, E>) -> String {
    // sonic-rs adds the input and a caret on further lines: the first line is the message.
    match r {
        Ok(v) => format!("ok: {v}"),
        Err(e) => format!("err: {}", e.to_string().lines().next().unwrap_or_default()),
    }
}
