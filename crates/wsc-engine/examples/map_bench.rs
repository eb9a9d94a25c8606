//! Micro-benchmark of the data plane: parse + map + write JSON Lines for pages of 250 users
//! shaped like the synthetic API's, with the `account_aggregation` mapping of
//! `connectors/demo.yaml`, compared in the same run with a typed, borrowed serde baseline that
//! produces byte-identical output: the engine's compiled projection (`PageWriter`, what
//! `wsc aggregate` runs) and its ordinary path (`Doc` + `RecordMapper` + sink, what runs with an
//! `after` hook). One thread, no network: this isolates what the engine adds.
//!
//! ```text
//! cargo run --release -p wsc-engine --example map_bench [-- <pages per round> <rounds>]
//! # WSC_DEMO_YAML=path/to/demo.yaml overrides the connector file
//! ```

use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsc_engine::Lines;
use wsc_engine::doc::Doc;
use wsc_engine::mapping::RecordMapper;
use wsc_engine::output::{JsonLines, Sink};
use wsc_engine::projection::PageWriter;

#[path = "common/baseline.rs"]
mod baseline;
#[path = "common/pages.rs"]
mod pages;
use baseline::{BPage, baseline_page};
use pages::{DISTINCT_PAGES, PAGE, demo_mapper, page};

/// A writer that counts bytes (so the output cannot be optimised away).
#[derive(Default)]
struct Count(u64);
impl Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn baseline(pages: &[Vec<u8>], n: usize, out: &mut Count) -> usize {
    let mut buf = Vec::with_capacity(1 << 17);
    let mut records = 0;
    for k in 0..n {
        records += baseline_page(&pages[k % pages.len()], &mut buf);
        if buf.len() >= 64 * 1024 {
            out.write_all(&buf).expect("write");
            buf.clear();
        }
    }
    out.write_all(&buf).expect("write");
    records
}

// ----- the engine path -------------------------------------------------------------------------

fn engine(mapper: &RecordMapper, pages: &[Vec<u8>], n: usize, out: &mut Count) -> usize {
    let names: Arc<[Arc<str>]> = mapper.attribute_names().clone();
    let mut sink = JsonLines::new(std::mem::take(out));
    let mut records = 0;
    for k in 0..n {
        let body = &pages[k % pages.len()];
        let doc = Doc::parse(body).expect("engine parse");
        for rec in mapper.map_page(&doc) {
            let rec = rec.expect("map");
            sink.write(&rec, &names).expect("write");
            records += 1;
        }
    }
    *out = sink.into_inner().expect("flush");
    records
}

fn projection(writer: &mut PageWriter, pages: &[Vec<u8>], n: usize, out: &mut Count) -> usize {
    let mut records = 0;
    for k in 0..n {
        let mut lines = Lines::default();
        writer
            .write_page(&pages[k % pages.len()], &mut lines)
            .expect("projection");
        records += lines.len();
        out.write_all(lines.as_bytes()).expect("write");
    }
    records
}

