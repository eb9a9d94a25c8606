//! connectors/scim2.yaml against the real `scim2-server` (PyPI, pinned in
//! tests/scim/requirements.txt): aggregate,
//! create a user, add it to a group, disable it, delete it, each step checked by reading back;
//! `--dry-run` sends nothing (the user count does not change).
//!
//! The server is started by the test on 127.0.0.1. It is installed on first use into a Python
//! venv under target/ (`wsc_testkit::tools::scim2_server`); without `python3` (and its `venv`
//! module) the test fails and says what to install; nothing is skipped.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "scim-test-token-5d0c";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server() -> Server {
    let port = free_port();
    // Installed into a venv under target/ on first use, from tests/scim/requirements.txt.
    let program = wsc_testkit::tools::scim2_server(&root(), Path::new(env!("CARGO_TARGET_TMPDIR")))
        .unwrap_or_else(|e| panic!("the SCIM interop tests need scim2-server: {e}"));
    let child = Command::new(program)
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
        .args(["--bearer-token", TOKEN])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start scim2-server ({e})"));
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    loop {
        let url = format!("{}/ServiceProviderConfig", server.base);
        if http("GET", &url, None).is_ok_and(|r| r.0 == 200) {
            return server;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let mut server = server;
            let _ = server.child.kill();
            let mut err = String::new();
            if let Some(e) = server.child.stderr.take() {
                for l in BufReader::new(e).lines().map_while(Result::ok).take(20) {
                    err.push_str(&l);
                    err.push('\n');
                }
            }
            panic!("scim2-server did not answer within 30 s:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A tiny blocking HTTP/1.1 client for the test's own checks (the server is loopback).
fn http(method: &str, url: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut b = client
            .request(method.parse().unwrap(), url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/scim+json");
        if let Some(v) = body {
            b = b.body(v.to_string());
        }
        let r = b.send().await.map_err(std::io::Error::other)?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(std::io::Error::other)?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    })
}

fn settings(s: &Server) -> Vec<String> {
    vec![
        "--set".into(),
        format!("base_url={}", s.base),
        "--set".into(),
        format!("token={TOKEN}"),
    ]
}

fn user_count(s: &Server) -> u64 {
    let (status, v) = http("GET", &format!("{}/Users", s.base), None).unwrap();
    assert_eq!(status, 200, "{v}");
    v["totalResults"].as_u64().unwrap()
}

fn provision(s: &Server, dir: &Path, name: &str, plan: &str, extra: &[&str]) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, plan).unwrap();
    wsc()
        .arg("provision")
        .arg("connectors/scim2.yaml")
        .arg(&path)
        .args(extra)
        .args(settings(s))
        .output()
        .unwrap()
}

