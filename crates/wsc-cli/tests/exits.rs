//! How `wsc` ends: a closed stdout (`| head`) is quiet with exit 141 in every command; SIGTERM
//! ends a run like Ctrl-C (no temporary file, `--out` untouched, exit 143; Ctrl-C 130);
//! `--out` renames only over regular files (a FIFO, a character device and `/dev/stdout` are
//! written in place and stay what they were) and creates missing folders.

mod common;
use common::*;

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig, user_id};

const TOKEN: &str = "exits-bearer-Qm4v81Lz";

const CONNECTOR: &str = r#"connector: exits_it
settings:
  base_url: {}
  token: { secret: true }
base_url: "{{settings.base_url}}/api"
auth: { type: bearer, token: "{{settings.token}}" }
operations:
  test_connection:
    request: { path: /me }
  account_aggregation:
    request:
      path: /users/offset
      query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
    paging: { kind: offset, limit: 50, total: "$.total" }
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
  get_object:
    account:
      request: { path: "/users/{{plan.identity}}" }
      identity: "$.id"
      name: "$.userName"
"#;

/// The synthetic API served by a runtime of its own while the binary runs.
struct Api {
    rt: tokio::runtime::Runtime,
    api: Option<SyntheticApi>,
}

impl Api {
    fn start(config: SyntheticConfig) -> Api {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let api = rt.block_on(SyntheticApi::start(config)).unwrap();
        Api { rt, api: Some(api) }
    }

    fn users(n: usize) -> Api {
        Api::start(SyntheticConfig::new(n).with_auth(AuthMode::Bearer(TOKEN.into())))
    }

    fn base_url(&self) -> String {
        self.api.as_ref().unwrap().base_url()
    }

    fn pages(&self) -> u64 {
        self.api.as_ref().unwrap().stats().pages.offset
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            self.rt.block_on(api.shutdown());
        }
    }
}

fn sets(api: &Api) -> Vec<String> {
    vec![
        "--set".into(),
        format!("base_url={}", api.base_url()),
        "--set".into(),
        format!("token={TOKEN}"),
    ]
}

fn connector(dir: &Path) -> PathBuf {
    let p = dir.join("c.yaml");
    std::fs::write(&p, CONNECTOR).unwrap();
    p
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Runs `cmd` with its stdout a pipe whose reader is already closed: the first write fails.
fn with_closed_stdout(mut cmd: Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_every_command_quietly_with_141() {
    let api = Api::users(3000);
    let dir = scratch("pipe");
    let conn = connector(&dir);
    let state = dir.join("state.db");
    let demo = |args: &[&str]| {
        let mut c = wsc();
        c.args(args)
            .arg("connectors/demo.yaml")
            .args(["--set", "base_url=http://127.0.0.1:9", "--set"])
            .arg("client_secret=x")
            .arg("--state")
            .arg(&state);
        c
    };
    let with_conn = |args: &[&str], extra: &[&str]| {
        let mut c = wsc();
        c.args(args).arg(&conn).args(sets(&api)).args(extra);
        c
    };
    let mut schema = wsc();
    schema.arg("schema");
    let mut validate = wsc();
    validate.args(["validate", "connectors/demo.yaml", "connectors/okta.yaml"]);
    let commands: Vec<(&str, Command)> = vec![
        ("schema", schema),
        ("validate", validate),
        ("auth status", demo(&["auth", "status"])),
        ("auth logout", demo(&["auth", "logout"])),
        ("test-connection", with_conn(&["test-connection"], &[])),
        ("get", with_conn(&["get"], &[&user_id(1)])),
        ("aggregate", with_conn(&["aggregate"], &[])),
        (
            "aggregate csv",
            with_conn(&["aggregate"], &["--format", "csv"]),
        ),
    ];
    for (name, cmd) in commands {
        let out = with_closed_stdout(cmd);
        assert_eq!(code(&out), 141, "{name}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe") && !err.contains("error"),
            "{name}: {}",
            show(&out)
        );
    }
}

/// Starts `aggregate --out` against a slow API and returns once records were written.
fn slow_run(dir: &Path, api: &Api, out_file: &Path) -> std::process::Child {
    let conn = connector(dir);
    let child = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(api))
        .arg("--out")
        .arg(out_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.pages() < 3 {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn sigterm_ends_a_run_like_ctrl_c_with_143() {
    let api = Api::start(
        SyntheticConfig::new(4000)
            .with_auth(AuthMode::Bearer(TOKEN.into()))
            .with_latency(Duration::from_millis(200)),
    );
    let dir = scratch("sigterm");
    let out_file = dir.join("accounts.jsonl");
    std::fs::write(&out_file, "previous run\n").unwrap();
    let child = slow_run(&dir, &api, &out_file);
    assert!(
        listing(&dir).iter().any(|f| f.contains("wsc-tmp")),
        "a temporary file while the run goes: {:?}",
        listing(&dir)
    );
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 143, "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("terminated (SIGTERM)"), "{err}");
    assert!(err.contains("was left as it was"), "{err}");
    assert!(api.pages() < 80, "the run was cut short");
    assert_eq!(listing(&dir), ["accounts.jsonl", "c.yaml"]);
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "previous run\n"
    );
}

#[test]
fn out_to_a_fifo_is_written_in_place() {
    let api = Api::users(120);
    let dir = scratch("fifo");
    let conn = connector(&dir);
    let fifo = dir.join("records.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            std::fs::File::open(&fifo)
                .unwrap()
                .read_to_string(&mut s)
                .unwrap();
            s
        })
    };
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api))
        .arg("--out")
        .arg(&fifo)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let read = reader.join().unwrap();
    assert_eq!(read.lines().count(), 120, "{read}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(listing(&dir), ["c.yaml", "records.fifo"]);
}

