//! Templates: compiled once when a connector loads, rendered per request.
//!
//! Handlebars in strict mode with HTML escaping off. Path templates percent-encode every value
//! they insert (`/users/{{plan.identity}}` with `a/b` gives `/users/a%2Fb`); everything else
//! inserts values as they are (query values are encoded by the URL builder). A template that is
//! exactly one `{{path}}` evaluates to the JSON value itself, so body leaves keep their type.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use handlebars::{Context, Handlebars, RenderError, RenderErrorReason};
use percent_encoding::utf8_percent_encode;
use serde_json::Value;

mod helpers;
#[cfg(test)]
mod tests;
pub(crate) mod tree;

pub use self::helpers::value_to_string;
use self::helpers::{SEGMENT, VALUE_OF, register_helpers};

/// How rendered values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Values are inserted as they are.
    None,
    /// Values are percent-encoded as URL path segments.
    PathSegment,
    /// Values are XML-escaped (`&`, `<`, `>`, `"`, `'`): XML bodies.
    Xml,
}

/// `s` with the five XML special characters escaped, so it is safe in element content and
/// in attribute values of either quote.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
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
    /// The path that has no value (`plan.attributes.title`), when that is what went wrong.
    pub missing: Option<String>,
}

impl TemplateError {
    /// Whether the missing value is one the caller gives (`plan`, `settings`, `state`,
    /// `partition`, `change`), as opposed to one read from a response (`response`, `saved`,
    /// `record`): the first kind is known before any request is sent.
    pub fn missing_input(&self) -> bool {
        match &self.missing {
            Some(p) => ["plan", "settings", "state", "partition", "change"]
                .iter()
                .any(|root| {
                    p == root
                        || p.starts_with(&format!("{root}."))
                        || p.starts_with(&format!("{root}["))
                }),
            None => true,
        }
    }
}

