//! A connector's TLS settings (`http.tls`), read and checked once and applied to every HTTP
//! client the connector uses: the engine's client for its requests, and the token client, so
//! a token endpoint behind a private CA or one that requires a client certificate (mTLS) is
//! reached the same way as the API.
//!
//! The client identity is checked before any client is built: the key is decrypted when it
//! is an encrypted PKCS#8 key ([`crate::keys`]), the certificate and the key may share one
//! file, and a key that is not the certificate's is named as such (the HTTP library would
//! only say `builder error`).

use std::sync::Arc;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::keys::{KeyError, PemOrigin, pem_blocks};
use crate::secret::Secret;

/// What the connector names for TLS, read from its files: the input of [`ClientTls::new`].
#[derive(Debug, Default)]
pub struct TlsSource {
    /// Extra CA certificates to trust (PEM) and where they came from (`http.tls.ca_file`).
    pub ca: Option<(PemOrigin, Vec<u8>)>,
    /// The client certificate (PEM; may hold the key after the certificate) and where it
    /// came from (`http.tls.client_cert`).
    pub client_cert: Option<(PemOrigin, String)>,
    /// The client certificate's key (PEM), when it is in a file of its own
    /// (`http.tls.client_key`).
    pub client_key: Option<(PemOrigin, String)>,
    /// The password of an encrypted client key (`http.tls.client_key_password`).
    pub client_key_password: Option<Secret>,
    /// Skip certificate verification (`http.tls.insecure_skip_verify`).
    pub insecure_skip_verify: bool,
}

/// The connector key of the client key's password, for messages.
const PASSWORD_KEY: &str = "http.tls.client_key_password";

/// TLS settings ready to apply to an HTTP client ([`ClientTls::configure`]). Cheap to clone.
#[derive(Clone, Default)]
pub struct ClientTls {
    roots: Arc<Vec<reqwest::Certificate>>,
    identity: Option<reqwest::Identity>,
    insecure_skip_verify: bool,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("roots", &self.roots.len())
            .field("identity", &self.identity.is_some())
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

impl ClientTls {
    /// Reads and checks the CA certificates and the client identity: the certificate and
    /// its key (from the certificate's file or `client_key`, decrypted with the password
    /// when encrypted) must be a pair.
    pub fn new(src: TlsSource) -> Result<ClientTls, KeyError> {
        let roots = match &src.ca {
            None => Vec::new(),
            Some((origin, pem)) => {
                let text = String::from_utf8_lossy(pem);
                let certs = pem_blocks(&text, origin)?;
                if !certs.iter().any(|b| b.label == "CERTIFICATE") {
                    return Err(KeyError::NoCertificate {
                        origin: origin.clone(),
                    });
                }
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                    KeyError::BadCertificate {
                        origin: origin.clone(),
                        detail: error_chain(&e),
                    }
                })?
            }
        };
        let identity = match (&src.client_cert, &src.client_key) {
            (None, None) => None,
            (None, Some((origin, _))) => {
                return Err(KeyError::NoCertificate {
                    origin: origin.clone(),
                });
            }
            (Some((cert_origin, cert_text)), key) => Some(identity(
                cert_origin,
                cert_text,
                key.as_ref(),
                src.client_key_password.as_ref(),
            )?),
        };
        Ok(ClientTls {
            roots: Arc::new(roots),
            identity,
            insecure_skip_verify: src.insecure_skip_verify,
        })
    }

    /// Whether a client certificate is configured.
    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// Adds the CA certificates and the client identity to a client under construction,
    /// and turns certificate verification off when the connector says so.
    pub fn configure(&self, mut b: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        for c in self.roots.iter() {
            b = b.add_root_certificate(c.clone());
        }
        if let Some(id) = &self.identity {
            b = b.identity(id.clone());
        }
        if self.insecure_skip_verify {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        b
    }
}

/// The client identity: the certificates of `cert_text` and the one private key of the
/// certificate's file or of `key`, checked to be the certificate's.
fn identity(
    cert_origin: &PemOrigin,
    cert_text: &str,
    key: Option<&(PemOrigin, String)>,
    password: Option<&Secret>,
) -> Result<reqwest::Identity, KeyError> {
    let cert_blocks = pem_blocks(cert_text, cert_origin)?;
    let certs: Vec<CertificateDer<'static>> = cert_blocks
        .iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| CertificateDer::from(b.der.clone()))
        .collect();
    if certs.is_empty() {
        return Err(KeyError::NoCertificate {
            origin: cert_origin.clone(),
        });
    }
    let (plain, key_origin) = match key {
        Some((key_origin, key_text)) => {
            if cert_blocks.iter().any(|b| b.is_private_key()) {
                return Err(KeyError::TwoKeys {
                    cert: cert_origin.clone(),
                    key: key_origin.clone(),
                });
            }
            let plain = crate::keys::private_key(key_text, password, key_origin, PASSWORD_KEY)?;
            (plain, key_origin.clone())
        }
        None => {
            match crate::keys::key_of_blocks(&cert_blocks, password, cert_origin, PASSWORD_KEY)? {
                Some(k) => (k, cert_origin.clone()),
                None => {
                    return Err(KeyError::MissingKey {
                        cert: cert_origin.clone(),
                    });
                }
            }
        }
    };
    let key_der: PrivateKeyDer<'static> = match plain.label.as_str() {
        "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(plain.der.0.clone().into()),
        "EC PRIVATE KEY" => PrivateKeyDer::Sec1(plain.der.0.clone().into()),
        "PRIVATE KEY" => PrivateKeyDer::Pkcs8(plain.der.0.clone().into()),
        other => {
            return Err(KeyError::UnusableKey {
                origin: key_origin,
                detail: format!("`{other}` keys are not supported (use PKCS#8 `PRIVATE KEY`)"),
            });
        }
    };
    check_pair(cert_origin, &certs, &key_origin, key_der)?;
    let mut pem = String::new();
    for b in cert_blocks.iter().filter(|b| b.label == "CERTIFICATE") {
        pem.push_str(&crate::keys::block_pem(&b.label, &b.der));
    }
    pem.push_str(plain.pem.expose());
    reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| KeyError::UnusableKey {
        origin: key_origin,
        detail: error_chain(&e),
    })
}

/// Checks that `key` is the private key of the first (end-entity) certificate of `certs`.
fn check_pair(
    cert_origin: &PemOrigin,
    certs: &[CertificateDer<'static>],
    key_origin: &PemOrigin,
    key: PrivateKeyDer<'static>,
) -> Result<(), KeyError> {
    use rustls::sign::CertifiedKey;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signing =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| KeyError::UnusableKey {
                origin: key_origin.clone(),
                detail: e.to_string(),
            })?;
    match CertifiedKey::new(certs.to_vec(), signing).keys_match() {
        Ok(()) => Ok(()),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(KeyError::KeyMismatch {
                cert: cert_origin.clone(),
                key: key_origin.clone(),
            })
        }
        // A key type whose public key rustls cannot tell: the handshake will show.
        Err(rustls::Error::InconsistentKeys(_)) => Ok(()),
        Err(e) => Err(KeyError::BadCertificate {
            origin: cert_origin.clone(),
            detail: e.to_string(),
        }),
    }
}

/// An error and its sources, on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}
