//! Templates: compiled once when a connector loads, rendered per request.
//!
//! Handlebars in strict mode with HTML escaping off. Path templates percent-encode every value
//! they insert (`/users/{{plan.identity}}` with `a/b` gives `/users/a%2Fb`); everything else
//! inserts values as they are (query values are encoded by the URL builder). A template that is
//! exactly one `{{path}}` evaluates to the JSON value itself, so body leaves keep their type.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, PathAndJson, RenderContext,
    RenderError, RenderErrorReason, ScopedJson,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How rendered values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Values are inserted as they are.
    None,
    /// Values are percent-encoded as URL path segments.
    PathSegment,
}

/// A template failed to compile or render.
#[derive(Debug, Clone, thiserror::Error)]
#[error("template `{location}` (`{source_text}`): {message}")]
pub struct TemplateError {
    /// Where the template is in the connector (key path).
    pub location: String,
    /// The template source.
    pub source_text: String,
    /// What went wrong, naming the missing key where there is one.
    pub message: String,
}

/// The registries templates are compiled into: one per escaping mode.
pub struct Templates {
    plain: Handlebars<'static>,
    path: Handlebars<'static>,
    next_id: AtomicUsize,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// A compiled template.
#[derive(Clone)]
pub struct Template {
    inner: Arc<Inner>,
}

struct Inner {
    location: String,
    source: String,
    kind: Kind,
}

enum Kind {
    /// No `{{` at all.
    Literal(String),
    /// Exactly one `{{a.b.c}}`: evaluated to the JSON value.
    Path(Vec<String>, Escape),
    /// Exactly one `{{default a b ...}}` over paths and literals: the first argument that is
    /// present, not null and not empty, with its JSON type (missing paths are allowed).
    Default(Vec<Arg>, Escape),
    /// Anything else: rendered by Handlebars. `value_id` is set for a template that is
    /// exactly one helper expression (`{{json x}}`, `{{default a (json '[]')}}`): its value
    /// form, which keeps the result's JSON type.
    Rendered {
        id: String,
        escape: Escape,
        value_id: Option<String>,
    },
}

/// An argument of a natively evaluated `default`.
#[derive(Debug, Clone)]
enum Arg {
    Path(Vec<String>),
    Literal(Value),
}

/// `{{default a.b "x" true 3}}` alone → its arguments; `None` for anything else.
fn single_default(source: &str) -> Option<Vec<Arg>> {
    let inner = source.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let rest = inner.strip_prefix("default ")?;
    if rest.contains("{{") || rest.contains("}}") || rest.contains('(') {
        return None;
    }
    let mut args = Vec::new();
    let mut chars = rest.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' || c == '\'' {
            chars.next();
            let mut lit = String::new();
            loop {
                match chars.next() {
                    Some(x) if x == c => break,
                    Some(x) => lit.push(x),
                    None => return None,
                }
            }
            args.push(Arg::Literal(Value::String(lit)));
            continue;
        }
        let mut tok = String::new();
        while let Some(&x) = chars.peek() {
            if x.is_whitespace() {
                break;
            }
            tok.push(x);
            chars.next();
        }
        let arg = match tok.as_str() {
            "true" => Arg::Literal(Value::Bool(true)),
            "false" => Arg::Literal(Value::Bool(false)),
            "null" => Arg::Literal(Value::Null),
            t if t.parse::<f64>().is_ok() => Arg::Literal(serde_json::from_str(t).ok()?),
            t => Arg::Path(single_path(&format!("{{{{{t}}}}}"))?),
        };
        args.push(arg);
    }
    (args.len() >= 2).then_some(args)
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Template({:?})", self.inner.source)
    }
}

fn new_registry(escape: Escape) -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    match escape {
        Escape::None => hb.register_escape_fn(handlebars::no_escape),
        Escape::PathSegment => {
            hb.register_escape_fn(|s| utf8_percent_encode(s, SEGMENT).to_string())
        }
    }
    register_helpers(&mut hb);
    hb
}

impl Templates {
    /// Empty registries with wsc's helpers.
    pub fn new() -> Templates {
        Templates {
            plain: new_registry(Escape::None),
            path: new_registry(Escape::PathSegment),
            next_id: AtomicUsize::new(0),
        }
    }

