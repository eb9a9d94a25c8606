//! Encrypted signing keys (`key_password`) for jwt_bearer and private_key_jwt, with keys made
//! by the `openssl` command line at test time: `openssl genpkey ... -aes-256-cbc` (PBES2,
//! PBKDF2 and AES-256-CBC), scrypt and 3DES variants from `openssl pkcs8 -topk8`; each
//! assertion is verified with the public key. A wrong or missing password, the legacy OpenSSL
//! encryption and PBES1 are clear errors that name the key and the password setting.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use wsc_auth::flow::OAuth2Flow;
use wsc_auth::request::Body;
use wsc_auth::{AuthError, KeyError, SimpleRender};
use wsc_spec::model::Auth;
use wsc_testkit::tls::openssl;

const PASSWORD: &str = "pem-pass-W7x2Q";

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("keys-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn pass(p: &str) -> String {
    format!("pass:{p}")
}

/// `openssl genpkey` of `algorithm` encrypted with AES-256-CBC into `name`, and its public
/// key into `name.pub`.
fn genpkey(dir: &Path, name: &str, algorithm: &[&str]) {
    let mut args = vec!["genpkey"];
    args.extend_from_slice(algorithm);
    let pw = pass(PASSWORD);
    args.extend(["-aes-256-cbc", "-pass", &pw, "-out", name]);
    openssl(dir, &args).unwrap();
    let public = format!("{name}.pub");
    openssl(
        dir,
        &[
            "pkey", "-in", name, "-passin", &pw, "-pubout", "-out", &public,
        ],
    )
    .unwrap();
}

const RSA: &[&str] = &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
const EC: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];

fn flow(dir: &Path, auth: Value, password: Option<&str>) -> OAuth2Flow {
    let Auth::OAuth2(spec) = serde_json::from_value::<Auth>(auth).unwrap() else {
        panic!("an oauth2 auth section");
    };
    OAuth2Flow::new(
        *spec,
        json!({ "client_id": "client-9", "key_password": password, "pem": null }),
        Arc::new(SimpleRender),
        dir.to_path_buf(),
    )
}

fn jwt_bearer(algorithm: &str, key_file: &str) -> Value {
    json!({
        "type": "oauth2",
        "grant": "jwt_bearer",
        "token_url": "https://as.example.test/oauth/token",
        "client_id": "{{settings.client_id}}",
        "client_auth": "none",
        "assertion": {
            "algorithm": algorithm,
            "key_file": key_file,
            "key_password": "{{settings.key_password}}",
        }
    })
}

fn form_param(body: &Body, name: &str) -> String {
    let Body::Form(p) = body else {
        panic!("a form body: {body:?}");
    };
    p.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} in {body:?}"))
}

fn verify(jwt: &str, alg: Algorithm, public_pem: &Path) {
    let pem = std::fs::read(public_pem).unwrap();
    let key = match alg {
        Algorithm::ES256 => DecodingKey::from_ec_pem(&pem).unwrap(),
        _ => DecodingKey::from_rsa_pem(&pem).unwrap(),
    };
    let mut v = Validation::new(alg);
    v.set_audience(&["https://as.example.test/oauth/token"]);
    v.set_issuer(&["client-9"]);
    jsonwebtoken::decode::<Value>(jwt, &key, &v)
        .unwrap_or_else(|e| panic!("{alg:?} with {}: {e}", public_pem.display()));
}

#[test]
fn jwt_bearer_signs_with_a_genpkey_aes_256_cbc_key() {
    let dir = scratch("genpkey");
    genpkey(&dir, "rsa.pem", RSA);
    genpkey(&dir, "ec.pem", EC);
    let text = std::fs::read_to_string(dir.join("rsa.pem")).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    for (alg, jalg, file) in [
        ("rs256", Algorithm::RS256, "rsa.pem"),
        ("ps256", Algorithm::PS256, "rsa.pem"),
        ("es256", Algorithm::ES256, "ec.pem"),
    ] {
        let f = flow(&dir, jwt_bearer(alg, file), Some(PASSWORD));
        let req = f.primary_request().unwrap_or_else(|e| panic!("{alg}: {e}"));
        verify(
            &form_param(&req.body, "assertion"),
            jalg,
            &dir.join(format!("{file}.pub")),
        );
    }
}

#[test]
fn private_key_jwt_with_scrypt_and_3des_encrypted_keys() {
    let dir = scratch("variants");
    genpkey(&dir, "plain-src.pem", RSA);
    let pw = pass(PASSWORD);
    for (out, scheme) in [
        ("scrypt.pem", &["-scrypt"][..]),
        ("des3.pem", &["-v2", "des3"][..]),
        (
            "aes128.pem",
            &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"][..],
        ),
    ] {
        let mut args = vec!["pkcs8", "-topk8", "-in", "plain-src.pem", "-passin", &pw];
        args.extend_from_slice(scheme);
        args.extend(["-passout", &pw, "-out", out]);
        openssl(&dir, &args).unwrap();
        let f = flow(
            &dir,
            json!({
                "type": "oauth2",
                "grant": "client_credentials",
                "token_url": "https://as.example.test/oauth/token",
                "client_id": "{{settings.client_id}}",
                "client_auth": "private_key_jwt",
                "client_assertion": {
                    "algorithm": "rs256",
                    "key_file": out,
                    "key_password": "{{settings.key_password}}",
                }
            }),
            Some(PASSWORD),
        );
        let req = f.primary_request().unwrap_or_else(|e| panic!("{out}: {e}"));
        verify(
            &form_param(&req.body, "client_assertion"),
            Algorithm::RS256,
            &dir.join("plain-src.pem.pub"),
        );
    }
}

