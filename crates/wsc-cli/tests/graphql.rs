//! connectors/graphql_directory.yaml against a real GraphQL server: tests/graphql/server.mjs on
//! graphql-yoga (pinned in tests/graphql/package-lock.json), started on 127.0.0.1 on a free
//! port: aggregation over several cursor pages (every user exactly once, checked against
//! `totalCount`), a provisioning round trip of mutations (each effect read back from the
//! server), and the failures that must never look like success: `errors` beside partial
//! data in a 200 response, a wrong token (`UNAUTHENTICATED` in a 200 body), `hasNextPage:
//! true` without a cursor, and `hasNextPage: false` before the total.
//!
//! Needs Node.js 20+ with npm: the tests run `npm ci --prefix tests/graphql` on first use
//! (`wsc_testkit::tools::graphql_server`). Without node the tests fail and say so; nothing is
//! skipped.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

const TOKEN: &str = "gql-test-token-7a1e";
const CONNECTOR: &str = "connectors/graphql_directory.yaml";

/// The GraphQL test server; killed on drop.
struct Server {
    child: Child,
    _stdin: Option<ChildStdin>,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(users: u32, fault: &str) -> Server {
    let dir = wsc_testkit::tools::graphql_server(&root(), Path::new(env!("CARGO_TARGET_TMPDIR")))
        .unwrap_or_else(|e| panic!("the GraphQL interop tests need graphql-yoga: {e}"));
    let mut child = Command::new("node")
        .arg("server.mjs")
        .current_dir(&dir)
        .env("GQL_TOKEN", TOKEN)
        .env("GQL_USERS", users.to_string())
        .env("GQL_FAULT", fault)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start `node` ({e}): the GraphQL interop tests need Node.js 20 or later on PATH")
        });
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(u) = line.strip_prefix("GRAPHQL_URL=") {
                let _ = tx.send(u.trim_end_matches("/graphql").to_string());
            }
        }
    });
    let stdin = child.stdin.take();
    let mut server = Server {
        child,
        _stdin: stdin,
        base: String::new(),
    };
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(base) => server.base = base,
        Err(_) => {
            let _ = server.child.kill();
            let mut err = String::new();
            if let Some(e) = server.child.stderr.take() {
                for l in BufReader::new(e).lines().map_while(Result::ok).take(20) {
                    err.push_str(&l);
                    err.push('\n');
                }
            }
            panic!("tests/graphql/server.mjs did not print GRAPHQL_URL=... within 30 s:\n{err}");
        }
    }
    server
}

/// The test's own GraphQL call (to seed and to check the server), with the right token.
fn gql(s: &Server, query: &str, variables: Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}/graphql", s.base))
            .bearer_auth(TOKEN)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert!(v.get("errors").is_none(), "{v}");
        v["data"].clone()
    })
}

fn settings(s: &Server, token: &str) -> Vec<String> {
    vec![
        "--set".into(),
        format!("base_url={}", s.base),
        "--set".into(),
        format!("token={token}"),
        "--set".into(),
        "page_size=5".into(),
    ]
}

fn aggregate(s: &Server, object: &str, token: &str, extra: &[&str]) -> Output {
    wsc()
        .args(["aggregate", CONNECTOR, "--object", object])
        .args(extra)
        .args(settings(s, token))
        .output()
        .unwrap()
}

fn lines(o: &Output) -> Vec<Value> {
    text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn provision(s: &Server, dir: &Path, name: &str, plan: &str) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, plan).unwrap();
    wsc()
        .args(["provision", CONNECTOR])
        .arg(&path)
        .args(settings(s, TOKEN))
        .output()
        .unwrap()
}

#[test]
fn aggregation_reads_every_user_once_over_cursor_pages() {
    let s = start(23, "");
    let o = aggregate(&s, "account", TOKEN, &[]);
    assert!(o.status.success(), "{}", show(&o));
    let users = lines(&o);
    let mut ids: Vec<&str> = users
        .iter()
        .map(|u| u["identity"].as_str().unwrap())
        .collect();
    ids.sort();
    let want: Vec<String> = (1..=23).map(|i| format!("usr_{i:04}")).collect();
    assert_eq!(ids, want, "every user exactly once");
    // 23 users, 5 per page: 5 pages, the last one short.
    assert!(text(&o.stderr).contains("5 pages"), "{}", show(&o));
    let u3 = users.iter().find(|u| u["identity"] == "usr_0003").unwrap();
    assert_eq!(u3["name"], "user0003");
    assert_eq!(u3["attributes"]["email"], "user0003@example.test");
    assert_eq!(u3["attributes"]["active"], true);
    assert_eq!(u3["attributes"]["groups"], json!(["grp_0001"]));
    let u12 = users.iter().find(|u| u["identity"] == "usr_0012").unwrap();
    assert_eq!(u12["attributes"]["groups"], json!(["grp_0001", "grp_0002"]));

    let o = aggregate(&s, "group", TOKEN, &[]);
    assert!(o.status.success(), "{}", show(&o));
    let groups = lines(&o);
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Engineering", "Sales", "Support"]);
    assert_eq!(
        groups[1]["members"],
        json!(["usr_0004", "usr_0008", "usr_0012", "usr_0016", "usr_0020"])
    );
}

