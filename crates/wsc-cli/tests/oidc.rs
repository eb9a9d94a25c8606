//! Interop with a real authorization server: panva's oidc-provider (pinned in
//! tests/oidc/package-lock.json), started by tests/oidc/server.mjs on 127.0.0.1 on a free port,
//! driven through the `wsc` binary. The provider's protected API checks every bearer token
//! by introspection, and the tests introspect the tokens wsc stored themselves.
//!
//! Needs Node.js 20+ with npm: the tests run `npm ci --prefix tests/oidc` on first use
//! (`wsc_testkit::tools::oidc_provider`). Without node the tests fail and say so; nothing is
//! skipped.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::Value;
use wsc_auth::TokenSet;
use wsc_store::SqliteStore;

fn oidc_dir() -> PathBuf {
    root().join("tests/oidc")
}

fn connector(name: &str) -> PathBuf {
    oidc_dir().join("connectors").join(name)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Lines read from a pipe by a thread, available while the pipe is still open.
type Lines = Arc<Mutex<Vec<String>>>;

/// Collects a pipe's lines in a thread (which ends with the pipe).
fn collect_lines(r: impl Read + Send + 'static) -> (Lines, std::thread::JoinHandle<()>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    (lines, reader)
}

/// The oidc-provider test server; killed on drop.
struct Provider {
    child: Child,
    _stdin: Option<ChildStdin>,
    issuer: String,
    stderr: Lines,
}

impl Provider {
    fn start() -> Provider {
        Provider::start_with(&[])
    }

    fn start_with(env: &[(&str, &str)]) -> Provider {
        // `npm ci --prefix tests/oidc` on first use (and when the lock file changes).
        let dir =
            wsc_testkit::tools::oidc_provider(&root(), Path::new(env!("CARGO_TARGET_TMPDIR")))
                .unwrap_or_else(|e| panic!("the OIDC interop suite needs oidc-provider: {e}"));
        assert_eq!(dir, oidc_dir());
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&dir)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `node` ({e}): the OIDC interop suite needs Node.js 20 or later on PATH, and `npm ci --prefix tests/oidc`")
            });
        let (stderr, _) = collect_lines(child.stderr.take().unwrap());
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(i) = line.strip_prefix("OIDC_ISSUER=") {
                    let _ = tx.send(i.to_string());
                }
            }
        });
        let stdin = child.stdin.take();
        let mut p = Provider {
            child,
            _stdin: stdin,
            issuer: String::new(),
            stderr,
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(issuer) => p.issuer = issuer,
            Err(_) => panic!(
                "tests/oidc/server.mjs did not print OIDC_ISSUER=... within 30 s; its stderr:\n{}",
                p.stderr.lock().unwrap().join("\n")
            ),
        }
        p
    }

    fn issuer_set(&self) -> String {
        format!("issuer={}", self.issuer)
    }

    /// RFC 7662 introspection, as the protected API's client.
    async fn introspect(&self, token: &str) -> Value {
        let r = reqwest::Client::new()
            .post(format!("{}/token/introspection", self.issuer))
            .basic_auth("wsc-rs", Some("rs-secret"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    fn introspect_now(&self, token: &str) -> Value {
        runtime().block_on(self.introspect(token))
    }

    async fn device_polls(&self, client_id: &str) -> Vec<Value> {
        let v: Value = reqwest::get(format!(
            "{}/test/device-polls?client_id={client_id}",
            self.issuer
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        v.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `wsc ARGS... --state STATE` to completion.
fn run(args: &[&str], state: &Path) -> Output {
    wsc().args(args).arg("--state").arg(state).output().unwrap()
}

/// The token wsc stored for `connector` with these `--set` values.
fn stored(connector: &Path, sets: &[&str], state: &Path) -> TokenSet {
    let loaded = wsc_spec::load_file(connector).unwrap();
    let explicit = sets
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), Value::String(v.to_string()))
        })
        .collect();
    let settings = wsc_engine::settings::resolve(
        &loaded.connector,
        &explicit,
        &Default::default(),
        &|_: &str| None,
    )
    .unwrap();
    let key = wsc_engine::auth::instance_key(&loaded, &settings);
    wsc_auth::load_token(&SqliteStore::open(state, None).unwrap(), &key)
        .unwrap()
        .expect("a stored token")
        .token
}

/// A `wsc` child whose stderr is read line by line while it runs.
struct Running {
    child: Child,
    stderr: Lines,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn spawn(args: &[&str], state: &Path) -> Running {
        let mut child = wsc()
            .args(args)
            .arg("--state")
            .arg(state)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (stderr, reader) = collect_lines(child.stderr.take().unwrap());
        Running {
            child,
            stderr,
            reader: Some(reader),
        }
    }

    /// The rest of the first stderr line starting with `prefix`.
    fn wait_line(&mut self, prefix: &str) -> String {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(l) = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .find_map(|l| l.strip_prefix(prefix))
            {
                return l.to_string();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "wsc exited ({status}) before printing `{prefix}`; stderr:\n{}",
                    self.stderr.lock().unwrap().join("\n")
                );
            }
            assert!(
                Instant::now() < until,
                "no `{prefix}` line from wsc in 30 s; stderr:\n{}",
                self.stderr.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(mut self) -> Output {
        let mut stdout = Vec::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_end(&mut stdout)
            .unwrap();
        let status = self.child.wait().unwrap();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let stderr = self.stderr.lock().unwrap().join("\n").into_bytes();
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in one HTML tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let pat = format!("{name}=\"");
    let mut from = 0;
    while let Some(i) = tag[from..].find(&pat) {
        let at = from + i;
        // a whole attribute name, not the end of another one
        if at == 0 || tag.as_bytes()[at - 1].is_ascii_whitespace() {
            let rest = &tag[at + pat.len()..];
            return rest.find('"').map(|j| unescape(&rest[..j]));
        }
        from = at + pat.len();
    }
    None
}

/// The first form of a page: its action and its hidden fields.
fn first_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let end = html[start..].find("</form>").map(|e| start + e)?;
    let form = &html[start..end];
    let open_end = form.find('>')?;
    let action = attr(&form[..open_end], "action")?;
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input") {
        let tag_end = rest[i..].find('>').map(|e| i + e).unwrap_or(rest.len());
        let tag = &rest[i..tag_end];
        if attr(tag, "type").as_deref() == Some("hidden")
            && let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value"))
        {
            fields.push((n, v));
        }
        rest = &rest[tag_end..];
    }
    Some((action, fields))
}

/// What the simulated user does on the provider's pages.
#[derive(Clone, Copy, PartialEq)]
enum User {
    /// Signs in as `alice` and consents.
    Approve,
    /// Aborts (the consent page's abort link, or the device page's abort button).
    Abort,
}

/// Drives the provider's pages like a browser would (cookie jar, redirects followed by hand):
/// the devInteractions login and consent forms and the device confirmation form. Stops at a
/// redirect to `stop_at` (which it then requests, like the browser landing on wsc's loopback
/// listener) or at a page without a form. Returns the last status and body.
async fn browse(start: Url, stop_at: Option<&str>, user: User) -> (u16, String, Url) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut next: (Url, Option<Vec<(String, String)>>) = (start, None);
    let mut aborted = false;
    for _ in 0..30 {
        let (url, form) = next.clone();
        let resp = match form {
            None => client.get(url.clone()).send().await.unwrap(),
            Some(f) => client.post(url.clone()).form(&f).send().await.unwrap(),
        };
        let status = resp.status();
        if status.is_redirection() {
            let loc = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .expect("a Location header");
            let target = url.join(loc).unwrap();
            if let Some(stop) = stop_at
                && target.as_str().starts_with(stop)
            {
                let r = client.get(target.clone()).send().await.unwrap();
                let s = r.status().as_u16();
                return (s, r.text().await.unwrap(), target);
            }
            next = (target, None);
            continue;
        }
        let html = resp.text().await.unwrap();
        assert_eq!(status, 200, "{url}: {html}");
        let form = first_form(&html).filter(|_| !aborted);
        let Some((action, mut fields)) = form else {
            return (status.as_u16(), html, url);
        };
        let prompt = fields
            .iter()
            .find(|(k, _)| k == "prompt")
            .map(|(_, v)| v.clone());
        match (prompt.as_deref(), user) {
            (Some("login"), _) => {
                fields.push(("login".into(), "alice".into()));
                fields.push(("password".into(), "any password".into()));
            }
            (Some("consent"), User::Abort) => {
                // devInteractions' abort link
                let abort = html
                    .find("/abort")
                    .and_then(|i| html[..i].rfind('"').map(|s| &html[s + 1..i + 6]))
                    .expect("an abort link");
                next = (url.join(&unescape(abort)).unwrap(), None);
                continue;
            }
            (Some("consent"), User::Approve) => {}
            (_, User::Abort) if fields.iter().any(|(k, _)| k == "user_code") => {
                fields.push(("abort".into(), "yes".into()));
                aborted = true;
            }
            _ => {}
        }
        next = (url.join(&action).unwrap(), Some(fields));
    }
    panic!("more than 30 steps through the provider's pages");
}

fn login_args<'a>(c: &'a str, issuer_set: &'a str) -> Vec<&'a str> {
    vec![
        "auth",
        "login",
        c,
        "--set",
        issuer_set,
        "--no-browser",
        "--timeout",
        "60s",
    ]
}

/// `wsc auth login` with the authorization_code connector, approved headlessly.
fn login_with_code(p: &Provider, state: &Path) -> Output {
    login_with_code_at(p, &connector("authorization_code.yaml"), state).0
}

/// `wsc auth login` with the authorization_code connector `c`, approved headlessly; its
/// output and the authorize URL it printed.
fn login_with_code_at(p: &Provider, c: &Path, state: &Path) -> (Output, Url) {
    let set = p.issuer_set();
    let mut w = Running::spawn(&login_args(c.to_str().unwrap(), &set), state);
    let url = Url::parse(&w.wait_line("Open this URL in a browser: ")).unwrap();
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k} in the authorize URL {url}"))
    };
    assert_eq!(get("code_challenge_method"), "S256");
    assert_eq!(get("code_challenge").len(), 43);
    assert!(get("state").len() >= 32);
    let redirect = get("redirect_uri");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let (status, page, landed) =
        runtime().block_on(browse(url.clone(), Some(&redirect), User::Approve));
    let out = w.finish();
    assert_eq!(status, 200, "{page}\n{}", show(&out));
    assert!(page.contains("Signed in"), "{page}");
    assert!(landed.query_pairs().any(|(k, _)| k == "code"));
    (out, url)
}

