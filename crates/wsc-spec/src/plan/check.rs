//! A plan checked against the connector that will run it, before anything is sent: every
//! operation defined, every request complete, and no plan value that no template reads.

use serde_json::Value;

use super::Plan;
use super::request::BUILT_IN;
use crate::diagnostic::{Diagnostic, Report, did_you_mean};
use crate::model::{Connector, Operation};
use crate::template::analyze;

impl Plan {
    /// Checks the plan against `connector`: operations it defines (built-in or `custom`),
    /// what each request needs, and a `password` that no template of its operation reads.
    /// Every problem is reported at once, located in the plan file.
    pub fn check(&self, connector: &Connector) -> Result<(), Report> {
        let mut out = Vec::new();
        let defined: Vec<String> = connector
            .operations
            .entries()
            .into_iter()
            .filter(|(k, _)| k.kind().is_write())
            .map(|(k, _)| k.custom_name().unwrap_or(k.as_str()).to_string())
            .collect();
        for (i, r) in self.requests.iter().enumerate() {
            let name = r.operation.name();
            let key = r.operation.key();
            if name == "authenticate" {
                // Read as a custom operation's name; it is pass-through authentication.
                out.push(self.at(
                    i,
                    "operation",
                    Diagnostic::error("`authenticate` checks a password and changes nothing: it is not run from a provisioning plan")
                        .hint("run `wsc authenticate CONNECTOR --identity ID` with the password on stdin (docs/auth.md#pass-through-authentication)"),
                ));
                continue;
            }
            let Some(op) = connector.operations.get(&key) else {
                let hint = match did_you_mean(name, defined.iter().map(String::as_str)) {
                    Some(b) => format!("did you mean `{b}`?"),
                    None if defined.is_empty() => {
                        "this connector defines no write operations".to_string()
                    }
                    None => format!("this connector defines: {}", defined.join(", ")),
                };
                let message = if BUILT_IN.contains(&name) {
                    format!("the connector does not define `operations.{name}`")
                } else {
                    format!(
                        "the connector defines no operation `{name}` (neither built-in nor under `operations.custom`)"
                    )
                };
                out.push(self.at(i, "operation", Diagnostic::error(message).hint(hint)));
                continue;
            };
            for p in r.problems() {
                out.push(self.at(i, "", Diagnostic::error(format!("request {}: {p}", i + 1))));
            }
            if r.password.is_some() && !reads_password(op) {
                out.push(self.at(
                    i,
                    "password",
                    Diagnostic::error(format!(
                        "`{name}` does not use `plan.password`: this password would not be sent"
                    ))
                    .hint("remove `password`, or use an operation whose templates send it (create_account, change_password)"),
                ));
            }
        }
        if out.is_empty() {
            Ok(())
        } else {
            Err(self.report(out))
        }
    }
}

/// Whether an operation can read `plan.password`: a template names it (or the whole `plan`),
/// or a hook of the operation or of one of its steps sees the plan.
fn reads_password(op: &Operation) -> bool {
    let mut found = false;
    walk(&serde_json::to_value(op).unwrap_or(Value::Null), &mut found);
    found
}

fn walk(v: &Value, found: &mut bool) {
    if *found {
        return;
    }
    match v {
        Value::String(s) if s.contains("{{") => {
            if let Ok(uses) = analyze(s) {
                *found = uses.paths.iter().any(|p| {
                    p.root == "plan" && (p.rest.is_empty() || p.rest.starts_with("password"))
                });
            } else {
                *found = s.contains("password");
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, found)),
        Value::Object(o) => {
            if o.contains_key("hooks") {
                *found = true;
            }
            o.values().for_each(|x| walk(x, found))
        }
        _ => {}
    }
}
