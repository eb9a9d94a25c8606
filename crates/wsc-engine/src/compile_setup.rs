//! The `setup` requests of aggregations, compiled once at load: the request, and the rules
//! that judge an answer (accepted, skipping the partition or record, or failing the run).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use wsc_spec::Connector;
use wsc_spec::model::{SetupRule, SetupRun, StatusPattern};

use crate::compile::{CompiledRequest, compile_path};
use crate::doc::Doc;
use crate::error::EngineError;
use crate::path::CompiledPath;
use crate::template::{Template, Templates};

/// One `setup` entry, compiled.
pub(crate) struct CompiledSetup {
    /// Its name.
    pub(crate) name: String,
    /// When it runs.
    pub(crate) run: SetupRun,
    /// The request.
    pub(crate) request: CompiledRequest,
    /// Answers that are success (default: a 2xx status).
    accept: Vec<Rule>,
    /// Answers that skip the partition or record.
    skip: Vec<Rule>,
    /// Every status some rule takes: the statuses the HTTP client treats as an answer rather
    /// than a failure (others are retried as usual, then fail the run).
    pub(crate) statuses: Vec<StatusPattern>,
}

struct Rule {
    status: Vec<StatusPattern>,
    path: Option<CompiledPath>,
    equals: Option<Value>,
    body_contains: Option<String>,
}

/// How an answer was judged.
pub(crate) enum Judged {
    /// Success: go on reading.
    Accepted,
    /// Skip the partition or record.
    Skipped,
    /// Neither: the run fails.
    Refused,
}

impl Rule {
    fn compile(loc: &str, r: &SetupRule) -> Result<Rule, EngineError> {
        Ok(Rule {
            status: r
                .status
                .clone()
                .unwrap_or_else(|| vec![StatusPattern::Class(2)]),
            path: r
                .path
                .as_ref()
                .map(|p| compile_path(&format!("{loc}.path"), p))
                .transpose()?,
            equals: r.equals.clone(),
            body_contains: r.body_contains.clone(),
        })
    }

    fn matches(&self, status: u16, body: &[u8], doc: &Doc<'_>) -> bool {
        if !self.status.iter().any(|s| s.matches(status)) {
            return false;
        }
        if let Some(t) = &self.body_contains
            && !String::from_utf8_lossy(body).contains(t.as_str())
        {
            return false;
        }
        match (&self.path, &self.equals) {
            (None, _) => true,
            (Some(p), Some(want)) => p.first(doc).is_some_and(|v| v.to_value() == *want),
            (Some(p), None) => p
                .first(doc)
                .is_some_and(|v| !matches!(v, Doc::Null | Doc::Bool(false))),
        }
    }
}

impl CompiledSetup {
    /// Judges an answer: accepted if an `accept` rule matches (a 2xx without rules), else
    /// skipped if a `skip` rule matches, else refused.
    pub(crate) fn judge(&self, status: u16, body: &[u8], doc: &Doc<'_>) -> Judged {
        if self.accept.iter().any(|r| r.matches(status, body, doc)) {
            Judged::Accepted
        } else if self.skip.iter().any(|r| r.matches(status, body, doc)) {
            Judged::Skipped
        } else {
            Judged::Refused
        }
    }
}

/// Compiles the `setup` entries of every aggregation of `c`, by operation key.
pub(crate) fn compile_all(
    t: &mut Templates,
    c: &Connector,
    default_headers: &[(String, Template)],
) -> Result<HashMap<String, Arc<[CompiledSetup]>>, EngineError> {
    let mut out = HashMap::new();
    for (key, op) in c.operations.entries() {
        if op.setup.is_empty() {
            continue;
        }
        let mut list = Vec::with_capacity(op.setup.len());
        for (i, s) in op.setup.iter().enumerate() {
            let loc = format!("operations.{key}.setup[{i}]");
            let rules = |key: &str, rules: &[SetupRule]| -> Result<Vec<Rule>, EngineError> {
                rules
                    .iter()
                    .enumerate()
                    .map(|(j, r)| Rule::compile(&format!("{loc}.{key}[{j}]"), r))
                    .collect()
            };
            let mut accept = rules("accept", &s.accept)?;
            if accept.is_empty() {
                accept.push(Rule::compile(&loc, &SetupRule::default())?);
            }
            let skip = rules("skip", &s.skip)?;
            let mut statuses: Vec<StatusPattern> = Vec::new();
            for r in accept.iter().chain(&skip) {
                for s in &r.status {
                    if !statuses.contains(s) {
                        statuses.push(*s);
                    }
                }
            }
            list.push(CompiledSetup {
                name: s.name.clone(),
                run: s.run,
                request: CompiledRequest::compile(
                    t,
                    &format!("{loc}.request"),
                    &s.request,
                    default_headers,
                )?,
                accept,
                skip,
                statuses,
            });
        }
        out.insert(key.into_string(), list.into());
    }
    Ok(out)
}