fn status_of(c: &Path, set: &str, state: &Path) -> String {
    let o = run(
        &["auth", "status", c.to_str().unwrap(), "--set", set],
        state,
    );
    assert!(o.status.success(), "{}", show(&o));
    text(&o.stdout)
}

/// No stored token, no secret in the output.
fn assert_no_secrets(o: &Output, secrets: &[&str]) {
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    for s in secrets {
        assert!(!all.contains(s), "a secret leaked:\n{all}");
    }
}

#[test]
fn client_credentials_with_basic_and_post_client_auth() {
    let p = Provider::start();
    let dir = scratch("cc");
    let state = dir.join("state.db");
    let set = p.issuer_set();
    for (file, client, secret) in [
        ("client_credentials_basic.yaml", "wsc-basic", "basic-secret"),
        ("client_credentials_post.yaml", "wsc-post", "post-secret"),
    ] {
        let c = connector(file);
        let cs = c.to_str().unwrap();
        let secret_set = format!("client_secret={secret}");
        let o = run(
            &["test-connection", cs, "--set", &set, "--set", &secret_set],
            &state,
        );
        assert!(o.status.success(), "{file}: {}", show(&o));
        let o = run(
            &["aggregate", cs, "--set", &set, "--set", &secret_set],
            &state,
        );
        assert!(o.status.success(), "{file}: {}", show(&o));
        let names: Vec<String> = text(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["name"].to_string())
            .collect();
        assert_eq!(names, ["\"alice\"", "\"bob\"", "\"carol\""]);
        // The token wsc stored is a real one of this client.
        let t = stored(&c, &[&set, &secret_set], &state);
        let i = p.introspect_now(t.access_token.expose());
        assert_eq!(i["active"], true, "{i}");
        assert_eq!(i["client_id"], client, "{i}");
        assert_no_secrets(&o, &[secret, t.access_token.expose()]);
        // A wrong secret: invalid_client with a hint, and the secret is not shown.
        let o = run(
            &[
                "test-connection",
                cs,
                "--set",
                &set,
                "--set",
                "client_secret=wrong-Zq81",
            ],
            &dir.join("other.db"),
        );
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        let err = text(&o.stderr);
        assert!(
            err.contains("invalid_client") && err.contains("client_auth"),
            "{err}"
        );
        assert_no_secrets(&o, &["wrong-Zq81"]);
    }
}

