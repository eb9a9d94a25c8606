//! Redaction: secret values never appear in logs, errors, snapshots or fixtures.

use std::sync::Arc;

use url::Url;
use wsc_auth::Authenticator;
use wsc_spec::sensitive;

/// The placeholder that replaces secrets.
pub const REDACTED: &str = "[redacted]";

/// Replaces known secret values in text: the values given when it was built, and the
/// credentials its authenticator holds at the time of each call (tokens obtained or rotated
/// after the engine was built included).
#[derive(Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
    live: Option<Arc<dyn Authenticator>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .field("live", &self.live.is_some())
            .finish()
    }
}

impl Redactor {
    /// A redactor for these secret values (empty and very short values are ignored: they
    /// would redact innocent text).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor {
            secrets,
            live: None,
        }
    }

    /// Also hides whatever credentials `auth` holds when text is redacted.
    pub fn with_live(mut self, auth: Arc<dyn Authenticator>) -> Redactor {
        self.live = Some(auth);
        self
    }

    /// Adds more secret values (e.g. tokens obtained at run time).
    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Text with every secret value replaced.
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        let live: Vec<String> = match &self.live {
            Some(a) => {
                let mut v: Vec<String> = a
                    .secrets()
                    .into_iter()
                    .filter(|x| x.len() >= 4 && !self.secrets.contains(x))
                    .collect();
                v.sort_by_key(|s| std::cmp::Reverse(s.len()));
                v
            }
            None => Vec::new(),
        };
        for secret in live.iter().chain(&self.secrets) {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
            let enc: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            if enc != *secret && out.contains(enc.as_str()) {
                out = out.replace(enc.as_str(), REDACTED);
            }
        }
        out
    }

    /// A URL as it may be shown: user info removed, sensitive query values hidden.
    pub fn url(&self, url: &Url) -> String {
        let mut u = url.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        if u.query().is_some() {
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let hide = sensitive::is_sensitive_url_param(&k);
                    let v = if hide {
                        REDACTED.to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
        self.text(u.as_str())
    }

    /// Whether a header's value must be hidden (any name of [`wsc_spec::sensitive`]).
    pub fn is_sensitive_header(name: &str) -> bool {
        sensitive::is_sensitive_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use wsc_auth::{AuthError, Generation, Outgoing};

    /// An authenticator whose credentials change at run time (as a token manager's do).
    struct Rotating(Mutex<Vec<String>>);

    impl Authenticator for Rotating {
        fn apply<'a>(
            &'a self,
            _: Outgoing<'a>,
        ) -> futures_util::future::BoxFuture<'a, Result<Generation, AuthError>> {
            Box::pin(async { Ok(Generation(0)) })
        }
        fn is_expired_status(&self, _: u16) -> bool {
            false
        }
        fn renew<'a>(
            &'a self,
            _: Generation,
        ) -> futures_util::future::BoxFuture<'a, Result<bool, AuthError>> {
            Box::pin(async { Ok(false) })
        }
        fn secrets(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    #[test]
    fn tokens_obtained_later_are_hidden() {
        let auth = Arc::new(Rotating(Mutex::new(vec![])));
        let r = Redactor::new(["static-secret".to_string()]).with_live(auth.clone());
        assert_eq!(r.text("tok-1234 static-secret"), "tok-1234 [redacted]");
        auth.0.lock().unwrap().push("tok-1234".into());
        assert_eq!(r.text("tok-1234 static-secret"), "[redacted] [redacted]");
        let u = Url::parse("https://h.test/a?x=tok-1234").unwrap();
        assert!(!r.url(&u).contains("tok-1234"));
    }

    #[test]
    fn hides_secret_values_and_sensitive_parameters() {
        let r = Redactor::new(["s3cret-value".to_string(), "ab".to_string()]);
        assert_eq!(r.text("x s3cret-value y ab"), "x [redacted] y ab");
        let u = Url::parse("https://u:p@h.test/a?access_token=zzz&q=1&k=s3cret-value").unwrap();
        let shown = r.url(&u);
        assert!(!shown.contains("zzz") && !shown.contains("s3cret") && !shown.contains("u:p"));
        assert!(shown.contains("q=1"), "{shown}");
    }
}
