//! Static analysis of Handlebars templates: parse them and list the context paths and helpers
//! they use, so the validator can check them before anything runs.

use std::fmt;
use std::str::FromStr;

use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use handlebars::{Path, Template as HbTemplate};

/// A context a template may read: the first segment of a template path (`settings` in
/// `{{settings.base_url}}`). Which ones are set depends on where the template is (see
/// `docs/connector-reference.md`, "Templates").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// `settings`: the instance settings. Set everywhere.
    Settings,
    /// `page`: the paging position, in requests that have `paging`.
    Page,
    /// `plan`: the provisioning plan, in operations that take one.
    Plan,
    /// `record`: the record at hand, in `for_each` steps, attribute templates and partition
    /// requests.
    Record,
    /// `parent`: the record of the enclosing `for_each` step, in nested `for_each` steps.
    Parent,
    /// `response`: the response, in error rules, `stop_when` and steps after the first.
    Response,
    /// `saved`: values saved by earlier steps (`save`).
    Saved,
    /// `state`: connector state kept between runs. Set everywhere.
    State,
    /// `auth`: the credentials, in requests and token refresh requests.
    Auth,
    /// `now`: the current time. Set everywhere.
    Now,
    /// `last_run`: the previous complete run, in aggregations (empty on a first run).
    LastRun,
    /// `partition`: the partition at hand, in the requests, steps and attribute templates of
    /// aggregations that have `partitions`.
    Partition,
    /// `change`: one attribute change (`change.attribute`, `change.value`), in the item
    /// templates of a write operation's `changes`.
    Change,
    /// `headers`: the response's headers (names in lower case), in error-rule expressions
    /// and `stop_when`.
    Headers,
    /// `window`: the time window at hand (`start`, `end`, `start_unix`, `end_unix`, `index`),
    /// in the requests, steps and attribute templates of aggregations that have `windows`.
    Window,
}

impl Context {
    /// Every context, in the order messages list them.
    pub const ALL: [Context; 15] = [
        Context::Settings,
        Context::Page,
        Context::Plan,
        Context::Record,
        Context::Parent,
        Context::Response,
        Context::Saved,
        Context::State,
        Context::Auth,
        Context::Now,
        Context::LastRun,
        Context::Partition,
        Context::Change,
        Context::Headers,
        Context::Window,
    ];

    /// The name templates read it by, e.g. `last_run`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Context::Settings => "settings",
            Context::Page => "page",
            Context::Plan => "plan",
            Context::Record => "record",
            Context::Parent => "parent",
            Context::Response => "response",
            Context::Saved => "saved",
            Context::State => "state",
            Context::Auth => "auth",
            Context::Now => "now",
            Context::LastRun => "last_run",
            Context::Partition => "partition",
            Context::Change => "change",
            Context::Headers => "headers",
            Context::Window => "window",
        }
    }

    /// The context of a name, if it is one.
    pub fn parse(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Context {
    type Err = UnknownContext;

    fn from_str(s: &str) -> Result<Context, UnknownContext> {
        Context::parse(s).ok_or_else(|| UnknownContext(s.to_string()))
    }
}

impl From<Context> for String {
    fn from(c: Context) -> String {
        c.as_str().to_string()
    }
}

/// A name that is not a template context (the name itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownContext(pub String);

impl fmt::Display for UnknownContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown template context `{}`", self.0)
    }
}

impl std::error::Error for UnknownContext {}

/// The names of every context ([`Context::ALL`] as text), in the order messages list them.
pub const CONTEXTS: &[&str] = &{
    let mut names = [""; Context::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Context::ALL[i].as_str();
        i += 1;
    }
    names
};

/// Helpers available in templates: the Handlebars built-ins and the ones wsc registers.
pub const HELPERS: &[&str] = &[
    // Handlebars built-ins.
    "if",
    "unless",
    "each",
    "with",
    "lookup",
    "log",
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "and",
    "or",
    "not",
    "len",
    // wsc helpers.
    "urlencode",
    "json",
    "default",
    "optional",
    "upper",
    "lower",
    "trim",
    "base64",
    "join",
    "concat",
    "replace",
    "first",
    "timestamp",
    "split",
    "url_encode",
    "url_decode",
    "base64_encode",
    "base64_decode",
    "base64url_encode",
    "base64url_decode",
    "sha256_hex",
    "parse_date",
    "format_date",
    "date_add",
    "now_iso",
    "now_unix",
];

