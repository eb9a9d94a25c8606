//! PKCE (RFC 7636, S256) and `state` values for authorization_code.

use base64::Engine as _;
use sha2::{Digest, Sha256};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A random URL-safe string of `n` random bytes (43 characters for 32 bytes).
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    crate::random::random_bytes(&mut b);
    b64(&b)
}

/// A code verifier and its S256 challenge.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    /// The verifier, sent with the code exchange.
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`, sent with the authorize request.
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// A fresh verifier (32 random bytes) and its challenge.
    pub fn new() -> Pkce {
        Pkce::from_verifier(random_token(32))
    }

    /// The challenge of a given verifier.
    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = b64(&Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_challenge() {
        // BASE64URL(SHA256(verifier)), computed independently (Python hashlib).
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K9uXKRLxYcpbi5qASXk3u8nTC8".into());
        assert_eq!(p.challenge, "iR5A62s3lOrEM7gNfF1H3Ol0JtAYlp56y00iiwAjNIM");
        assert_eq!(Pkce::new().verifier.len(), 43);
    }
}
