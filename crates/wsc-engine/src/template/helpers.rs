//! wsc's template helpers, as plain functions over their arguments' JSON values, and the
//! `__value` helper that renders a single expression to a typed value.

use base64::Engine as _;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, PathAndJson, RenderContext,
    RenderError, RenderErrorReason, ScopedJson,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// Characters left as they are in a path segment: RFC 3986 unreserved.
pub(crate) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The text of a value as templates insert it: strings as they are, null as empty, everything
/// else as JSON.
pub fn value_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A helper as a plain function over its arguments' JSON values: its result keeps its JSON
/// type where a value is wanted (a subexpression, a body leaf that is exactly one expression)
/// and is written as text ([`value_to_string`], escaped like any value) elsewhere.
struct Native {
    name: &'static str,
    /// Fewest and most arguments.
    arity: (usize, usize),
    /// Whether an argument may name a missing value (`default`); otherwise that is an error.
    missing_ok: bool,
    f: fn(&[PathAndJson<'_>]) -> Result<Value, String>,
}

impl HelperDef for Native {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let params = h.params();
        let (min, max) = self.arity;
        if params.len() < min || params.len() > max {
            let takes = match (min, max) {
                (a, b) if a == b => format!("{a} argument(s)"),
                (a, usize::MAX) => format!("at least {a} argument(s)"),
                (a, b) => format!("{a} to {b} arguments"),
            };
            return Err(RenderErrorReason::Other(format!(
                "helper `{}` takes {takes}, found {}",
                self.name,
                params.len()
            ))
            .into());
        }
        if !self.missing_ok
            && let Some(p) = params.iter().find(|p| p.is_value_missing())
        {
            return Err(RenderError::strict_error(p.relative_path()));
        }
        (self.f)(params)
            .map(ScopedJson::Derived)
            .map_err(|m| RenderErrorReason::Other(format!("helper `{}`: {m}", self.name)).into())
    }

    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let v = self.call_inner(h, r, ctx, rc)?;
        let text = value_to_string(v.as_json());
        if rc.is_disable_escape() {
            out.write(&text)?;
        } else {
            out.write(&(r.get_escape_fn())(&text))?;
        }
        Ok(())
    }
}