#[test]
fn private_key_jwt_client_auth_with_rs256_ps256_and_es256() {
    let p = Provider::start();
    let dir = scratch("pkjwt");
    let base = std::fs::read_to_string(connector("private_key_jwt.yaml")).unwrap();
    let keys = oidc_dir().join("keys");
    for (alg, key, kid) in [
        ("rs256", "client-rsa.pem", "rsa-rs256"),
        ("ps256", "client-rsa.pem", "rsa-ps256"),
        ("es256", "client-ec.pem", "ec-es256"),
    ] {
        let yaml = base
            .replace("algorithm: rs256", &format!("algorithm: {alg}"))
            .replace(
                "key_file: ../keys/client-rsa.pem",
                &format!("key_file: {}", keys.join(key).display()),
            )
            .replace("key_id: rsa-rs256", &format!("key_id: {kid}"));
        let c = dir.join(format!("pkjwt-{alg}.yaml"));
        std::fs::write(&c, yaml).unwrap();
        let state = dir.join(format!("{alg}.db"));
        let set = p.issuer_set();
        let o = run(
            &["test-connection", c.to_str().unwrap(), "--set", &set],
            &state,
        );
        assert!(o.status.success(), "{alg}: {}", show(&o));
        let t = stored(&c, &[&set], &state);
        let i = p.introspect_now(t.access_token.expose());
        assert_eq!(i["active"], true, "{alg}: {i}");
        assert_eq!(i["client_id"], "wsc-pkjwt", "{alg}: {i}");
    }
    // A key the provider does not know is refused as invalid_client.
    let yaml = base.replace(
        "key_file: ../keys/client-rsa.pem",
        &format!(
            "key_file: {}",
            root()
                .join("crates/wsc-auth/tests/keys/rsa-pkcs8.pem")
                .display()
        ),
    );
    let c = dir.join("pkjwt-unknown.yaml");
    std::fs::write(&c, yaml).unwrap();
    let o = run(
        &[
            "test-connection",
            c.to_str().unwrap(),
            "--set",
            &p.issuer_set(),
        ],
        &dir.join("unknown.db"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(text(&o.stderr).contains("invalid_client"), "{}", show(&o));
}

#[test]
fn authorization_code_with_pkce_login_is_stored_and_used() {
    let p = Provider::start();
    let dir = scratch("code");
    let state = dir.join("state.db");
    let c = connector("authorization_code.yaml");
    let set = p.issuer_set();
    let out = login_with_code(&p, &state);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("signed in") && text(&out.stdout).contains("refresh token held"),
        "{}",
        show(&out)
    );
    let status = status_of(&c, &set, &state);
    assert!(status.contains("grant:     authorization_code"), "{status}");
    assert!(status.contains("refresh:   refresh token held"), "{status}");
    let t = stored(&c, &[&set], &state);
    assert_no_secrets(
        &out,
        &[
            t.access_token.expose(),
            t.refresh_token.as_ref().unwrap().expose(),
        ],
    );
    // The stored tokens are the provider's: introspection says so, for alice, for wsc-app.
    let i = p.introspect_now(t.access_token.expose());
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], "wsc-app", "{i}");
    assert_eq!(i["sub"], "alice", "{i}");
    let i = p.introspect_now(t.refresh_token.as_ref().unwrap().expose());
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], "wsc-app", "{i}");
    // Later runs use them.
    let o = run(
        &["test-connection", c.to_str().unwrap(), "--set", &set],
        &state,
    );
    assert!(o.status.success(), "{}", show(&o));
    let o = run(&["aggregate", c.to_str().unwrap(), "--set", &set], &state);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(text(&o.stdout).lines().count(), 3);
}

