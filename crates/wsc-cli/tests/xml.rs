//! XML responses through the real `wsc` binary: an XML aggregation end to end (`wsc aggregate
//! --out`), and hostile XML bodies (billion laughs, 10,000 nested elements, an external entity
//! naming /etc/passwd) that make the run exit 1 with the limit named, no output file, and a
//! peak resident size (`VmHWM`, read from /proc while the process runs) under 100 MB.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::*;
use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig, user};

const TOKEN: &str = "xml-secret-8Rq2Lw";

fn connector(request: &str, records: &str) -> String {
    format!(
        r#"connector: xmlusers
settings:
  base_url: {{}}
  token: {{ secret: true }}
base_url: "{{{{settings.base_url}}}}/api"
auth: {{ type: bearer, token: "{{{{settings.token}}}}" }}
http:
  retry: {{ max_attempts: 2, initial_backoff: 1ms, max_backoff: 2ms }}
namespaces:
  u: "urn:wsc:synthetic:users"
operations:
  account_aggregation:
    format: xml
{request}
    records: "{records}"
    identity: "@id"
    name: "u:userName"
    attributes:
      email: "u:email"
      active: {{ path: "@active", type: bool }}
      employeeNumber: {{ path: "u:employeeNumber", type: int }}
      groups: {{ path: "u:groups/u:group", multi: true }}
    entitlements:
      - {{ attribute: groups }}
"#
    )
}

const PAGED: &str = r#"    request:
      path: /xml/users
      query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
    paging: { kind: offset, limit: 20, total: "/u:users/@total" }"#;

struct Run {
    out: Output,
    peak_kib: u64,
    out_file: PathBuf,
}

/// Runs `wsc aggregate` on `yaml`, watching the process's peak memory.
fn run(dir: &Path, base_url: &str, yaml: &str) -> Run {
    let conn = dir.join("c.yaml");
    std::fs::write(&conn, yaml).unwrap();
    let out_file = dir.join("out.jsonl");
    let _ = std::fs::remove_file(&out_file);
    let child = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(["--state", "none"])
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

fn api(users: usize) -> (tokio::runtime::Runtime, SyntheticApi) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt
        .block_on(SyntheticApi::start(
            SyntheticConfig::new(users).with_auth(AuthMode::Bearer(TOKEN.into())),
        ))
        .unwrap();
    (rt, api)
}

#[test]
fn xml_aggregation_end_to_end() {
    let (rt, api) = api(57);
    let cfg = SyntheticConfig::new(57);
    let dir = scratch("xml-e2e");
    let r = run(&dir, &api.base_url(), &connector(PAGED, "/u:users/u:user"));
    assert_eq!(code(&r.out), 0, "{}", show(&r.out));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&r.out_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 57);
    for (i, l) in lines.iter().enumerate() {
        let u = user(&cfg, i);
        assert_eq!(l["identity"], u.id.as_str(), "{l}");
        assert_eq!(l["name"], u.user_name.as_str(), "{l}");
        let a = &l["attributes"];
        assert_eq!(a["email"], u.emails[0].value.as_str(), "{l}");
        assert_eq!(a["active"], u.active, "{l}");
        assert_eq!(a["employeeNumber"], u.employee_number, "{l}");
        assert_eq!(a["groups"], serde_json::json!(u.groups), "{l}");
    }
    eprintln!("XML aggregation of 57 users: peak {} KiB", r.peak_kib);
    rt.block_on(api.shutdown());
}

#[test]
fn hostile_xml_fails_cleanly_under_100_mb() {
    let (rt, api) = api(1);
    let dir = scratch("xml-hostile");
    for (kind, want) in [
        ("laughs", "has a DOCTYPE, which wsc refuses"),
        ("deep", "nests elements deeper than 256 levels"),
        ("xxe", "has a DOCTYPE, which wsc refuses"),
    ] {
        let request = format!("    request: {{ path: /xml/hostile, query: {{ kind: {kind} }} }}");
        let r = run(&dir, &api.base_url(), &connector(&request, "/users/user"));
        let o = &r.out;
        assert_eq!(code(o), 1, "{kind}: {}", show(o));
        let err = text(&o.stderr);
        assert!(err.contains(want), "{kind}: {}", show(o));
        assert!(
            err.contains("operation `account_aggregation`"),
            "{kind}: {}",
            show(o)
        );
        assert!(
            !err.contains("root:x:"),
            "{kind}: /etc/passwd read: {}",
            show(o)
        );
        assert!(!r.out_file.exists(), "{kind}: no output file on failure");
        assert!(r.peak_kib > 0, "{kind}: memory was watched");
        assert!(
            r.peak_kib < 100 * 1024,
            "{kind}: peak memory {} KiB",
            r.peak_kib
        );
        eprintln!("{kind}: exit 1, peak {} KiB", r.peak_kib);
    }
    rt.block_on(api.shutdown());
}

#[test]
fn soap_fault_fails_the_run_with_its_fault_string() {
    let (rt, api) = api(1);
    let dir = scratch("xml-fault");
    let request = "    request: { path: /xml/fault, query: { version: \"12\" } }";
    let r = run(&dir, &api.base_url(), &connector(request, "/users/user"));
    assert_eq!(code(&r.out), 1, "{}", show(&r.out));
    let err = text(&r.out.stderr);
    assert!(
        err.contains("SOAP fault env:Sender: Unknown user id u9999999"),
        "{}",
        show(&r.out)
    );
    assert!(err.contains("HTTP 500"), "{}", show(&r.out));
    assert!(!r.out_file.exists());
    rt.block_on(api.shutdown());
}
