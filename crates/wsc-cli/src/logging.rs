//! Logs on stderr: which crates log at which verbosity, colour only on a terminal, and every
//! line redacted before it is written (third-party crates' lines included).
//!
//! `-v` shows wsc's info lines (one per page, one per token event); `-vv` wsc's debug lines;
//! other crates (the HTTP client, TLS, the template engine) stay at `warn` unless `RUST_LOG`
//! asks for more. Colour codes are written only when stderr is a terminal and `NO_COLOR` is
//! unset or empty. Whatever the filter, each line goes through [`redact_line`] (cookies, the
//! values of credential headers and fields, `Bearer` tokens) and the run's redactor (secret
//! settings and the tokens the authenticator holds) on its way out.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock};

use wsc_engine::redact::Redactor;

/// The redactors of the engines built so far (secret settings and live tokens): one for a
/// command, one per connector a worker runs.
static RUN_REDACTOR: OnceLock<Mutex<Vec<Arc<Redactor>>>> = OnceLock::new();

/// Makes log lines hide the secrets `r` knows too (call when an engine is built).
pub(crate) fn set_redactor(r: Arc<Redactor>) {
    let slot = RUN_REDACTOR.get_or_init(|| Mutex::new(Vec::new()));
    let mut all = slot.lock().unwrap_or_else(|p| p.into_inner());
    if !all.iter().any(|x| Arc::ptr_eq(x, &r)) {
        all.push(r);
    }
}

const OURS: &[&str] = &[
    "wsc",
    "wsc_spec",
    "wsc_engine",
    "wsc_auth",
    "wsc_store",
    "wsc_hooks",
    "wsc_fixtures",
    "wsc_testkit",
];

/// The filter of `-v` count `verbose` (`RUST_LOG`, when set, replaces it).
fn default_filter(verbose: u8) -> String {
    let ours = match verbose {
        0 => return "warn".into(),
        1 => "info",
        _ => "debug",
    };
    let mut f = String::from("warn");
    for c in OURS {
        f.push_str(&format!(",{c}={ours}"));
    }
    f
}

/// Whether log lines may carry colour codes: stderr is a terminal and `NO_COLOR` is unset or
/// empty (<https://no-color.org>).
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Starts logging for `-v` count `verbose`.
pub(crate) fn init(verbose: u8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => tracing_subscriber::EnvFilter::try_new(v),
        _ => tracing_subscriber::EnvFilter::try_new(default_filter(verbose)),
    }
    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter(verbose)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingStderr(Vec::new()))
        .with_ansi(colour())
        .with_target(false)
        .try_init();
}

/// One log event, collected and written redacted when dropped.
struct RedactingStderr(Vec<u8>);

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingStderr {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        let mut line = redact_line(&text);
        if let Some(slot) = RUN_REDACTOR.get() {
            for r in slot.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                line = r.text(&line);
            }
        }
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// Authorization schemes whose next word is a credential.
const SCHEMES: &[&str] = &["bearer", "basic", "ssws", "dpop", "digest"];

/// What a hidden value is replaced with.
const HIDDEN: &str = "<redacted>";

