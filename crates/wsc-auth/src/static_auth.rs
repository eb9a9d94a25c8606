//! Credentials that never change: none, HTTP Basic, API key, static bearer token.

use base64::Engine as _;
use futures_util::future::{BoxFuture, FutureExt};

use crate::authenticator::{Authenticator, Generation, Outgoing};
use crate::error::AuthError;
use crate::secret::Secret;
use wsc_spec::model::Placement;

/// A static credential, with its values already rendered from settings.
#[derive(Debug, Clone)]
pub enum StaticAuth {
    /// No credentials.
    None,
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// A key in a header or a query parameter, with an optional prefix (`SSWS `).
    ApiKey {
        /// The key.
        key: Secret,
        /// Header or query.
        placement: Placement,
        /// Header or parameter name.
        name: String,
        /// Text before the key.
        prefix: String,
    },
}

impl StaticAuth {
    /// A bearer token in a header (`Authorization: Bearer`) or query parameter.
    pub fn bearer(token: Secret, placement: Placement, name: String, prefix: String) -> StaticAuth {
        StaticAuth::ApiKey {
            key: token,
            placement,
            name,
            prefix,
        }
    }
}

impl Authenticator for StaticAuth {
    fn apply<'a>(&'a self, out: Outgoing<'a>) -> BoxFuture<'a, Result<Generation, AuthError>> {
        match self {
            StaticAuth::None => {}
            StaticAuth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                let v = base64::engine::general_purpose::STANDARD.encode(raw);
                out.headers
                    .push(("Authorization".to_string(), format!("Basic {v}")));
            }
            StaticAuth::ApiKey {
                key,
                placement,
                name,
                prefix,
            } => {
                let value = format!("{prefix}{}", key.expose());
                match placement {
                    Placement::Header => out.headers.push((name.clone(), value)),
                    Placement::Query => {
                        out.url.query_pairs_mut().append_pair(name, &value);
                    }
                }
            }
        }
        async { Ok(Generation(0)) }.boxed()
    }

    fn is_expired_status(&self, _status: u16) -> bool {
        false
    }

    fn renew<'a>(&'a self, _used: Generation) -> BoxFuture<'a, Result<bool, AuthError>> {
        async { Ok(false) }.boxed()
    }

    fn secrets(&self) -> Vec<String> {
        match self {
            StaticAuth::None => Vec::new(),
            StaticAuth::Basic { password, .. } => vec![password.expose().to_string()],
            StaticAuth::ApiKey { key, .. } => vec![key.expose().to_string()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(a: &StaticAuth) -> (url::Url, Vec<(String, String)>) {
        let mut url = url::Url::parse("https://api.test/x?a=1").unwrap();
        let mut headers = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(a.apply(Outgoing {
            url: &mut url,
            headers: &mut headers,
        }))
        .unwrap();
        (url, headers)
    }

    #[test]
    fn basic_and_keys() {
        let (_, h) = apply(&StaticAuth::Basic {
            username: "Aladdin".into(),
            password: Secret::new("open sesame"),
        });
        assert_eq!(
            h,
            vec![(
                "Authorization".into(),
                "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".into()
            )]
        );
        let (u, h) = apply(&StaticAuth::ApiKey {
            key: Secret::new("k y"),
            placement: Placement::Query,
            name: "api_key".into(),
            prefix: String::new(),
        });
        assert!(h.is_empty());
        assert_eq!(u.as_str(), "https://api.test/x?a=1&api_key=k+y");
        let (_, h) = apply(&StaticAuth::bearer(
            Secret::new("t"),
            Placement::Header,
            "Authorization".into(),
            "Bearer ".into(),
        ));
        assert_eq!(h, vec![("Authorization".into(), "Bearer t".into())]);
    }
}
