//! The `wsc` binary end to end: `demo`, `validate`, `schema`, and `aggregate` / `get` /
//! `partitions` / `test-connection` against the synthetic API on 127.0.0.1 (exit codes,
//! output formats, `--out` written only on success, settings from every source).

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use wsc_testkit::synthetic::{
    AuthMode, FaultKind, Faults, SyntheticApi, SyntheticConfig, user, user_id,
};

const TOKEN: &str = "cli-bearer-Vb72kQ0p";

/// A connector with fast retries, offset paging with a total, a multi-valued attribute, a
/// cursor-paged group aggregation, get_object, test_connection and a partitioned variant.
const CONNECTOR: &str = r#"connector: cli_it
settings:
  base_url: { description: "base URL of the synthetic API" }
  token: { secret: true, description: "bearer token" }
base_url: "{{settings.base_url}}/api"
http:
  retry: { max_attempts: 3, initial_backoff: 1ms, max_backoff: 5ms, max_retry_after: 5ms }
auth: { type: bearer, token: "{{settings.token}}" }
operations:
  test_connection:
    request: { path: /me }
  account_aggregation:
    request:
      path: /users/offset
      query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
    paging: { kind: offset, limit: 40, total: "$.total" }
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
    attributes:
      displayName: "$.displayName"
      email: "$.emails[0].value"
      active: { path: "$.active", type: bool }
      employeeNumber: { path: "$.employeeNumber", type: int }
      groups: { path: "$.groups[*]", multi: true }
  group_aggregation:
    group:
      request:
        path: /groups/cursor
        query: { cursor: "{{page.cursor}}", limit: "5" }
      paging: { kind: cursor, cursor: "$.next_cursor" }
      records: "$.items[*]"
      identity: "$.id"
      name: "$.displayName"
      attributes:
        description: "$.description"
      members: "$.members[*]"
  get_object:
    account:
      request: { path: "/users/{{plan.identity}}" }
      identity: "$.id"
      name: "$.userName"
      attributes:
        email: "$.emails[0].value"
"#;

/// Two partitions; the second reads a collection that does not exist (404), so the run fails
/// after the first partition's records were written.
const PARTITIONED: &str = r#"connector: cli_parts
settings:
  base_url: {}
  token: { secret: true }
base_url: "{{settings.base_url}}/api"
http:
  retry: { max_attempts: 2, initial_backoff: 1ms, max_backoff: 2ms }
auth: { type: bearer, token: "{{settings.token}}" }
operations:
  account_aggregation:
    partitions:
      list:
        - { name: people, coll: users }
        - { name: broken, coll: nothing }
      concurrency: 1
    request:
      path: "/{{partition.coll}}/cursor"
      query: { cursor: "{{page.cursor}}", limit: "10" }
    paging: { kind: cursor, cursor: "$.next_cursor" }
    records: "$.items[*]"
    identity: "$.id"
    name: "$.displayName"
"#;

/// Writes `text` into `dir/name`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// File names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The synthetic API served by a runtime of its own while the binary runs.
struct Api {
    rt: tokio::runtime::Runtime,
    api: Option<SyntheticApi>,
    config: SyntheticConfig,
}

impl Api {
    fn start(config: SyntheticConfig) -> Api {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let api = rt.block_on(SyntheticApi::start(config.clone())).unwrap();
        Api {
            rt,
            api: Some(api),
            config,
        }
    }

    fn users(n: usize) -> Api {
        Api::start(
            SyntheticConfig::new(n)
                .with_groups(11)
                .with_auth(AuthMode::Bearer(TOKEN.into())),
        )
    }

    fn base_url(&self) -> String {
        self.api.as_ref().unwrap().base_url()
    }

    fn stats(&self) -> wsc_testkit::synthetic::StatsSnapshot {
        self.api.as_ref().unwrap().stats()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            self.rt.block_on(api.shutdown());
        }
    }
}

