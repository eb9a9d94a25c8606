//! TLS files: extra CA certificates and a client identity.

use super::HttpError;

/// Files for TLS, read by the caller (relative to the connector file).
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// Extra CA certificates (PEM).
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate and key concatenated (PEM).
    pub identity_pem: Option<Vec<u8>>,
}

impl TlsFiles {
    /// Adds the CA certificates and the client identity to a client under construction, and
    /// turns certificate verification off when `insecure_skip_verify` says so.
    pub(super) fn configure(
        &self,
        mut b: reqwest::ClientBuilder,
        insecure_skip_verify: bool,
    ) -> Result<reqwest::ClientBuilder, Box<HttpError>> {
        if let Some(ca) = &self.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(ca)
                .map_err(|e| Box::new(HttpError::Client(format!("CA file: {e}"))))?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        if let Some(identity) = &self.identity_pem {
            let id = reqwest::Identity::from_pem(identity)
                .map_err(|e| Box::new(HttpError::Client(format!("client certificate: {e}"))))?;
            b = b.identity(id);
        }
        if insecure_skip_verify {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        Ok(b)
    }
}
