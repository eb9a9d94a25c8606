//! One token-endpoint HTTP request, as data, and sending it.

use std::time::Duration;

use url::Url;

pub use crate::shown::{redacted_location, redacted_url};

use crate::error::AuthError;
use crate::tls::{ClientTls, error_chain};
use crate::token::RawResponse;

/// The largest token response read: 1 MiB.
pub const MAX_TOKEN_RESPONSE: usize = 1024 * 1024;

/// The body of a token request.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
    /// `multipart/form-data` with text fields.
    Multipart(Vec<(String, String)>),
    /// A JSON document.
    Json(serde_json::Value),
    /// Raw text with its content type.
    Raw {
        /// Content-Type.
        content_type: String,
        /// Text.
        text: String,
    },
}

/// A token request ready to send. Its Debug output never shows parameter or header values,
/// since they hold secrets.
#[derive(Clone, PartialEq)]
pub struct TokenHttpRequest {
    /// HTTP method.
    pub method: reqwest::Method,
    /// URL, query parameters included.
    pub url: Url,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Body,
}

impl std::fmt::Debug for TokenHttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        let body = match &self.body {
            Body::Empty => "empty".to_string(),
            Body::Form(p) => format!("form {:?}", names(p)),
            Body::Multipart(p) => format!("multipart {:?}", names(p)),
            Body::Json(_) => "json".to_string(),
            Body::Raw { content_type, .. } => format!("raw {content_type}"),
        };
        f.debug_struct("TokenHttpRequest")
            .field("method", &self.method)
            .field("url", &redacted_url(&self.url))
            .field("headers", &names(&self.headers))
            .field("body", &body)
            .finish()
    }
}

/// Sends token requests. The default is [`ReqwestSender`]; tests may substitute their own.
pub trait TokenSender: Send + Sync {
    /// Sends `req` and returns the raw answer (any status).
    fn send<'a>(
        &'a self,
        req: TokenHttpRequest,
    ) -> futures_util::future::BoxFuture<'a, Result<RawResponse, AuthError>>;
}

/// Sends token requests with reqwest.
#[derive(Debug, Clone)]
pub struct ReqwestSender {
    client: reqwest::Client,
}

impl ReqwestSender {
    /// A client with a 30 s timeout that does not follow redirects (a token endpoint that
    /// redirects would otherwise receive the client credentials on another host).
    pub fn new() -> Result<ReqwestSender, AuthError> {
        ReqwestSender::with_tls(&ClientTls::default())
    }

    /// [`ReqwestSender::new`] with the connector's TLS settings (`http.tls`: extra CA
    /// certificates, a client certificate for token endpoints that require mutual TLS).
    pub fn with_tls(tls: &ClientTls) -> Result<ReqwestSender, AuthError> {
        let b = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wsc/", env!("CARGO_PKG_VERSION")));
        let client = tls.configure(b).build().map_err(|e| {
            AuthError::Http(format!(
                "cannot build the HTTP client of token requests: {}",
                error_chain(&e)
            ))
        })?;
        Ok(ReqwestSender { client })
    }

    /// Uses an existing client.
    pub fn with_client(client: reqwest::Client) -> ReqwestSender {
        ReqwestSender { client }
    }
}

impl TokenSender for ReqwestSender {
    fn send<'a>(
        &'a self,
        req: TokenHttpRequest,
    ) -> futures_util::future::BoxFuture<'a, Result<RawResponse, AuthError>> {
        Box::pin(async move {
            let shown = redacted_url(&req.url);
            let mut b = self.client.request(req.method.clone(), req.url.clone());
            for (k, v) in &req.headers {
                b = b.header(k.as_str(), v.as_str());
            }
            b = match req.body {
                Body::Empty => b,
                Body::Form(p) => b.form(&p),
                Body::Multipart(p) => {
                    let mut form = reqwest::multipart::Form::new();
                    for (k, v) in p {
                        form = form.text(k, v);
                    }
                    b.multipart(form)
                }
                Body::Json(v) => b.json(&v),
                Body::Raw { content_type, text } => b
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(text),
            };
            // A connection that could not be made (refused, or a pooled keep-alive connection
            // the server had closed) never reached the server: retrying it is safe, even for a
            // refresh with rotation. Anything else is not retried here.
            let mut b = b;
            let mut attempt = 0u32;
            let resp = loop {
                let again = b.try_clone();
                match b.send().await {
                    Ok(r) => break r,
                    // A TLS failure (certificate refused or not trusted) is not transient.
                    Err(e)
                        if e.is_connect()
                            && attempt < 2
                            && again.is_some()
                            && tls_hint(&error_chain(&e)).is_none() =>
                    {
                        attempt += 1;
                        tracing::warn!(target: "wsc::auth", url = %shown, attempt, "token request could not connect, retrying");
                        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                        b = again.expect("checked above");
                    }
                    Err(e) => {
                        let chain = error_chain(&e);
                        let hint = tls_hint(&chain)
                            .map(|h| format!("\n  hint: {h}"))
                            .unwrap_or_default();
                        return Err(AuthError::Http(format!(
                            "token request to {shown} failed: {chain}{hint}"
                        )));
                    }
                }
            };
            let status = resp.status().as_u16();
            let headers: Vec<(String, String)> = resp
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            // Token responses are small: a fixed cap, checked against Content-Length first and
            // then while the body streams in (after decompression), so a hostile endpoint can
            // never make wsc hold more than this.
            let too_large = || {
                AuthError::Http(format!(
                    "the token response from {shown} is larger than 1 MiB, the most wsc reads \
of a token response; the rest was not read (is token_url the token endpoint?)"
                ))
            };
            if resp
                .content_length()
                .is_some_and(|n| n > MAX_TOKEN_RESPONSE as u64)
            {
                return Err(too_large());
            }
            let mut body = Vec::new();
            let mut resp = resp;
            while let Some(chunk) = resp.chunk().await.map_err(|e| {
                AuthError::Http(format!("reading the token response from {shown}: {e}"))
            })? {
                if body.len() + chunk.len() > MAX_TOKEN_RESPONSE {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(RawResponse {
                status,
                content_type,
                headers,
                body,
            })
        })
    }
}

/// What to do about a TLS failure, told by the error text of the TLS library.
pub fn tls_hint(chain: &str) -> Option<&'static str> {
    if chain.contains("CertificateRequired") || chain.contains("certificate required") {
        Some(
            "the server requires a client certificate (mutual TLS): set `http.tls.client_cert` and `http.tls.client_key`",
        )
    } else if chain.contains("UnknownIssuer") || chain.contains("unknown issuer") {
        Some(
            "the server's certificate is not signed by a CA wsc trusts: add the CA with `http.tls.ca_file`",
        )
    } else if chain.contains("NotValidForName") || chain.contains("not valid for name") {
        Some("the server's certificate does not name this host: check the URL's host")
    } else if chain.contains("BadCertificate")
        || chain.contains("UnknownCA")
        || chain.contains("unknown ca")
    {
        Some(
            "the server refused the client certificate: check that `http.tls.client_cert` is one the server trusts",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_values() {
        let r = TokenHttpRequest {
            method: reqwest::Method::POST,
            url: Url::parse("https://x.test/token?client_secret=s3cr3t").unwrap(),
            headers: vec![("Authorization".into(), "Basic s3cr3t".into())],
            body: Body::Form(vec![("client_secret".into(), "s3cr3t".into())]),
        };
        let d = format!("{r:?}");
        assert!(!d.contains("s3cr3t"), "{d}");
        assert!(d.contains("client_secret"));
    }
}
