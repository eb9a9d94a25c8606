//! The duplicate-identity check of a run longer than the in-memory set holds (32,768
//! identities): with `on_duplicate: error` the set is written out to a temporary file as
//! sorted runs, so memory stays flat, and a repeat whose first copy went to disk is found when
//! the run ends — the run fails there, as records or as JSON Lines. A run without repeats
//! still succeeds; `warn` keeps every identity in memory and drops the repeat as it arrives.
//! Two partitions read users by index: `a` reads users 0 to N-1, `b` one more user.

mod common;

use common::*;
use wsc_engine::{Chunk, Engine};
use wsc_testkit::synthetic::user_id;

/// More users than the in-memory set holds (idspill::SPILL_AT = 32,768).
const N: usize = 131_072 + 2_000;

fn connector(b_from: usize, on_duplicate: &str) -> String {
    let ops = format!(
        r#"operations:
  account_aggregation:
    on_duplicate: {on_duplicate}
    partitions:
      list:
        - {{ name: a, from: 0, to: {N} }}
        - {{ name: b, from: {b_from}, to: {b_to} }}
      concurrency: 1
    request:
      path: /users/offset
      query:
        offset: "{{{{page.offset}}}}"
        limit: "{{{{page.limit}}}}"
        from: "{{{{partition.from}}}}"
        to: "{{{{partition.to}}}}"
    paging: {{ kind: offset, limit: 5000, total: "$.total" }}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
"#,
        b_to = b_from + 1
    );
    format!("{HEADER}{FAST_HTTP}{ops}")
}

/// Runs the aggregation as JSON Lines: the lines received and the error that ended it.
async fn lines(engine: &Engine) -> (usize, Option<String>) {
    let mut stream = engine.aggregate_lines("account", None).await.unwrap();
    let mut n = 0;
    let mut error = None;
    while let Some(chunk) = stream.next_chunk().await {
        match chunk {
            Ok(Chunk::Lines(l)) => n += l.len(),
            Ok(Chunk::Records(r)) => n += r.len(),
            Err(e) => error = Some(e.to_string()),
        }
    }
    if let Err(e) = stream.finish().await {
        error.get_or_insert(e.to_string());
    }
    (n, error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_far_from_its_first_copy_fails_the_run_at_its_end() {
    let api = start(config(N + 1).with_max_page_size(5000)).await;
    let base = api.base_url();

    // User 0 again, 134,072 records after its first copy (long written out to disk).
    let run = engine(&connector(0, "error"), &base);
    let (records, error) = aggregate_partial(&run, "account", None).await;
    let error = error.expect("the run fails").to_string();
    assert!(
        error.contains("an identity was delivered twice in this run"),
        "{error}"
    );
    assert!(error.contains("on_duplicate: warn"), "{error}");
    // Every record was delivered before the end-of-run check failed it.
    assert_eq!(records.len(), N + 1);

    let run = engine(&connector(0, "error"), &base);
    let (n, error) = lines(&run).await;
    assert_eq!(n, N + 1);
    let error = error.expect("the JSON Lines run fails too");
    assert!(
        error.contains("an identity was delivered twice in this run"),
        "{error}"
    );

    // No repeat: user N read by `b`. The runs on disk are checked and the run succeeds.
    let run = engine(&connector(N, "error"), &base);
    let records = aggregate(&run, "account", None).await.unwrap();
    assert_eq!(records.len(), N + 1);
    assert_eq!(records[N].identity, user_id(N));

    // `warn`: every identity stays in memory, the repeat is dropped as it arrives and named.
    let run = engine(&connector(0, "warn"), &base);
    let records = aggregate(&run, "account", None).await.unwrap();
    assert_eq!(records.len(), N);
    let summary = run.summary();
    assert_eq!(summary.duplicates, 1);
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains(&format!("account `{}` was delivered twice", user_id(0)))),
        "{:?}",
        summary.warnings
    );
    api.shutdown().await;
}
