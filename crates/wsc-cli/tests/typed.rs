//! Typed settings end to end, through the `wsc` binary against servers on 127.0.0.1: values
//! from `--set`, `WSC_*` and a settings file reach requests with their declared type (a bool
//! setting is `true` in a JSON body, not `"true"`), an int setting sizes pages, helper
//! expressions keep their JSON type in body leaves, and bad values stop the run with exit 2
//! before any request, naming where they came from.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;

use indexmap::IndexMap;
use serde_json::{Value, json};
use wsc_testkit::replay::{Cassette, Interaction, RecordedResponse, ReplayServer, RequestMatcher};
use wsc_testkit::synthetic::{SyntheticApi, SyntheticConfig};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A write operation whose body carries a bool setting and a list that falls back to `[]`.
const PROVISIONING: &str = r#"connector: typed_it
settings:
  base_url: {}
  force_change: { default: false, description: "force a password change at next sign-in (type bool, from the default)" }
base_url: "{{settings.base_url}}"
auth: { type: none }
operations:
  create_account:
    request:
      method: POST
      path: /users
      body:
        userName: "{{plan.identity}}"
        passwordProfile:
          forceChangePasswordNextSignIn: "{{settings.force_change}}"
        groups: "{{default plan.attributes.groups (json '[]')}}"
        label: "user {{plan.identity}} ({{settings.force_change}})"
    identity: "$.id"
    name: "$.userName"
"#;

/// A replay server answering every `POST /users` with 201, recording what it received.
struct Replay {
    rt: tokio::runtime::Runtime,
    server: Option<ReplayServer>,
}

impl Replay {
    fn start() -> Replay {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let cassette = Cassette {
            ordered: false,
            interactions: vec![Interaction {
                request: RequestMatcher {
                    method: "POST".into(),
                    path: "/users".into(),
                    query: IndexMap::new(),
                    query_match: Default::default(),
                    headers: IndexMap::new(),
                    body: None,
                    body_match: Default::default(),
                    body_text: None,
                },
                response: RecordedResponse {
                    status: 201,
                    headers: IndexMap::new(),
                    body: Some(json!({ "id": "u1", "userName": "jdoe" })),
                    text: None,
                    file: None,
                },
                times: 0,
            }],
        };
        let server = rt
            .block_on(ReplayServer::start(cassette, std::env::temp_dir()))
            .unwrap();
        Replay {
            rt,
            server: Some(server),
        }
    }

    fn base_url(&self) -> String {
        self.server.as_ref().unwrap().base_url()
    }

    /// The JSON bodies received so far, in order.
    fn bodies(&self) -> Vec<Value> {
        self.server
            .as_ref()
            .unwrap()
            .report()
            .requests
            .iter()
            .map(|r| serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body)))
            .collect()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