#[test]
fn provisioning_round_trip_through_mutations() {
    let s = start(3, "");
    let dir = scratch("graphql-provision");
    let read = |id: &str| {
        gql(
            &s,
            "query($id: ID!) { user(id: $id) { id userName displayName email active groups { id } } }",
            json!({ "id": id }),
        )["user"]
            .clone()
    };

    let o = provision(
        &s,
        &dir,
        "create.yaml",
        "operation: create_account\nattributes:\n  userName: jdoe\n  displayName: Jane Doe\n  email: jane@example.test\n",
    );
    assert!(o.status.success(), "{}", show(&o));
    let r = lines(&o);
    let id = r[0]["identity"].as_str().unwrap().to_string();
    assert_eq!(id, "usr_0004", "the id from the mutation's payload: {r:?}");
    assert_eq!(r[0]["object"]["attributes"]["displayName"], "Jane Doe");
    let u = read(&id);
    assert_eq!(u["userName"], "jdoe");
    assert_eq!(u["active"], true);

    let plan = format!(
        "- operation: update_account\n  identity: {id}\n  attributes: {{ displayName: Jane Q. Doe }}\n\
         - operation: disable_account\n  identity: {id}\n\
         - operation: add_entitlement\n  identity: {id}\n  attribute: groups\n  values: [grp_0001, grp_0003]\n"
    );
    let o = provision(&s, &dir, "changes.yaml", &plan);
    assert!(o.status.success(), "{}", show(&o));
    let r = lines(&o);
    assert_eq!(
        r[0]["object"]["attributes"]["displayName"], "Jane Q. Doe",
        "update_account reads the user back: {r:?}"
    );
    let u = read(&id);
    assert_eq!(u["displayName"], "Jane Q. Doe");
    assert_eq!(u["active"], false);
    assert_eq!(
        u["groups"],
        json!([{ "id": "grp_0001" }, { "id": "grp_0003" }])
    );

    // `wsc get` reads the same through get_object.
    let o = wsc()
        .args(["get", CONNECTOR, &id])
        .args(settings(&s, TOKEN))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(got["attributes"]["groups"], json!(["grp_0001", "grp_0003"]));
    assert_eq!(got["attributes"]["active"], false);

    let plan = format!(
        "- operation: remove_entitlement\n  identity: {id}\n  attribute: groups\n  values: [grp_0001]\n\
         - operation: enable_account\n  identity: {id}\n"
    );
    let o = provision(&s, &dir, "more.yaml", &plan);
    assert!(o.status.success(), "{}", show(&o));
    let u = read(&id);
    assert_eq!(u["groups"], json!([{ "id": "grp_0003" }]));
    assert_eq!(u["active"], true);

    // An attribute the API does not have is refused by the server, never dropped.
    let o = provision(
        &s,
        &dir,
        "bad.yaml",
        &format!("operation: update_account\nidentity: {id}\nattributes: {{ title: Boss }}\n"),
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(text(&o.stderr).contains("title"), "{}", show(&o));

    let o = provision(
        &s,
        &dir,
        "delete.yaml",
        &format!("operation: delete_account\nidentity: {id}\n"),
    );
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(read(&id), Value::Null);

    // Deleting it again: the mutation's NOT_FOUND error fails the request.
    let o = provision(
        &s,
        &dir,
        "delete.yaml",
        &format!("operation: delete_account\nidentity: {id}\n"),
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("no user with id"), "{err}");
    assert!(err.contains("NOT_FOUND"), "{err}");

    // get_object of a user that is not there: `user` is null.
    let o = wsc()
        .args(["get", CONNECTOR, &id])
        .args(settings(&s, TOKEN))
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(text(&o.stderr).contains("was not found"), "{}", show(&o));
}

#[test]
fn errors_beside_partial_data_fail_the_run() {
    let s = start(12, "partial");
    let dir = scratch("graphql-partial");
    let out = dir.join("accounts.jsonl");
    let o = aggregate(&s, "account", TOKEN, &["--out", out.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains("the mail directory timed out reading the email of usr_0003"),
        "{err}"
    );
    assert!(err.contains("at users.edges.2.node.email"), "{err}");
    assert!(err.contains("partial data is not success"), "{err}");
    assert!(!out.exists(), "no output file from a failed run");
}

#[test]
fn a_wrong_token_fails_with_unauthenticated() {
    let s = start(3, "");
    let o = wsc()
        .args(["test-connection", CONNECTOR])
        .args(settings(&s, "not-the-token"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("missing or invalid bearer token"), "{err}");
    assert!(err.contains("UNAUTHENTICATED"), "{err}");
    assert!(err.contains("did not accept the credentials"), "{err}");
    assert!(
        !err.contains("not-the-token"),
        "the token is redacted: {err}"
    );
    let o = aggregate(&s, "account", "not-the-token", &[]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(text(&o.stdout).is_empty(), "{}", show(&o));
}

#[test]
fn has_next_page_without_a_cursor_fails() {
    let s = start(12, "lost_cursor");
    let o = aggregate(&s, "account", TOKEN, &[]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("`paging.has_more`"), "{err}");
    assert!(err.contains("says another page follows"), "{err}");
}

#[test]
fn has_next_page_false_before_the_total_fails() {
    let s = start(12, "early_end");
    let o = aggregate(&s, "account", TOKEN, &[]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains("reported a total of 12 records, but the listing delivered 5"),
        "{err}"
    );
}
