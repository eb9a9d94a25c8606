//! A refresh token that the server rotated while wsc was being stopped is stored, never lost:
//! SIGTERM or Ctrl-C during a refresh waits until the new token is in the state store. The
//! synthetic API rotates single-use refresh tokens (reuse revokes the grant) and holds its
//! token answer until the test has seen wsc receive the signal, so the signal always comes
//! between the server's rotation and wsc reading the answer. Also `wsc auth status`: how the
//! stored token was obtained and what the next run does.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wsc_store::{ExpectedVersion, SqliteStore, Store};
use wsc_testkit::synthetic::{AuthMode, OAuth2Config, SyntheticApi, SyntheticConfig};

const SEED: &str = "rt-seed-0";
const SECRET: &str = "rotation-secret-5Tq";

fn connector() -> &'static str {
    r#"connector: rotation
settings:
  base_url: {}
  refresh_token: { secret: true }
  client_secret: { secret: true }
base_url: "{{settings.base_url}}/api"
auth:
  type: oauth2
  grant: refresh_token
  token_url: "{{settings.base_url}}/oauth/token"
  client_id: rotation-client
  client_secret: "{{settings.client_secret}}"
  refresh_token: "{{settings.refresh_token}}"
operations:
  test_connection:
    request: { path: /me }
  account_aggregation:
    request:
      path: /users/offset
      query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
    paging: { kind: offset, limit: 10, total: "$.total", concurrency: 1 }
    records: "$.items[*]"
    identity: "$.id"
"#
}

/// The synthetic API on a runtime of its own.
struct Api {
    rt: tokio::runtime::Runtime,
    api: Option<SyntheticApi>,
}

impl Api {
    fn start() -> Api {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let oauth = OAuth2Config::new("rotation-client", SECRET).with_rotating_refresh(SEED);
        // Data requests take a while, so the run is still going when the refresh is stored
        // and the signal ends it.
        let config = SyntheticConfig::new(50)
            .with_auth(AuthMode::OAuth2(oauth))
            .with_latency(Duration::from_millis(50));
        let api = rt.block_on(SyntheticApi::start(config)).unwrap();
        Api { rt, api: Some(api) }
    }

    fn api(&self) -> &SyntheticApi {
        self.api.as_ref().unwrap()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            self.api_release();
            self.rt.block_on(api.shutdown());
        }
    }
}

impl Api {
    fn api_release(&self) {
        if let Some(a) = &self.api {
            a.release_token_answers();
        }
    }
}

fn sets(api: &Api) -> Vec<String> {
    vec![
        "--set".into(),
        format!("base_url={}", api.api().base_url()),
        "--set".into(),
        format!("refresh_token={SEED}"),
    ]
}

fn wsc_with(api: &Api, state: &Path, args: &[&str], file: &Path) -> Command {
    let mut c = wsc();
    c.args(args)
        .arg(file)
        .args(sets(api))
        .arg("--state")
        .arg(state)
        .env("WSC_CLIENT_SECRET", SECRET);
    c
}

