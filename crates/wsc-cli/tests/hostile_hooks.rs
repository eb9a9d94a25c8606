//! Hostile hooks through the real `wsc` binary (issue 14): each one makes `wsc aggregate`
//! exit 1 with a message naming the hook (never abort with a signal), stays far under 200 MB
//! of memory, and no secret value appears in stdout, stderr or an output file. Memory is the
//! peak resident size (`VmHWM`) read from /proc while the process runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::*;
use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};

const TOKEN: &str = "hook-secret-Qx81vT3m";

fn connector(script_file: &str) -> String {
    format!(
        r#"connector: hostile
settings:
  base_url: {{}}
  token: {{ secret: true }}
base_url: "{{{{settings.base_url}}}}/api"
auth: {{ type: bearer, token: "{{{{settings.token}}}}" }}
operations:
  account_aggregation:
    request:
      path: /users/offset
      query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
    paging: {{ kind: offset, limit: 20, total: "$.total" }}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
    hooks:
      after: {{ file: {script_file} }}
"#
    )
}

struct Run {
    out: Output,
    peak_kib: u64,
    out_file: PathBuf,
}

/// Runs `wsc aggregate` with the hook `script`, watching the process's peak memory.
fn run(dir: &Path, base_url: &str, script: &str) -> Run {
    std::fs::write(dir.join("hook.rhai"), script).unwrap();
    let conn = dir.join("c.yaml");
    std::fs::write(&conn, connector("hook.rhai")).unwrap();
    let out_file = dir.join("out.jsonl");
    let _ = std::fs::remove_file(&out_file);
    let child = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(["--set", &format!("base_url={base_url}")])
        .args(["--set", &format!("token={TOKEN}")])
        .arg("--out")
        .arg(&out_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, peak_kib) = output_with_peak_kib(child);
    Run {
        out,
        peak_kib,
        out_file,
    }
}

fn assert_contained(what: &str, r: &Run, expect: &str) {
    let o = &r.out;
    assert_eq!(o.status.code(), Some(1), "{what}: {}", show(o));
    let err = text(&o.stderr);
    assert!(
        err.contains("hook `operations.account_aggregation.hooks.after`"),
        "{what}: names the hook: {}",
        show(o)
    );
    assert!(
        err.contains("hook.rhai:"),
        "{what}: names the file: {}",
        show(o)
    );
    assert!(
        err.contains(expect),
        "{what}: expected {expect}: {}",
        show(o)
    );
    assert!(
        r.peak_kib < 200 * 1024,
        "{what}: peak memory {} KiB",
        r.peak_kib
    );
    assert!(!text(&o.stdout).contains(TOKEN), "{what}: secret in stdout");
    assert!(!err.contains(TOKEN), "{what}: secret in stderr");
    assert!(!r.out_file.exists(), "{what}: no output file on failure");
    eprintln!("{what}: exit 1, peak {} KiB", r.peak_kib);
}

#[test]
fn hostile_hooks_fail_cleanly() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt
        .block_on(SyntheticApi::start(
            SyntheticConfig::new(45).with_auth(AuthMode::Bearer(TOKEN.into())),
        ))
        .unwrap();
    let base = api.base_url();
    let dir = scratch("hostile-hooks");
    let cases = [
        (
            "deep value in state",
            "let a = [];\nfor i in 0..300 {\n  a = [a];\n}\nstate.deep = a;\n",
            "limits.max_depth",
        ),
        (
            "deep value in a variable",
            "let a = [];\nloop {\n  a = [a];\n}\n",
            "limits.max_",
        ),
        (
            "8 MiB strings into 600 slots",
            "let s = \"x\";\nfor i in 0..23 {\n  s += s;\n}\nlet a = [];\na.pad(600, ());\nfor i in 0..600 {\n  a[i] = s + i;\n}\n",
            "limits.max_memory",
        ),
        (
            "json_stringify of a large array in a loop",
            "let a = [];\na.pad(200000, 1);\nloop {\n  let s = json_stringify(a);\n}\n",
            "limits.max_duration",
        ),
        (
            "secret thrown",
            "throw \"x=\" + settings.token;\n",
            "x=[redacted]",
        ),
        (
            "secret logged, then a runtime error about it",
            "log_warn(settings.token);\nlet m = #{};\nlet y = m[settings.token].z;\n",
            "failed",
        ),
    ];
    for (what, script, expect) in cases {
        let r = run(&dir, &base, script);
        assert_contained(what, &r, expect);
    }
    rt.block_on(api.shutdown());
}

/// 30 `log_warn` calls of an 8 MiB string put 240 MiB on stderr (even without `-v`); the
/// output is capped. A secret put into a record is redacted in the output file.
#[test]
fn hook_logs_are_capped_and_records_redacted() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt
        .block_on(SyntheticApi::start(
            SyntheticConfig::new(45).with_auth(AuthMode::Bearer(TOKEN.into())),
        ))
        .unwrap();
    let dir = scratch("hook-logs");
    let r = run(
        &dir,
        &api.base_url(),
        "let s = \"x\";\nfor i in 0..23 {\n  s += s;\n}\nfor i in 0..30 {\n  log_warn(s);\n}\nrecords.for_each(|| this.name = `t=${settings.token}`);\n",
    );
    let o = &r.out;
    assert_eq!(o.status.code(), Some(0), "{}", show(o));
    assert!(
        o.stderr.len() < 2 * 1024 * 1024,
        "{} bytes on stderr",
        o.stderr.len()
    );
    // 3 pages × 30 messages, each cut at 4 KiB: about 370 KB instead of 720 MiB.
    let err = text(&o.stderr);
    assert_eq!(
        err.matches("(8384512 more bytes dropped; limits.max_log_message)")
            .count(),
        90
    );
    let body = std::fs::read_to_string(&r.out_file).unwrap();
    assert_eq!(body.lines().count(), 45);
    assert!(!body.contains(TOKEN), "secret in the output file");
    assert!(
        body.contains("t=[redacted]"),
        "{}",
        body.lines().next().unwrap()
    );
    assert!(!text(&o.stderr).contains(TOKEN));
    assert!(r.peak_kib < 200 * 1024, "peak memory {} KiB", r.peak_kib);
    rt.block_on(api.shutdown());
}
