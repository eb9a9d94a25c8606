//! The connector's TLS settings (`http.tls`) for its token requests as well as its API
//! requests: the synthetic API with OAuth2 client credentials behind an HTTPS front that
//! requires a client certificate (mutual TLS), with certificates and keys made by the
//! `openssl` command line at test time. Encrypted client keys, a certificate and key in one
//! file, and a key that is not the certificate's.

mod common;

use std::path::{Path, PathBuf};

use common::{FAST_HTTP, start};
use wsc_engine::Engine;
use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};
use wsc_testkit::tls::{TestPki, TlsFront, openssl};

const CLIENT_ID: &str = "mtls-client";
const CLIENT_SECRET: &str = "mtls-secret-Jq2v8";
const KEY_PASSWORD: &str = "key-pass-Zt5e1";

/// A scratch directory of its own for each test.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The synthetic API with client credentials, behind an HTTPS front that requires a client
/// certificate signed by the PKI's CA.
async fn mtls_api(pki: &TestPki) -> (SyntheticApi, TlsFront) {
    let api = start(
        SyntheticConfig::new(5)
            .with_groups(2)
            .with_auth(AuthMode::oauth2(CLIENT_ID, CLIENT_SECRET)),
    )
    .await;
    let front = TlsFront::start(api.addr(), pki, true).await.unwrap();
    (api, front)
}

/// A client-credentials connector with `tls` as its `http.tls` and `extra` settings.
fn connector(tls: &str, extra_settings: &str) -> String {
    format!(
        r#"connector: mtls
settings:
  base_url: {{}}
  client_secret: {{ secret: true }}
{extra_settings}base_url: "{{{{settings.base_url}}}}/api"
{FAST_HTTP}  tls: {tls}
auth:
  type: oauth2
  grant: client_credentials
  token_url: "{{{{settings.base_url}}}}/oauth/token"
  client_id: {CLIENT_ID}
  client_secret: "{{{{settings.client_secret}}}}"
operations:
  test_connection:
    request: {{ path: /me }}
"#
    )
}