    /// Compiles `source`; `location` (a key path) names it in errors.
    pub fn compile(
        &mut self,
        location: &str,
        source: &str,
        escape: Escape,
    ) -> Result<Template, TemplateError> {
        let kind = if !source.contains("{{") {
            Kind::Literal(source.to_string())
        } else if let Some(path) = single_path(source) {
            Kind::Path(path, escape)
        } else if let Some(args) = single_default(source) {
            Kind::Default(args, escape)
        } else {
            let id = format!("t{}", self.next_id.fetch_add(1, Ordering::Relaxed));
            let reg = match escape {
                Escape::None => &mut self.plain,
                Escape::PathSegment => &mut self.path,
            };
            let fail = |e: handlebars::TemplateError| TemplateError {
                location: location.to_string(),
                source_text: source.to_string(),
                message: e.to_string(),
            };
            reg.register_template_string(&id, source).map_err(fail)?;
            let value_id = match single_call(source) {
                Some(expr) if escape == Escape::None => {
                    let vid = format!("v{}", self.next_id.fetch_add(1, Ordering::Relaxed));
                    self.plain
                        .register_template_string(&vid, format!("{{{{{VALUE_OF} ({expr})}}}}"))
                        .map_err(fail)?;
                    Some(vid)
                }
                _ => None,
            };
            Kind::Rendered {
                id,
                escape,
                value_id,
            }
        };
        Ok(Template {
            inner: Arc::new(Inner {
                location: location.to_string(),
                source: source.to_string(),
                kind,
            }),
        })
    }

    /// Renders a template to a string.
    pub fn render(&self, t: &Template, ctx: &Value) -> Result<String, TemplateError> {
        match &t.inner.kind {
            Kind::Literal(s) => Ok(s.clone()),
            Kind::Path(p, escape) => {
                let v = lookup(ctx, p).ok_or_else(|| t.missing(p))?;
                let s = value_to_string(v);
                Ok(match escape {
                    Escape::PathSegment => utf8_percent_encode(&s, SEGMENT).to_string(),
                    Escape::None => s,
                })
            }
            Kind::Default(args, escape) => {
                let s = match default_value(args, ctx) {
                    Value::Null => String::new(),
                    v => value_to_string(&v),
                };
                Ok(match escape {
                    Escape::PathSegment => utf8_percent_encode(&s, SEGMENT).to_string(),
                    Escape::None => s,
                })
            }
            Kind::Rendered { id, escape, .. } => {
                let reg = match escape {
                    Escape::None => &self.plain,
                    Escape::PathSegment => &self.path,
                };
                reg.render_with_context(id, &Context::wraps(ctx).map_err(|e| t.err(e))?)
                    .map_err(|e| t.err(e))
            }
        }
    }

    /// Renders a template to a JSON value: a template that is exactly one expression (a path
    /// or a helper call) keeps the type of its value, anything else is a string.
    pub fn render_value(&self, t: &Template, ctx: &Value) -> Result<Value, TemplateError> {
        match &t.inner.kind {
            Kind::Path(p, _) => lookup(ctx, p).cloned().ok_or_else(|| t.missing(p)),
            Kind::Default(args, _) => Ok(default_value(args, ctx)),
            Kind::Rendered {
                value_id: Some(vid),
                ..
            } => {
                let text = self
                    .plain
                    .render_with_context(vid, &Context::wraps(ctx).map_err(|e| t.err(e))?)
                    .map_err(|e| t.err(e))?;
                serde_json::from_str(&text).map_err(|e| TemplateError {
                    location: t.inner.location.clone(),
                    source_text: t.inner.source.clone(),
                    message: format!("the value is not JSON ({e})"),
                })
            }
            _ => self.render(t, ctx).map(Value::String),
        }
    }
}

impl Template {
    /// The template source.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Where the template is in the connector.
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    /// Whether the template has no placeholders.
    pub fn is_literal(&self) -> bool {
        matches!(self.inner.kind, Kind::Literal(_))
    }

    fn missing(&self, p: &[String]) -> TemplateError {
        TemplateError {
            location: self.inner.location.clone(),
            source_text: self.inner.source.clone(),
            message: format!("`{}` has no value", p.join(".")),
        }
    }

    fn err(&self, e: RenderError) -> TemplateError {
        let message = match e.reason() {
            RenderErrorReason::MissingVariable(Some(path)) => format!("`{path}` has no value"),
            RenderErrorReason::MissingVariable(None) => "a value is missing".to_string(),
            other => other.to_string(),
        };
        TemplateError {
            location: self.inner.location.clone(),
            source_text: self.inner.source.clone(),
            message,
        }
    }
}

/// The first argument that is present, not null and not `""` (else the last literal, or null).
fn default_value(args: &[Arg], ctx: &Value) -> Value {
    for a in args {
        let v = match a {
            Arg::Path(p) => lookup(ctx, p),
            Arg::Literal(v) => Some(v),
        };
        if let Some(v) = v
            && !v.is_null()
            && v.as_str() != Some("")
        {
            return v.clone();
        }
    }
    match args.last() {
        Some(Arg::Literal(v)) => v.clone(),
        _ => Value::Null,
    }
}