/// The registries templates are compiled into: one per escaping mode.
pub struct Templates {
    plain: Handlebars<'static>,
    path: Handlebars<'static>,
    xml: Handlebars<'static>,
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
    /// Exactly one `{{optional a.b}}`: the value, or nothing when it is absent or null (a
    /// body key or list item whose whole value this is is then left out).
    Optional(Vec<String>, Escape),
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
        // Each inserted value is marked, so that `checked_path` can tell the segments values
        // made from the template's own text.
        Escape::PathSegment => hb.register_escape_fn(|s| {
            format!("{MARK_START}{}{MARK_END}", utf8_percent_encode(s, SEGMENT))
        }),
        Escape::Xml => hb.register_escape_fn(xml_escape),
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
            xml: new_registry(Escape::Xml),
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
        if escape == Escape::Xml && wsc_spec::validate::soap::unescaped_at(source).is_some() {
            return Err(TemplateError {
                location: location.to_string(),
                source_text: source.to_string(),
                message: "an XML body inserts a value without XML escaping (`{{{x}}}` or \
                          `{{& x}}`); write `{{x}}`"
                    .to_string(),
                missing: None,
            });
        }
        let kind = if !source.contains("{{") {
            Kind::Literal(source.to_string())
        } else if let Some(path) = single_path(source) {
            Kind::Path(path, escape)
        } else if let Some(args) = single_default(source) {
            Kind::Default(args, escape)
        } else if let Some(path) = single_optional(source) {
            Kind::Optional(path, escape)
        } else {
            let id = format!("t{}", self.next_id.fetch_add(1, Ordering::Relaxed));
            let reg = match escape {
                Escape::None => &mut self.plain,
                Escape::PathSegment => &mut self.path,
                Escape::Xml => &mut self.xml,
            };
            let fail = |e: handlebars::TemplateError| TemplateError {
                location: location.to_string(),
                source_text: source.to_string(),
                message: e.to_string(),
                missing: None,
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
                match escape {
                    Escape::PathSegment => t.checked_segment(utf8_percent_encode(&s, SEGMENT)),
                    Escape::Xml => Ok(xml_escape(&s)),
                    Escape::None => Ok(s),
                }
            }
            Kind::Optional(p, escape) => {
                let s = match lookup(ctx, p) {
                    None | Some(Value::Null) => String::new(),
                    Some(v) => value_to_string(v),
                };
                match escape {
                    Escape::PathSegment => t.checked_segment(utf8_percent_encode(&s, SEGMENT)),
                    Escape::Xml => Ok(xml_escape(&s)),
                    Escape::None => Ok(s),
                }
            }
            Kind::Default(args, escape) => {
                let s = match default_value(args, ctx) {
                    Value::Null => String::new(),
                    v => value_to_string(&v),
                };
                match escape {
                    Escape::PathSegment => t.checked_segment(utf8_percent_encode(&s, SEGMENT)),
                    Escape::Xml => Ok(xml_escape(&s)),
                    Escape::None => Ok(s),
                }
            }
            Kind::Rendered { id, escape, .. } => {
                let reg = match escape {
                    Escape::None => &self.plain,
                    Escape::PathSegment => &self.path,
                    Escape::Xml => &self.xml,
                };
                let out = reg
                    .render_with_context(id, &Context::wraps(ctx).map_err(|e| t.err(e))?)
                    .map_err(|e| t.err(e))?;
                match escape {
                    Escape::PathSegment => t.checked_path(&out),
                    Escape::None | Escape::Xml => Ok(out),
                }
            }
        }
    }

    /// Renders a template to a JSON value: a template that is exactly one expression (a path
    /// or a helper call) keeps the type of its value, anything else is a string.
    pub fn render_value(&self, t: &Template, ctx: &Value) -> Result<Value, TemplateError> {
        match &t.inner.kind {
            Kind::Path(p, _) => lookup(ctx, p).cloned().ok_or_else(|| t.missing(p)),
            Kind::Default(args, _) => Ok(default_value(args, ctx)),
            Kind::Optional(p, _) => Ok(lookup(ctx, p).cloned().unwrap_or(Value::Null)),
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
                    missing: None,
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

    /// Whether the template is exactly `{{optional x}}`: a body leaf left out when `x` is
    /// absent or null.
    pub fn is_optional(&self) -> bool {
        matches!(self.inner.kind, Kind::Optional(..))
    }

    /// A path that is one inserted value: refused when it is empty, `.` or `..`.
    fn checked_segment(&self, encoded: impl std::fmt::Display) -> Result<String, TemplateError> {
        let s = encoded.to_string();
        if is_dot_or_empty(&s) {
            return Err(self.dot_segment(&s));
        }
        Ok(s)
    }

    /// A rendered path with the value marks taken out. A segment that values made empty, `.`
    /// or `..` is refused: percent-encoding cannot help there (URL parsers read `%2e%2e` as
    /// `..` too), and the parser would drop the segment, so `PATCH /users/{{plan.identity}}/x`
    /// with the identity `..` would be sent as `PATCH /x`.
    fn checked_path(&self, rendered: &str) -> Result<String, TemplateError> {
        if !rendered.contains(MARK_START) {
            return Ok(rendered.to_string());
        }
        let mut out = String::with_capacity(rendered.len());
        for (i, seg) in rendered.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            if seg.contains(MARK_START) {
                let clean: String = seg
                    .chars()
                    .filter(|c| *c != MARK_START && *c != MARK_END)
                    .collect();
                if is_dot_or_empty(&clean) {
                    return Err(self.dot_segment(&clean));
                }
                out.push_str(&clean);
            } else {
                out.push_str(seg);
            }
        }
        Ok(out)
    }

    fn dot_segment(&self, segment: &str) -> TemplateError {
        let what = if segment.is_empty() {
            "an empty path segment".to_string()
        } else {
            format!("the path segment `{segment}`")
        };
        TemplateError {
            location: self.inner.location.clone(),
            source_text: self.inner.source.clone(),
            message: format!(
                "the values inserted make {what}, which would send the request to another \
                 path (URLs drop `.` and `..` segments); refused. Check the value (an \
                 identity or id that is empty, `.` or `..`)"
            ),
            missing: None,
        }
    }

    fn missing(&self, p: &[String]) -> TemplateError {
        TemplateError {
            location: self.inner.location.clone(),
            source_text: self.inner.source.clone(),
            message: format!("`{}` has no value", p.join(".")),
            missing: Some(p.join(".")),
        }
    }

    fn err(&self, e: RenderError) -> TemplateError {
        let missing = match e.reason() {
            RenderErrorReason::MissingVariable(Some(path)) => Some(path.clone()),
            _ => None,
        };
        let message = match e.reason() {
            RenderErrorReason::MissingVariable(Some(path)) => format!("`{path}` has no value"),
            RenderErrorReason::MissingVariable(None) => "a value is missing".to_string(),
            other => other.to_string(),
        };
        TemplateError {
            location: self.inner.location.clone(),
            source_text: self.inner.source.clone(),
            message,
            missing,
        }
    }
}

/// `{{optional a.b}}` alone → its path; `None` for anything else.
fn single_optional(source: &str) -> Option<Vec<String>> {
    let inner = source.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let rest = inner.strip_prefix("optional ")?.trim();
    if rest.contains(char::is_whitespace) || rest.contains(['{', '}', '(', '"', '\'']) {
        return None;
    }
    single_path(&format!("{{{{{rest}}}}}"))
}

/// Marks around each value inserted into a path (characters the encoding never leaves).
const MARK_START: char = '\u{1}';
const MARK_END: char = '\u{2}';

/// Whether a path segment is empty or a dot segment, in any of the spellings URL parsers
/// read as one.
fn is_dot_or_empty(segment: &str) -> bool {
    matches!(
        segment.to_ascii_lowercase().as_str(),
        "" | "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
    )
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