/// `--set` arguments for the API and token.
fn sets(base_url: &str, token: &str) -> Vec<String> {
    vec![
        "--set".into(),
        format!("base_url={base_url}"),
        "--set".into(),
        format!("token={token}"),
    ]
}

/// A minimal RFC 4180 reader: rows of fields (quotes, doubled quotes, embedded newlines).
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                c => field.push(c),
            }
        }
    }
    assert!(!quoted, "unterminated quoted field");
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// demo, validate, schema
// ---------------------------------------------------------------------------------------------

#[test]
fn demo_counts_match_the_directory() {
    let dir = scratch("demo");
    let out = wsc()
        .args(["demo", "--users", "1234", "--groups", "17", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    // Summaries go to stderr (README: data to stdout, diagnostics to stderr).
    assert_eq!(text(&out.stdout), "", "{}", show(&out));
    let stderr = text(&out.stderr);
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("demo summary:"))
        .unwrap_or_else(|| panic!("{}", show(&out)));
    assert!(
        summary
            .starts_with("demo summary: accounts 1234 (API holds 1234), groups 17 (API holds 17),"),
        "{}",
        show(&out)
    );
    assert!(summary.contains(", 1 token request, total "), "{summary}");
    assert!(summary.ends_with("s: ok"), "{summary}");
    // One sample record, the next commands, and no "1 pages".
    let sample = stderr
        .lines()
        .find_map(|l| l.strip_prefix("a sample record: "))
        .unwrap_or_else(|| panic!("{}", show(&out)));
    let sample: Value = serde_json::from_str(sample).unwrap();
    assert_eq!(sample["identity"], user_id(0));
    assert!(stderr.contains("next:\n  wsc demo --serve"), "{stderr}");
    assert!(
        stderr.contains("groups: 17 records, 1 page, 1 request"),
        "{stderr}"
    );

    // An option that needs another is refused, not ignored.
    let out = wsc().args(["demo", "--port", "8089"]).output().unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(text(&out.stderr).contains("--serve"), "{}", show(&out));
    let accounts = std::fs::read_to_string(dir.join("accounts.jsonl")).unwrap();
    let ids: Vec<String> = accounts
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["identity"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids, (0..1234).map(user_id).collect::<Vec<_>>());
    let groups = std::fs::read_to_string(dir.join("groups.jsonl")).unwrap();
    assert_eq!(groups.lines().count(), 17);
    assert_eq!(listing(&dir), ["accounts.jsonl", "groups.jsonl"]);
}

#[test]
fn validate_rejects_every_invalid_fixture() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "{files:?}");
    for f in &files {
        let out = wsc().arg("validate").arg(f).output().unwrap();
        assert_eq!(code(&out), 2, "{}: {}", f.display(), show(&out));
        assert!(
            text(&out.stdout).contains(": invalid"),
            "{}: {}",
            f.display(),
            show(&out)
        );
        assert!(!out.stderr.is_empty(), "{}: no diagnostics", f.display());
    }
}

#[test]
fn validate_accepts_every_shipped_connector() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("connectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        let out = wsc().arg("validate").arg(f).output().unwrap();
        assert_eq!(code(&out), 0, "{}: {}", f.display(), show(&out));
        assert!(text(&out.stdout).contains(": ok"), "{}", show(&out));
    }
    // All at once, and one invalid file among them makes the whole run exit 2.
    let out = wsc().arg("validate").args(&files).output().unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let out = wsc()
        .arg("validate")
        .args(&files)
        .arg(root().join("fixtures/invalid/unknown_key.yaml"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
}

#[test]
fn schema_is_json() {
    let out = wsc().arg("schema").output().unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    let props = v["properties"].as_object().expect("an object schema");
    for key in ["connector", "base_url", "auth", "operations", "settings"] {
        assert!(props.contains_key(key), "no `{key}` in the schema");
    }
    let dir = scratch("schema");
    let file = dir.join("schema.json");
    let out = wsc()
        .arg("schema")
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written, v);
    assert_eq!(listing(&dir), ["schema.json"]);
}

