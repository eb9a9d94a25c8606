//! Redaction for cassettes and snapshots: credentials in headers, token fields in bodies, and
//! the value of every secret setting and every token seen, replaced by `<redacted:NAME>`
//! placeholders (which the replay server matches against any value).

use indexmap::IndexMap;
use serde_json::Value;
use wsc_spec::Loaded;
use wsc_testkit::replay::{Cassette, is_placeholder};

/// Body fields whose values are credentials, in requests and responses.
pub use wsc_spec::sensitive::FIELDS as SECRET_FIELDS;
/// Headers whose values are credentials.
pub use wsc_spec::sensitive::HEADERS as SECRET_HEADERS;

/// The placeholder of a named secret.
pub fn placeholder(name: &str) -> String {
    format!("<redacted:{name}>")
}

/// Whether a body field holds a credential.
pub fn is_secret_field(name: &str) -> bool {
    wsc_spec::sensitive::is_sensitive_field(name)
}

/// Known secret values with their names.
#[derive(Clone, Default)]
pub struct Secrets {
    /// (value, name), longest value first.
    values: Vec<(String, String)>,
    /// Match whole values only (see [`Secrets::whole_values`]).
    whole: bool,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.values.iter().map(|(_, n)| n.as_str()).collect();
        f.debug_struct("Secrets").field("names", &names).finish()
    }
}

impl Secrets {
    /// Adds a value (ignored when empty or already a placeholder).
    pub fn add(&mut self, value: &str, name: &str) {
        if value.is_empty() || is_placeholder(value) || self.values.iter().any(|(v, _)| v == value)
        {
            return;
        }
        self.values.push((value.to_string(), name.to_string()));
        // In an XML body (a SOAP request, a WS-Security password) the value is escaped.
        let escaped = xml_escaped(value);
        if escaped != value && !self.values.iter().any(|(v, _)| *v == escaped) {
            self.values.push((escaped, name.to_string()));
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.0.len()));
    }

    /// The secret settings of a connector with these values, and the tokens a cassette's
    /// responses hand out.
    pub fn of(loaded: &Loaded, settings: &IndexMap<String, Value>, cassette: &Cassette) -> Secrets {
        let mut s = Secrets::default();
        s.add_settings(loaded, settings);
        for it in &cassette.interactions {
            if let Some(b) = &it.response.body {
                s.add_fields(b);
            }
        }
        s
    }

    /// The values of the connector's secret settings.
    pub fn add_settings(&mut self, loaded: &Loaded, settings: &IndexMap<String, Value>) {
        for (name, def) in &loaded.connector.settings {
            if !def.secret {
                continue;
            }
            match settings.get(name) {
                Some(Value::String(v)) => self.add(v, name),
                Some(Value::Null) | None => {}
                Some(other) => self.add(&other.to_string(), name),
            }
        }
    }

    /// The values of secret fields anywhere in a JSON document.
    pub fn add_fields(&mut self, v: &Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match x {
                        Value::String(s) if is_secret_field(k) => self.add(s, k),
                        _ => self.add_fields(x),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| self.add_fields(x)),
            _ => {}
        }
    }

    /// These secrets, matched as whole values only: an occurrence counts when the characters
    /// around it are not letters or digits, so a one-letter secret does not redact every word
    /// that contains the letter. For output people read (a dry run); recordings keep matching
    /// every occurrence.
    pub fn whole_values(mut self) -> Secrets {
        self.whole = true;
        self
    }

    /// Secret values shorter than `min` characters, by name: too short to redact reliably.
    pub fn too_short(&self, min: usize) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(v, _)| v.chars().count() < min)
            .map(|(_, n)| n.as_str())
            .collect()
    }

    /// Byte ranges where `secret` occurs in `text` (whole values only in whole-value mode).
    fn occurrences(&self, text: &str, secret: &str) -> Vec<std::ops::Range<usize>> {
        text.match_indices(secret)
            .map(|(i, m)| i..i + m.len())
            .filter(|r| {
                !self.whole
                    || (!text[..r.start]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_alphanumeric)
                        && !text[r.end..]
                            .chars()
                            .next()
                            .is_some_and(char::is_alphanumeric))
            })
            .collect()
    }

    /// Whether any secret value occurs in `text`.
    pub fn occurs_in(&self, text: &str) -> bool {
        self.values
            .iter()
            .any(|(v, _)| !self.occurrences(text, v).is_empty())
    }

    /// `text` with every secret value replaced by its placeholder.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (v, name) in &self.values {
            let found = self.occurrences(&out, v);
            if found.is_empty() {
                continue;
            }
            let mut next = String::with_capacity(out.len());
            let mut at = 0;
            for r in found {
                next.push_str(&out[at..r.start]);
                next.push_str(&placeholder(name));
                at = r.end;
            }
            next.push_str(&out[at..]);
            out = next;
        }
        out
    }

    /// The name of the secret whose value `text` contains, if any.
    pub fn name_in(&self, text: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(v, _)| !self.occurrences(text, v).is_empty())
            .map(|(_, n)| n.as_str())
    }

    /// A value made safe to store: a placeholder if it is or contains a secret (a placeholder
    /// matches any value on replay), else unchanged.
    pub fn value(&self, field: &str, value: &str) -> String {
        if is_secret_field(field) {
            return placeholder(field);
        }
        match self.name_in(value) {
            Some(name) => placeholder(name),
            None => value.to_string(),
        }
    }

    /// Redacts a JSON document in place: secret fields and strings holding a secret become
    /// placeholders.
    pub fn json(&self, v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if is_secret_field(k) && x.is_string() {
                        *x = Value::String(placeholder(k));
                    } else {
                        self.json(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.json(x)),
            Value::String(s) => {
                if self.whole {
                    *s = self.apply(s);
                } else if let Some(name) = self.name_in(s) {
                    *s = placeholder(name);
                }
            }
            _ => {}
        }
    }
}

