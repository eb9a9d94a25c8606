//! Signed JWTs: the jwt_bearer assertion (RFC 7523 §2.1) and the private_key_jwt client
//! assertion (RFC 7523 §2.2), from a PEM key (RSA: PKCS#1 or PKCS#8; EC P-256: PKCS#8 or
//! SEC1; an encrypted key is decrypted by the caller, see [`crate::keys`]) or an HMAC secret.

use serde_json::{Map, Value};
use wsc_spec::model::JwtAlgorithm;

use crate::error::AuthError;
use crate::secret::Secret;

/// A JWT to sign, with every template already rendered.
#[derive(Debug, Clone)]
pub struct JwtClaims {
    /// Algorithm.
    pub algorithm: JwtAlgorithm,
    /// PEM key, or the shared secret for HS256.
    pub key: Secret,
    /// `kid` header.
    pub key_id: Option<String>,
    /// Extra header fields.
    pub header: Map<String, Value>,
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud`.
    pub audience: String,
    /// `exp - iat` in seconds.
    pub lifetime_secs: u64,
    /// Extra claims.
    pub claims: Map<String, Value>,
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs the JWT at `now_secs`, with a random `jti`.
pub fn sign(c: &JwtClaims, now_secs: u64) -> Result<String, AuthError> {
    use jsonwebtoken::{Algorithm, EncodingKey};
    let (alg, name) = match c.algorithm {
        JwtAlgorithm::Rs256 => (Algorithm::RS256, "RS256"),
        JwtAlgorithm::Ps256 => (Algorithm::PS256, "PS256"),
        JwtAlgorithm::Es256 => (Algorithm::ES256, "ES256"),
        JwtAlgorithm::Hs256 => (Algorithm::HS256, "HS256"),
    };
    let pem = c.key.expose().as_bytes();
    if c.algorithm != JwtAlgorithm::Hs256 && c.key.expose().contains("ENCRYPTED") {
        // The flow decrypts keys (`key_password`) before they get here.
        return Err(AuthError::Config(format!(
            "the {name} signing key is an encrypted PEM key: give its password with `key_password` (a secret setting), or decrypt it first (`openssl pkey -in KEY.pem -out PLAIN.pem`)"
        )));
    }
    let key = match c.algorithm {
        JwtAlgorithm::Rs256 | JwtAlgorithm::Ps256 => EncodingKey::from_rsa_pem(pem),
        JwtAlgorithm::Es256 => match sec1_to_pkcs8(c.key.expose()) {
            Some(pkcs8) => EncodingKey::from_ec_pem(pkcs8.expose().as_bytes()),
            None => EncodingKey::from_ec_pem(pem),
        },
        JwtAlgorithm::Hs256 => Ok(EncodingKey::from_secret(pem)),
    }
    .map_err(|e| {
        AuthError::Config(format!(
            "the {name} signing key is not usable ({e}): it must be a PEM {}",
            if c.algorithm == JwtAlgorithm::Es256 {
                "P-256 EC key (PKCS#8 `PRIVATE KEY`, or SEC1 `EC PRIVATE KEY`)"
            } else {
                "RSA key (PKCS#1 `RSA PRIVATE KEY`, or PKCS#8 `PRIVATE KEY`)"
            }
        ))
    })?;
    let mut header = Map::new();
    header.insert("alg".into(), Value::String(name.into()));
    header.insert("typ".into(), Value::String("JWT".into()));
    if let Some(kid) = &c.key_id {
        header.insert("kid".into(), Value::String(kid.clone()));
    }
    for (k, v) in &c.header {
        header.insert(k.clone(), v.clone());
    }
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::String(c.issuer.clone()));
    claims.insert("sub".into(), Value::String(c.subject.clone()));
    claims.insert("aud".into(), Value::String(c.audience.clone()));
    claims.insert("iat".into(), now_secs.into());
    claims.insert("nbf".into(), now_secs.into());
    claims.insert("exp".into(), (now_secs + c.lifetime_secs.max(1)).into());
    claims.insert(
        "jti".into(),
        Value::String(format!("{:016x}{:016x}", fastrand_u64(), fastrand_u64())),
    );
    for (k, v) in &c.claims {
        claims.insert(k.clone(), v.clone());
    }
    // Header and claims are encoded by hand so extra header fields are kept verbatim; the
    // signature comes from jsonwebtoken's signer.
    let signing_input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&Value::Object(header)).unwrap_or_default()),
        b64(&serde_json::to_vec(&Value::Object(claims)).unwrap_or_default())
    );
    let sig = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, alg)
        .map_err(|e| AuthError::Config(format!("signing the {name} JWT failed: {e}")))?;
    Ok(format!("{signing_input}.{sig}"))
}

/// DER length octets.
fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// A SEC1 `EC PRIVATE KEY` PEM (what `openssl ecparam -genkey` writes) re-wrapped as the
/// PKCS#8 `PRIVATE KEY` of a P-256 key (RFC 5208 / RFC 5915), which the signer reads. `None`
/// when `pem` is not a SEC1 key.
fn sec1_to_pkcs8(pem: &str) -> Option<Secret> {
    use base64::Engine as _;
    const BEGIN: &str = "-----BEGIN EC PRIVATE KEY-----";
    const END: &str = "-----END EC PRIVATE KEY-----";
    let start = pem.find(BEGIN)? + BEGIN.len();
    let end = start + pem[start..].find(END)?;
    let b64: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let sec1 = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    // AlgorithmIdentifier { id-ecPublicKey, prime256v1 }
    const ALG: &[u8] = &[
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
        0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let mut info = vec![0x02, 0x01, 0x00];
    info.extend_from_slice(ALG);
    info.extend(der(0x04, &sec1));
    let pkcs8 = der(0x30, &info);
    let body = base64::engine::general_purpose::STANDARD.encode(pkcs8);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    Some(Secret::new(out))
}

fn fastrand_u64() -> u64 {
    let mut b = [0u8; 8];
    crate::random::random_bytes(&mut b);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs256_round_trip() {
        let c = JwtClaims {
            algorithm: JwtAlgorithm::Hs256,
            key: Secret::new("shared-secret-of-32-bytes-or-more!!"),
            key_id: Some("k1".into()),
            header: Map::new(),
            issuer: "me".into(),
            subject: "me".into(),
            audience: "https://as.test/token".into(),
            lifetime_secs: 300,
            claims: [("scope".to_string(), Value::String("a".into()))]
                .into_iter()
                .collect(),
        };
        let jwt = sign(&c, 1000).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.set_audience(&["https://as.test/token"]);
        v.validate_exp = false;
        let d = jsonwebtoken::decode::<Value>(
            &jwt,
            &jsonwebtoken::DecodingKey::from_secret(c.key.expose().as_bytes()),
            &v,
        )
        .unwrap();
        assert_eq!(d.header.kid.as_deref(), Some("k1"));
        assert_eq!(d.claims["exp"], 1300);
        assert_eq!(d.claims["scope"], "a");
        let bad = JwtClaims {
            algorithm: JwtAlgorithm::Rs256,
            key: Secret::new("not a pem"),
            ..c
        };
        assert!(sign(&bad, 0).unwrap_err().to_string().contains("PEM"));
    }
}