// ---------------------------------------------------------------------------------------------
// aggregate: output
// ---------------------------------------------------------------------------------------------

#[test]
fn aggregate_writes_jsonl_to_out() {
    let api = Api::users(213);
    let dir = scratch("jsonl");
    let conn = write(&dir, "c.yaml", CONNECTOR);
    let out_file = dir.join("accounts.jsonl");
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(out.stdout.is_empty(), "records went to the file");
    assert!(
        text(&out.stderr).contains("account: 213 records"),
        "{}",
        show(&out)
    );
    let body = std::fs::read_to_string(&out_file).unwrap();
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 213);
    for (i, v) in lines.iter().enumerate() {
        let u = user(&api.config, i);
        assert_eq!(v["type"], "account");
        assert_eq!(v["identity"], u.id.as_str());
        assert_eq!(v["name"], u.user_name.as_str());
        assert_eq!(v["attributes"]["email"], u.emails[0].value.as_str());
        assert_eq!(v["attributes"]["active"], u.active);
        assert_eq!(v["attributes"]["employeeNumber"], u.employee_number);
        assert_eq!(v["attributes"]["groups"], serde_json::json!(u.groups));
    }
    assert_eq!(listing(&dir), ["accounts.jsonl", "c.yaml"]);
}

#[test]
fn aggregate_csv_and_json() {
    let api = Api::users(101);
    let dir = scratch("formats");
    let conn = write(&dir, "c.yaml", CONNECTOR);

    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let rows = parse_csv(&text(&out.stdout));
    assert_eq!(rows.len(), 1 + 101, "a header and one row per record");
    let header = &rows[0];
    let id_col = header
        .iter()
        .position(|h| h == "identity")
        .expect("identity column");
    let email_col = header
        .iter()
        .position(|h| h == "email")
        .expect("email column");
    for (i, row) in rows[1..].iter().enumerate() {
        assert_eq!(row.len(), header.len(), "row {i}: {row:?}");
        assert_eq!(row[id_col], user_id(i));
        assert_eq!(row[email_col], user(&api.config, i).emails[0].value);
    }

    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("a JSON document");
    let arr = v.as_array().expect("a JSON array");
    assert_eq!(arr.len(), 101);
    assert_eq!(arr[100]["identity"], user_id(100).as_str());

    // Groups with members, as CSV.
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .args(["--object", "group", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let rows = parse_csv(&text(&out.stdout));
    assert_eq!(rows.len(), 1 + 11);
    assert!(rows[0].iter().any(|h| h == "members"), "{:?}", rows[0]);
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));
}

// ---------------------------------------------------------------------------------------------
// aggregate: settings
// ---------------------------------------------------------------------------------------------