/// As root, a character device made with `mknod` (the same device as `/dev/null`) stays a
/// device: before the fix it became a regular file holding the records.
#[test]
fn out_to_a_character_device_stays_a_device() {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if text(&uid.stdout).trim() != "0" {
        eprintln!("not root: mknod needs root; the FIFO test covers the non-regular path");
        return;
    }
    let api = Api::users(60);
    let dir = scratch("chardev");
    let conn = connector(&dir);
    let dev = dir.join("null");
    let made = Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    assert!(made.success());
    for args in [vec!["aggregate"], vec!["aggregate", "--format", "json"]] {
        let out = wsc()
            .args(&args)
            .arg(&conn)
            .args(sets(&api))
            .arg("--out")
            .arg(&dev)
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", show(&out));
    }
    let out = wsc().arg("schema").arg("--out").arg(&dev).output().unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let meta = std::fs::symlink_metadata(&dev).unwrap();
    assert!(meta.file_type().is_char_device(), "{meta:?}");
    assert_eq!(listing(&dir), ["c.yaml", "null"]);
}

#[test]
fn out_to_dev_stdout_writes_to_stdout() {
    let api = Api::users(30);
    let dir = scratch("devstdout");
    let conn = connector(&dir);
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api))
        .args(["--out", "/dev/stdout"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(text(&out.stdout).lines().count(), 30, "{}", show(&out));
    assert!(
        std::fs::symlink_metadata("/dev/stdout")
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn out_creates_missing_folders_or_names_the_one_it_cannot_make() {
    let api = Api::users(10);
    let dir = scratch("folders");
    let conn = connector(&dir);
    let nested = dir.join("out/daily/accounts.jsonl");
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api))
        .arg("--out")
        .arg(&nested)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(
        std::fs::read_to_string(&nested).unwrap().lines().count(),
        10
    );

    // A file where a folder should be: the error names the folder, not a temporary file.
    std::fs::write(dir.join("blocker"), "").unwrap();
    let out = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(sets(&api))
        .arg("--out")
        .arg(dir.join("blocker/sub/accounts.jsonl"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("cannot create the folder"), "{err}");
    assert!(err.contains("blocker/sub"), "{err}");
    assert!(!err.contains("wsc-tmp"), "{err}");
}

#[test]
fn partitions_says_when_there_are_none() {
    let api = Api::users(5);
    let dir = scratch("no-partitions");
    let conn = connector(&dir);
    let out = wsc()
        .arg("partitions")
        .arg(&conn)
        .args(sets(&api))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains("has no partitions: run it whole"),
        "{}",
        show(&out)
    );
}

/// `wsc test` with a case that names an unknown operation and one whose cassette is broken:
/// exit 2 (invalid input, not a mismatch), each problem with its file, line and column.
#[test]
fn wsc_test_exits_2_for_invalid_cases_and_cassettes_with_locations() {
    let dir = scratch("invalid-cases");
    let conn = connector(&dir);
    let fx = dir.join("fx");
    std::fs::create_dir_all(fx.join("cassettes")).unwrap();
    let case = |name: &str, op: &str| {
        std::fs::write(
            fx.join(format!("{name}.case.yaml")),
            format!(
                "# a case\noperation: {op}\nsettings: {{ base_url: http://x, token: abcd }}\n\
                 cassette: cassettes/{name}.yaml\n"
            ),
        )
        .unwrap();
    };
    case("typo", "account_agregation");
    std::fs::write(fx.join("cassettes/typo.yaml"), "interactions: []\n").unwrap();
    case("cassette", "account_aggregation");
    std::fs::write(
        fx.join("cassettes/cassette.yaml"),
        "interactions:\n- request: { method: GET, pth: /x }\n",
    )
    .unwrap();
    for only in ["typo", "cassette"] {
        let out = wsc()
            .arg("test")
            .arg(&conn)
            .arg("--fixtures")
            .arg(&fx)
            .args(["--case", only])
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{only}: {}", show(&out));
        let all = text(&out.stdout) + &text(&out.stderr);
        let at = if only == "typo" {
            "typo.case.yaml:2:1"
        } else {
            "cassettes/cassette.yaml:2:"
        };
        assert!(all.contains(at), "{only}: {all}");
    }
    let out = wsc()
        .arg("test")
        .arg(&conn)
        .args(["--fixtures"])
        .arg(&fx)
        .args(["--case", "typo"])
        .output()
        .unwrap();
    let all = text(&out.stdout);
    assert!(all.contains("did you mean `account_aggregation`?"), "{all}");

    // No fixture directory: the message names where it looked, without a stray space.
    let out = wsc().arg("test").arg(&conn).output().unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("looked for fixtures/c; pass --fixtures DIR"),
        "{err}"
    );
}

/// `wsc demo --out DIR` stopped by SIGTERM mid-run: exit 143, no temporary file left.
#[test]
fn sigterm_during_demo_out_leaves_no_temporary_file() {
    let dir = scratch("demo-term");
    let out_dir = dir.join("out");
    let child = wsc()
        .args(["demo", "--users", "3000000", "--out"])
        .arg(&out_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !out_dir.is_dir() || listing(&out_dir).is_empty() {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 143, "{}", show(&out));
    assert_eq!(listing(&out_dir), Vec::<String>::new());
}
