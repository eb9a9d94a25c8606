//! Which settings an auth alternative needs (`auth: { type: alternatives }`): the settings its
//! templates read. A run uses one alternative, so a setting that only another alternative
//! reads must not be demanded; these sets let settings resolution relax exactly those, and
//! the engine pick the first alternative whose settings all have values.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::model::{Auth, AuthAlternatives, Connector};
use crate::template::{Context, analyze};

/// The settings the templates inside `value` (any part of the model) read, by name.
pub fn settings_read(value: &impl Serialize) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Ok(v) = serde_json::to_value(value) {
        walk(&v, None, &mut out);
    }
    out
}

fn walk(v: &Value, key: Option<&str>, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            // `partitions.from_setting` names a setting without a template.
            if key == Some("from_setting") {
                out.insert(s.clone());
            }
            if !s.contains("{{") {
                return;
            }
            let Ok(uses) = analyze(s) else { return };
            for p in uses.paths {
                if p.context() == Some(Context::Settings) {
                    let name = p.rest.split(['.', '[']).next().unwrap_or_default();
                    if !name.is_empty() {
                        out.insert(name.to_string());
                    }
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, key, out)),
        Value::Object(m) => m.iter().for_each(|(k, v)| walk(v, Some(k), out)),
        _ => {}
    }
}

impl AuthAlternatives {
    /// The settings alternative `name` reads (empty for an unknown name).
    pub fn settings_of(&self, name: &str) -> BTreeSet<String> {
        self.alternatives
            .get(name)
            .map(settings_read)
            .unwrap_or_default()
    }
}

/// Settings that only auth alternatives read: nothing else in the connector (its other
/// templates, `partitions.from_setting`, the `select` setting) names them. They are required
/// only when an alternative that reads them is the one in use. Empty unless `auth` has
/// alternatives.
pub fn alternative_only_settings(c: &Connector) -> BTreeSet<String> {
    let Auth::Alternatives(a) = &c.auth else {
        return BTreeSet::new();
    };
    // Everything but `auth`, as JSON (no copy of the connector).
    let mut rest = serde_json::to_value(c).unwrap_or_default();
    if let Some(m) = rest.as_object_mut() {
        m.remove("auth");
    }
    let elsewhere = settings_read(&rest);
    let mut only = BTreeSet::new();
    for alt in a.alternatives.values() {
        only.extend(settings_read(alt));
    }
    only.retain(|s| !elsewhere.contains(s) && a.select.as_deref() != Some(s.as_str()));
    only
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_by_templates_and_from_setting() {
        let v = serde_json::json!({
            "a": "{{settings.token}}",
            "b": ["x {{settings.region}}-{{lower settings.tenant}}", "{{record.id}}"],
            "c": { "from_setting": "orgs", "d": "{{settings.obj.field}}" },
            "e": "plain",
        });
        let got: Vec<String> = settings_read(&v).into_iter().collect();
        assert_eq!(got, ["obj", "orgs", "region", "tenant", "token"]);
    }
}
