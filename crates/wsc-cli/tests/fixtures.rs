//! `wsc record` against the synthetic API and `wsc test` replaying the recording: same
//! records as the live run, no secret or token in any written file, and a changed field in
//! a fixture response fails with a diff naming the connector, the operation and the field.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use serde_json::Value;
use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};

const CLIENT_ID: &str = "rec-client";
const SECRET: &str = "s3cr3t-never-in-a-cassette-9f1c";

struct Api {
    rt: tokio::runtime::Runtime,
    api: Option<SyntheticApi>,
}

impl Api {
    fn start() -> Api {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let config = SyntheticConfig::new(23)
            .with_groups(4)
            .with_auth(AuthMode::oauth2(CLIENT_ID, SECRET));
        let api = rt.block_on(SyntheticApi::start(config)).unwrap();
        Api { rt, api: Some(api) }
    }

    fn base_url(&self) -> String {
        self.api.as_ref().unwrap().base_url()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            self.rt.block_on(api.shutdown());
        }
    }
}

fn settings(api: &Api) -> Vec<String> {
    vec![
        "--set".into(),
        format!("base_url={}", api.base_url()),
        "--set".into(),
        format!("client_id={CLIENT_ID}"),
        "--set".into(),
        format!("client_secret={SECRET}"),
    ]
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A 32-hex-digit run (the synthetic API's access tokens).
fn has_token_like(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run += 1;
            if run >= 32 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[test]
fn record_then_replay_gives_the_live_records_and_no_secret() {
    let api = Api::start();
    let dir = scratch("record");
    for op in [
        "account_aggregation",
        "group_aggregation.group",
        "test_connection",
    ] {
        let out = wsc()
            .args(["record", "connectors/demo.yaml", "--op", op, "--out"])
            .arg(&dir)
            .args(settings(&api))
            .output()
            .unwrap();
        assert!(out.status.success(), "{op}: {}", show(&out));
    }
    let out = wsc()
        .args([
            "record",
            "connectors/demo.yaml",
            "--op",
            "get_object.account",
            "--identity",
            "u0000007",
            "--out",
        ])
        .arg(&dir)
        .args(settings(&api))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));

    // The live records, for comparison.
    let live = wsc()
        .args([
            "aggregate",
            "connectors/demo.yaml",
            "--format",
            "json",
            "--state",
            "none",
        ])
        .args(settings(&api))
        .output()
        .unwrap();
    assert!(live.status.success(), "{}", show(&live));
    let live: Value = serde_json::from_slice(&live.stdout).unwrap();
    drop(api);

    // No secret, no token, no Basic credential in anything written.
    let basic = base64_of(&format!("{CLIENT_ID}:{SECRET}"));
    for f in all_files(&dir) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains(SECRET),
            "{} holds the client secret",
            f.display()
        );
        assert!(
            !text.contains(&basic),
            "{} holds the Basic credential",
            f.display()
        );
        assert!(
            !has_token_like(&text),
            "{} holds a token:\n{text}",
            f.display()
        );
    }
    let cassette = std::fs::read_to_string(dir.join("cassettes/account_aggregation.yaml")).unwrap();
    assert!(cassette.contains("<redacted:access_token>"), "{cassette}");
    assert!(cassette.contains("/oauth/token"), "{cassette}");

    // Replay (the API is gone): snapshots are written, then match.
    let out = wsc()
        .args(["test", "connectors/demo.yaml", "--update", "--fixtures"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let out = wsc()
        .args(["test", "connectors/demo.yaml", "--fixtures"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("4 case(s), 4 passed, 0 failed"),
        "{}",
        show(&out)
    );
    let snap =
        std::fs::read_to_string(dir.join("snapshots/account_aggregation.records.snap")).unwrap();
    let replayed: Value = serde_json::from_str(&wsc_fixtures::snap::contents_of(&snap)).unwrap();
    assert_eq!(replayed, live, "replayed records differ from the live run");
    assert_eq!(replayed.as_array().unwrap().len(), 23);

    // One changed field in a response: a failing diff naming connector, operation, field.
    let path = dir.join("cassettes/account_aggregation.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (before, after) = text.split_once("department: ").unwrap();
    let rest = after.split_once('\n').unwrap().1;
    std::fs::write(&path, format!("{before}department: Moon Base\n{rest}")).unwrap();
    let out = wsc()
        .args(["test", "connectors/demo.yaml", "--fixtures"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("connector `demo`"), "{stdout}");
    assert!(
        stdout.contains("operation `account_aggregation`"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("+") && l.contains("\"department\": \"Moon Base\"")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains(" - ") && l.contains("\"department\"")),
        "{stdout}"
    );
    assert!(stdout.contains("1 failed"), "{stdout}");
}

#[test]
fn missing_snapshot_and_unknown_fixture_dir_are_clear() {
    let dir = scratch("nosnap");
    std::fs::create_dir_all(dir.join("cassettes")).unwrap();
    std::fs::write(
        dir.join("cassettes/c.yaml"),
        "interactions:\n  - request: { method: GET, path: /api/me }\n    response: { body: { id: me } }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("tc.case.yaml"),
        "operation: test_connection\nsettings: { base_url: http://api.test, client_secret: x }\ncassette: cassettes/c.yaml\n",
    )
    .unwrap();
    let out = wsc()
        .args(["test", "connectors/demo.yaml", "--fixtures"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no records snapshot yet"), "{stdout}");
    // The token request matched nothing: the replay report says so.
    assert!(
        stdout.contains("unmatched request: POST /oauth/token"),
        "{stdout}"
    );

    let out = wsc()
        .args([
            "test",
            "connectors/demo.yaml",
            "--fixtures",
            "/nonexistent/dir",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

fn base64_of(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &x| (acc << 8) | x as u32) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn hook_state_persists_across_runs() {
    let api = Api::start();
    let dir = scratch("state");
    let connector = dir.join("counting.yaml");
    let demo = std::fs::read_to_string(root().join("connectors/demo.yaml")).unwrap();
    // The demo connector plus an after hook on the account aggregation that counts runs in
    // the connector state and stamps each record with the count.
    let hook = "    hooks:\n      after_operation:\n        script: |\n          state.runs = if \"runs\" in state { state.runs + 1 } else { 1 };\n      after:\n        script: |\n          let n = if \"runs\" in state { state.runs + 1 } else { 1 };\n          for i in 0..records.len() { records[i].attributes.run = n; }\n";
    let text = demo.replacen(
        "  account_aggregation:\n",
        &format!("  account_aggregation:\n{hook}"),
        1,
    );
    let text = text.replacen(
        "    attributes:\n",
        "    attributes:\n      run: { value: 0, type: int }\n",
        1,
    );
    std::fs::write(&connector, text).unwrap();
    let state = dir.join("state.db");
    for expected in [1, 2, 3] {
        let out = wsc()
            .arg("aggregate")
            .arg(&connector)
            .arg("--state")
            .arg(&state)
            .args(settings(&api))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        let first: Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap())
                .unwrap();
        assert_eq!(first["attributes"]["run"], expected, "{first}");
    }
}

#[test]
fn validate_reports_hook_errors_with_connector_line_and_column() {
    let dir = scratch("hookerr");
    let file = dir.join("c.yaml");
    std::fs::write(
        &file,
        "connector: hv\nbase_url: https://x.test\noperations:\n  account_aggregation:\n    request: { path: /users }\n    records: \"$[*]\"\n    identity: \"$.id\"\n    hooks:\n      after:\n        script: |\n          let n = records.len();\n          recrods.retain(|r| true);\n",
    )
    .unwrap();
    let out = wsc().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("c.yaml:12:11"), "{err}");
    assert!(err.contains("unknown variable `recrods`"), "{err}");
}
