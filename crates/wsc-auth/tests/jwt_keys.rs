//! JWT signing from PEM keys: RS256, PS256 and ES256 with RSA keys in PKCS#1 and PKCS#8 and
//! EC P-256 keys in PKCS#8 and SEC1, verified with the public keys by jsonwebtoken — directly,
//! and as the jwt_bearer assertion and the private_key_jwt client assertion the token
//! requests carry. The keys in tests/keys are test-only fixtures (see tests/keys/README.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};
use wsc_auth::flow::OAuth2Flow;
use wsc_auth::jwt::{JwtClaims, sign};
use wsc_auth::request::Body;
use wsc_auth::{Secret, SimpleRender};
use wsc_spec::model::{Auth, JwtAlgorithm};

fn keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys")
}

fn pem(name: &str) -> String {
    std::fs::read_to_string(keys().join(name)).unwrap()
}

/// Every (algorithm, private key, public key) combination wsc supports.
const CASES: &[(JwtAlgorithm, Algorithm, &str, &str)] = &[
    (
        JwtAlgorithm::Rs256,
        Algorithm::RS256,
        "rsa-pkcs1.pem",
        "rsa-public.pem",
    ),
    (
        JwtAlgorithm::Rs256,
        Algorithm::RS256,
        "rsa-pkcs8.pem",
        "rsa-public.pem",
    ),
    (
        JwtAlgorithm::Ps256,
        Algorithm::PS256,
        "rsa-pkcs1.pem",
        "rsa-public.pem",
    ),
    (
        JwtAlgorithm::Ps256,
        Algorithm::PS256,
        "rsa-pkcs8.pem",
        "rsa-public.pem",
    ),
    (
        JwtAlgorithm::Es256,
        Algorithm::ES256,
        "ec-pkcs8.pem",
        "ec-public.pem",
    ),
    (
        JwtAlgorithm::Es256,
        Algorithm::ES256,
        "ec-sec1.pem",
        "ec-public.pem",
    ),
];

fn decoding_key(alg: Algorithm, public: &str) -> DecodingKey {
    let p = pem(public);
    match alg {
        Algorithm::ES256 => DecodingKey::from_ec_pem(p.as_bytes()).unwrap(),
        _ => DecodingKey::from_rsa_pem(p.as_bytes()).unwrap(),
    }
}

/// Verifies `jwt` with the public key (signature, algorithm, iss, sub, aud) and returns its
/// header and claims.
fn verify(
    jwt: &str,
    alg: Algorithm,
    public: &str,
    iss: &str,
    sub: &str,
    aud: &str,
) -> (jsonwebtoken::Header, Value) {
    let mut v = Validation::new(alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[iss]);
    v.sub = Some(sub.to_string());
    v.validate_nbf = true;
    v.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    let d = jsonwebtoken::decode::<Value>(jwt, &decoding_key(alg, public), &v)
        .unwrap_or_else(|e| panic!("{alg:?} with {public}: {e}"));
    (d.header, d.claims)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn signs_with_every_algorithm_and_key_format() {
    for &(alg, jalg, private, public) in CASES {
        let c = JwtClaims {
            algorithm: alg,
            key: Secret::new(pem(private)),
            key_id: Some("key-1".into()),
            header: [("x5t".to_string(), json!("thumb"))].into_iter().collect(),
            issuer: "issuer-1".into(),
            subject: "user@example.test".into(),
            audience: "https://as.example.test/token".into(),
            lifetime_secs: 120,
            claims: [("scope".to_string(), json!("users.read"))]
                .into_iter()
                .collect(),
        };
        let t = now();
        let jwt = sign(&c, t).unwrap_or_else(|e| panic!("{alg:?} with {private}: {e}"));
        let (header, claims) = verify(
            &jwt,
            jalg,
            public,
            "issuer-1",
            "user@example.test",
            "https://as.example.test/token",
        );
        assert_eq!(header.alg, jalg);
        assert_eq!(header.kid.as_deref(), Some("key-1"));
        assert_eq!(header.x5t.as_deref(), Some("thumb"));
        assert_eq!(claims["iat"], t);
        assert_eq!(claims["exp"], t + 120);
        assert_eq!(claims["scope"], "users.read");
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        // Two assertions never share a jti (replay protection on the server side).
        let again = sign(&c, t).unwrap();
        let (_, c2) = verify(
            &again,
            jalg,
            public,
            "issuer-1",
            "user@example.test",
            "https://as.example.test/token",
        );
        assert_ne!(claims["jti"], c2["jti"]);
    }
}

#[test]
fn a_signature_does_not_verify_with_another_key() {
    // Sanity check of the verification above: the EC public key rejects an RSA signature
    // and a tampered claim breaks the signature.
    let c = JwtClaims {
        algorithm: JwtAlgorithm::Es256,
        key: Secret::new(pem("ec-pkcs8.pem")),
        key_id: None,
        header: Map::new(),
        issuer: "i".into(),
        subject: "s".into(),
        audience: "a".into(),
        lifetime_secs: 60,
        claims: Map::new(),
    };
    let jwt = sign(&c, now()).unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&["a"]);
    let parts: Vec<&str> = jwt.split('.').collect();
    let forged_claims = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&json!({"iss": "i", "sub": "admin", "aud": "a", "exp": now() + 60}))
                .unwrap(),
        )
    };
    let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
    let key = decoding_key(Algorithm::ES256, "ec-public.pem");
    assert!(jsonwebtoken::decode::<Value>(&jwt, &key, &v).is_ok());
    assert!(jsonwebtoken::decode::<Value>(&forged, &key, &v).is_err());
    let rsa = JwtClaims {
        algorithm: JwtAlgorithm::Rs256,
        key: Secret::new(pem("rsa-pkcs8.pem")),
        ..c
    };
    let jwt = sign(&rsa, now()).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&["a"]);
    let other = DecodingKey::from_rsa_pem(pem("rsa-public.pem").as_bytes()).unwrap();
    assert!(jsonwebtoken::decode::<Value>(&jwt, &other, &v).is_ok());
}

