//! Instance settings: resolved from `--set`, a settings file, environment variables and
//! defaults, checked against the connector's declarations.

use indexmap::IndexMap;
use serde_json::Value;
use wsc_spec::Connector;

/// Settings resolved for one run.
#[derive(Debug, Clone, Default)]
pub struct ResolvedSettings {
    values: IndexMap<String, Value>,
    secrets: Vec<String>,
}

/// A setting problem.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SettingsError {
    /// A required setting has no value.
    #[error("setting `{name}` has no value{}: supply it with `--set {name}=VALUE`, a `--settings` file, or the {env} environment variable", describe(.description))]
    Missing {
        /// Setting name.
        name: String,
        /// Its description.
        description: Option<String>,
        /// The environment variable that would supply it.
        env: String,
    },
    /// A value was given for a setting the connector does not declare.
    #[error("unknown setting `{name}`{}", suggest_text(.suggestion))]
    Unknown {
        /// The name given.
        name: String,
        /// The closest declared name.
        suggestion: Option<String>,
    },
}

fn describe(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
}

fn suggest_text(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(": did you mean `{s}`?"))
        .unwrap_or_else(|| ": it is not declared under `settings:` in the connector".into())
}

/// Where values come from, highest priority first: `explicit` (`--set`), `file` (`--settings`),
/// then the environment (`env` of the setting, then `WSC_<NAME>`), then the default.
pub fn resolve(
    connector: &Connector,
    explicit: &IndexMap<String, Value>,
    file: &IndexMap<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedSettings, Vec<SettingsError>> {
    let mut errors = Vec::new();
    for name in explicit.keys().chain(file.keys()) {
        if !connector.settings.contains_key(name) {
            errors.push(SettingsError::Unknown {
                name: name.clone(),
                suggestion: wsc_spec::diagnostic::did_you_mean(
                    name,
                    connector.settings.keys().map(String::as_str),
                )
                .map(str::to_string),
            });
        }
    }
    let mut out = ResolvedSettings::default();
    for (name, s) in &connector.settings {
        let implicit = format!("WSC_{}", name.to_ascii_uppercase());
        let value = explicit
            .get(name)
            .cloned()
            .or_else(|| file.get(name).cloned())
            .or_else(|| s.env.as_deref().and_then(env).map(Value::String))
            .or_else(|| env(&implicit).map(Value::String))
            .or_else(|| s.default.as_ref().map(|d| d.to_json()));
        match value {
            Some(v) => {
                if s.secret {
                    if let Some(text) = v.as_str() {
                        out.secrets.push(text.to_string());
                    } else {
                        out.secrets.push(v.to_string());
                    }
                }
                out.values.insert(name.clone(), v);
            }
            None => {
                if s.required.unwrap_or(true) {
                    errors.push(SettingsError::Missing {
                        name: name.clone(),
                        description: s.description.clone(),
                        env: s.env.clone().unwrap_or(implicit),
                    });
                } else {
                    out.values.insert(name.clone(), Value::Null);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

impl ResolvedSettings {
    /// Settings as the `settings` template context.
    pub fn to_value(&self) -> Value {
        Value::Object(
            self.values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// The values of secret settings, for redaction.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// One value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector() -> Connector {
        wsc_spec::load_bytes(
            b"connector: t\nsettings:\n  base_url: { default: \"http://x\" }\n  token: { secret: true, env: T_TOKEN }\n  opt: { required: false }\nbase_url: \"{{settings.base_url}}\"\n",
            "t.yaml",
            std::path::Path::new("."),
        )
        .unwrap()
        .connector
    }

    #[test]
    fn priority_and_errors() {
        let c = connector();
        let mut explicit = IndexMap::new();
        explicit.insert("base_url".to_string(), Value::from("http://set"));
        let env = |k: &str| (k == "T_TOKEN").then(|| "tok-123".to_string());
        let r = resolve(&c, &explicit, &IndexMap::new(), &env).unwrap();
        assert_eq!(r.get("base_url").unwrap(), "http://set");
        assert_eq!(r.get("token").unwrap(), "tok-123");
        assert_eq!(r.secrets(), ["tok-123"]);
        assert!(r.get("opt").unwrap().is_null());
        let errs = resolve(&c, &IndexMap::new(), &IndexMap::new(), &|_| None).unwrap_err();
        assert!(errs[0].to_string().contains("T_TOKEN"), "{}", errs[0]);
        let mut bad = IndexMap::new();
        bad.insert("tokn".to_string(), Value::from("x"));
        let errs = resolve(&c, &bad, &IndexMap::new(), &env).unwrap_err();
        assert!(errs[0].to_string().contains("did you mean `token`"));
    }
}
