//! Signed JWTs: the jwt_bearer assertion (RFC 7523 §2.1) and the private_key_jwt client
//! assertion (RFC 7523 §2.2), from a PEM key (PKCS#1 or PKCS#8) or an HMAC secret.

use serde_json::{Map, Value};
use wsc_spec::model::JwtAlgorithm;

use crate::{AuthError, Secret};

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
    let key = match c.algorithm {
        JwtAlgorithm::Rs256 | JwtAlgorithm::Ps256 => EncodingKey::from_rsa_pem(pem),
        JwtAlgorithm::Es256 => EncodingKey::from_ec_pem(pem),
        JwtAlgorithm::Hs256 => Ok(EncodingKey::from_secret(pem)),
    }
    .map_err(|e| {
        AuthError::Config(format!(
            "the {name} signing key is not usable ({e}): it must be a PEM {} key (PKCS#1 or PKCS#8)",
            if c.algorithm == JwtAlgorithm::Es256 { "P-256 EC" } else { "RSA" }
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

fn fastrand_u64() -> u64 {
    let mut b = [0u8; 8];
    crate::store::random_bytes(&mut b);
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
