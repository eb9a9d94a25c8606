//! The shrink guard end to end: an aggregation that delivers far fewer records than the
//! previous complete run of the same instance fails and leaves `--out` as it was; a full
//! aggregation and a snapshot delta each keep their own history. Against the synthetic API.

mod common;
use common::*;

use std::path::Path;
use std::process::Output;

use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};

const TOKEN: &str = "shrink-bearer-T4kq";

/// One tenant (`instance: [tenant]`), whatever port the API of the moment listens on.
const CONNECTOR: &str = r#"connector: shrink_it
settings:
  base_url: {}
  token: { secret: true }
  tenant: { default: acme }
instance: [tenant]
base_url: "{{settings.base_url}}/api"
auth: { type: bearer, token: "{{settings.token}}" }
operations:
  account_aggregation:
    request:
      path: /users/offset
      query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
    paging: { kind: offset, limit: 25, total: "$.total" }
    records: "$.items[*]"
    identity: "$.id"
    attributes:
      email: "$.emails[0].value"
"#;

/// Runs `wsc aggregate` against a synthetic API holding `users` accounts.
fn aggregate(dir: &Path, users: usize, extra: &[&str]) -> Output {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt
        .block_on(SyntheticApi::start(
            SyntheticConfig::new(users).with_auth(AuthMode::Bearer(TOKEN.into())),
        ))
        .unwrap();
    let out = wsc()
        .arg("aggregate")
        .arg(dir.join("c.yaml"))
        .args(["--set", &format!("base_url={}", api.base_url())])
        .args(["--set", &format!("token={TOKEN}")])
        .arg("--state")
        .arg(dir.join("state.db"))
        .args(extra)
        .output()
        .unwrap();
    rt.block_on(api.shutdown());
    out
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).unwrap().lines().count()
}

#[test]
fn a_run_that_shrinks_past_the_limit_fails_and_keeps_the_previous_output() {
    let dir = scratch("full");
    std::fs::write(dir.join("c.yaml"), CONNECTOR).unwrap();
    let out_file = dir.join("accounts.jsonl");
    let out_arg = out_file.to_str().unwrap();

    let first = aggregate(&dir, 100, &["--out", out_arg]);
    assert_eq!(code(&first), 0, "{}", show(&first));
    assert_eq!(lines(&out_file), 100);

    // 91 of 100: within the default 10 %.
    let ok = aggregate(&dir, 91, &["--out", out_arg]);
    assert_eq!(code(&ok), 0, "{}", show(&ok));
    assert_eq!(lines(&out_file), 91);

    // 60 of 91 is 35 % fewer: the run fails, the file keeps the 91 records.
    let shrunk = aggregate(&dir, 60, &["--out", out_arg]);
    assert_eq!(code(&shrunk), 1, "{}", show(&shrunk));
    let err = text(&shrunk.stderr);
    for want in [
        "account: this run delivered 60 records, the previous complete run",
        "delivered 91: 35% fewer, more than the 10% the guard allows",
        "--max-shrink 35",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
    assert_eq!(lines(&out_file), 91, "--out was left as it was");
    // The failed run is not history: the same drop fails again.
    let again = aggregate(&dir, 60, &["--out", out_arg]);
    assert_eq!(code(&again), 1, "{}", show(&again));

    // Allowed on the command line: the run completes and becomes the new baseline.
    let allowed = aggregate(&dir, 60, &["--out", out_arg, "--max-shrink", "35"]);
    assert_eq!(code(&allowed), 0, "{}", show(&allowed));
    assert_eq!(lines(&out_file), 60);
    let steady = aggregate(&dir, 60, &["--out", out_arg]);
    assert_eq!(code(&steady), 0, "{}", show(&steady));

    // A connector default.
    std::fs::write(
        dir.join("c.yaml"),
        CONNECTOR.replace(
            "    records: \"$.items[*]\"",
            "    max_shrink: 50\n    records: \"$.items[*]\"",
        ),
    )
    .unwrap();
    let half = aggregate(&dir, 31, &["--out", out_arg]);
    assert_eq!(code(&half), 0, "{}", show(&half));
    let bad = aggregate(&dir, 15, &["--out", out_arg]);
    assert_eq!(code(&bad), 1, "{}", show(&bad));
    assert!(
        text(&bad.stderr).contains("more than the 50%"),
        "{}",
        show(&bad)
    );

    // Out of range on the command line.
    let range = aggregate(&dir, 15, &["--max-shrink", "101"]);
    assert_eq!(code(&range), 2, "{}", show(&range));
}

#[test]
fn a_delta_whose_source_shrank_writes_no_deletions() {
    let dir = scratch("delta");
    std::fs::write(dir.join("c.yaml"), CONNECTOR).unwrap();
    let out_file = dir.join("changes.jsonl");
    let out_arg = out_file.to_str().unwrap();
    let first = aggregate(&dir, 50, &["--delta", "--out", out_arg]);
    assert_eq!(code(&first), 0, "{}", show(&first));
    assert_eq!(lines(&out_file), 50, "all created");
    // 20 of 50 would be 30 deletions: refused, the snapshot kept.
    let shrunk = aggregate(&dir, 20, &["--delta", "--out", out_arg]);
    assert_eq!(code(&shrunk), 1, "{}", show(&shrunk));
    assert!(
        text(&shrunk.stderr).contains("the previous snapshot delivered 50: 60% fewer"),
        "{}",
        show(&shrunk)
    );
    assert_eq!(lines(&out_file), 50, "--out was left as it was");
    let allowed = aggregate(
        &dir,
        20,
        &["--delta", "--out", out_arg, "--max-shrink", "100"],
    );
    assert_eq!(code(&allowed), 0, "{}", show(&allowed));
    assert_eq!(lines(&out_file), 30, "30 deletions");
}
