//! WS-Security UsernameToken (OASIS WSS UsernameToken Profile 1.1): a `wsse:Security` block
//! the engine puts into the SOAP `Header` of every request, with the password as text or as
//! a digest over a fresh nonce and creation time.

use base64::Engine as _;
use futures_util::future::{BoxFuture, FutureExt};
use sha1::{Digest, Sha1};
use wsc_spec::model::PasswordType;

use crate::authenticator::{Authenticator, Generation, Outgoing};
use crate::error::AuthError;
use crate::secret::Secret;

/// The `wsse` namespace (WSS 1.0 secext).
pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// The `wsu` namespace (WSS 1.0 utility).
pub const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const PROFILE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0";
const BASE64_BINARY: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

/// A UsernameToken credential, its values rendered from settings.
#[derive(Debug, Clone)]
pub struct WsSecurity {
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// Text or digest.
    pub password_type: PasswordType,
}

/// The five XML special characters escaped.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// `PasswordDigest` = Base64(SHA-1(nonce + created + password)), the nonce as raw bytes.
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

impl WsSecurity {
    /// The `wsse:Security` block for one request with this nonce and creation time (UTC,
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`). The envelope binds the `soap` prefix.
    pub fn header_with(&self, nonce: &[u8], created: &str) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let (kind, password, extra) = match self.password_type {
            PasswordType::Text => (
                "PasswordText",
                escape(self.password.expose()),
                format!("<wsu:Created>{created}</wsu:Created>"),
            ),
            PasswordType::Digest => (
                "PasswordDigest",
                password_digest(nonce, created, self.password.expose()),
                format!(
                    "<wsse:Nonce EncodingType=\"{BASE64_BINARY}\">{}</wsse:Nonce>\
                     <wsu:Created>{created}</wsu:Created>",
                    b64.encode(nonce)
                ),
            ),
        };
        format!(
            "<wsse:Security xmlns:wsse=\"{WSSE_NS}\" xmlns:wsu=\"{WSU_NS}\" \
             soap:mustUnderstand=\"1\"><wsse:UsernameToken>\
             <wsse:Username>{}</wsse:Username>\
             <wsse:Password Type=\"{PROFILE}#{kind}\">{password}</wsse:Password>{extra}\
             </wsse:UsernameToken></wsse:Security>",
            escape(&self.username)
        )
    }
}

impl Authenticator for WsSecurity {
    /// Nothing goes on the URL or headers: the token is in the SOAP header
    /// ([`soap_header`](Authenticator::soap_header)).
    fn apply<'a>(&'a self, _out: Outgoing<'a>) -> BoxFuture<'a, Result<Generation, AuthError>> {
        async { Ok(Generation(0)) }.boxed()
    }

    fn is_expired_status(&self, _status: u16) -> bool {
        false
    }

    fn renew<'a>(&'a self, _used: Generation) -> BoxFuture<'a, Result<bool, AuthError>> {
        async { Ok(false) }.boxed()
    }

    fn soap_header(&self) -> Option<String> {
        let mut nonce = [0u8; 16];
        crate::random::random_bytes(&mut nonce);
        let created = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        Some(self.header_with(&nonce, &created))
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.password.expose().to_string()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_the_profile() {
        // SHA-1 over nonce ‖ created ‖ password, checked against an independent computation
        // (`printf 'abcd2024-01-02T03:04:05.000Zs3cret' | openssl sha1 -binary | base64`).
        assert_eq!(
            password_digest(b"abcd", "2024-01-02T03:04:05.000Z", "s3cret"),
            "9ebhdmb5xM2nRi4q+CtOkEDu8+I="
        );
    }

    #[test]
    fn text_and_digest_blocks() {
        let mut a = WsSecurity {
            username: "ann<&>".into(),
            password: Secret::new("p\"w'd<"),
            password_type: PasswordType::Text,
        };
        let h = a.header_with(b"n", "2024-01-02T03:04:05.000Z");
        assert!(
            h.contains("<wsse:Username>ann&lt;&amp;&gt;</wsse:Username>"),
            "{h}"
        );
        assert!(
            h.contains("#PasswordText\">p&quot;w&apos;d&lt;</wsse:Password>"),
            "{h}"
        );
        assert!(!h.contains("Nonce"));
        a.password_type = PasswordType::Digest;
        let h = a.header_with(b"abcd", "2024-01-02T03:04:05.000Z");
        let d = password_digest(b"abcd", "2024-01-02T03:04:05.000Z", "p\"w'd<");
        assert!(
            h.contains(&format!("#PasswordDigest\">{d}</wsse:Password>")),
            "{h}"
        );
        assert!(h.contains("#Base64Binary\">YWJjZA==</wsse:Nonce>"), "{h}");
        assert!(!h.contains("p\"w'd<") && !h.contains("p&quot;w"), "{h}");
        // A fresh nonce and time per request.
        let (x, y) = (a.soap_header().unwrap(), a.soap_header().unwrap());
        assert_ne!(x, y);
    }
}