/// Block helpers that change the context (`this`) inside their block.
const SCOPING_HELPERS: &[&str] = &["each", "with"];

/// A context path used by a template, e.g. `settings.base_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathUse {
    /// The root context (`settings`).
    pub root: String,
    /// The rest of the path (`base_url`), possibly empty.
    pub rest: String,
}

impl PathUse {
    /// The root as a context, unless it names none.
    pub fn context(&self) -> Option<Context> {
        Context::parse(&self.root)
    }
}

/// What a template uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateUses {
    /// Context paths read outside `each` / `with` blocks.
    pub paths: Vec<PathUse>,
    /// Helpers called.
    pub helpers: Vec<String>,
    /// Whether the whole template is exactly one `{{expr}}` (it then keeps the JSON type).
    pub single_expression: bool,
    /// Quoted literals given to `json`, which reads them as JSON text (`json '[]'`).
    pub json_literals: Vec<String>,
}

/// A template that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSyntaxError {
    /// What Handlebars said.
    pub message: String,
    /// Line and column inside the template (1-based), when known.
    pub pos: Option<(usize, usize)>,
}

/// Parses a template and lists what it uses.
pub fn analyze(source: &str) -> Result<TemplateUses, TemplateSyntaxError> {
    // The Handlebars parser recurses once per subexpression and `else if`: bound them first.
    if let Err(offset) = crate::limits::check_template(source) {
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        return Err(TemplateSyntaxError {
            message: format!(
                "blocks, `(` and `[` nest deeper than {} levels",
                crate::limits::MAX_EXPRESSION_DEPTH
            ),
            pos: Some((line, column)),
        });
    }
    let t = HbTemplate::compile(source).map_err(|e| TemplateSyntaxError {
        message: e.reason().to_string(),
        pos: e.pos(),
    })?;
    let mut uses = TemplateUses::default();
    walk(&t, 0, &mut uses);
    uses.single_expression = t.elements.len() == 1
        && matches!(
            t.elements[0],
            TemplateElement::Expression(_) | TemplateElement::HtmlExpression(_)
        );
    Ok(uses)
}

fn walk(t: &HbTemplate, scope_depth: usize, uses: &mut TemplateUses) {
    for el in &t.elements {
        element(el, scope_depth, uses);
    }
}

fn element(el: &TemplateElement, scope_depth: usize, uses: &mut TemplateUses) {
    match el {
        TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
            helper(h, scope_depth, uses)
        }
        TemplateElement::HelperBlock(h) => helper(h, scope_depth, uses),
        _ => {}
    }
}

fn helper(h: &HelperTemplate, scope_depth: usize, uses: &mut TemplateUses) {
    let is_call = !h.params.is_empty() || !h.hash.is_empty() || h.block;
    match &h.name {
        Parameter::Name(n) if is_call => uses.helpers.push(n.clone()),
        Parameter::Name(n) => {
            if HELPERS.contains(&n.as_str()) {
                uses.helpers.push(n.clone());
            } else {
                path_use(n, scope_depth, uses);
            }
        }
        Parameter::Path(p) if is_call => uses.helpers.push(raw_path(p).to_string()),
        other => param(other, scope_depth, uses),
    }
    if matches!(&h.name, Parameter::Name(n) if n == "json")
        && let Some(Parameter::Literal(serde_json::Value::String(text))) = h.params.first()
    {
        uses.json_literals.push(text.clone());
    }
    for p in &h.params {
        param(p, scope_depth, uses);
    }
    for p in h.hash.values() {
        param(p, scope_depth, uses);
    }
    let inner_depth = match &h.name {
        Parameter::Name(n) if SCOPING_HELPERS.contains(&n.as_str()) => scope_depth + 1,
        _ => scope_depth,
    };
    if let Some(t) = &h.template {
        walk(t, inner_depth, uses);
    }
    if let Some(t) = &h.inverse {
        walk(t, scope_depth, uses);
    }
}