#[test]
fn offline_access_brings_a_refresh_token_only_with_prompt_consent_from_authorize_params() {
    let p = Provider::start();
    let dir = scratch("offline");
    let set = p.issuer_set();
    let with = connector("authorization_code_offline.yaml");
    let yaml = std::fs::read_to_string(&with).unwrap();
    let without = dir.join("offline-without-params.yaml");
    std::fs::write(
        &without,
        yaml.replace("  authorize_params:\n    prompt: consent\n", ""),
    )
    .unwrap();

    // Without `prompt=consent`, oidc-provider drops `offline_access`: signed in, no refresh
    // token, and wsc says what that means and what to set.
    let state = dir.join("without.db");
    let (out, url) = login_with_code_at(&p, &without, &state);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!url.query_pairs().any(|(k, _)| k == "prompt"), "{url}");
    assert!(
        text(&out.stdout).contains("no refresh token"),
        "{}",
        show(&out)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("sent no refresh token") && err.contains("prompt: consent"),
        "{err}"
    );
    let status = status_of(&without, &set, &state);
    assert!(
        status.contains("with the authorization_code grant (a sign-in with `wsc auth login`)")
            && status.contains("refresh:   no refresh token held")
            && status.contains("then fails: the authorization_code grant needs a sign-in"),
        "{status}"
    );

    // With it, the authorize URL carries the parameter and the provider issues a refresh
    // token, which later runs refresh with.
    let state = dir.join("with.db");
    let (out, url) = login_with_code_at(&p, &with, &state);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "prompt" && v == "consent"),
        "{url}"
    );
    assert!(
        text(&out.stdout).contains("refresh token held"),
        "{}",
        show(&out)
    );
    let t = stored(&with, &[&set], &state);
    let rt = t.refresh_token.as_ref().expect("a refresh token");
    let i = p.introspect_now(rt.expose());
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], "wsc-offline", "{i}");
    let status = status_of(&with, &set, &state);
    assert!(
        status.contains("then refreshes it with the refresh token held"),
        "{status}"
    );
}