#[test]
fn settings_from_file_env_and_set() {
    let api = Api::users(37);
    let dir = scratch("settings");
    let conn = write(&dir, "c.yaml", CONNECTOR);
    let count = |o: &Output| {
        assert_eq!(code(o), 0, "{}", show(o));
        text(&o.stdout).lines().count()
    };

    // --settings FILE (YAML).
    let file = write(
        &dir,
        "settings.yaml",
        &format!("base_url: {}\ntoken: {TOKEN}\n", api.base_url()),
    );
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .arg("--settings")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(count(&out), 37);

    // WSC_<NAME> environment variables.
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .env("WSC_BASE_URL", api.base_url())
        .env("WSC_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(count(&out), 37);

    // --set wins over the file and the environment.
    let bad = write(
        &dir,
        "bad.yaml",
        &format!("base_url: {}\ntoken: not-the-token\n", api.base_url()),
    );
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .arg("--settings")
        .arg(&bad)
        .env("WSC_TOKEN", "not-the-token-either")
        .args(["--set", &format!("token={TOKEN}")])
        .output()
        .unwrap();
    assert_eq!(count(&out), 37);

    // The file wins over the environment.
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .arg("--settings")
        .arg(&file)
        .env("WSC_TOKEN", "not-the-token")
        .output()
        .unwrap();
    assert_eq!(count(&out), 37);
}

#[test]
fn missing_setting_exits_2_and_names_the_variable() {
    let dir = scratch("missing");
    let conn = write(&dir, "c.yaml", CONNECTOR);
    let out_file = dir.join("out.jsonl");
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(["--set", "base_url=http://127.0.0.1:9"])
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("setting `token` has no value"), "{err}");
    assert!(err.contains("WSC_TOKEN"), "{err}");
    assert_eq!(listing(&dir), ["c.yaml"]);

    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets("http://127.0.0.1:9", TOKEN))
        .args(["--set", "tokn=x"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(
        text(&out.stderr).contains("did you mean `token`"),
        "{}",
        show(&out)
    );
}

#[test]
fn invalid_connector_exits_2() {
    let dir = scratch("invalid");
    let out_file = dir.join("out.jsonl");
    let out = wsc()
        .arg("aggregate")
        .arg(root().join("fixtures/invalid/misspelt_paging_kind.yaml"))
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(listing(&dir).is_empty());
    let out = wsc()
        .arg("aggregate")
        .arg(dir.join("no-such-connector.yaml"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
}

// ---------------------------------------------------------------------------------------------
// aggregate: failures leave no output
// ---------------------------------------------------------------------------------------------

#[test]
fn server_down_exits_1_and_writes_nothing() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = scratch("down");
    let conn = write(&dir, "c.yaml", CONNECTOR);
    let out_file = dir.join("accounts.jsonl");
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&format!("http://127.0.0.1:{port}"), TOKEN))
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(
        text(&out.stderr).contains("could not connect"),
        "{}",
        show(&out)
    );
    assert!(!out_file.exists());
    assert_eq!(listing(&dir), ["c.yaml"], "no temporary file is left");
}

#[test]
fn fault_beyond_budget_exits_1_without_the_token() {
    let api = Api::start(
        SyntheticConfig::new(50)
            .with_auth(AuthMode::Bearer(TOKEN.into()))
            .with_faults(Faults::fail_first(1000, FaultKind::ServerError)),
    );
    let dir = scratch("fault");
    let conn = write(&dir, "c.yaml", CONNECTOR);
    let out_file = dir.join("accounts.jsonl");
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("failed with HTTP 500 after 3 attempt(s)"),
        "{}",
        show(&out)
    );
    assert!(!err.contains(TOKEN) && !text(&out.stdout).contains(TOKEN));
    assert_eq!(api.stats().faults.server_error, 3);
    assert_eq!(listing(&dir), ["c.yaml"]);
}