#[test]
fn unusable_keys_are_clear_errors() {
    let base = JwtClaims {
        algorithm: JwtAlgorithm::Rs256,
        key: Secret::new(String::new()),
        key_id: None,
        header: Map::new(),
        issuer: "i".into(),
        subject: "s".into(),
        audience: "a".into(),
        lifetime_secs: 60,
        claims: Map::new(),
    };
    let cases = [
        (JwtAlgorithm::Rs256, pem("ec-pkcs8.pem"), "RSA"),
        (JwtAlgorithm::Ps256, pem("ec-sec1.pem"), "RSA"),
        (JwtAlgorithm::Es256, pem("rsa-pkcs8.pem"), "P-256 EC"),
        (JwtAlgorithm::Es256, pem("rsa-pkcs1.pem"), "P-256 EC"),
        (JwtAlgorithm::Rs256, "not a key".to_string(), "RSA"),
        (JwtAlgorithm::Es256, pem("ec-public.pem"), "P-256 EC"),
        (
            JwtAlgorithm::Rs256,
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".into(),
            "RSA",
        ),
    ];
    for (alg, key, kind) in cases {
        let c = JwtClaims {
            algorithm: alg,
            key: Secret::new(key.clone()),
            ..base.clone()
        };
        let e = sign(&c, now()).expect_err("an unusable key").to_string();
        assert!(
            e.contains(&format!("PEM {kind} key")) && e.contains("PKCS#8"),
            "{alg:?}: {e}"
        );
        // The key itself never appears in the message.
        if key.len() > 40 {
            assert!(!e.contains(&key[40..80.min(key.len())]), "{e}");
        }
    }
    let encrypted = JwtClaims {
        key: Secret::new(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
        ),
        ..base
    };
    let e = sign(&encrypted, now()).unwrap_err().to_string();
    // `openssl pkey` reads every encrypted format (`openssl pkcs8` fails on legacy ones).
    assert!(
        e.contains("encrypted") && e.contains("key_password") && e.contains("openssl pkey"),
        "{e}"
    );
}

fn flow(auth: Value) -> OAuth2Flow {
    let Auth::OAuth2(spec) = serde_json::from_value::<Auth>(auth).unwrap() else {
        panic!("an oauth2 auth section");
    };
    OAuth2Flow::new(
        *spec,
        json!({ "client_id": "client-7", "user": "alice@example.test" }),
        Arc::new(SimpleRender),
        keys(),
    )
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

#[test]
fn jwt_bearer_assertion_from_a_key_file() {
    for &(alg, jalg, private, public) in CASES {
        let name = format!("{alg:?}").to_lowercase();
        let f = flow(json!({
            "type": "oauth2",
            "grant": "jwt_bearer",
            "token_url": "https://as.example.test/oauth/token",
            "client_id": "{{settings.client_id}}",
            "client_auth": "none",
            "assertion": {
                "algorithm": name,
                "key_file": private,
                "key_id": "kid-{{settings.client_id}}",
                "issuer": "{{settings.client_id}}",
                "subject": "{{settings.user}}",
                "audience": "https://as.example.test",
                "lifetime": "5m",
                "claims": { "scope": "users.read", "tenant": { "id": "{{settings.client_id}}" } }
            }
        }));
        let req = f.primary_request().unwrap();
        assert_eq!(
            form_param(&req.body, "grant_type"),
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        );
        let (header, claims) = verify(
            &form_param(&req.body, "assertion"),
            jalg,
            public,
            "client-7",
            "alice@example.test",
            "https://as.example.test",
        );
        assert_eq!(header.kid.as_deref(), Some("kid-client-7"));
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            300
        );
        assert_eq!(claims["tenant"]["id"], "client-7");
    }
}

#[test]
fn private_key_jwt_client_assertion_defaults() {
    for &(alg, jalg, private, public) in CASES {
        let name = format!("{alg:?}").to_lowercase();
        let f = flow(json!({
            "type": "oauth2",
            "grant": "client_credentials",
            "token_url": "https://as.example.test/oauth/token",
            "client_id": "{{settings.client_id}}",
            "client_auth": "private_key_jwt",
            "client_assertion": { "algorithm": name, "key_file": private }
        }));
        let req = f.primary_request().unwrap();
        assert_eq!(form_param(&req.body, "client_id"), "client-7");
        assert_eq!(
            form_param(&req.body, "client_assertion_type"),
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        // RFC 7523 §3: iss = sub = client_id, aud = the token endpoint.
        let (_, claims) = verify(
            &form_param(&req.body, "client_assertion"),
            jalg,
            public,
            "client-7",
            "client-7",
            "https://as.example.test/oauth/token",
        );
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            300
        );
        // No client secret travels, and the request's Debug shows no values.
        assert!(!format!("{req:?}").contains(&form_param(&req.body, "client_assertion")));
    }
    // A missing key file says which file.
    let f = flow(json!({
        "type": "oauth2",
        "grant": "client_credentials",
        "token_url": "https://as.example.test/oauth/token",
        "client_id": "c",
        "client_auth": "private_key_jwt",
        "client_assertion": { "algorithm": "rs256", "key_file": "missing.pem" }
    }));
    let e = f.primary_request().unwrap_err().to_string();
    assert!(e.contains("key_file") && e.contains("missing.pem"), "{e}");
}
