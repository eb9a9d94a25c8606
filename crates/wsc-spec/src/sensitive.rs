//! Names whose values are credentials: HTTP headers, and fields of bodies, forms and query
//! strings. What the engine hides in URLs and messages and what fixtures and snapshots redact
//! are both read from these lists. Names compare without regard to ASCII case.

/// Header names whose values are credentials.
pub const HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Field names whose values are credentials wherever they appear: JSON bodies, forms,
/// multipart bodies and query strings (token requests and responses, API keys).
pub const FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "client_assertion",
    "assertion",
    "password",
    "code_verifier",
    "device_code",
    "api_key",
    "apikey",
    "api-key",
];

/// Query parameter names that carry credentials in URLs (an authorization `code`, a `token`)
/// but are ordinary data in bodies (an error's `code`), so they are not [`FIELDS`].
pub const URL_PARAMS: &[&str] = &["token", "code"];

fn listed(list: &[&str], name: &str) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Whether a header's value is a credential ([`HEADERS`]).
pub fn is_sensitive_header(name: &str) -> bool {
    listed(HEADERS, name)
}

/// Whether a body, form or query field's value is a credential ([`FIELDS`]).
pub fn is_sensitive_field(name: &str) -> bool {
    listed(FIELDS, name)
}

/// Whether a query parameter's value is a credential: a [`FIELDS`] or [`URL_PARAMS`] name, or
/// a header name sent as a parameter (`?x-api-key=...`).
pub fn is_sensitive_url_param(name: &str) -> bool {
    listed(URL_PARAMS, name) || is_sensitive_field(name) || is_sensitive_header(name)
}

/// Whether a name is sensitive in any of the lists: for places that cannot tell a header
/// from a parameter.
pub fn is_sensitive_name(name: &str) -> bool {
    is_sensitive_url_param(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_lower_case_and_disjoint() {
        let all: Vec<&str> = HEADERS
            .iter()
            .chain(FIELDS)
            .chain(URL_PARAMS)
            .copied()
            .collect();
        for (i, n) in all.iter().enumerate() {
            assert_eq!(*n, n.to_ascii_lowercase(), "{n} is not lower case");
            assert!(!all[i + 1..].contains(n), "{n} is listed twice");
        }
    }

    #[test]
    fn headers_ignore_case() {
        for h in [
            "Authorization",
            "PROXY-AUTHORIZATION",
            "Cookie",
            "Set-Cookie",
            "X-API-Key",
        ] {
            assert!(is_sensitive_header(h), "{h}");
        }
        for h in ["content-type", "accept", "x-request-id", "password"] {
            assert!(!is_sensitive_header(h), "{h}");
        }
    }

    #[test]
    fn fields_are_the_union_of_the_former_lists() {
        // Formerly in the fixtures' list only.
        assert!(is_sensitive_field("device_code"));
        // Formerly in the engine's list only.
        for f in ["api_key", "APIKEY", "Api-Key"] {
            assert!(is_sensitive_field(f), "{f}");
        }
        for f in [
            "access_token",
            "refresh_token",
            "id_token",
            "client_secret",
            "client_assertion",
            "assertion",
            "password",
            "code_verifier",
        ] {
            assert!(is_sensitive_field(f), "{f}");
        }
        // Ordinary data in bodies.
        for f in ["code", "token", "id", "message", "token_type", "expires_in"] {
            assert!(!is_sensitive_field(f), "{f}");
        }
    }

    #[test]
    fn url_params_take_every_list() {
        for p in [
            "code",
            "token",
            "access_token",
            "device_code",
            "x-api-key",
            "Authorization",
        ] {
            assert!(is_sensitive_url_param(p), "{p}");
            assert!(is_sensitive_name(p), "{p}");
        }
        for p in ["q", "limit", "cursor", "state"] {
            assert!(!is_sensitive_url_param(p), "{p}");
        }
    }
}