#[test]
fn rotated_refresh_token_is_shared_by_concurrent_processes() {
    let p = Provider::start_with(&[("OIDC_ACCESS_TTL", "2")]);
    let dir = scratch("rotate");
    let state = dir.join("state.db");
    let c = connector("authorization_code.yaml");
    let cs = c.to_str().unwrap();
    let set = p.issuer_set();
    let out = login_with_code(&p, &state);
    assert!(out.status.success(), "{}", show(&out));
    let first = stored(&c, &[&set], &state);
    let rt0 = first.refresh_token.clone().expect("a refresh token");
    assert!(first.expires_at_ms - first.obtained_at_ms <= 2_000);

    // The access token expires; two processes sharing the store need a new one at once.
    std::thread::sleep(Duration::from_millis(2_300));
    let a = Running::spawn(&["test-connection", cs, "--set", &set], &state);
    let b = Running::spawn(&["test-connection", cs, "--set", &set], &state);
    let (a, b) = (a.finish(), b.finish());
    assert!(a.status.success(), "first process: {}", show(&a));
    assert!(b.status.success(), "second process: {}", show(&b));
    let second = stored(&c, &[&set], &state);
    let rt1 = second.refresh_token.clone().expect("a refresh token");
    assert_ne!(rt1, rt0, "the provider rotates refresh tokens");
    assert_ne!(second.access_token, first.access_token);
    // Exactly one refresh happened: the old refresh token is spent, the new one is live.
    // (A second use of rt0 would have made oidc-provider revoke the whole grant.)
    assert_eq!(p.introspect_now(rt0.expose())["active"], false);
    assert_eq!(p.introspect_now(rt1.expose())["active"], true);

    // A third run after the next expiry still authenticates with the stored rotated token.
    std::thread::sleep(Duration::from_millis(2_300));
    let o = run(&["aggregate", cs, "--set", &set], &state);
    assert!(o.status.success(), "third run: {}", show(&o));
    assert_eq!(text(&o.stdout).lines().count(), 3);
    let third = stored(&c, &[&set], &state);
    let rt2 = third.refresh_token.expect("a refresh token");
    assert_ne!(rt2, rt1);
    let i = p.introspect_now(third.access_token.expose());
    assert_eq!(
        (i["active"].clone(), i["sub"].clone()),
        (Value::Bool(true), "alice".into())
    );
    assert!(status_of(&c, &set, &state).contains("refresh token held"));
}