fn results(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn get_account(s: &Server, id: &str) -> Output {
    wsc()
        .args(["get", "connectors/scim2.yaml", id])
        .args(settings(s))
        .output()
        .unwrap()
}

fn aggregate(s: &Server, object: &str) -> Vec<Value> {
    let o = wsc()
        .args(["aggregate", "connectors/scim2.yaml", "--object", object])
        .args(settings(s))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn scim_lifecycle_against_scim2_server() {
    let s = start_server();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scim-lifecycle");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Seed: two users and a group, created directly on the server.
    for u in ["ann", "bob"] {
        let (st, v) = http(
            "POST",
            &format!("{}/Users", s.base),
            Some(
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": u}),
            ),
        )
        .unwrap();
        assert_eq!(st, 201, "{v}");
    }
    let (st, group) = http(
        "POST",
        &format!("{}/Groups", s.base),
        Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"})),
    )
    .unwrap();
    assert_eq!(st, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_string();

    // Aggregate: the server's list order is not insertion order, so compare as sets.
    let accounts = aggregate(&s, "account");
    let mut names: Vec<&str> = accounts
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["ann", "bob"]);
    let groups = aggregate(&s, "group");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["name"], "Engineering");

    let create = r#"
operation: create_account
attributes:
  userName: jdoe
  displayName: Jane Doe
  givenName: Jane
  familyName: Doe
  email: jane.doe@example.test
  title: Engineer
  externalId: ext-jdoe
password: "Corr3ct-Horse-Battery"
"#;
    // Dry run: the exact request, secrets redacted, and nothing sent.
    let before = user_count(&s);
    let o = provision(&s, &dir, "create.yaml", create, &["--dry-run"]);
    assert!(o.status.success(), "{}", show(&o));
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(printed.contains("POST http://127.0.0.1:"), "{printed}");
    assert!(printed.contains("\"userName\": \"jdoe\""), "{printed}");
    assert!(
        printed.contains("authorization: Bearer <redacted>"),
        "{printed}"
    );
    assert!(!printed.contains("Corr3ct-Horse-Battery"), "{printed}");
    assert!(!printed.contains(TOKEN), "{printed}");
    assert_eq!(user_count(&s), before, "a dry run created a user");

    // Create.
    let o = provision(&s, &dir, "create.yaml", create, &[]);
    assert!(o.status.success(), "{}", show(&o));
    let r = results(&o);
    let id = r[0]["identity"].as_str().unwrap().to_string();
    assert_eq!(r[0]["object"]["name"], "jdoe");
    assert_eq!(user_count(&s), before + 1);
    let o = get_account(&s, &id);
    assert!(o.status.success(), "{}", show(&o));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(got["attributes"]["displayName"], "Jane Doe");
    assert_eq!(got["attributes"]["title"], "Engineer");
    assert_eq!(got["attributes"]["active"], true);

    // Add to the group; read back.
    let o = provision(
        &s,
        &dir,
        "add.yaml",
        &format!(
            "operation: add_entitlement\nidentity: {id}\nattribute: groups\nvalues: [{gid}]\n"
        ),
        &[],
    );
    assert!(o.status.success(), "{}", show(&o));
    let (_, g) = http("GET", &format!("{}/Groups/{gid}", s.base), None).unwrap();
    let members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, [id.as_str()]);
    // The group aggregation sees the membership too (scim2-server does not fill the
    // read-only `User.groups`, so the membership is read from the group side).
    let groups = aggregate(&s, "group");
    assert_eq!(groups[0]["members"], json!([id]), "{groups:?}");

    // Disable; read back.
    let o = provision(
        &s,
        &dir,
        "disable.yaml",
        &format!("operation: disable_account\nidentity: {id}\n"),
        &[],
    );
    assert!(o.status.success(), "{}", show(&o));
    let o = get_account(&s, &id);
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(got["attributes"]["active"], false, "{got}");

    // Update with PATCH (read back by the operation itself).
    let o = provision(
        &s,
        &dir,
        "update.yaml",
        &format!(
            "operation: update_account\nidentity: {id}\nattributes:\n  title: Staff Engineer\n"
        ),
        &[],
    );
    assert!(o.status.success(), "{}", show(&o));
    let r = results(&o);
    assert_eq!(
        r[0]["object"]["attributes"]["title"], "Staff Engineer",
        "{r:?}"
    );

    // Remove from the group, then delete; the account is gone.
    let o = provision(
        &s,
        &dir,
        "remove.yaml",
        &format!(
            "- operation: remove_entitlement\n  identity: {id}\n  attribute: groups\n  values: [{gid}]\n- operation: delete_account\n  identity: {id}\n"
        ),
        &[],
    );
    assert!(o.status.success(), "{}", show(&o));
    let (_, g) = http("GET", &format!("{}/Groups/{gid}", s.base), None).unwrap();
    assert!(
        g.get("members")
            .is_none_or(|m| m.as_array().is_none_or(|a| a.is_empty())),
        "{g}"
    );
    let o = get_account(&s, &id);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("was not found"),
        "{}",
        show(&o)
    );
    assert_eq!(user_count(&s), before);
}

