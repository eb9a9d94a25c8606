//! Error rules: errors an API reports inside a successful response body
//! (`http.errors`, `operations.*.errors`, `steps[*].errors`).

use serde_json::{Value, json};
use wsc_spec::model::ErrorRule as RuleSpec;

use crate::doc::Doc;
use crate::error::EngineError;
use crate::http::{HttpClient, Response};
use crate::path::CompiledPath;
use crate::template::{Escape, Template, Templates};

/// What makes a rule match. Validation guarantees exactly one test per rule.
#[derive(Debug, Clone)]
pub enum RuleTest {
    /// The path selects a value equal to this one.
    PathEquals(CompiledPath, Value),
    /// The path selects a value other than null or false.
    PathTruthy(CompiledPath),
    /// The raw body contains this text.
    BodyContains(String),
    /// The template renders to `true` (`response` is the parsed body).
    Expression(Template),
}

/// A compiled error rule.
#[derive(Debug, Clone)]
pub struct ErrorRule {
    /// When it matches.
    pub test: RuleTest,
    /// Where the message is.
    pub message: Option<CompiledPath>,
    /// Retry instead of failing.
    pub retry: bool,
}

/// A rule that matched a response.
#[derive(Debug)]
pub(crate) struct RuleHit {
    /// The message for the error (redacted).
    pub(crate) message: String,
    /// Retry instead of failing.
    pub(crate) retry: bool,
}

fn compile_path(location: &str, p: &wsc_spec::JsonPath) -> Result<CompiledPath, EngineError> {
    CompiledPath::compile(p.as_str()).map_err(|e| EngineError::Config(format!("{location}: {e}")))
}

/// Compiles the rules at `location` (e.g. `http.errors`).
pub fn compile_rules(
    t: &mut Templates,
    location: &str,
    rules: &[RuleSpec],
) -> Result<Vec<ErrorRule>, EngineError> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let loc = format!("{location}[{i}]");
            let test = if let Some(p) = &r.path {
                let p = compile_path(&format!("{loc}.path"), p)?;
                match &r.equals {
                    Some(v) => RuleTest::PathEquals(p, v.clone()),
                    None => RuleTest::PathTruthy(p),
                }
            } else if let Some(text) = &r.body_contains {
                RuleTest::BodyContains(text.clone())
            } else if let Some(e) = &r.expression {
                RuleTest::Expression(t.compile(
                    &format!("{loc}.expression"),
                    e.as_str(),
                    Escape::None,
                )?)
            } else {
                return Err(EngineError::Config(format!(
                    "{loc}: an error rule needs exactly one of `path`, `body_contains` and `expression`"
                )));
            };
            Ok(ErrorRule {
                test,
                message: r
                    .message
                    .as_ref()
                    .map(|m| compile_path(&format!("{loc}.message"), m))
                    .transpose()?,
                retry: r.retry,
            })
        })
        .collect()
}

impl ErrorRule {
    fn matches(&self, templates: &Templates, doc: &Doc<'_>, resp: &Response) -> bool {
        match &self.test {
            RuleTest::PathEquals(p, want) => {
                p.first(doc).is_some_and(|got| &got.to_value() == want)
            }
            RuleTest::PathTruthy(p) => p
                .first(doc)
                .is_some_and(|got| !matches!(got, Doc::Null | Doc::Bool(false))),
            RuleTest::BodyContains(text) => {
                memchr::memmem::find(&resp.body, text.as_bytes()).is_some()
            }
            RuleTest::Expression(e) => {
                let ctx = json!({ "response": doc.to_value(), "headers": resp.headers_value() });
                templates
                    .render(e, &ctx)
                    .map(|s| s.trim() == "true")
                    .unwrap_or(false)
            }
        }
    }
}

/// The first rule that matches the response, with its message.
pub(crate) fn check(
    templates: &Templates,
    http: &HttpClient,
    rules: &[ErrorRule],
    doc: &Doc<'_>,
    resp: &Response,
) -> Option<RuleHit> {
    let rule = rules.iter().find(|r| r.matches(templates, doc, resp))?;
    let message = rule
        .message
        .as_ref()
        .and_then(|m| m.first(doc))
        .map(|m| match m.as_str() {
            Some(s) => s.to_string(),
            None => m.to_value().to_string(),
        })
        .unwrap_or_else(|| http.body_start(&resp.body));
    Some(RuleHit {
        message: http.redactor().text(&message),
        retry: rule.retry,
    })
}