#[test]
fn authorization_code_refusal_state_mismatch_and_timeout_are_clear_errors() {
    let p = Provider::start();
    let dir = scratch("code-errors");
    let c = connector("authorization_code.yaml");
    let cs = c.to_str().unwrap();
    let set = p.issuer_set();

    // The user aborts on the consent page: the provider redirects with error=access_denied.
    let state = dir.join("abort.db");
    let mut w = Running::spawn(&login_args(cs, &set), &state);
    let url = Url::parse(&w.wait_line("Open this URL in a browser: ")).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    let (status, page, _) = runtime().block_on(browse(url, Some(&redirect), User::Abort));
    let out = w.finish();
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Sign-in failed"), "{page}");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("access_denied"),
        "{}",
        show(&out)
    );
    let st = status_of(&c, &set, &state);
    assert!(st.contains("none stored"), "{st}");
    // Truthful about the next run: authorization_code cannot obtain a token by itself.
    assert!(
        st.contains("next run:  fails") && st.contains("wsc auth login"),
        "{st}"
    );

    // A redirect whose state is not ours is refused, and the browser is told.
    let state = dir.join("state.db");
    let mut w = Running::spawn(&login_args(cs, &set), &state);
    let url = Url::parse(&w.wait_line("Open this URL in a browser: ")).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    let forged = format!("{redirect}?code=forged-code&state=not-the-state");
    let (status, page) = runtime().block_on(async {
        // Something else on the port first: 404, and wsc keeps waiting.
        let other = Url::parse(&redirect).unwrap().join("/favicon.ico").unwrap();
        assert_eq!(reqwest::get(other).await.unwrap().status(), 404);
        let r = reqwest::get(&forged).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    let out = w.finish();
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("state mismatch"), "{page}");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("`state` does not match"),
        "{}",
        show(&out)
    );

    // Nobody signs in: a timeout that says what to do.
    let started = Instant::now();
    let o = run(
        &[
            "auth",
            "login",
            cs,
            "--set",
            &set,
            "--no-browser",
            "--timeout",
            "1s",
        ],
        &dir.join("timeout.db"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(started.elapsed() < Duration::from_secs(20));
    let err = text(&o.stderr);
    assert!(
        err.contains("did not arrive within 1s") && err.contains("--timeout"),
        "{err}"
    );
}

/// Starts `wsc auth login` for the device_code connector with `client_id`, and returns it
/// with the verification URL that carries the user code.
fn start_device_login(p: &Provider, client_id: &str, state: &Path) -> (Running, Url, String) {
    let c = connector("device_code.yaml");
    let set = p.issuer_set();
    let client = format!("client_id={client_id}");
    let mut args = login_args(c.to_str().unwrap(), &set);
    args.extend(["--set", &client]);
    let mut w = Running::spawn(&args, state);
    let complete = Url::parse(&w.wait_line("Or open this URL, which carries the code: ")).unwrap();
    let line = w.wait_line("To sign in, open ");
    let code = line
        .rsplit("enter the code: ")
        .next()
        .unwrap()
        .trim()
        .to_string();
    assert!(line.starts_with(&format!("{}/device", p.issuer)), "{line}");
    (w, complete, code)
}

#[test]
fn device_code_login_polls_slows_down_and_stores_tokens() {
    let p = Provider::start();
    let dir = scratch("device");
    let state = dir.join("state.db");
    let c = connector("device_code.yaml");
    let set = p.issuer_set();

    // Before any sign-in, a run says to sign in.
    let o = run(
        &["test-connection", c.to_str().unwrap(), "--set", &set],
        &state,
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(text(&o.stderr).contains("wsc auth login"), "{}", show(&o));

    let started = Instant::now();
    let (w, complete, code) = start_device_login(&p, "wsc-device", &state);
    assert!(complete.as_str().contains(&code), "{complete}");
    let (status, page, _) = runtime().block_on(browse(complete, None, User::Approve));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Sign-in Success"), "{page}");
    let out = w.finish();
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("refresh token held"),
        "{}",
        show(&out)
    );

    // The provider answered the first poll slow_down: wsc waited interval + 5 s before the
    // next one (RFC 8628 §3.5), and polled no faster than the interval before that.
    let polls = runtime().block_on(p.device_polls("wsc-device"));
    let answers: Vec<&str> = polls
        .iter()
        .map(|v| v["answer"].as_str().unwrap())
        .collect();
    assert_eq!(answers.first(), Some(&"slow_down"), "{polls:?}");
    assert_eq!(answers.last(), Some(&"token"), "{polls:?}");
    let at: Vec<u64> = polls.iter().map(|v| v["at"].as_u64().unwrap()).collect();
    assert!(
        at[1] - at[0] >= 5_900,
        "after slow_down wsc polled again after {} ms",
        at[1] - at[0]
    );
    assert!(started.elapsed() >= Duration::from_secs(7));

    assert!(status_of(&c, &set, &state).contains("refresh token held"));
    let t = stored(&c, &[&set], &state);
    let i = p.introspect_now(t.access_token.expose());
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], "wsc-device", "{i}");
    assert_eq!(i["sub"], "alice", "{i}");
    let o = run(
        &["test-connection", c.to_str().unwrap(), "--set", &set],
        &state,
    );
    assert!(o.status.success(), "{}", show(&o));
}

#[test]
fn device_code_denied_and_expired_are_clear_errors() {
    let p = Provider::start();
    let dir = scratch("device-errors");

    // The user aborts on the verification page: access_denied.
    let state = dir.join("denied.db");
    let (w, complete, _) = start_device_login(&p, "wsc-device-short", &state);
    let (status, page, _) = runtime().block_on(browse(complete, None, User::Abort));
    assert_eq!(status, 200, "{page}");
    let out = w.finish();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("refused the sign-in: access_denied") && err.contains("hint"),
        "{err}"
    );

    // Nobody approves a code that lives 3 s: the provider answers expired_token.
    let state = dir.join("expired.db");
    let (w, _, _) = start_device_login(&p, "wsc-device-short", &state);
    let out = w.finish();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("device code expired") && err.contains("expired_token"),
        "{err}"
    );
    let polls = runtime().block_on(p.device_polls("wsc-device-short"));
    let answers: Vec<&str> = polls
        .iter()
        .map(|v| v["answer"].as_str().unwrap())
        .collect();
    assert!(answers.contains(&"authorization_pending"), "{answers:?}");
    assert!(answers.contains(&"access_denied"), "{answers:?}");
    assert_eq!(answers.last(), Some(&"expired_token"), "{answers:?}");
}
