//! Which origins may receive credentials, and which hosts must not be reached over plain http.
//!
//! Credentials go to an origin — scheme, host and port — not to a host name: another port of
//! the same host may be another service (a debug server, another tenant's proxy), so
//! `https://api.test` and `https://api.test:8443` are different. The origins allowed are those
//! of the URLs the connector names (base URL, token URL...) and the `allowed_hosts` entries
//! (`host` for the scheme's default port, `host:port` for another port).

use url::Url;

/// An origin: scheme, lower-cased host, port (the scheme's default when the URL has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlOrigin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl UrlOrigin {
    /// The origin of a URL (`None` for a URL without a host).
    pub fn of(url: &Url) -> Option<UrlOrigin> {
        Some(UrlOrigin {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default(),
        })
    }
}

impl std::fmt::Display for UrlOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

/// Where a URL goes, as shown in errors: `host` or `host:port` (a port other than the
/// scheme's default).
pub fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

/// Which origins may receive credentials.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    /// `allowed_hosts` entries: host, and the port when one is given.
    hosts: Vec<(String, Option<u16>)>,
    /// Origins of the URLs the connector names.
    origins: Vec<UrlOrigin>,
    /// Hosts the connector reaches over https only: plain http to them is a downgrade.
    https_only: Vec<String>,
    /// Hosts the connector itself names with an http URL.
    http_ok: Vec<String>,
}

impl HostPolicy {
    /// Hosts allowed to receive credentials: `host` (on the default port of http or https) or
    /// `host:port`.
    pub fn new(hosts: impl IntoIterator<Item = String>) -> HostPolicy {
        HostPolicy {
            hosts: hosts.into_iter().map(|h| split_port(&h)).collect(),
            origins: Vec::new(),
            https_only: Vec::new(),
            http_ok: Vec::new(),
        }
    }

    /// Adds the origin of a URL (and remembers whether the connector reaches its host over
    /// https).
    pub fn allow_url(&mut self, url: &Url) {
        if let Some(h) = url.host_str() {
            let h = h.to_ascii_lowercase();
            match url.scheme() {
                "https" => {
                    if !self.http_ok.contains(&h) {
                        self.https_only.push(h);
                    }
                }
                _ => {
                    self.https_only.retain(|x| *x != h);
                    self.http_ok.push(h);
                }
            }
        }
        if let Some(o) = UrlOrigin::of(url) {
            self.origins.push(o);
        }
    }

    /// Whether a URL is plain http to a host the connector reaches over https (credentials
    /// would travel in clear text).
    pub fn is_downgrade(&self, url: &Url) -> bool {
        url.scheme() == "http"
            && url
                .host_str()
                .is_some_and(|h| self.https_only.iter().any(|x| x.eq_ignore_ascii_case(h)))
    }

    /// Whether a URL's origin may receive credentials.
    pub fn allows(&self, url: &Url) -> bool {
        let Some(origin) = UrlOrigin::of(url) else {
            return false;
        };
        if self.origins.contains(&origin) {
            return true;
        }
        self.hosts.iter().any(|(h, port)| {
            *h == origin.host
                && match port {
                    Some(p) => origin.port == Some(*p),
                    // No port given: the scheme's default port only.
                    None => url.port().is_none(),
                }
        })
    }
}

/// `host:port` → (host, port); `host`, `[v6]` → (host, None). Lower-cased.
fn split_port(entry: &str) -> (String, Option<u16>) {
    let e = entry.trim().to_ascii_lowercase();
    if let Some((h, p)) = e.rsplit_once(':')
        && (!h.contains(':') || h.ends_with(']'))
        && let Ok(p) = p.parse::<u16>()
    {
        return (h.to_string(), Some(p));
    }
    (e, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_policy_refuses_other_hosts_and_https_downgrades() {
        let mut p = HostPolicy::new(["extra.test".to_string()]);
        p.allow_url(&Url::parse("https://api.test/v1").unwrap());
        p.allow_url(&Url::parse("http://127.0.0.1:8080/api").unwrap());
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(p.allows(&u("https://api.test/v1/users?page=2")));
        assert!(!p.is_downgrade(&u("https://api.test/x")));
        assert!(p.is_downgrade(&u("http://api.test/v1/users?page=2")));
        assert!(!p.allows(&u("https://evil.test/")));
        assert!(p.allows(&u("http://extra.test/")));
        // A host the connector itself names over http may stay on http (loopback tests).
        assert!(!p.is_downgrade(&u("http://127.0.0.1:8080/api/next")));
    }

    /// Same host, another port (or scheme): another origin. The host-name comparison let
    /// `X-API-Key` follow a redirect to another port.
    #[test]
    fn origins_compare_scheme_host_and_port() {
        let mut p = HostPolicy::new(["extra.test".to_string(), "other.test:8443".to_string()]);
        p.allow_url(&Url::parse("https://api.test/v1").unwrap());
        p.allow_url(&Url::parse("http://127.0.0.1:8080/api").unwrap());
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(p.allows(&u("https://API.test:443/v1")));
        assert!(!p.allows(&u("https://api.test:8443/v1")));
        assert!(!p.allows(&u("http://127.0.0.1:9090/api")));
        assert!(!p.allows(&u("https://127.0.0.1:8080/api")));
        assert!(p.allows(&u("http://127.0.0.1:8080/other")));
        assert!(p.allows(&u("https://extra.test/")));
        assert!(!p.allows(&u("https://extra.test:9000/")));
        assert!(p.allows(&u("https://other.test:8443/")));
        assert!(!p.allows(&u("https://other.test/")));
        assert_eq!(authority(&u("https://api.test:8443/x")), "api.test:8443");
        assert_eq!(
            UrlOrigin::of(&u("https://api.test/x")).unwrap().to_string(),
            "https://api.test:443"
        );
    }
}