fn delta(s: &Server, state: &Path) -> (Vec<Value>, String) {
    let o = wsc()
        .args(["aggregate", "connectors/scim2.yaml", "--delta", "--state"])
        .arg(state)
        .args(settings(s))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let mut v: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    v.sort_by_key(|r| r["change"].as_str().unwrap_or("").to_string());
    (v, String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn delta_against_scim2_server_emits_exactly_the_changes() {
    let s = start_server();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scim-delta");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.db");
    let mut ids = Vec::new();
    for u in ["u1", "u2", "u3"] {
        let (st, v) = http(
            "POST",
            &format!("{}/Users", s.base),
            Some(
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": u}),
            ),
        )
        .unwrap();
        assert_eq!(st, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    // First run: everything is new.
    let (first, _) = delta(&s, &state);
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|r| r["change"] == "created"), "{first:?}");
    // Unchanged source: nothing.
    let (none, err) = delta(&s, &state);
    assert!(none.is_empty(), "{none:?}");
    assert!(err.contains("0 created, 0 updated, 0 deleted"), "{err}");
    // One create, one update, one delete: exactly those three.
    let (st, _) = http(
        "POST",
        &format!("{}/Users", s.base),
        Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "u4"})),
    )
    .unwrap();
    assert_eq!(st, 201);
    let o = provision(
        &s,
        &dir,
        "upd.yaml",
        &format!(
            "operation: update_account\nidentity: {}\nattributes:\n  title: Boss\n",
            ids[0]
        ),
        &[],
    );
    assert!(o.status.success(), "{}", show(&o));
    let (st, _) = http("DELETE", &format!("{}/Users/{}", s.base, ids[1]), None).unwrap();
    assert_eq!(st, 204);
    let (changes, _) = delta(&s, &state);
    let summary: Vec<(String, String)> = changes
        .iter()
        .map(|r| {
            (
                r["change"].as_str().unwrap().to_string(),
                r["name"]
                    .as_str()
                    .unwrap_or(r["identity"].as_str().unwrap())
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("created".to_string(), "u4".to_string()),
            ("deleted".to_string(), ids[1].clone()),
            ("updated".to_string(), "u1".to_string()),
        ]
    );
    let updated = changes.iter().find(|r| r["change"] == "updated").unwrap();
    assert_eq!(updated["attributes"]["title"], "Boss");
    // And again: nothing.
    let (none, _) = delta(&s, &state);
    assert!(none.is_empty(), "{none:?}");
}

/// Creates a group directly on the server; its id.
fn create_group(s: &Server, name: &str) -> String {
    let (st, g) = http(
        "POST",
        &format!("{}/Groups", s.base),
        Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name})),
    )
    .unwrap();
    assert_eq!(st, 201, "{g}");
    g["id"].as_str().unwrap().to_string()
}

