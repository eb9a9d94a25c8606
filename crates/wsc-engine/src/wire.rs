//! What sits between the engine and the network, for recording and replaying: a [`Tap`] that
//! sees every exchange as it went over the wire (API and token requests alike), and a
//! `reroute` that sends every request to one origin (a replay server) whatever host the
//! connector names, so recorded fixtures replay without editing the connector.

use std::sync::Arc;

use url::Url;

use crate::message::Body;

/// The access token a dry run hands out in place of a real one.
pub const DRY_RUN_TOKEN: &str = "dry-run-token";

/// One HTTP exchange as sent and received, credentials included. Only a [`Tap`] sees it; a
/// tap that stores exchanges must redact them (see wsc-fixtures' recorder).
#[derive(Clone)]
pub struct Exchange {
    /// `true` for a token-endpoint request made by the authenticator.
    pub token_request: bool,
    /// Method.
    pub method: String,
    /// The URL the connector addressed (before any reroute).
    pub url: Url,
    /// Request headers, credentials included.
    pub request_headers: Vec<(String, String)>,
    /// Request body.
    pub request_body: Body,
    /// Response status.
    pub status: u16,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// Response body.
    pub response_body: Vec<u8>,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print headers or bodies: they hold credentials.
        f.debug_struct("Exchange")
            .field("method", &self.method)
            .field("path", &self.url.path())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Receives every exchange of a run.
pub trait Tap: Send + Sync {
    /// Called once per HTTP attempt that got a response (retries included).
    fn exchange(&self, exchange: Exchange);
}

/// How a run reaches the network. The default sends requests where the connector says and
/// records nothing.
#[derive(Clone, Default)]
pub struct Wire {
    /// Send every request (API and token) to this origin instead (scheme, host and port are
    /// replaced; path and query are kept).
    pub reroute: Option<Url>,
    /// Observer of every exchange.
    pub tap: Option<Arc<dyn Tap>>,
    /// Send nothing: every request (token requests included) goes to the tap only, with status
    /// 0, and is answered with an empty 200 (a token request with a placeholder token), so a
    /// run shows the requests it would send.
    pub dry_run: bool,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wire")
            .field("reroute", &self.reroute.as_ref().map(Url::as_str))
            .field("tap", &self.tap.is_some())
            .field("dry_run", &self.dry_run)
            .finish()
    }
}

impl Wire {
    /// The URL to actually send to.
    pub fn target(&self, url: &Url) -> Url {
        match &self.reroute {
            None => url.clone(),
            Some(to) => {
                let mut u = url.clone();
                // Scheme changes between special schemes (http/https) always succeed.
                let _ = u.set_scheme(to.scheme());
                let _ = u.set_host(to.host_str());
                let _ = u.set_port(to.port_or_known_default());
                u
            }
        }
    }
}

/// Headers of a reqwest header map as pairs.
pub fn header_pairs(map: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reroute_keeps_path_and_query() {
        let w = Wire {
            reroute: Some(Url::parse("http://127.0.0.1:4000").unwrap()),
            ..Wire::default()
        };
        let t = w.target(&Url::parse("https://graph.microsoft.com/v1.0/users?$top=5").unwrap());
        assert_eq!(t.as_str(), "http://127.0.0.1:4000/v1.0/users?$top=5");
        let same = Wire::default().target(&Url::parse("https://x.test/a").unwrap());
        assert_eq!(same.as_str(), "https://x.test/a");
    }
}
