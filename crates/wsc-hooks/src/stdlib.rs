//! The hook standard library: encoding, hashing, JSON, dates, UUIDs and logging.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use rhai::{Blob, Dynamic, Engine, EvalAltResult, INT, ImmutableString, Position};
use sha2::{Digest, Sha256};

use crate::context::{LogAdmit, current_depth, current_log};
use crate::convert::{from_dynamic, to_dynamic};

type Result<T> = std::result::Result<T, Box<EvalAltResult>>;

/// An error raised by a library function; reported as `function: message`.
#[derive(Debug)]
struct LibError(String);

impl fmt::Display for LibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LibError {}

fn fail(function: &str, message: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorSystem(function.to_string(), Box::new(LibError(message.into()))).into()
}

/// RFC 3986 unreserved characters stay, everything else is percent-encoded.
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn utf8(function: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        fail(
            function,
            "the decoded bytes are not UTF-8 text (use base64_decode_blob for binary data)",
        )
    })
}

fn b64_decode(function: &str, s: &str, url_safe: bool) -> Result<Vec<u8>> {
    let s = s.trim();
    let r = if url_safe {
        let unpadded = s.trim_end_matches('=');
        URL_SAFE_NO_PAD.decode(unpadded)
    } else {
        STANDARD.decode(s)
    };
    r.map_err(|e| fail(function, format!("not valid base64: {e}")))
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn parse_date(s: &str) -> Result<INT> {
    crate::dates::parse(s).map_err(|m| fail("parse_date", m))
}

fn parse_date_with(s: &str, format: &str) -> Result<INT> {
    crate::dates::parse_with(s, format).map_err(|m| fail("parse_date", m))
}

fn format_date(unix: INT, format: &str) -> Result<String> {
    crate::dates::format(unix, format).map_err(|m| fail("format_date", m))
}

fn now_iso() -> String {
    crate::dates::now_iso()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

fn log(level: tracing::Level, msg: &str, pos: Position) {
    let ctx = current_log();
    let max = ctx.log.as_ref().map_or(usize::MAX, |b| b.max_message);
    // Redact a window a little longer than what is kept (a secret across the cut is redacted
    // whole, then cut), never the whole of a huge message.
    let window = prefix(msg, max.saturating_add(1024));
    let mut text = match &ctx.redact {
        Some(r) => r(window),
        None => window.to_string(),
    };
    if text.len() > max || window.len() < msg.len() {
        let kept = prefix(&text, max).len();
        let dropped = msg.len().saturating_sub(kept);
        text.truncate(kept);
        text.push_str(&format!(
            "… ({dropped} more bytes dropped; limits.max_log_message)"
        ));
    }
    let msg = text;
    if let Some(budget) = &ctx.log {
        match budget.admit(msg.len()) {
            LogAdmit::Log => {}
            LogAdmit::Dropped => return,
            LogAdmit::FirstDropped => {
                tracing::warn!(
                    target: "wsc::hook", connector = %ctx.connector, hook = %ctx.hook,
                    "hook log output reached {} bytes (limits.max_log_total): further hook log \
                     messages of this connector are dropped and counted",
                    budget.max_total
                );
                return;
            }
        }
    }
    let (connector, hook) = (ctx.connector, ctx.hook);
    match pos.line() {
        Some(line) => {
            let line = line + ctx.line_offset;
            match level {
                tracing::Level::WARN => tracing::warn!(
                    target: "wsc::hook", connector = %connector, hook = %hook, line, "{msg}"
                ),
                tracing::Level::DEBUG => tracing::debug!(
                    target: "wsc::hook", connector = %connector, hook = %hook, line, "{msg}"
                ),
                _ => tracing::info!(
                    target: "wsc::hook", connector = %connector, hook = %hook, line, "{msg}"
                ),
            }
        }
        None => match level {
            tracing::Level::WARN => {
                tracing::warn!(target: "wsc::hook", connector = %connector, hook = %hook, "{msg}")
            }
            tracing::Level::DEBUG => {
                tracing::debug!(target: "wsc::hook", connector = %connector, hook = %hook, "{msg}")
            }
            _ => {
                tracing::info!(target: "wsc::hook", connector = %connector, hook = %hook, "{msg}")
            }
        },
    }
}

fn text(d: &Dynamic) -> String {
    if d.is_string() {
        d.clone()
            .into_immutable_string()
            .map(|s| s.to_string())
            .unwrap_or_default()
    } else {
        d.to_string()
    }
}

/// Registers the library on `engine`, and replaces functions the sandbox refuses.
pub(crate) fn register(engine: &mut Engine) {
    crate::arrays::register(engine);
    // Base64.
    engine.register_fn("base64_encode", |s: &str| STANDARD.encode(s));
    engine.register_fn("base64_encode", |b: Blob| STANDARD.encode(b));
    engine.register_fn("base64_decode", |s: &str| {
        utf8("base64_decode", b64_decode("base64_decode", s, false)?)
    });
    engine.register_fn("base64url_encode", |s: &str| URL_SAFE_NO_PAD.encode(s));
    engine.register_fn("base64url_encode", |b: Blob| URL_SAFE_NO_PAD.encode(b));
    engine.register_fn("base64url_decode", |s: &str| {
        utf8("base64url_decode", b64_decode("base64url_decode", s, true)?)
    });
    engine.register_fn("base64_decode_blob", |s: &str| -> Result<Blob> {
        // Either alphabet.
        b64_decode("base64_decode_blob", s, false).or_else(|_| {
            b64_decode("base64_decode_blob", s, true).or_else(|_| {
                URL_SAFE
                    .decode(s.trim())
                    .map_err(|e| fail("base64_decode_blob", e.to_string()))
            })
        })
    });

    // URL encoding.
    engine.register_fn("url_encode", |s: &str| {
        utf8_percent_encode(s, URL_ENCODE).to_string()
    });
    engine.register_fn("url_decode", |s: &str| -> Result<String> {
        percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| fail("url_decode", "the decoded bytes are not UTF-8 text"))
    });

    // Hashes.
    engine.register_fn("sha256_hex", |s: &str| hex(&Sha256::digest(s.as_bytes())));
    engine.register_fn("sha256_hex", |b: Blob| hex(&Sha256::digest(&b)));
    engine.register_fn("hmac_sha256_hex", |key: &str, msg: &str| {
        hex(&hmac_sha256(key.as_bytes(), msg.as_bytes()))
    });
    engine.register_fn("hmac_sha256_hex", |key: Blob, msg: &str| {
        hex(&hmac_sha256(&key, msg.as_bytes()))
    });
    engine.register_fn("hmac_sha256_base64", |key: &str, msg: &str| {
        STANDARD.encode(hmac_sha256(key.as_bytes(), msg.as_bytes()))
    });
    engine.register_fn("hmac_sha256_base64", |key: Blob, msg: &str| {
        STANDARD.encode(hmac_sha256(&key, msg.as_bytes()))
    });

    // JSON.
    engine.register_fn("json_parse", |s: &str| -> Result<Dynamic> {
        let v: serde_json::Value = serde_json::from_str(s)
            .map_err(|e| fail("json_parse", format!("not valid JSON: {e}")))?;
        Ok(to_dynamic(&v))
    });
    engine.register_fn("json_stringify", |v: Dynamic| -> Result<String> {
        let v = from_dynamic(v, None, &mut "value".to_string(), current_depth())
            .map_err(|e| fail("json_stringify", e))?;
        Ok(v.to_string())
    });
    engine.register_fn("json_stringify_pretty", |v: Dynamic| -> Result<String> {
        let v = from_dynamic(v, None, &mut "value".to_string(), current_depth())
            .map_err(|e| fail("json_stringify_pretty", e))?;
        serde_json::to_string_pretty(&v).map_err(|e| fail("json_stringify_pretty", e.to_string()))
    });

    // Dates (UTC).
    engine.register_fn("now_iso", now_iso);
    engine.register_fn("now_unix", || jiff::Timestamp::now().as_second());
    engine.register_fn("now_unix_ms", || jiff::Timestamp::now().as_millisecond());
    engine.register_fn("parse_date", parse_date);
    engine.register_fn("parse_date", parse_date_with);
    engine.register_fn("format_date", format_date);

    // UUID.
    engine.register_fn("uuid_v4", || uuid::Uuid::new_v4().to_string());

    // Logging (tracing target `wsc::hook`).
    engine.register_fn(
        "log_info",
        |ctx: rhai::NativeCallContext<'_>, msg: Dynamic| {
            log(tracing::Level::INFO, &text(&msg), ctx.call_position())
        },
    );
    engine.register_fn(
        "log_warn",
        |ctx: rhai::NativeCallContext<'_>, msg: Dynamic| {
            log(tracing::Level::WARN, &text(&msg), ctx.call_position())
        },
    );
    engine.register_fn(
        "log_debug",
        |ctx: rhai::NativeCallContext<'_>, msg: Dynamic| {
            log(tracing::Level::DEBUG, &text(&msg), ctx.call_position())
        },
    );
    engine.on_print(|s| log(tracing::Level::INFO, s, Position::NONE));
    engine.on_debug(|s, _src, pos| log(tracing::Level::DEBUG, s, pos));

    // Refused: a hook must never block its thread.
    engine.register_fn("sleep", |_s: INT| -> Result<()> {
        Err(fail("sleep", "not available in hooks"))
    });
    engine.register_fn("sleep", |_s: rhai::FLOAT| -> Result<()> {
        Err(fail("sleep", "not available in hooks"))
    });
    // `eval` is disabled as a symbol; this backs it up.
    engine.register_fn("eval", |_s: ImmutableString| -> Result<Dynamic> {
        Err(fail("eval", "not available in hooks"))
    });
}