fn rate(records: usize, d: Duration) -> f64 {
    records as f64 / d.as_secs_f64()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let per_round: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(400);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);

    let mapper = demo_mapper();

    let pages: Vec<Vec<u8>> = (0..DISTINCT_PAGES).map(|p| page(p * PAGE)).collect();
    let bytes: usize = pages.iter().map(Vec::len).sum::<usize>() / pages.len();

    // The two paths must produce the same bytes (demo.yaml's 9 attributes are mirrored by the
    // baseline structs; `employeeNumber` typed int, `active` bool, `groups` multi).
    let mut eo = JsonLines::new(Vec::new());
    let doc = Doc::parse(&pages[0]).expect("parse");
    for r in mapper.map_page(&doc) {
        eo.write(&r.expect("map"), mapper.attribute_names())
            .expect("write");
    }
    let engine_text = eo.into_inner().expect("flush");
    let mut bt = Vec::new();
    baseline_page(&pages[0], &mut bt);
    assert_eq!(
        String::from_utf8_lossy(&engine_text),
        String::from_utf8_lossy(&bt),
        "engine and baseline outputs differ"
    );
    let mut writer = PageWriter::new(std::sync::Arc::new(demo_mapper()))
        .expect("the demo mapping compiles to a projection");
    let mut pl = Lines::default();
    writer.write_page(&pages[0], &mut pl).expect("projection");
    assert_eq!(
        String::from_utf8_lossy(pl.as_bytes()),
        String::from_utf8_lossy(&bt),
        "projection and baseline outputs differ"
    );
    println!(
        "page: {PAGE} users, {bytes} bytes; {} attributes; {per_round} pages x {rounds} rounds per path; outputs identical ({} bytes/page)",
        mapper.attribute_names().len(),
        bt.len()
    );

    // Rounds of `per_round` pages per path; inside a round the paths alternate in chunks of
    // CHUNK pages so all see the same machine load (the box is shared).
    const CHUNK: usize = 10;
    let mut rounds_e = Vec::new();
    let mut rounds_p = Vec::new();
    let mut rounds_b = Vec::new();
    let mut sink_e = Count::default();
    let mut sink_p = Count::default();
    let mut sink_b = Count::default();
    let mut recs = 0;
    for _ in 0..rounds {
        let (mut de, mut dp, mut db) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        recs = 0;
        for _ in 0..per_round.div_ceil(CHUNK) {
            let t = Instant::now();
            black_box(baseline(&pages, CHUNK, &mut sink_b));
            db += t.elapsed();
            let t = Instant::now();
            recs += black_box(projection(&mut writer, &pages, CHUNK, &mut sink_p));
            dp += t.elapsed();
            let t = Instant::now();
            black_box(engine(&mapper, &pages, CHUNK, &mut sink_e));
            de += t.elapsed();
        }
        rounds_e.push(de);
        rounds_p.push(dp);
        rounds_b.push(db);
    }
    rounds_e.sort();
    rounds_p.sort();
    rounds_b.sort();
    let total = |v: &[Duration]| v.iter().sum::<Duration>();
    let show = |label: &str, v: &[Duration]| {
        println!(
            "{label}: best {:>8.0} rec/s, median {:>8.0} rec/s, overall {:>8.0} rec/s; ratio to the baseline: best {:.2}, median {:.2}",
            rate(recs, v[0]),
            rate(recs, v[v.len() / 2]),
            rate(recs * v.len(), total(v)),
            rounds_b[0].as_secs_f64() / v[0].as_secs_f64(),
            rounds_b[v.len() / 2].as_secs_f64() / v[v.len() / 2].as_secs_f64(),
        );
    };
    show("baseline (typed borrowed serde)  ", &rounds_b);
    show("engine, projection (PageWriter)  ", &rounds_p);
    show("engine, ordinary (Doc + mapper)  ", &rounds_e);
    println!(
        "(bytes written: baseline {}, projection {}, ordinary {})",
        sink_b.0, sink_p.0, sink_e.0
    );

    // Where the time goes (best of `rounds`, per page of 250 records).
    let best = |f: &mut dyn FnMut()| {
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..CHUNK * 4 {
                    f();
                }
                t.elapsed() / (CHUNK as u32 * 4)
            })
            .min()
            .unwrap_or_default()
    };
    let p0 = &pages[0];
    let parse_typed = best(&mut || {
        black_box(serde_json::from_slice::<BPage<'_>>(black_box(p0)).expect("parse"));
    });
    let parse_value = best(&mut || {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(p0)).expect("parse"));
    });
    let parse_doc = best(&mut || {
        black_box(Doc::parse(black_box(p0)).expect("parse"));
    });
    let doc = Doc::parse(p0).expect("parse");
    let map_only = best(&mut || {
        for r in mapper.map_page(&doc) {
            black_box(r.expect("map"));
        }
    });
    let records: Vec<_> = mapper
        .map_page(&doc)
        .collect::<Result<_, _>>()
        .expect("map");
    let mut out = Vec::with_capacity(1 << 17);
    let write_only = best(&mut || {
        out.clear();
        for r in &records {
            wsc_engine::output::write_record_json(&mut out, r, mapper.attribute_names());
            out.push(b'\n');
        }
        black_box(&out);
    });
    let mut lines = Lines::default();
    let projected = best(&mut || {
        lines = Lines::default();
        writer
            .write_page(black_box(p0), &mut lines)
            .expect("projection");
        black_box(&lines);
    });
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "per page: parse typed {:.0} us | parse serde_json::Value {:.0} us | parse Doc {:.0} us | map {:.0} us | write JSONL {:.0} us | projection (parse into the tape and write) {:.0} us",
        us(parse_typed),
        us(parse_value),
        us(parse_doc),
        us(map_only),
        us(write_only),
        us(projected)
    );
}