/// A template that is exactly one helper call (`{{json x}}`, `{{default a (json '[]')}}`,
/// `{{timestamp}}`) → the expression inside the braces; `None` for anything else.
fn single_call(source: &str) -> Option<&str> {
    use handlebars::template::TemplateElement;
    let parsed = handlebars::Template::compile(source).ok()?;
    let [TemplateElement::Expression(h)] = parsed.elements.as_slice() else {
        return None;
    };
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.trim_start_matches('~').trim_end_matches('~').trim();
    let call =
        !h.params.is_empty() || !h.hash.is_empty() || wsc_spec::template::HELPERS.contains(&inner);
    call.then_some(inner)
}

/// `{{ a.b.c }}` alone → `["a", "b", "c"]`.
fn single_path(source: &str) -> Option<Vec<String>> {
    let inner = source.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    if inner.is_empty()
        || inner.contains("{{")
        || inner.contains("}}")
        || !inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        || inner.starts_with('.')
        || inner.ends_with('.')
        || inner.contains("..")
    {
        return None;
    }
    let segs: Vec<String> = inner.split('.').map(str::to_string).collect();
    // A bare helper name (`{{now}}` is a context, but `{{timestamp}}` is a helper).
    if segs.len() == 1 && wsc_spec::template::HELPERS.contains(&segs[0].as_str()) {
        return None;
    }
    Some(segs)
}