/// The text of argument `i` (empty when absent).
fn text(p: &[PathAndJson<'_>], i: usize) -> String {
    p.get(i)
        .map(|x| value_to_string(x.value()))
        .unwrap_or_default()
}

/// `json V`: V's JSON text. A list, object, number or boolean is itself what its JSON text
/// denotes, so it stays that value where values keep their type; a string or null becomes its
/// JSON text (`"x"` with the quotes, `null`). A quoted literal is read as JSON text:
/// `(json '[]')` is an empty list.
fn json_helper(p: &[PathAndJson<'_>]) -> Result<Value, String> {
    let v = match p[0].try_get_constant_value() {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|e| format!("the literal `{s}` is not JSON text ({e})"))?,
        _ => p[0].value().clone(),
    };
    Ok(match v {
        Value::String(_) | Value::Null => Value::String(v.to_string()),
        other => other,
    })
}

/// `default A B ...`: the first argument that is present, not null and not `""`, with its
/// JSON type; else the last argument when it is a literal, else null.
fn default_helper(p: &[PathAndJson<'_>]) -> Result<Value, String> {
    if let Some(v) = p
        .iter()
        .map(|x| x.value())
        .find(|v| !v.is_null() && v.as_str() != Some(""))
    {
        return Ok(v.clone());
    }
    Ok(p.last()
        .and_then(|x| x.try_get_constant_value())
        .cloned()
        .unwrap_or(Value::Null))
}

fn first_helper(p: &[PathAndJson<'_>]) -> Result<Value, String> {
    Ok(match p[0].value() {
        Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    })
}

fn join_helper(p: &[PathAndJson<'_>]) -> Result<Value, String> {
    let sep = text(p, 1);
    Ok(Value::String(match p[0].value() {
        Value::Array(a) => a.iter().map(value_to_string).collect::<Vec<_>>().join(&sep),
        other => value_to_string(other),
    }))
}

/// `now_unix` and its older name `timestamp`: the current time in Unix seconds.
fn now_unix_helper(_: &[PathAndJson<'_>]) -> Result<Value, String> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .into())
}

/// `url_encode` and its older name `urlencode`.
fn url_encode_helper(p: &[PathAndJson<'_>]) -> Result<Value, String> {
    Ok(utf8_percent_encode(&text(p, 0), SEGMENT).to_string().into())
}

/// `base64_encode` and its older name `base64`.
fn base64_encode_helper(p: &[PathAndJson<'_>]) -> Result<Value, String> {
    Ok(base64::engine::general_purpose::STANDARD
        .encode(text(p, 0))
        .into())
}

/// A date argument: Unix seconds (a number) or date text (what `parse_date` reads).
fn date_arg(p: &[PathAndJson<'_>], i: usize) -> Result<i64, String> {
    match p.get(i).map(|x| x.value()) {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| format!("{n} is not a time in Unix seconds")),
        Some(Value::String(s)) => wsc_hooks::dates::parse(s),
        Some(other) => Err(format!(
            "expected a date (text or Unix seconds), found {other}"
        )),
        None => Err("a date is missing".into()),
    }
}

/// A signed duration in seconds: `7d`, `-1h`, `90s`, `-30m`, or a number of seconds.
fn duration_arg(p: &[PathAndJson<'_>], i: usize) -> Result<i64, String> {
    match p.get(i).map(|x| x.value()) {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("{n} is not a whole number of seconds")),
        Some(Value::String(s)) => {
            let t = s.trim();
            let (sign, rest) = match t.strip_prefix('-') {
                Some(r) => (-1, r),
                None => (1, t.strip_prefix('+').unwrap_or(t)),
            };
            let d = wsc_spec::Duration::parse(rest)
                .map_err(|e| format!("{s:?} is not a duration such as `7d`, `-1h`, `30m` ({e})"))?;
            Ok(sign * d.get().as_secs() as i64)
        }
        other => Err(format!(
            "expected a duration such as `-7d`, found {other:?}"
        )),
    }
}

fn b64_decode(p: &[PathAndJson<'_>], url: bool) -> Result<Value, String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let t = text(p, 0);
    let t = t.trim();
    let bytes = if url {
        URL_SAFE_NO_PAD.decode(t.trim_end_matches('='))
    } else {
        STANDARD.decode(t)
    }
    .map_err(|e| format!("not base64 text: {e}"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| "the decoded bytes are not UTF-8 text".into())
}

fn split_helper(p: &[PathAndJson<'_>]) -> Result<Value, String> {
    let (t, sep) = (text(p, 0), text(p, 1));
    if sep.is_empty() {
        return Err("the separator is empty".into());
    }
    if t.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(Value::Array(
        t.split(sep.as_str())
            .map(|x| Value::String(x.to_string()))
            .collect(),
    ))
}

/// wsc's helpers (the names are `wsc_spec::template::HELPERS`).
const NATIVE: &[Native] = &[
    Native {
        name: "split",
        arity: (2, 2),
        missing_ok: false,
        f: split_helper,
    },
    Native {
        name: "url_encode",
        arity: (1, 1),
        missing_ok: false,
        f: url_encode_helper,
    },
    Native {
        name: "url_decode",
        arity: (1, 1),
        missing_ok: false,
        f: |p| {
            percent_encoding::percent_decode_str(&text(p, 0))
                .decode_utf8()
                .map(|c| Value::String(c.into_owned()))
                .map_err(|_| "the decoded bytes are not UTF-8 text".into())
        },
    },
    Native {
        name: "base64_encode",
        arity: (1, 1),
        missing_ok: false,
        f: base64_encode_helper,
    },
    Native {
        name: "base64_decode",
        arity: (1, 1),
        missing_ok: false,
        f: |p| b64_decode(p, false),
    },
    Native {
        name: "base64url_encode",
        arity: (1, 1),
        missing_ok: false,
        f: |p| {
            Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(text(p, 0))
                .into())
        },
    },
    Native {
        name: "base64url_decode",
        arity: (1, 1),
        missing_ok: false,
        f: |p| b64_decode(p, true),
    },
    Native {
        name: "sha256_hex",
        arity: (1, 1),
        missing_ok: false,
        f: |p| {
            use sha2::Digest;
            Ok(sha2::Sha256::digest(text(p, 0).as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into())
        },
    },
    Native {
        name: "parse_date",
        arity: (1, 2),
        missing_ok: false,
        f: |p| {
            let t = text(p, 0);
            match p.get(1) {
                Some(_) => wsc_hooks::dates::parse_with(&t, &text(p, 1)),
                None => wsc_hooks::dates::parse(&t),
            }
            .map(Value::from)
        },
    },
    Native {
        name: "format_date",
        arity: (2, 2),
        missing_ok: false,
        f: |p| wsc_hooks::dates::format(date_arg(p, 0)?, &text(p, 1)).map(Value::String),
    },
    Native {
        name: "date_add",
        arity: (2, 2),
        missing_ok: false,
        f: |p| {
            let t = date_arg(p, 0)?
                .checked_add(duration_arg(p, 1)?)
                .ok_or("the date is out of range")?;
            wsc_hooks::dates::rfc3339(t).map(Value::String)
        },
    },
    Native {
        name: "now_iso",
        arity: (0, 0),
        missing_ok: false,
        f: |_| Ok(wsc_hooks::dates::now_iso().into()),
    },
    Native {
        name: "now_unix",
        arity: (0, 0),
        missing_ok: false,
        f: now_unix_helper,
    },
    Native {
        name: "upper",
        arity: (1, 1),
        missing_ok: false,
        f: |p| Ok(text(p, 0).to_uppercase().into()),
    },
    Native {
        name: "lower",
        arity: (1, 1),
        missing_ok: false,
        f: |p| Ok(text(p, 0).to_lowercase().into()),
    },
    Native {
        name: "trim",
        arity: (1, 1),
        missing_ok: false,
        f: |p| Ok(text(p, 0).trim().into()),
    },
    Native {
        name: "urlencode",
        arity: (1, 1),
        missing_ok: false,
        f: url_encode_helper,
    },
    Native {
        name: "json",
        arity: (1, 1),
        missing_ok: false,
        f: json_helper,
    },
    Native {
        name: "base64",
        arity: (1, 1),
        missing_ok: false,
        f: base64_encode_helper,
    },
    Native {
        name: "replace",
        arity: (3, 3),
        missing_ok: false,
        f: |p| Ok(text(p, 0).replace(&text(p, 1), &text(p, 2)).into()),
    },
    Native {
        name: "first",
        arity: (1, 1),
        missing_ok: false,
        f: first_helper,
    },
    Native {
        name: "join",
        arity: (2, 2),
        missing_ok: false,
        f: join_helper,
    },
    Native {
        name: "timestamp",
        arity: (0, 0),
        missing_ok: false,
        f: now_unix_helper,
    },
    Native {
        name: "default",
        arity: (1, usize::MAX),
        missing_ok: true,
        f: default_helper,
    },
    Native {
        name: "optional",
        arity: (1, 1),
        missing_ok: true,
        f: |p| Ok(p[0].value().clone()),
    },
    Native {
        name: "concat",
        arity: (0, usize::MAX),
        missing_ok: false,
        f: |p| Ok((0..p.len()).map(|i| text(p, i)).collect::<String>().into()),
    },
];

/// `{{__value (EXPR)}}`: writes the value of its argument as JSON text, so a template that is
/// exactly one helper expression can be rendered to a typed value (not a name templates can
/// use: the validator allows only the helpers of `wsc_spec::template::HELPERS`).
struct ValueOf;

impl HelperDef for ValueOf {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let p = h
            .param(0)
            .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex(VALUE_OF, 0))?;
        if p.is_value_missing() {
            return Err(RenderError::strict_error(p.relative_path()));
        }
        out.write(&p.value().to_string())?;
        Ok(())
    }
}

/// The name of [`ValueOf`].
pub(crate) const VALUE_OF: &str = "__value";

pub(crate) fn register_helpers(hb: &mut Handlebars<'static>) {
    for n in NATIVE {
        hb.register_helper(
            n.name,
            Box::new(Native {
                name: n.name,
                arity: n.arity,
                missing_ok: n.missing_ok,
                f: n.f,
            }),
        );
    }
    hb.register_helper(VALUE_OF, Box::new(ValueOf));
}