/// Waits (30 s at most) until `cond`, panicking with `what` and wsc's stderr otherwise.
fn wait_until(
    what: &str,
    child: &mut Child,
    stderr: &Arc<Mutex<Vec<String>>>,
    cond: impl Fn() -> bool,
) {
    let until = Instant::now() + Duration::from_secs(30);
    while !cond() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "wsc exited ({status}) before {what}; its stderr:\n{}",
                stderr.lock().unwrap().join("\n")
            );
        }
        assert!(
            Instant::now() < until,
            "no {what} within 30 s; wsc's stderr:\n{}",
            stderr.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The key of the connector instance the tests run.
fn instance(file: &Path, api: &Api) -> wsc_store::InstanceKey {
    let loaded = wsc_spec::load_file(file).unwrap();
    let explicit = [
        ("base_url", api.api().base_url()),
        ("refresh_token", SEED.to_string()),
        ("client_secret", SECRET.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::String(v)))
    .collect();
    let settings = wsc_engine::settings::resolve(
        &loaded.connector,
        &explicit,
        &Default::default(),
        &|_: &str| None,
    )
    .unwrap();
    wsc_engine::auth::instance_key(&loaded, &settings)
}

/// The token wsc stored.
fn stored(file: &Path, api: &Api, state: &Path) -> wsc_auth::TokenSet {
    wsc_auth::load_token(
        &SqliteStore::open(state, None).unwrap(),
        &instance(file, api),
    )
    .unwrap()
    .expect("a stored token")
    .token
}

fn setup(name: &str) -> (Api, PathBuf, PathBuf) {
    let api = Api::start();
    let dir = scratch(name);
    let file = dir.join("rotation.yaml");
    std::fs::write(&file, connector()).unwrap();
    (api, file, dir.join("state.db"))
}

/// Sends `signal` to a `wsc aggregate` whose refresh the server has answered (rotating the
/// seed) but whose answer it holds; releases the answer once wsc says it waits for it.
fn signal_during_refresh(signal: &str, exit_code: i32) {
    let (api, file, state) = setup(&format!("rotation-{signal}"));
    api.api().hold_token_answers();
    let mut child = wsc_with(&api, &state, &["aggregate"], &file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let sink = stderr.clone();
    let pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    wait_until("the refresh request", &mut child, &stderr, || {
        api.api().held_token_answers() == 1
    });
    // The server has rotated the seed: only its held answer knows the new refresh token.
    assert_ne!(api.api().current_refresh_token().as_deref(), Some(SEED));
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_until(
        "saying it waits for the token request",
        &mut child,
        &stderr,
        || {
            stderr.lock().unwrap().iter().any(|l| {
                l.contains("waiting for the token request in flight to store its new token")
            })
        },
    );
    api.api().release_token_answers();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let err = stderr.lock().unwrap().join("\n");
    assert_eq!(status.code(), Some(exit_code), "{err}");
    // The rotated refresh token is the one stored: the grant lives on.
    let t = stored(&file, &api, &state);
    assert_eq!(
        t.refresh_token.as_ref().map(|s| s.expose().to_string()),
        api.api().current_refresh_token(),
        "{err}"
    );
    let s = api.api().stats();
    assert_eq!((s.token_requests, s.grants_revoked), (1, 0), "{s:?}");

    // `auth status` tells how it was obtained and what comes next.
    let o = wsc_with(&api, &state, &["auth", "status"], &file)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = text(&o.stdout);
    assert!(out.contains("by a refresh (refresh_token grant)"), "{out}");
    assert!(
        out.contains("next run:  uses the stored token until")
            && out.contains("then refreshes it with the refresh token held (refresh_token grant)"),
        "{out}"
    );
}

#[test]
fn sigterm_during_a_refresh_waits_until_the_rotated_token_is_stored() {
    signal_during_refresh("TERM", 143);
}

#[test]
fn ctrl_c_during_a_refresh_waits_until_the_rotated_token_is_stored() {
    signal_during_refresh("INT", 130);
}

#[test]
fn auth_status_before_the_first_run_and_for_a_token_of_an_older_wsc() {
    let (api, file, state) = setup("rotation-status");
    let status = || {
        let o = wsc_with(&api, &state, &["auth", "status"], &file)
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}", show(&o));
        text(&o.stdout)
    };
    let out = status();
    assert!(out.contains("token:     none stored"), "{out}");
    assert!(
        out.contains("next run:  gets one with the refresh token that `auth.refresh_token` gives"),
        "{out}"
    );
    // A token written by a wsc that did not record how it got it.
    let key = instance(&file, &api);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    SqliteStore::open(&state, None)
        .unwrap()
        .save_token(
            &key,
            "refresh_token",
            &json!({
                "access_token": "old-access", "expires_at_ms": now - 1000,
                "refresh_token": "old-refresh", "obtained_at_ms": now - 3_601_000,
            }),
            ExpectedVersion::Any,
        )
        .unwrap();
    let out = status();
    assert!(
        out.contains("token:     expired, obtained")
            && out.contains("by the refresh_token flow (stored by an older wsc"),
        "{out}"
    );
    assert!(
        out.contains("next run:  refreshes it with the refresh token held"),
        "{out}"
    );
}
