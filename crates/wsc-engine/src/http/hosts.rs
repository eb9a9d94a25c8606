//! Which hosts may receive credentials, and which must not be reached over plain http.

use url::Url;

/// Which hosts may receive credentials.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    hosts: Vec<String>,
    /// Hosts the connector reaches over https only: plain http to them is a downgrade.
    https_only: Vec<String>,
    /// Hosts the connector itself names with an http URL.
    http_ok: Vec<String>,
}

impl HostPolicy {
    /// Hosts allowed to receive credentials (lower-cased, with port where not default).
    pub fn new(hosts: impl IntoIterator<Item = String>) -> HostPolicy {
        HostPolicy {
            hosts: hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
            https_only: Vec::new(),
            http_ok: Vec::new(),
        }
    }

    /// Adds the host of a URL (and remembers whether the connector reaches it over https).
    pub fn allow_url(&mut self, url: &Url) {
        if let Some(h) = url.host_str() {
            let h = h.to_ascii_lowercase();
            match url.scheme() {
                "https" => {
                    if !self.http_ok.contains(&h) {
                        self.https_only.push(h.clone());
                    }
                }
                _ => {
                    self.https_only.retain(|x| *x != h);
                    self.http_ok.push(h.clone());
                }
            }
            self.hosts.push(h);
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

    /// Whether a URL's host may receive credentials.
    pub fn allows(&self, url: &Url) -> bool {
        match url.host_str() {
            Some(h) => self.hosts.iter().any(|x| x.eq_ignore_ascii_case(h)),
            None => false,
        }
    }
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
}