fn key_error(e: AuthError) -> KeyError {
    match e {
        AuthError::Key(k) => k,
        other => panic!("a key error, not {other:?}"),
    }
}

#[test]
fn wrong_or_missing_password_names_the_key_and_the_setting() {
    let dir = scratch("wrong");
    genpkey(&dir, "rsa.pem", RSA);
    let wrong = "not-the-password-Kd9";
    let e = flow(&dir, jwt_bearer("rs256", "rsa.pem"), Some(wrong))
        .primary_request()
        .unwrap_err();
    let m = e.to_string();
    assert!(
        matches!(key_error(e), KeyError::WrongPassword { .. }),
        "{m}"
    );
    assert!(m.contains("`auth.assertion.key_file` ("), "{m}");
    assert!(m.contains("rsa.pem)"), "{m}");
    assert!(
        m.contains("could not be decrypted with the password from `auth.assertion.key_password`"),
        "{m}"
    );
    assert!(!m.contains(wrong) && !m.contains(PASSWORD), "{m}");

    // An empty password is no password.
    for password in [None, Some("")] {
        let e = flow(&dir, jwt_bearer("rs256", "rsa.pem"), password)
            .primary_request()
            .unwrap_err();
        let m = e.to_string();
        assert!(
            matches!(key_error(e), KeyError::NeedsPassword { .. }),
            "{m}"
        );
        assert!(
            m.contains("is encrypted (`-----BEGIN ENCRYPTED PRIVATE KEY-----`) and `auth.assertion.key_password` is not set"),
            "{m}"
        );
    }
}

#[test]
fn legacy_and_pbes1_encryption_say_how_to_convert() {
    let dir = scratch("legacy");
    genpkey(&dir, "src.pem", RSA);
    let pw = pass(PASSWORD);
    // OpenSSL's traditional encrypted PEM: `openssl pkcs8` cannot read it, `openssl pkey` can.
    openssl(
        &dir,
        &[
            "pkey",
            "-in",
            "src.pem",
            "-passin",
            &pw,
            "-traditional",
            "-aes256",
            "-passout",
            &pw,
            "-out",
            "legacy.pem",
        ],
    )
    .unwrap();
    assert!(
        std::fs::read_to_string(dir.join("legacy.pem"))
            .unwrap()
            .contains("Proc-Type: 4,ENCRYPTED")
    );
    let e = flow(&dir, jwt_bearer("rs256", "legacy.pem"), Some(PASSWORD))
        .primary_request()
        .unwrap_err();
    let m = e.to_string();
    assert!(
        matches!(key_error(e), KeyError::LegacyEncryption { .. }),
        "{m}"
    );
    assert!(m.contains("DEK-Info: AES-256-CBC"), "{m}");
    let hint = "openssl pkey -in KEY.pem -out KEY-pkcs8.pem -aes-256-cbc";
    assert!(m.contains(hint), "{m}");

    // The command of the hint makes a key wsc reads.
    openssl(
        &dir,
        &[
            "pkey",
            "-in",
            "legacy.pem",
            "-passin",
            &pw,
            "-out",
            "converted.pem",
            "-aes-256-cbc",
            "-passout",
            &pw,
        ],
    )
    .unwrap();
    let req = flow(&dir, jwt_bearer("rs256", "converted.pem"), Some(PASSWORD))
        .primary_request()
        .unwrap();
    verify(
        &form_param(&req.body, "assertion"),
        Algorithm::RS256,
        &dir.join("src.pem.pub"),
    );

    // PKCS#12-style PBE (what `-v1` writes) is not PBES2.
    openssl(
        &dir,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "src.pem",
            "-passin",
            &pw,
            "-v1",
            "PBE-SHA1-3DES",
            "-passout",
            &pw,
            "-out",
            "pbes1.pem",
        ],
    )
    .unwrap();
    let e = flow(&dir, jwt_bearer("rs256", "pbes1.pem"), Some(PASSWORD))
        .primary_request()
        .unwrap_err();
    let m = e.to_string();
    assert!(
        matches!(key_error(e), KeyError::UnsupportedEncryption { .. }),
        "{m}"
    );
    assert!(m.contains(hint), "{m}");
}

#[test]
fn a_password_for_a_plain_key_is_not_used() {
    let dir = scratch("plain");
    genpkey(&dir, "src.pem", EC);
    let pw = pass(PASSWORD);
    openssl(
        &dir,
        &[
            "pkey",
            "-in",
            "src.pem",
            "-passin",
            &pw,
            "-out",
            "plain.pem",
        ],
    )
    .unwrap();
    let req = flow(&dir, jwt_bearer("es256", "plain.pem"), Some(PASSWORD))
        .primary_request()
        .unwrap();
    verify(
        &form_param(&req.body, "assertion"),
        Algorithm::ES256,
        &dir.join("src.pem.pub"),
    );
}