/// Looks a dotted path up in a JSON value (numeric segments index arrays).
pub fn lookup<'v>(v: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut cur = v;
    for seg in path {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

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

fn timestamp_helper(_: &[PathAndJson<'_>]) -> Result<Value, String> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .into())
}

/// wsc's helpers (the names are `wsc_spec::template::HELPERS`).
const NATIVE: &[Native] = &[
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
        f: |p| Ok(utf8_percent_encode(&text(p, 0), SEGMENT).to_string().into()),
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
        f: |p| {
            Ok(base64::engine::general_purpose::STANDARD
                .encode(text(p, 0))
                .into())
        },
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
        f: timestamp_helper,
    },
    Native {
        name: "default",
        arity: (1, usize::MAX),
        missing_ok: true,
        f: default_helper,
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
const VALUE_OF: &str = "__value";

fn register_helpers(hb: &mut Handlebars<'static>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Value {
        json!({
            "settings": { "base_url": "https://x.test", "n": 5, "empty": "" },
            "plan": { "identity": "a/b c", "attributes": { "active": true, "tags": ["x", "y"] } },
            "page": { "offset": 0, "cursor": null }
        })
    }

    #[test]
    fn single_default_keeps_json_types_and_allows_missing_paths() {
        let mut t = Templates::new();
        let mut v = |src: &str| {
            let tpl = t.compile("body.x", src, Escape::None).unwrap();
            t.render_value(&tpl, &ctx()).unwrap()
        };
        assert_eq!(v("{{default plan.attributes.missing true}}"), json!(true));
        assert_eq!(v("{{default plan.attributes.active false}}"), json!(true));
        assert_eq!(v("{{default plan.attributes.missing null}}"), Value::Null);
        assert_eq!(v("{{default settings.empty 'x y'}}"), json!("x y"));
        assert_eq!(v("{{default plan.nothing settings.n}}"), json!(5));
        assert_eq!(v("{{ default plan.attributes.tags 0 }}"), json!(["x", "y"]));
    }

    #[test]
    fn single_helper_expressions_keep_json_types() {
        let mut t = Templates::new();
        let c = ctx();
        let mut v = |src: &str| {
            let tpl = t.compile("body.x", src, Escape::None).unwrap();
            t.render_value(&tpl, &c)
        };
        assert_eq!(
            v("{{json plan.attributes.tags}}").unwrap(),
            json!(["x", "y"])
        );
        assert_eq!(
            v("{{default plan.attributes.tags (json '[]')}}").unwrap(),
            json!(["x", "y"])
        );
        assert_eq!(
            v("{{ default plan.attributes.groups (json '[]') }}").unwrap(),
            json!([])
        );
        assert_eq!(v("{{json '{\"a\": [1]}'}}").unwrap(), json!({"a": [1]}));
        assert_eq!(v("{{json plan.identity}}").unwrap(), json!("\"a/b c\""));
        assert_eq!(v("{{json settings.n}}").unwrap(), json!(5));
        assert_eq!(v("{{first plan.attributes.tags}}").unwrap(), json!("x"));
        assert_eq!(v("{{eq settings.n 5}}").unwrap(), json!(true));
        assert_eq!(v("{{len plan.attributes.tags}}").unwrap(), json!(2));
        assert!(v("{{timestamp}}").unwrap().is_u64());
        assert_eq!(v("{{upper plan.identity}}").unwrap(), json!("A/B C"));
        assert_eq!(
            v("{{default plan.attributes.missing (first plan.attributes.tags)}}").unwrap(),
            json!("x")
        );
        // With text around the expression, or in a block, the result is text.
        assert_eq!(
            v("tags={{json plan.attributes.tags}}").unwrap(),
            json!("tags=[\"x\",\"y\"]")
        );
        assert_eq!(
            v("{{#if settings.n}}{{json plan.attributes.tags}}{{/if}}").unwrap(),
            json!("[\"x\",\"y\"]")
        );
        assert_eq!(
            v("{{concat \"id=\" (json plan.identity)}}").unwrap(),
            json!("id=\"a/b c\"")
        );
        let e = v("{{upper plan.nope}}").unwrap_err();
        assert!(e.message.contains("plan.nope"), "{e}");
        let e = v("{{json 'not json'}}").unwrap_err();
        assert!(e.message.contains("not JSON text"), "{e}");
        let e = v("{{replace plan.identity \"a\"}}").unwrap_err();
        assert!(e.message.contains("takes 3 argument(s), found 2"), "{e}");
    }

    #[test]
    fn helper_results_are_escaped_in_paths() {
        let mut t = Templates::new();
        let p = t
            .compile(
                "request.path",
                "/u/{{concat plan.identity \"/x\"}}/{{default plan.missing 'a b'}}",
                Escape::PathSegment,
            )
            .unwrap();
        assert_eq!(t.render(&p, &ctx()).unwrap(), "/u/a%2Fb%20c%2Fx/a%20b");
    }

    #[test]
    fn single_paths_keep_json_types() {
        let mut t = Templates::new();
        let a = t
            .compile("body.active", "{{plan.attributes.active}}", Escape::None)
            .unwrap();
        assert_eq!(t.render_value(&a, &ctx()).unwrap(), json!(true));
        let l = t
            .compile("body.tags", "{{ plan.attributes.tags }}", Escape::None)
            .unwrap();
        assert_eq!(t.render_value(&l, &ctx()).unwrap(), json!(["x", "y"]));
        let s = t
            .compile("body.x", "id-{{plan.identity}}", Escape::None)
            .unwrap();
        assert_eq!(t.render_value(&s, &ctx()).unwrap(), json!("id-a/b c"));
    }

    #[test]
    fn path_templates_percent_encode_values_only() {
        let mut t = Templates::new();
        let p = t
            .compile(
                "request.path",
                "/users/{{plan.identity}}/x y",
                Escape::PathSegment,
            )
            .unwrap();
        assert_eq!(t.render(&p, &ctx()).unwrap(), "/users/a%2Fb%20c/x y");
        let single = t
            .compile("request.path", "{{plan.identity}}", Escape::PathSegment)
            .unwrap();
        assert_eq!(t.render(&single, &ctx()).unwrap(), "a%2Fb%20c");
    }

    #[test]
    fn missing_values_name_the_key() {
        let mut t = Templates::new();
        let a = t
            .compile("request.path", "/u/{{plan.nope}}/x", Escape::None)
            .unwrap();
        let e = t.render(&a, &ctx()).unwrap_err();
        assert!(e.message.contains("plan.nope"), "{e}");
        assert!(e.to_string().contains("request.path"), "{e}");
        let b = t.compile("q", "{{plan.nope}}", Escape::None).unwrap();
        assert!(
            t.render(&b, &ctx())
                .unwrap_err()
                .message
                .contains("plan.nope")
        );
    }

    #[test]
    fn no_html_escaping_and_helpers_work() {
        let mut t = Templates::new();
        let c = ctx();
        let cases = [
            (
                "{{settings.base_url}}/a?b=<c>&d",
                "https://x.test/a?b=<c>&d",
            ),
            ("{{upper \"ab\"}}-{{lower \"CD\"}}", "AB-cd"),
            ("{{urlencode plan.identity}}", "a%2Fb%20c"),
            ("{{json plan.attributes.tags}}", "[\"x\",\"y\"]"),
            ("{{join plan.attributes.tags \",\"}}", "x,y"),
            ("{{base64 \"user:pass\"}}", "dXNlcjpwYXNz"),
            ("{{default settings.empty \"fallback\"}}", "fallback"),
            ("{{concat settings.n \"-\" plan.identity}}", "5-a/b c"),
            ("{{#if page.cursor}}c={{page.cursor}}{{/if}}", ""),
            (
                "{{#each plan.attributes.tags}}[{{this}}]{{/each}}",
                "[x][y]",
            ),
            ("{{#if (eq settings.n 5)}}five{{/if}}", "five"),
        ];
        for (i, (src, want)) in cases.iter().enumerate() {
            let tpl = t.compile(&format!("t{i}"), src, Escape::None).unwrap();
            assert_eq!(&t.render(&tpl, &c).unwrap(), want, "{src}");
        }
    }
}