fn param(p: &Parameter, scope_depth: usize, uses: &mut TemplateUses) {
    match p {
        Parameter::Path(path) => path_use(raw_path(path), scope_depth, uses),
        Parameter::Name(n) => path_use(n, scope_depth, uses),
        Parameter::Subexpression(s) => element(s.as_element(), scope_depth, uses),
        _ => {}
    }
}

fn raw_path(p: &Path) -> &str {
    match p {
        Path::Relative((_, raw)) => raw,
        Path::Local((_, _, raw)) => raw,
    }
}

fn path_use(raw: &str, scope_depth: usize, uses: &mut TemplateUses) {
    let raw = raw.strip_prefix("@root.").unwrap_or(raw);
    if raw.starts_with('@') || raw.starts_with("../") || raw == "this" || raw.starts_with("this.") {
        return;
    }
    if scope_depth > 0 {
        // Inside `each` / `with`, bare names are relative to the block's value.
        return;
    }
    let (root, rest) = match raw.find(['.', '/', '[']) {
        Some(i) => (&raw[..i], raw[i..].trim_start_matches(['.', '/'])),
        None => (raw, ""),
    };
    uses.paths.push(PathUse {
        root: root.to_string(),
        rest: rest.to_string(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(src: &str) -> Vec<String> {
        analyze(src)
            .unwrap()
            .paths
            .into_iter()
            .map(|p| {
                if p.rest.is_empty() {
                    p.root
                } else {
                    format!("{}.{}", p.root, p.rest)
                }
            })
            .collect()
    }

    #[test]
    fn lists_paths_and_helpers() {
        assert_eq!(roots("{{settings.base_url}}/x"), vec!["settings.base_url"]);
        let u = analyze("{{urlencode record.id}}").unwrap();
        assert_eq!(u.helpers, vec!["urlencode"]);
        assert_eq!(u.paths[0].root, "record");
        assert!(u.single_expression);
        assert_eq!(
            roots("{{#if page.cursor}}{{page.cursor}}{{/if}}"),
            vec!["page.cursor", "page.cursor"]
        );
        assert_eq!(
            roots("{{#each plan.values}}{{this}}{{id}}{{/each}}"),
            vec!["plan.values"]
        );
        assert_eq!(roots("{{@root.settings.x}}"), vec!["settings.x"]);
        assert_eq!(roots("{{nothing}}"), vec!["nothing"]);
        assert!(!analyze("a {{x}}").unwrap().single_expression);
        assert_eq!(
            roots("{{default (lower plan.name) \"x\"}}"),
            vec!["plan.name"]
        );
        let u = analyze("{{default plan.groups (json '[]')}}").unwrap();
        assert_eq!(u.json_literals, vec!["[]"]);
        assert_eq!(u.helpers, vec!["default", "json"]);
    }

    #[test]
    fn contexts_round_trip_and_keep_their_order() {
        assert_eq!(
            CONTEXTS,
            [
                "settings",
                "page",
                "plan",
                "record",
                "parent",
                "response",
                "saved",
                "state",
                "auth",
                "now",
                "last_run",
                "partition",
                "change",
                "headers",
                "window",
            ]
        );
        for c in Context::ALL {
            assert_eq!(c.as_str().parse::<Context>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(
            "records".parse::<Context>(),
            Err(UnknownContext("records".into()))
        );
        let u = analyze("{{last_run.at}} {{nothing}}").unwrap();
        assert_eq!(u.paths[0].context(), Some(Context::LastRun));
        assert_eq!(u.paths[1].context(), None);
    }

    #[test]
    fn reports_syntax_errors() {
        let e = analyze("{{settings.base_url").unwrap_err();
        assert!(!e.message.is_empty());
        assert!(analyze("{{#if x}}no end").is_err());
    }
}
