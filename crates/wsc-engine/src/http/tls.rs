//! The connector's TLS files (`http.tls`: extra CA certificates, a client certificate and its
//! key), read relative to the connector's folder and checked by [`wsc_auth::ClientTls`], which
//! both the engine's client and the token client apply.

use std::path::Path;

use serde_json::Value;
use wsc_auth::{ClientTls, PemOrigin, Secret, TlsSource};

use crate::error::EngineError;
use crate::template::{Escape, Templates};

/// Reads the TLS files the connector names (CA, client certificate and key, the key's
/// password), with templates rendered in `ctx`, and checks them: an encrypted key is
/// decrypted, and a key that is not the certificate's is an error.
pub(crate) fn read_tls(
    dir: &Path,
    c: &wsc_spec::Connector,
    t: &mut Templates,
    ctx: &Value,
) -> Result<ClientTls, EngineError> {
    let tls = &c.http.tls;
    let mut render = |loc: &str, tpl: &wsc_spec::Template| -> Result<String, EngineError> {
        let c = t.compile(loc, tpl.as_str(), Escape::None)?;
        Ok(t.render(&c, ctx)?)
    };
    let mut read = |loc: &str,
                    tpl: &Option<wsc_spec::Template>|
     -> Result<Option<(PemOrigin, Vec<u8>)>, EngineError> {
        let Some(tpl) = tpl else { return Ok(None) };
        let p = dir.join(render(loc, tpl)?);
        let bytes = std::fs::read(&p)
            .map_err(|e| EngineError::Config(format!("{loc}: cannot read {}: {e}", p.display())))?;
        Ok(Some((PemOrigin::file(loc, p), bytes)))
    };
    let text = |f: Option<(PemOrigin, Vec<u8>)>| {
        f.map(|(o, b)| (o, String::from_utf8_lossy(&b).into_owned()))
    };
    let ca = read("http.tls.ca_file", &tls.ca_file)?;
    let client_cert = text(read("http.tls.client_cert", &tls.client_cert)?);
    let client_key = text(read("http.tls.client_key", &tls.client_key)?);
    let client_key_password = match &tls.client_key_password {
        Some(p) => Some(Secret::new(render("http.tls.client_key_password", p)?)),
        None => None,
    };
    ClientTls::new(TlsSource {
        ca,
        client_cert,
        client_key,
        client_key_password,
        insecure_skip_verify: tls.insecure_skip_verify,
    })
    .map_err(|e| EngineError::Config(e.to_string()))
}