/// Names whose values are hidden wherever they appear as `NAME: value`, `NAME=value` or
/// `"NAME": "value"`: every credential header and field of `wsc_spec::sensitive`, and the
/// names HTTP libraries use for them.
fn sensitive(name: &str) -> bool {
    wsc_spec::sensitive::is_sensitive_name(name)
        || ["session", "sessionid", "secret", "token", "cookie_string"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// Where a value starting at `from` ends (a closing quote for a quoted value).
fn value_end(s: &str, from: usize, quote: Option<char>) -> usize {
    let rest = &s[from..];
    let stop = |c: char| match quote {
        Some(q) => c == q || c == '\n',
        None => c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '&' | ')' | '}' | ']'),
    };
    from + rest.find(stop).unwrap_or(rest.len())
}

/// Hides credential values in one log line: values of sensitive names (`authorization: …`,
/// `"set-cookie": "…"`, `access_token=…`), the token after `Bearer` / `Basic`, and in a
/// line about cookies every `name=value` pair's value.
pub(crate) fn redact_line(line: &str) -> String {
    let cookies = line.to_ascii_lowercase().contains("cookie");
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    let bytes = line.as_bytes();
    while i < line.len() {
        let c = line[i..].chars().next().unwrap_or(' ');
        if !is_name_char(c) {
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        // A word: a name, maybe followed by a separator and a value.
        let end = line[i..]
            .find(|c: char| !is_name_char(c))
            .map_or(line.len(), |n| i + n);
        let word = &line[i..end];
        out.push_str(word);
        i = end;
        let scheme = SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(word));
        if scheme && bytes.get(i) == Some(&b' ') {
            let start = i + 1;
            let stop = value_end(line, start, None);
            // A credential, not a word of a sentence (`basic client credentials`).
            let value = &line[start..stop];
            if !value.is_empty() && !value.chars().all(|c| c.is_ascii_lowercase()) {
                out.push(' ');
                out.push_str(HIDDEN);
                i = stop;
            }
            continue;
        }
        if !(sensitive(word) || cookies) {
            continue;
        }
        // Separator: optional closing quote, `:` or `=`, spaces, optional opening quote.
        let mut j = i;
        if matches!(bytes.get(j), Some(b'"' | b'\'')) {
            j += 1;
        }
        let eq = matches!(bytes.get(j), Some(b'='));
        let colon = matches!(bytes.get(j), Some(b':')) && sensitive(word);
        if !(eq || colon) {
            continue;
        }
        j += 1;
        while bytes.get(j) == Some(&b' ') {
            j += 1;
        }
        // `Some("…")` in a debug line.
        if line[j..].starts_with("Some(") {
            j += 5;
        }
        let quote = match bytes.get(j) {
            Some(b'"') => Some('"'),
            Some(b'\'') => Some('\''),
            _ => None,
        };
        if quote.is_some() {
            j += 1;
        }
        // `Authorization: Basic …`: the scheme stays, the credential goes.
        if let Some(n) = line[j..].find(' ')
            && SCHEMES
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&line[j..j + n]))
        {
            j += n + 1;
        }
        let stop = value_end(line, j, quote);
        if stop == j {
            continue;
        }
        out.push_str(&line[i..j]);
        out.push_str(HIDDEN);
        i = stop;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_line;

    #[test]
    fn credentials_in_log_lines_are_hidden() {
        let cases = [
            (
                r#"DEBUG inserting Set-Cookie 'Cookie { cookie_string: Some("session=Sess-H4xR; Path=/; HttpOnly"), name: Indexed(0, 7) }'"#,
                "Sess-H4xR",
            ),
            (
                "request headers: {\"authorization\": \"Bearer At-Zq81\"}",
                "At-Zq81",
            ),
            ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
            ("cookie: JSESSIONID=abc123def; theme=dark", "abc123def"),
            ("url=https://x/api?access_token=T0k3n&page=2", "T0k3n"),
            ("x-api-key: K3yK3y", "K3yK3y"),
            ("sending SSWS 00aBc-Def", "00aBc-Def"),
            ("body: {\"refresh_token\":\"Rt-77\"}", "Rt-77"),
        ];
        for (line, secret) in cases {
            let r = redact_line(line);
            assert!(!r.contains(secret), "{line}\n=> {r}");
            assert!(r.contains("<redacted>"), "{r}");
        }
        for plain in [
            "request method=GET url=http://127.0.0.1:1/api/users?cursor=2 attempt=1",
            "DEBUG token request request=TokenHttpRequest { headers: [\"Accept\", \"Authorization\"] }",
            "basic client credentials",
        ] {
            assert_eq!(redact_line(plain), plain);
        }
    }
}
