//! Heap allocations per record of an aggregation written as JSON Lines, counted by a counting
//! global allocator: the plain path (no hooks, no templates, simple paths) writes records
//! straight from the pages, so a record costs at most two allocations, everything included
//! (requests, responses, channels, the duplicate check, the output), one page at a time and
//! with pages in flight.
//!
//! The client runs on this test's thread (a current-thread runtime) and the synthetic API on
//! a runtime of its own, so the count of this thread is the client's.

mod common;

use common::*;
use wsc_engine::output::{self, Format};
use wsc_engine::{Chunk, Engine};

#[global_allocator]
static ALLOC: wsc_hooks::HookAllocator = wsc_hooks::HookAllocator;

const USERS: usize = 20_000;

/// The benchmark's mapping: eight attributes, nested paths, a bool, an int, a list.
fn connector(paging: &str) -> String {
    format!(
        r#"{HEADER}operations:
  account_aggregation:
    request:
      path: /users/offset
      query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
    paging: {paging}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
    attributes:
      displayName: "$.displayName"
      givenName: "$.name.givenName"
      familyName: "$.name.familyName"
      email: "$.emails[0].value"
      active: {{ path: "$.active", type: bool }}
      department: "$.department"
      employeeNumber: {{ path: "$.employeeNumber", type: int }}
      groups: {{ path: "$.groups[*]", multi: true }}
"#
    )
}

/// Aggregates every user into a JSON Lines sink; returns the records and the allocations this
/// thread made meanwhile.
async fn run(e: &Engine) -> (u64, u64) {
    let names = e.attribute_names("account_aggregation").unwrap();
    let mut sink = output::sink(Format::JsonLines, std::io::sink());
    let before = wsc_hooks::thread_allocations();
    let mut stream = e.aggregate_lines("account", None).await.unwrap();
    let mut n = 0u64;
    while let Some(chunk) = stream.next_chunk().await {
        match chunk.unwrap() {
            Chunk::Lines(l) => {
                n += l.len() as u64;
                sink.write_lines(l.as_bytes()).unwrap();
            }
            Chunk::Records(rs) => {
                n += rs.len() as u64;
                for r in &rs {
                    sink.write(r, &names).unwrap();
                }
            }
        }
    }
    stream.finish().await.unwrap();
    sink.finish().unwrap();
    (n, wsc_hooks::thread_allocations() - before)
}

#[test]
fn the_plain_path_makes_at_most_two_allocations_per_record() {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let api = server.block_on(start(config(USERS).with_max_page_size(250)));
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(
        wsc_hooks::thread_allocations() > 0,
        "the counting allocator is installed"
    );
    for paging in [
        "{ kind: offset, limit: 250 }",
        "{ kind: offset, limit: 250, total: \"$.total\", concurrency: 4 }",
    ] {
        let yaml = connector(paging);
        let e = engine(&yaml, &api.base_url());
        let (n, per_run) = client.block_on(async {
            // The first run opens the connection and grows the buffers the next ones reuse.
            run(&e).await;
            run(&e).await
        });
        assert_eq!(n, USERS as u64);
        let per_record = per_run as f64 / n as f64;
        eprintln!("{paging}: {per_run} allocations for {n} records, {per_record:.2} per record");
        assert!(
            per_record <= 2.0,
            "{paging}: {per_record:.2} allocations per record"
        );
    }
}

/// Aggregates `users` users in pages of `limit`, one at a time or 4 in flight; returns the
/// most bytes this thread held at once during the run (the client's heap at its peak).
fn peak_held(users: usize, limit: usize, in_flight: bool) -> i64 {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let api = server.block_on(start(config(users).with_max_page_size(limit)));
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let yaml = connector(&if in_flight {
        format!("{{ kind: offset, limit: {limit}, total: \"$.total\", concurrency: 4 }}")
    } else {
        format!("{{ kind: offset, limit: {limit} }}")
    });
    let e = engine(&yaml, &api.base_url());
    let (n, _) = client.block_on(async {
        // The first run opens the connection and grows the buffers the next one reuses.
        run(&e).await;
        wsc_hooks::reset_thread_peak();
        run(&e).await
    });
    assert_eq!(n, users as u64);
    wsc_hooks::thread_peak()
}

/// The client's heap at its peak does not grow with the number of pages: six times the users
/// (and pages) may not raise it by more than 512 KiB (it moves by up to about 300 KiB from
/// run to run, with the pages that happen to be in flight and queued). Both sizes are above
/// the duplicate check's spill threshold (32,768 identities) and below its first merge
/// (262,144), so its memory is the same in both; small pages make anything kept per page
/// show: a state kept for every page of a known total (about 136 bytes each) made the large
/// run's peak 1.1 MiB higher.
#[test]
fn the_heap_stays_flat_as_pages_grow() {
    assert!(
        wsc_hooks::thread_allocations() > 0,
        "the counting allocator is installed"
    );
    for in_flight in [false, true] {
        let small = peak_held(40_000, 25, in_flight);
        let large = peak_held(240_000, 25, in_flight);
        let how = if in_flight {
            "4 in flight"
        } else {
            "one at a time"
        };
        eprintln!("{how}: peak heap held {small} bytes at 1,600 pages, {large} at 9,600");
        assert!(
            large - small <= 512 << 10,
            "{how}: the peak heap grew from {small} to {large} bytes between 1,600 and 9,600 pages"
        );
    }
}