#[test]
fn wrong_token_exits_1_with_a_hint() {
    let api = Api::users(20);
    let dir = scratch("wrong-token");
    let conn = write(&dir, "c.yaml", CONNECTOR);
    let out = wsc()
        .arg("test-connection")
        .arg(&conn)
        .args(sets(&api.base_url(), "wrong-Jw9s0dK3"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(err.contains("did not accept the credentials"), "{err}");
    assert!(!err.contains("wrong-Jw9s0dK3"), "{err}");
}

/// The first partition's records are written to the temporary file before the second one
/// fails: the run exits 1, the existing output file is left as it was, no temp file remains.
#[test]
fn failure_after_records_keeps_the_previous_output() {
    let api = Api::users(45);
    let dir = scratch("mid-run");
    let conn = write(&dir, "p.yaml", PARTITIONED);
    let out_file = write(&dir, "accounts.jsonl", "previous run\n");
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(text(&out.stderr).contains("HTTP 404"), "{}", show(&out));
    assert_eq!(api.stats().user_items, 45, "the first partition ran");
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "previous run\n"
    );
    assert_eq!(listing(&dir), ["accounts.jsonl", "p.yaml"]);

    // One partition alone succeeds and replaces the file.
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .args(["--partition", "people", "--out"])
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap().lines().count(),
        45
    );
    assert_eq!(listing(&dir), ["accounts.jsonl", "p.yaml"]);

    // An unknown partition is invalid input.
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .args(["--partition", "nobody"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(
        text(&out.stderr).contains("people, broken"),
        "{}",
        show(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// get, partitions, test-connection
// ---------------------------------------------------------------------------------------------

#[test]
fn get_partitions_and_test_connection() {
    let api = Api::users(20);
    let dir = scratch("others");
    let conn = write(&dir, "c.yaml", CONNECTOR);
    let parts = write(&dir, "p.yaml", PARTITIONED);

    let out = wsc()
        .arg("test-connection")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(text(&out.stdout).starts_with("ok:"), "{}", show(&out));

    let u = user(&api.config, 7);
    let out = wsc()
        .arg("get")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .arg(&u.id)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["identity"], u.id.as_str());
    assert_eq!(v["name"], u.user_name.as_str());
    assert_eq!(v["attributes"]["email"], u.emails[0].value.as_str());

    let out = wsc()
        .arg("get")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .arg("u7777777")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(text(&out.stderr).contains("not found"), "{}", show(&out));

    let out = wsc()
        .arg("partitions")
        .arg(&parts)
        .args(sets(&api.base_url(), TOKEN))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let listed: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        listed,
        vec![
            serde_json::json!({ "name": "people", "coll": "users" }),
            serde_json::json!({ "name": "broken", "coll": "nothing" }),
        ]
    );
}

/// An empty directory is a successful run with no records, in every format; CSV still has
/// its header, so the file has columns.
#[test]
fn empty_directory_in_every_format() {
    let api = Api::users(0);
    let dir = scratch("empty");
    let conn = write(&dir, "c.yaml", CONNECTOR);
    let run = |format: &str| {
        let out = wsc()
            .arg("aggregate")
            .arg(&conn)
            .args(sets(&api.base_url(), TOKEN))
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", show(&out));
        assert!(
            text(&out.stderr).contains("account: 0 records"),
            "{}",
            show(&out)
        );
        text(&out.stdout)
    };
    assert_eq!(run("jsonl"), "");
    let json: Value = serde_json::from_str(&run("json")).expect("JSON");
    assert_eq!(json, serde_json::json!([]));
    let rows = parse_csv(&run("csv"));
    assert_eq!(
        rows,
        vec![vec![
            "type",
            "identity",
            "name",
            "displayName",
            "email",
            "active",
            "employeeNumber",
            "groups"
        ]]
    );
}

/// Ctrl-C (SIGINT) during `aggregate --out` exits 130 and leaves neither the file nor the
/// temporary file. The server's latency keeps the run going; the signal is sent once the
/// server has answered pages (so records were written to the temporary file).
#[cfg(unix)]
#[test]
fn interrupted_run_leaves_no_output() {
    let api = Api::start(
        SyntheticConfig::new(4000)
            .with_auth(AuthMode::Bearer(TOKEN.into()))
            .with_latency(std::time::Duration::from_millis(200)),
    );
    let dir = scratch("interrupted");
    let conn = write(&dir, "c.yaml", CONNECTOR);
    let out_file = dir.join("accounts.jsonl");
    let child = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api.base_url(), TOKEN))
        .arg("--out")
        .arg(&out_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while api.stats().pages.offset < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        listing(&dir).iter().any(|f| f.contains("wsc-tmp")),
        "a temporary file while the run goes: {:?}",
        listing(&dir)
    );
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}", show(&out));
    assert!(text(&out.stderr).contains("interrupted"), "{}", show(&out));
    assert!(api.stats().pages.offset < 100, "the run was cut short");
    assert_eq!(listing(&dir), ["c.yaml"]);
}
