//! URLs as messages and logs show them: without their query values, which may hold a client
//! secret or a code.

use url::Url;

/// The URL without its query values (which may hold a client secret).
pub fn redacted_url(u: &Url) -> String {
    let mut u = u.clone();
    let keys: Vec<String> = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
    if keys.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut()
            .clear()
            .extend_pairs(keys.iter().map(|k| (k.as_str(), "…")));
    }
    u.to_string()
}

/// A `Location` header for messages: an absolute URL as [`redacted_url`] shows it, a relative
/// one without its query values.
pub fn redacted_location(l: &str) -> String {
    match Url::parse(l) {
        Ok(u) => redacted_url(&u),
        Err(_) => match l.split_once('?') {
            Some((path, _)) => format!("{path}?…"),
            None => l.to_string(),
        },
    }
}