#[test]
fn bool_setting_and_helper_lists_keep_their_json_types_in_the_body() {
    let replay = Replay::start();
    let dir = scratch("bool-body");
    let conn = write(&dir, "c.yaml", PROVISIONING);
    let with_groups = write(
        &dir,
        "with-groups.yaml",
        "operation: create_account\nidentity: jdoe\nattributes: { groups: [g01, g05] }\n",
    );
    let without = write(
        &dir,
        "without.yaml",
        "operation: create_account\nidentity: jdoe\nattributes: { displayName: J }\n",
    );
    let base = format!("base_url={}", replay.base_url());

    // The bool from `--set`, the plan's groups as a list.
    let out = wsc()
        .arg("provision")
        .arg(&conn)
        .arg(&with_groups)
        .args(["--set", &base, "--set", "force_change=true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    // The bool from the environment (`yes` reads as true), no groups: `(json '[]')`.
    let out = wsc()
        .arg("provision")
        .arg(&conn)
        .arg(&without)
        .args(["--set", &base])
        .env("WSC_FORCE_CHANGE", "yes")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    // From a settings file, `false` as YAML's boolean.
    let file = write(&dir, "s.yaml", "force_change: false\n");
    let out = wsc()
        .arg("provision")
        .arg(&conn)
        .arg(&without)
        .args(["--set", &base, "--settings"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));

    let bodies = replay.bodies();
    assert_eq!(bodies.len(), 3, "{bodies:#?}");
    assert_eq!(
        bodies[0],
        json!({
            "userName": "jdoe",
            "passwordProfile": { "forceChangePasswordNextSignIn": true },
            "groups": ["g01", "g05"],
            "label": "user jdoe (true)"
        })
    );
    assert_eq!(
        bodies[1]["passwordProfile"]["forceChangePasswordNextSignIn"],
        json!(true)
    );
    assert_eq!(bodies[1]["groups"], json!([]));
    assert_eq!(
        bodies[2]["passwordProfile"]["forceChangePasswordNextSignIn"],
        json!(false)
    );
}

/// Offset paging whose page size comes from an int setting.
const PAGED: &str = r#"connector: typed_paged
settings:
  base_url: {}
  page_size: { default: 100, min: 1, max: 1000, description: "users per page" }
  region: { enum: [eu, us], default: eu }
  tenant: { pattern: "[a-z0-9-]+", example: acme-prod, required: false, default: acme }
  pin: { type: int, secret: true, required: false }
base_url: "{{settings.base_url}}/api"
auth: { type: none }
operations:
  account_aggregation:
    request:
      path: /users/offset
      query:
        offset: "{{page.offset}}"
        limit: "{{page.limit}}"
        region: "{{settings.region}}"
        tenant: "{{settings.tenant}}"
    paging: { kind: offset, limit: "{{settings.page_size}}", total: "$.total" }
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
"#;

fn start_api(users: usize) -> (tokio::runtime::Runtime, SyntheticApi) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt
        .block_on(SyntheticApi::start(SyntheticConfig::new(users)))
        .unwrap();
    (rt, api)
}

fn aggregate(conn: &Path, api: &SyntheticApi, extra: &[&str]) -> Output {
    wsc()
        .arg("aggregate")
        .arg(conn)
        .args(["--set", &format!("base_url={}", api.base_url())])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn int_setting_sets_the_page_size() {
    let (rt, api) = start_api(12);
    let dir = scratch("page-size");
    let conn = write(&dir, "c.yaml", PAGED);
    let out = aggregate(&conn, &api, &["--set", "page_size=5"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(text(&out.stdout).lines().count(), 12, "{}", show(&out));
    // 12 users by 5: pages of 5, 5 and 2 (the default of 100 would be one page).
    assert_eq!(api.stats().pages.offset, 3, "{:?}", api.stats());

    // The same from the environment.
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(["--set", &format!("base_url={}", api.base_url())])
        .env("WSC_PAGE_SIZE", "4")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(text(&out.stdout).lines().count(), 12);
    assert_eq!(api.stats().pages.offset, 3 + 3, "{:?}", api.stats());
    rt.block_on(api.shutdown());
}

#[test]
fn bad_values_exit_2_before_any_request_naming_their_source() {
    let (rt, api) = start_api(12);
    let dir = scratch("bad-values");
    let conn = write(&dir, "c.yaml", PAGED);
    let out_file = dir.join("out.jsonl");

    // Every bad value at once: a non-number, an enum violation, a pattern violation from the
    // environment, a secret that is never echoed.
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(["--set", &format!("base_url={}", api.base_url())])
        .args(["--set", "page_size=abc", "--set", "region=apac"])
        .args(["--set", "pin=12ab-secret", "--out"])
        .arg(&out_file)
        .env("WSC_TENANT", "Acme Prod")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
    let err = text(&out.stderr);
    for want in [
        "invalid value for setting `page_size` (from `--set page_size=...`)",
        "expected: a whole number (`int` setting)",
        "found: `abc`",
        "invalid value for setting `region` (from `--set region=...`)",
        "expected: one of `eu`, `us`",
        "found: `apac`",
        "invalid value for setting `tenant` (from the environment variable WSC_TENANT)",
        "expected: a value matching `[a-z0-9-]+`",
        "help: for example `acme-prod`",
        "invalid value for setting `pin` (from `--set pin=...`)",
        "not shown: the setting is secret",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert!(!err.contains("12ab-secret"), "the secret is shown:\n{err}");

    // A settings file: typed values must have the type; the file and key are named.
    let file = write(&dir, "s.yaml", "page_size: 2.5\nregion: eu\n");
    let out = aggregate(&conn, &api, &["--settings", file.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "invalid value for setting `page_size` (from the settings file {}, key `page_size`)",
            file.display()
        )),
        "{err}"
    );
    assert!(err.contains("found: the number `2.5`"), "{err}");

    // Out of the setting's bounds.
    let out = aggregate(&conn, &api, &["--set", "page_size=0"]);
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(
        text(&out.stderr).contains("expected: a number from 1 to 1000"),
        "{}",
        show(&out)
    );

    assert_eq!(api.stats().requests, 0, "{:?}", api.stats());
    assert_eq!(listing(&dir), ["c.yaml", "s.yaml"]);
    rt.block_on(api.shutdown());
}

/// A page size of 0 from a setting without `min` is refused when the engine is built.
#[test]
fn a_setting_value_the_key_cannot_take_exits_2_before_any_request() {
    let (rt, api) = start_api(3);
    let dir = scratch("key-floor");
    let conn = write(
        &dir,
        "c.yaml",
        &PAGED.replace(
            "page_size: { default: 100, min: 1, max: 1000,",
            "page_size: { default: 100,",
        ),
    );
    let out = aggregate(&conn, &api, &["--set", "page_size=0"]);
    assert_eq!(code(&out), 2, "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("setting `page_size` is 0, but `operations.account_aggregation.paging.limit` reads it and must be at least 1"),
        "{err}"
    );
    assert_eq!(api.stats().requests, 0, "{:?}", api.stats());
    rt.block_on(api.shutdown());
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