fn engine(yaml: &str, front: &TlsFront, settings: &[(&str, &str)]) -> Result<Engine, String> {
    let base = front.base_url();
    let mut all = vec![
        ("base_url", base.as_str()),
        ("client_secret", CLIENT_SECRET),
    ];
    all.extend_from_slice(settings);
    common::try_engine(yaml, &all)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

const FILES: &str = r#"{ ca_file: "{{settings.ca}}", client_cert: "{{settings.cert}}", client_key: "{{settings.key}}" }"#;
const FILE_SETTINGS: &str = "  ca: {}\n  cert: {}\n  key: {}\n";

#[tokio::test]
async fn token_request_presents_the_client_certificate() {
    let pki = TestPki::generate(&scratch("ok")).unwrap();
    let (api, front) = mtls_api(&pki).await;
    let yaml = connector(FILES, FILE_SETTINGS);
    let e = engine(
        &yaml,
        &front,
        &[
            ("ca", p(&pki.ca_cert)),
            ("cert", p(&pki.client_cert)),
            ("key", p(&pki.client_key)),
        ],
    )
    .unwrap();
    e.test_connection().await.unwrap();
    let stats = api.stats();
    assert_eq!(stats.tokens_issued, 1, "{stats:?}");
    assert_eq!(stats.auth_failures, 0);
    // The token client and the API client each made a handshake with the certificate.
    assert!(front.handshakes() >= 2, "{}", front.handshakes());
    assert_eq!(front.refused(), 0);
    api.shutdown().await;
}

#[tokio::test]
async fn token_request_without_a_client_certificate_fails_clearly() {
    let pki = TestPki::generate(&scratch("nocert")).unwrap();
    let (api, front) = mtls_api(&pki).await;
    let yaml = connector(r#"{ ca_file: "{{settings.ca}}" }"#, "  ca: {}\n");
    let e = engine(&yaml, &front, &[("ca", p(&pki.ca_cert))]).unwrap();
    let err = e.test_connection().await.unwrap_err().to_string();
    assert!(err.contains("token request to https://127.0.0.1:"), "{err}");
    assert!(err.contains("/oauth/token failed"), "{err}");
    assert!(
        err.contains(
            "the server requires a client certificate (mutual TLS): set `http.tls.client_cert`"
        ),
        "{err}"
    );
    assert!(!err.contains(CLIENT_SECRET), "{err}");
    assert_eq!(
        api.stats().token_requests,
        0,
        "no token request got through"
    );
    assert!(front.refused() >= 1);
    api.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_behind_an_unknown_ca_fails_clearly() {
    let pki = TestPki::generate(&scratch("noca")).unwrap();
    let (api, front) = mtls_api(&pki).await;
    let yaml = connector(
        r#"{ client_cert: "{{settings.cert}}", client_key: "{{settings.key}}" }"#,
        "  cert: {}\n  key: {}\n",
    );
    let e = engine(
        &yaml,
        &front,
        &[("cert", p(&pki.client_cert)), ("key", p(&pki.client_key))],
    )
    .unwrap();
    let err = e.test_connection().await.unwrap_err().to_string();
    assert!(err.contains("token request to https://127.0.0.1:"), "{err}");
    assert!(err.contains("add the CA with `http.tls.ca_file`"), "{err}");
    assert_eq!(api.stats().token_requests, 0);
    api.shutdown().await;
}

/// A client key made by `openssl genpkey -aes-256-cbc` and a certificate for it.
fn encrypted_client(pki: &TestPki) -> (PathBuf, PathBuf) {
    let pass = format!("pass:{KEY_PASSWORD}");
    openssl(
        &pki.dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-aes-256-cbc",
            "-pass",
            &pass,
            "-out",
            "client-enc.key",
        ],
    )
    .unwrap();
    pki.client_cert_for("client-enc.key", &["-passin", &pass], "client-enc.pem")
        .unwrap();
    let key = pki.dir.join("client-enc.key");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    (pki.dir.join("client-enc.pem"), key)
}

#[tokio::test]
async fn encrypted_client_key_is_opened_with_its_password() {
    let pki = TestPki::generate(&scratch("enc")).unwrap();
    let (cert, key) = encrypted_client(&pki);
    let (api, front) = mtls_api(&pki).await;
    let tls = r#"{ ca_file: "{{settings.ca}}", client_cert: "{{settings.cert}}", client_key: "{{settings.key}}", client_key_password: "{{settings.key_password}}" }"#;
    let yaml = connector(
        tls,
        &format!("{FILE_SETTINGS}  key_password: {{ secret: true }}\n"),
    );
    let files = [
        ("ca", p(&pki.ca_cert)),
        ("cert", p(&cert)),
        ("key", p(&key)),
    ];
    let with = |password: &'static str| {
        let mut s = files.to_vec();
        s.push(("key_password", password));
        s
    };
    let e = engine(&yaml, &front, &with(KEY_PASSWORD)).unwrap();
    e.test_connection().await.unwrap();
    assert_eq!(api.stats().tokens_issued, 1);

    // A wrong password: the key and the setting are named, the password is not shown.
    let err = engine(&yaml, &front, &with("not-the-password")).unwrap_err();
    assert!(err.contains("`http.tls.client_key` ("), "{err}");
    assert!(err.contains("client-enc.key"), "{err}");
    assert!(
        err.contains("could not be decrypted with the password from `http.tls.client_key_password`: wrong password"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");

    // No password at all.
    let yaml = connector(FILES, FILE_SETTINGS);
    let err = engine(&yaml, &front, &files).unwrap_err();
    assert!(
        err.contains("the private key is encrypted (`-----BEGIN ENCRYPTED PRIVATE KEY-----`) and `http.tls.client_key_password` is not set"),
        "{err}"
    );
    api.shutdown().await;
}

#[tokio::test]
async fn certificate_and_key_in_one_file() {
    let pki = TestPki::generate(&scratch("combined")).unwrap();
    let combined = pki.dir.join("combined.pem");
    let text = std::fs::read_to_string(&pki.client_cert).unwrap()
        + std::fs::read_to_string(&pki.client_key).unwrap().as_str();
    std::fs::write(&combined, text).unwrap();
    let (api, front) = mtls_api(&pki).await;
    let yaml = connector(
        r#"{ ca_file: "{{settings.ca}}", client_cert: "{{settings.cert}}" }"#,
        "  ca: {}\n  cert: {}\n",
    );
    let e = engine(
        &yaml,
        &front,
        &[("ca", p(&pki.ca_cert)), ("cert", p(&combined))],
    )
    .unwrap();
    e.test_connection().await.unwrap();
    assert_eq!(api.stats().tokens_issued, 1);

    // A certificate file without a key, and no `client_key`: named, before any request.
    let err = engine(
        &yaml,
        &front,
        &[("ca", p(&pki.ca_cert)), ("cert", p(&pki.client_cert))],
    )
    .unwrap_err();
    assert!(
        err.contains("holds no private key and `client_key` is not set"),
        "{err}"
    );
    api.shutdown().await;
}

#[tokio::test]
async fn a_key_that_is_not_the_certificates_is_named_as_such() {
    let pki = TestPki::generate(&scratch("mismatch")).unwrap();
    let front_dummy = TlsFront::start("127.0.0.1:9".parse().unwrap(), &pki, true)
        .await
        .unwrap();
    let yaml = connector(FILES, FILE_SETTINGS);
    let err = engine(
        &yaml,
        &front_dummy,
        &[
            ("ca", p(&pki.ca_cert)),
            ("cert", p(&pki.client_cert)),
            ("key", p(&pki.server_key)),
        ],
    )
    .unwrap_err();
    assert!(err.contains("`http.tls.client_key` ("), "{err}");
    assert!(
        err.contains("does not match the certificate in `http.tls.client_cert`"),
        "{err}"
    );
    assert!(!err.contains("builder error"), "{err}");
    assert_eq!(front_dummy.handshakes() + front_dummy.refused(), 0);
}

#[tokio::test]
async fn api_requests_without_a_client_certificate_fail_clearly() {
    let pki = TestPki::generate(&scratch("api")).unwrap();
    let api = start(common::config(5)).await;
    let front = TlsFront::start(api.addr(), &pki, true).await.unwrap();
    let yaml = format!(
        "{}http:\n  retry: {{ max_attempts: 1 }}\n  tls: {{ ca_file: \"{}\" }}\noperations:\n  test_connection:\n    request: {{ path: /me }}\n",
        common::HEADER,
        p(&pki.ca_cert)
    );
    let e = common::engine(&yaml, &front.base_url());
    let err = e.test_connection().await.unwrap_err().to_string();
    assert!(err.contains("CertificateRequired"), "{err}");
    assert!(
        err.contains("hint: the server requires a client certificate (mutual TLS)"),
        "{err}"
    );
    assert!(!err.contains(common::TOKEN), "{err}");
    assert_eq!(api.stats().requests, 0);
    api.shutdown().await;
}
