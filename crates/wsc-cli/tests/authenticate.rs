//! `wsc authenticate`: pass-through authentication with connectors/demo.yaml against the
//! synthetic API's real login endpoint (`POST /login`), the password on stdin.

mod common;
use common::*;

use std::io::Write;
use std::process::{Output, Stdio};

use wsc_testkit::synthetic::{AuthMode, LoginConfig, OAuth2Config, SyntheticApi, SyntheticConfig};

const SECRET: &str = "demo-secret-4kZ9q";
const PASSWORD: &str = "correct horse 42 battery";

/// The synthetic API as `wsc demo` serves it, with one account that can log in.
struct Api {
    rt: tokio::runtime::Runtime,
    api: Option<SyntheticApi>,
    user: String,
}

impl Api {
    fn start() -> Api {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let config = SyntheticConfig::new(20)
            .with_auth(AuthMode::OAuth2(OAuth2Config::new("demo-client", SECRET)));
        let user = wsc_testkit::synthetic::user(&config, 3).user_name;
        let config = config.with_login(LoginConfig::new([(user.clone(), PASSWORD.to_string())]));
        let api = rt.block_on(SyntheticApi::start(config)).unwrap();
        Api {
            rt,
            api: Some(api),
            user,
        }
    }

    fn api(&self) -> &SyntheticApi {
        self.api.as_ref().unwrap()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            self.rt.block_on(api.shutdown());
        }
    }
}

/// `wsc -vv authenticate connectors/demo.yaml --identity ID` with `stdin` written to its
/// standard input.
fn authenticate(api: &Api, identity: &str, stdin: &str, state: &std::path::Path) -> Output {
    let mut child = wsc()
        .args([
            "-vv",
            "authenticate",
            "connectors/demo.yaml",
            "--identity",
            identity,
        ])
        .arg("--state")
        .arg(state)
        .env("WSC_BASE_URL", api.api().base_url())
        .env("WSC_CLIENT_SECRET", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The password appears nowhere in what wsc printed (debug logging on).
fn assert_password_hidden(o: &Output, password: &str) {
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!all.contains(password), "the password leaked:\n{all}");
    let encoded: String = url::form_urlencoded::byte_serialize(password.as_bytes()).collect();
    assert!(!all.contains(&encoded), "the password leaked:\n{all}");
}

#[test]
fn the_right_password_exits_0_and_a_wrong_one_exits_1_saying_rejected() {
    let api = Api::start();
    let dir = scratch("authenticate");
    let state = dir.join("state.db");

    let o = authenticate(&api, &api.user, &format!("{PASSWORD}\n"), &state);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = text(&o.stdout);
    assert!(
        out.contains(&format!("ok: `{}` authenticated", api.user)),
        "{out}"
    );
    // The operation maps the user the login answers with.
    assert!(
        out.contains(&format!("\"identity\": \"{}\"", api.user)),
        "{out}"
    );
    assert_password_hidden(&o, PASSWORD);
    assert_eq!(api.api().stats().logins, 1);

    let wrong = "not the password 7";
    let o = authenticate(&api, &api.user, wrong, &state);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("rejected: `{}` did not authenticate", api.user))
            && err.contains("HTTP 401"),
        "{err}"
    );
    assert!(text(&o.stdout).is_empty(), "{}", show(&o));
    assert_password_hidden(&o, wrong);

    // An unknown user is rejected the same way.
    let o = authenticate(&api, "nobody", PASSWORD, &state);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_password_hidden(&o, PASSWORD);
    assert_eq!(api.api().stats().login_failures, 2);
}

#[test]
fn the_password_is_never_an_argument_and_never_empty() {
    let api = Api::start();
    let dir = scratch("authenticate-input");
    let state = dir.join("state.db");
    // No `--password`: clap refuses it as an unknown argument.
    let o = wsc()
        .args(["authenticate", "connectors/demo.yaml", "--identity", "x"])
        .args(["--password", PASSWORD])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", show(&o));
    // Nothing on stdin: a clear error, nothing sent.
    let o = authenticate(&api, &api.user, "", &state);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(text(&o.stderr).contains("no password"), "{}", show(&o));
    assert_eq!(api.api().stats().requests, 0);
    // A provisioning plan cannot run it: the error says which command does.
    let plan = dir.join("plan.yaml");
    std::fs::write(&plan, "operation: authenticate\nidentity: x\npassword: y\n").unwrap();
    let o = wsc()
        .args(["provision", "connectors/demo.yaml"])
        .arg(&plan)
        .args(["--dry-run", "--set", "base_url=http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        text(&o.stderr).contains("run `wsc authenticate CONNECTOR --identity ID`"),
        "{}",
        show(&o)
    );
    // A connector without `authenticate` says what to add.
    let o = wsc()
        .args(["authenticate", "connectors/okta.yaml", "--identity", "x"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        text(&o.stderr).contains("no `authenticate` operation"),
        "{}",
        show(&o)
    );
}
