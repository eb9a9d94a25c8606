//! Provisioning plans: what `wsc provision` executes. A plan is one request (a YAML or JSON
//! mapping) or a list of requests; each names a write operation of the connector (built-in or
//! `custom`) and what it needs. Templates of the operation see the request as `plan.*`
//! (`plan.identity`, `plan.attributes.<name>`, `plan.password`, `plan.values`, and
//! `plan.value` per value). A named request's result is visible to later requests as
//! `{{requests.<name>.identity}}` (and `.name`, `.attributes.<attribute>`): the only
//! placeholders a plan has; the password is never read for them.
//!
//! ```yaml
//! - name: new
//!   operation: create_account
//!   attributes: { userName: jdoe, displayName: Jane Doe, active: true }
//!   password: "{{ not a template, just a value }}"
//! - operation: update_account
//!   identity: "{{requests.new.identity}}"
//!   attributes:
//!     title: Engineer                   # set a single value
//!     emails: { add: [j@x.test], remove: [old@x.test] }   # change a multi-valued attribute
//! - operation: add_entitlement
//!   identity: 2819c223
//!   attribute: groups
//!   values: [g1, g2]
//! ```

use std::path::Path;

use schemars::JsonSchema;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Report};
use crate::limits::Limits;
use crate::locate::{LocationIndex, locate};

mod check;
mod refs;
mod request;

pub use self::refs::{Reference, Results};
pub use self::request::{AttributeChange, BUILT_IN, MultiChange, PlanOperation, PlanRequest};

/// A plan: its requests, in order, with the file they came from (for located errors).
#[derive(Debug)]
pub struct Plan {
    /// The requests.
    pub requests: Vec<PlanRequest>,
    file: String,
    source: String,
    index: LocationIndex,
    /// Whether the file is a list (key paths start with `[i]`).
    list: bool,
}

impl Plan {
    /// The key path of request `i`'s `key` in the file (`[2].identity`, or `identity`).
    pub fn key_path(&self, i: usize, key: &str) -> String {
        match (self.list, key.is_empty()) {
            (true, true) => format!("[{i}]"),
            (true, false) => format!("[{i}].{key}"),
            (false, _) => key.to_string(),
        }
    }

    /// A diagnostic located at request `i`'s `key`.
    pub(crate) fn at(&self, i: usize, key: &str, d: Diagnostic) -> Diagnostic {
        let path = self.key_path(i, key);
        match locate(&self.index, &path) {
            Some((pos, width)) => Diagnostic {
                line: pos.line,
                column: pos.column,
                width,
                ..d
            }
            .at_path(path),
            None => d.at_path(path),
        }
    }

    /// A report of these diagnostics on the plan file. Passwords are masked in the source
    /// lines it shows (same length, so columns stay right).
    pub fn report(&self, diagnostics: Vec<Diagnostic>) -> Report {
        let mut source = self.source.clone();
        for p in self.requests.iter().filter_map(|r| r.password.as_deref()) {
            if !p.is_empty() {
                source = source.replace(p, &"*".repeat(p.chars().count()));
            }
        }
        Report {
            file: self.file.clone(),
            source,
            diagnostics,
        }
    }
}

/// Reads a plan file (YAML, or JSON for a `.json` file; one request or a list) with located
/// errors.
pub fn load_plan(bytes: &[u8], file: &Path) -> Result<Plan, Report> {
    let shown = file.display().to_string();
    let hint = "a plan is a request (`operation:`, `identity:`, `attributes:` ...) or a list of them; see docs/provisioning.md";
    if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        check_json(bytes, &shown)?;
    }
    let is_list = std::str::from_utf8(bytes)
        .map(|s| {
            s.lines()
                .map(str::trim_start)
                .find(|l| !l.is_empty() && !l.starts_with('#') && *l != "---")
                .is_some_and(|l| l.starts_with('-') || l.starts_with('['))
        })
        .unwrap_or(false);
    let (requests, source, index) = if is_list {
        crate::load::parse_document::<Vec<PlanRequest>>(bytes, &shown, hint, &Limits::PLAN)?
    } else {
        let (one, source, index) =
            crate::load::parse_document::<PlanRequest>(bytes, &shown, hint, &Limits::PLAN)?;
        (vec![one], source, index)
    };
    let plan = Plan {
        requests,
        file: shown,
        source,
        index,
        list: is_list,
    };
    let problems: Vec<Diagnostic> = refs::check_references(&plan.requests)
        .into_iter()
        .map(|(i, key, d)| plan.at(i, &key, d))
        .collect();
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(plan.report(problems))
    }
}

/// A `.json` plan must be JSON: YAML would accept a trailing comma, and its messages would
/// speak of YAML.
fn check_json(bytes: &[u8], file: &str) -> Result<(), Report> {
    if bytes.len() > Limits::PLAN.max_bytes {
        // The YAML reader reports the size with its own message.
        return Ok(());
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        Ok(_) => Ok(()),
        Err(e) => {
            let source = String::from_utf8_lossy(bytes).into_owned();
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map(|(m, _)| m.to_string())
                .unwrap_or(message);
            Err(Report {
                file: file.to_string(),
                source,
                diagnostics: vec![Diagnostic {
                    line: e.line(),
                    column: e.column().max(1),
                    ..Diagnostic::error(format!("JSON syntax error: {message}"))
                }
                .hint("a `.json` plan is read as JSON (RFC 8259): no trailing commas or comments; name the file `.yaml` to write YAML")],
            })
        }
    }
}

/// The JSON Schema of a plan file.
pub fn plan_schema() -> Value {
    #[derive(JsonSchema)]
    #[allow(dead_code, clippy::large_enum_variant)]
    #[serde(untagged)]
    /// A provisioning plan: one request or a list of requests.
    enum PlanFile {
        One(PlanRequest),
        Many(Vec<PlanRequest>),
    }
    let mut s = serde_json::to_value(schemars::schema_for!(PlanFile)).unwrap_or(Value::Null);
    if let Some(o) = s.as_object_mut() {
        o.insert("title".into(), "wsc provisioning plan".into());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_or_many() {
        let p = load_plan(
            b"operation: delete_account\nidentity: u1\n",
            Path::new("p.yaml"),
        )
        .unwrap();
        assert_eq!(p.requests.len(), 1);
        let p = load_plan(
            b"- operation: add_entitlement\n  identity: u1\n  values: [g1]\n- operation: disable_account\n  identity: u1\n",
            Path::new("p.yaml"),
        )
        .unwrap();
        assert_eq!(p.requests.len(), 2);
        assert!(p.requests.iter().all(|r| r.problems().is_empty()));
    }

    #[test]
    fn multi_changes_and_located_errors() {
        let p = load_plan(
            b"operation: update_account\nidentity: u1\nattributes:\n  emails: { add: [a], remove: [b] }\n  name: { givenName: J }\n",
            Path::new("p.yaml"),
        )
        .unwrap();
        let a = &p.requests[0].attributes;
        assert!(matches!(a["emails"], AttributeChange::Multi(_)));
        assert!(matches!(a["name"], AttributeChange::Value(_)));
        let e = load_plan(
            b"operation: delete_account\nidentty: x\n",
            Path::new("p.yaml"),
        )
        .unwrap_err();
        let r = e.render();
        assert!(r.contains("p.yaml:2"), "{r}");
        assert!(r.contains("identity"), "{r}");
    }
}