/// `s` as an XML body carries it (`&`, `<`, `>`, `"`, `'` escaped).
fn xml_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The placeholder of a WS-Security header block.
pub const WS_SECURITY_PLACEHOLDER: &str = "<redacted:ws_security>";

/// An XML body with each WS-Security header block (`<wsse:Security ...>...</wsse:Security>`)
/// replaced by one placeholder: it holds the password (or a digest of it) and a nonce and time
/// that change with every request, so neither a cassette nor a snapshot may keep it (the
/// replay server matches the placeholder against any block).
pub fn mask_ws_security(body: &str) -> String {
    const START: &str = "<wsse:Security";
    const END: &str = "</wsse:Security>";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find(START) {
        let Some(j) = rest[i..].find(END) else { break };
        out.push_str(&rest[..i]);
        out.push_str(WS_SECURITY_PLACEHOLDER);
        rest = &rest[i + j + END.len()..];
    }
    out.push_str(rest);
    out
}

/// A header value for a snapshot: credentials hidden (the scheme of `Authorization` kept).
pub fn header_value(name: &str, value: &str, secrets: &Secrets) -> String {
    let lower = name.to_ascii_lowercase();
    if lower == "authorization" || lower == "proxy-authorization" {
        return match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} <redacted>"),
            None => "<redacted>".into(),
        };
    }
    if wsc_spec::sensitive::is_sensitive_header(&lower) {
        return "<redacted>".into();
    }
    if lower == "content-type" && value.starts_with("multipart/form-data") {
        // The boundary is random.
        return "multipart/form-data".into();
    }
    secrets.apply(value)
}

/// A form field value for a snapshot.
pub fn form_field(name: &str, value: &str) -> String {
    if is_secret_field(name) && !is_placeholder(value) {
        placeholder(name)
    } else {
        value.to_string()
    }
}

/// Secret fields of a JSON body replaced by placeholders.
pub fn json_fields(v: &mut Value) {
    Secrets::default().json(v)
}

/// The text fields of a `multipart/form-data` body, in order.
pub fn multipart_fields(body: &str) -> Vec<(String, String)> {
    let Some(boundary_line) = body.lines().next() else {
        return Vec::new();
    };
    let boundary = boundary_line.trim_end();
    let mut out = Vec::new();
    for part in body.split(boundary).skip(1) {
        let part = part.trim_start_matches("\r\n");
        if part.starts_with("--") {
            break;
        }
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let name = head
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("name="))
            .map(|n| n.trim_matches('"').to_string())
            .unwrap_or_default();
        out.push((name, value.trim_end_matches("\r\n").to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_values_leave_words_that_contain_a_secret_alone() {
        let mut s = Secrets::default();
        s.add("x", "secret");
        s.add("tok3n", "token");
        let s = s.whole_values();
        assert_eq!(s.apply("jane.doe@example.com"), "jane.doe@example.com");
        assert_eq!(s.apply("00garwpuyxHaWOkdV0g4"), "00garwpuyxHaWOkdV0g4");
        assert_eq!(s.apply("key=x&b=1"), "key=<redacted:secret>&b=1");
        assert_eq!(s.apply("Bearer tok3n"), "Bearer <redacted:token>");
        let mut v = json!({"mail": "x@example.com", "v": "x"});
        s.json(&mut v);
        assert_eq!(
            v,
            json!({"mail": "<redacted:secret>@example.com", "v": "<redacted:secret>"})
        );
        assert_eq!(s.too_short(4), vec!["secret"]);
    }

    #[test]
    fn xml_bodies_lose_secrets_and_the_ws_security_block() {
        let mut s = Secrets::default();
        s.add("p&ss<1>", "password");
        let body = "<soap:Header><wsse:Security a=\"1\"><wsse:Password>p&amp;ss&lt;1&gt;</wsse:Password><wsse:Nonce>n</wsse:Nonce></wsse:Security></soap:Header><soap:Body><pw>p&amp;ss&lt;1&gt;</pw></soap:Body>";
        assert_eq!(
            s.apply(&mask_ws_security(body)),
            "<soap:Header><redacted:ws_security></soap:Header><soap:Body><pw><redacted:password></pw></soap:Body>"
        );
        assert_eq!(mask_ws_security("<a>no header</a>"), "<a>no header</a>");
    }

    #[test]
    fn replaces_longest_first() {
        let mut s = Secrets::default();
        s.add("abc", "short");
        s.add("abcdef", "long");
        assert_eq!(
            s.apply("x abcdef y abc"),
            "x <redacted:long> y <redacted:short>"
        );
    }

    #[test]
    fn json_redaction() {
        let mut s = Secrets::default();
        s.add("tok123", "api_token");
        let mut v = json!({"access_token": "zzz", "a": ["Bearer tok123"], "n": 1});
        s.json(&mut v);
        assert_eq!(
            v,
            json!({"access_token": "<redacted:access_token>", "a": ["<redacted:api_token>"], "n": 1})
        );
    }

    #[test]
    fn multipart() {
        let body = "--b1\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--b1\r\nContent-Disposition: form-data; name=\"client_secret\"\r\n\r\ns3\r\n--b1--\r\n";
        assert_eq!(
            multipart_fields(body),
            vec![
                ("grant_type".to_string(), "client_credentials".to_string()),
                ("client_secret".to_string(), "s3".to_string())
            ]
        );
    }
}