/// One plan, ids chained from the create: create a user → add to two groups → add one email
/// and remove another → disable → delete; every effect read back from the server; the same
/// plan in `--dry-run` prints every request (with placeholders for the new id) and sends none.
#[test]
fn one_chained_plan_against_scim2_server() {
    let s = start_server();
    let dir = scratch("chained");
    let gids: Vec<String> = ["Engineering", "Oncall"]
        .iter()
        .map(|n| create_group(&s, n))
        .collect();
    let plan = format!(
        r#"
- name: new
  operation: create_account
  attributes:
    userName: kchen
    displayName: Kim Chen
    email: kim@example.test
  password: "S3cure-Passphrase-1"
- operation: add_entitlement
  identity: "{{{{requests.new.identity}}}}"
  attribute: groups
  values: [{g0}, {g1}]
- operation: update_account
  identity: "{{{{requests.new.identity}}}}"
  attributes:
    title: Staff Engineer
    emails: {{ add: [kim.chen@example.test], remove: [kim@example.test] }}
- operation: disable_account
  identity: "{{{{requests.new.identity}}}}"
- operation: delete_account
  identity: "{{{{requests.new.identity}}}}"
"#,
        g0 = gids[0],
        g1 = gids[1]
    );

    // Dry run: every request, placeholders for the id the create would return, nothing sent.
    let before = user_count(&s);
    let o = provision(&s, &dir, "plan.yaml", &plan, &["--dry-run"]);
    assert!(o.status.success(), "{}", show(&o));
    let printed = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        printed.matches("\nPOST ").count() + usize::from(printed.starts_with("POST ")),
        1,
        "{printed}"
    );
    assert_eq!(
        printed.matches("PATCH ").count(),
        4,
        "2 memberships, 1 update, 1 disable: {printed}"
    );
    assert!(printed.contains("DELETE "), "{printed}");
    assert!(
        printed.contains("/Users/<requests.new.identity>"),
        "{printed}"
    );
    assert!(
        printed.contains("content-type: application/scim+json"),
        "{printed}"
    );
    assert!(printed.contains("user-agent: wsc/"), "{printed}");
    // The update's read-back is shown.
    assert!(printed.contains("GET http://127.0.0.1:"), "{printed}");
    assert!(
        printed.contains(r#""path": "emails[value eq \"kim@example.test\"]""#),
        "{printed}"
    );
    assert!(!printed.contains("S3cure-Passphrase-1"), "{printed}");
    assert!(printed.contains("<redacted:password>"), "{printed}");
    assert_eq!(user_count(&s), before, "a dry run created a user");

    // The plan, run for real: one JSON line per request.
    let o = provision(&s, &dir, "plan.yaml", &plan, &[]);
    assert!(o.status.success(), "{}", show(&o));
    let r = results(&o);
    assert_eq!(r.len(), 5, "{r:?}");
    let id = r[0]["identity"].as_str().unwrap().to_string();
    for line in &r[1..] {
        assert_eq!(line["identity"], id.as_str(), "{line}");
        assert_eq!(line["outcome"], "done", "{line}");
    }
    // The update read the user back: the email change and the title are on the server.
    let emails: Vec<&str> = r[2]["object"]["attributes"]["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(emails, ["kim.chen@example.test"], "{}", r[2]);
    assert_eq!(r[2]["object"]["attributes"]["title"], "Staff Engineer");
    // Both groups got the member (checked on the server, before the delete removed it).
    // The user is gone at the end.
    let (st, _) = http("GET", &format!("{}/Users/{id}", s.base), None).unwrap();
    assert_eq!(st, 404);
    assert_eq!(user_count(&s), before);

    // Deleting again: already done, not an error.
    let again = format!("operation: delete_account\nidentity: {id}\n");
    let o = provision(&s, &dir, "again.yaml", &again, &[]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(results(&o)[0]["outcome"], "already_done");

    // A failed write shows the API's own message (`detail`), not the raw body.
    let bad = "operation: update_account\nidentity: nope\nattributes:\n  title: X\n";
    let o = provision(&s, &dir, "bad.yaml", bad, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("HTTP 404"), "{err}");
    assert!(
        !err.contains("\"schemas\""),
        "the raw body, not the message: {err}"
    );
}

/// The memberships of the chained plan, checked on the server between the requests: a plan
/// that stops after the group changes.
#[test]
fn chained_memberships_are_on_the_server() {
    let s = start_server();
    let dir = scratch("chained-groups");
    let gids: Vec<String> = ["A", "B"].iter().map(|n| create_group(&s, n)).collect();
    let plan = format!(
        "- name: u\n  operation: create_account\n  attributes: {{ userName: lee, email: lee@example.test }}\n- operation: add_entitlement\n  identity: \"{{{{requests.u.identity}}}}\"\n  attribute: groups\n  values: [{}, {}]\n",
        gids[0], gids[1]
    );
    let o = provision(&s, &dir, "plan.yaml", &plan, &[]);
    assert!(o.status.success(), "{}", show(&o));
    let id = results(&o)[0]["identity"].as_str().unwrap().to_string();
    for gid in &gids {
        let (_, g) = http("GET", &format!("{}/Groups/{gid}", s.base), None).unwrap();
        let members: Vec<&str> = g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(members, [id.as_str()], "{g}");
    }
}
