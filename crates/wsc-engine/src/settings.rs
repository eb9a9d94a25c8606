//! Instance settings: resolved from `--set`, a settings file, environment variables and
//! defaults, read into each setting's declared type and checked against its constraints
//! (`enum`, `pattern`, `min`, `max`) before anything runs.
//!
//! Text (`--set`, environment variables) is read into the setting's type; values that already
//! have a type (a settings file, a fixture case) must have the setting's type (see
//! [`wsc_spec::typed`]). Every problem is reported at once, naming where the value came from;
//! the value of a secret setting is never shown.

use indexmap::IndexMap;
use serde_json::Value;
use wsc_spec::Connector;
use wsc_spec::model::{Floor, Settable, SettingOr};
use wsc_spec::typed::{self, Mismatch};

use crate::error::EngineError;

/// Settings resolved for one run.
#[derive(Debug, Clone, Default)]
pub struct ResolvedSettings {
    values: IndexMap<String, Value>,
    secrets: Vec<String>,
}

/// Where a setting's value came from, named in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--set NAME=VALUE`.
    Set,
    /// A settings file (as the user named it; empty when unknown), or another file of values
    /// such as a fixture case.
    File(String),
    /// An environment variable (its name).
    Env(String),
    /// The setting's `default` in the connector.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Set => f.write_str("`--set`"),
            Source::File(path) if path.is_empty() => f.write_str("the settings file"),
            Source::File(path) => write!(f, "the settings file {path}"),
            Source::Env(var) => write!(f, "the environment variable {var}"),
            Source::Default => f.write_str("its `default`"),
        }
    }
}

/// Values supplied for a run, and where they came from.
#[derive(Debug, Clone, Copy)]
pub struct Supplied<'a> {
    /// Where the values came from.
    pub source: &'a Source,
    /// The values by setting name: text, or typed values (from YAML or JSON).
    pub values: &'a IndexMap<String, Value>,
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
    /// A value does not have the setting's type, or breaks one of its constraints.
    #[error("{}", invalid_text(.name, .origin, .expected, .found, .hint))]
    Invalid {
        /// Setting name.
        name: String,
        /// Where the value came from.
        origin: Source,
        /// What the setting takes.
        expected: String,
        /// What was given (`None` for secret settings: never shown).
        found: Option<String>,
        /// How to fix it.
        hint: Option<String>,
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

fn invalid_text(
    name: &str,
    source: &Source,
    expected: &str,
    found: &Option<String>,
    hint: &Option<String>,
) -> String {
    let from = match source {
        Source::Set => format!("`--set {name}=...`"),
        Source::File(_) => format!("{source}, key `{name}`"),
        other => other.to_string(),
    };
    let mut s = format!(
        "invalid value for setting `{name}` (from {from})\n   = expected: {expected}\n   = found: {}",
        found
            .as_deref()
            .unwrap_or("a value that does not fit (not shown: the setting is secret)")
    );
    if let Some(h) = hint {
        s.push_str(&format!("\n   = help: {h}"));
    }
    s
}

/// Resolves the settings of `connector` from `--set` (`explicit`), a settings file (`file`),
/// the environment and defaults: [`resolve_from`] with those two sources.
pub fn resolve(
    connector: &Connector,
    explicit: &IndexMap<String, Value>,
    file: &IndexMap<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedSettings, Vec<SettingsError>> {
    let file_source = Source::File(String::new());
    resolve_from(
        connector,
        &[
            Supplied {
                source: &Source::Set,
                values: explicit,
            },
            Supplied {
                source: &file_source,
                values: file,
            },
        ],
        env,
    )
}

/// Where values come from, highest priority first: `supplied` in order (`--set`, then a
/// settings file), then the environment (`env` of the setting, then `WSC_<NAME>`), then the
/// default. Every value is read into its setting's type and checked against its constraints;
/// every problem is returned at once.
pub fn resolve_from(
    connector: &Connector,
    supplied: &[Supplied<'_>],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedSettings, Vec<SettingsError>> {
    let mut errors = Vec::new();
    for layer in supplied {
        for name in layer.values.keys() {
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
    }
    // Settings only auth alternatives read are required only by the alternative in use,
    // which is chosen once the settings are known (`crate::alternative`).
    let alternative_only = wsc_spec::auth_settings::alternative_only_settings(connector);
    let mut out = ResolvedSettings::default();
    for (name, s) in &connector.settings {
        let implicit = format!("WSC_{}", name.to_ascii_uppercase());
        let given = supplied
            .iter()
            .find_map(|l| l.values.get(name).map(|v| (l.source.clone(), v.clone())))
            .or_else(|| {
                let var = s.env.as_deref()?;
                env(var).map(|t| (Source::Env(var.to_string()), Value::String(t)))
            })
            .or_else(|| env(&implicit).map(|t| (Source::Env(implicit.clone()), Value::String(t))))
            .or_else(|| s.default.clone().map(|d| (Source::Default, d)));
        let Some((source, raw)) = given else {
            if s.required.unwrap_or(true) && !alternative_only.contains(name) {
                errors.push(SettingsError::Missing {
                    name: name.clone(),
                    description: s.description.clone(),
                    env: s.env.clone().unwrap_or(implicit),
                });
            } else {
                out.values.insert(name.clone(), Value::Null);
            }
            continue;
        };
        if s.secret {
            out.secrets.push(text_of(&raw));
        }
        match typed::typed_value(s, &raw) {
            Ok(v) => {
                if s.secret && v != raw {
                    out.secrets.push(text_of(&v));
                }
                out.values.insert(name.clone(), v);
            }
            Err(Mismatch {
                expected,
                found,
                hint,
            }) => errors.push(SettingsError::Invalid {
                name: name.clone(),
                origin: source,
                expected,
                found: (!s.secret).then_some(found),
                hint,
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The number a numeric key holds for this instance: the number written in the connector, or
/// the value of the setting it names (`limit: "{{settings.page_size}}"`), which must be at
/// least `floor`. `location` is the key's path, for messages.
pub fn settable<T: Settable>(
    location: &str,
    v: &SettingOr<T>,
    settings: &Value,
    floor: Floor,
) -> Result<T, EngineError> {
    let name = match v {
        SettingOr::Value(n) if floor.allows(n.as_f64()) => return Ok(*n),
        SettingOr::Value(n) => {
            return Err(EngineError::Config(format!(
                "`{location}` is {n}, but it {}",
                floor.rule()
            )));
        }
        SettingOr::Setting(name) => name,
    };
    let value = settings.get(name).unwrap_or(&Value::Null);
    if value.is_null() {
        return Err(EngineError::Settings(format!(
            "`{location}` reads setting `{name}`, which has no value: supply one (`--set {name}=VALUE`) or give the setting a `default`"
        )));
    }
    match T::from_json(value) {
        Some(n) if floor.allows(n.as_f64()) => Ok(n),
        Some(n) => Err(EngineError::Settings(format!(
            "setting `{name}` is {n}, but `{location}` reads it and {}: supply another value{}",
            floor.rule(),
            match floor {
                Floor::One => format!(
                    " (declare `min: 1` on `settings.{name}` so such values are refused where they are given)"
                ),
                _ => String::new(),
            }
        ))),
        None => Err(EngineError::Settings(format!(
            "`{location}` reads setting `{name}`, which is {} here; expected {}",
            typed::describe(value),
            T::EXPECTED
        ))),
    }
}

/// A value as text, for redaction.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
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

    fn typed_connector() -> Connector {
        wsc_spec::load_bytes(
            br#"connector: t
settings:
  page_size: { type: int, default: 100, min: 1, max: 1000 }
  force_change: { default: false }
  region: { enum: [eu, us], default: eu }
  tenant: { pattern: "[a-z0-9-]+", example: acme-prod }
  groups: { type: list, default: [] }
  pin: { type: int, secret: true, required: false }
base_url: "http://x"
"#,
            "t.yaml",
            std::path::Path::new("."),
        )
        .unwrap()
        .connector
    }

    #[test]
    fn text_is_read_into_the_declared_type() {
        let c = typed_connector();
        let set: IndexMap<String, Value> = [
            ("page_size", "25"),
            ("force_change", "true"),
            ("tenant", "acme-prod"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
        let env = |k: &str| match k {
            "WSC_GROUPS" => Some("g1, g2".to_string()),
            "WSC_PIN" => Some("0042".to_string()),
            _ => None,
        };
        let r = resolve(&c, &set, &IndexMap::new(), &env).unwrap();
        assert_eq!(r.get("page_size").unwrap(), &serde_json::json!(25));
        assert_eq!(r.get("force_change").unwrap(), &Value::Bool(true));
        assert_eq!(r.get("region").unwrap(), "eu");
        assert_eq!(r.get("groups").unwrap(), &serde_json::json!(["g1", "g2"]));
        assert_eq!(r.get("pin").unwrap(), &serde_json::json!(42));
        assert_eq!(r.secrets(), ["0042", "42"]);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_source() {
        let c = typed_connector();
        let set: IndexMap<String, Value> = [("page_size", "abc"), ("tenant", "Acme Prod")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect();
        let file: IndexMap<String, Value> = [
            ("force_change".to_string(), serde_json::json!(1)),
            ("region".to_string(), serde_json::json!("apac")),
        ]
        .into_iter()
        .collect();
        let file_source = Source::File("s.yaml".into());
        let env = |k: &str| (k == "WSC_PIN").then(|| "12a4".to_string());
        let errs = resolve_from(
            &c,
            &[
                Supplied {
                    source: &Source::Set,
                    values: &set,
                },
                Supplied {
                    source: &file_source,
                    values: &file,
                },
            ],
            &env,
        )
        .unwrap_err();
        let texts: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 5, "{texts:#?}");
        assert!(
            texts[0]
                .starts_with("invalid value for setting `page_size` (from `--set page_size=...`)"),
            "{}",
            texts[0]
        );
        assert!(
            texts[0].contains("expected: a whole number (`int` setting)"),
            "{}",
            texts[0]
        );
        assert!(texts[0].contains("found: `abc`"), "{}", texts[0]);
        assert!(
            texts[1].contains("(from the settings file s.yaml, key `force_change`)"),
            "{}",
            texts[1]
        );
        assert!(texts[1].contains("found: the number `1`"), "{}", texts[1]);
        assert!(
            texts[2].contains("expected: one of `eu`, `us`"),
            "{}",
            texts[2]
        );
        assert!(
            texts[3].contains("a value matching `[a-z0-9-]+`"),
            "{}",
            texts[3]
        );
        assert!(
            texts[3].contains("help: for example `acme-prod`"),
            "{}",
            texts[3]
        );
        assert!(
            texts[4].contains("(from the environment variable WSC_PIN)"),
            "{}",
            texts[4]
        );
        assert!(
            !texts[4].contains("12a4"),
            "a secret is shown: {}",
            texts[4]
        );
        assert!(texts[4].contains("not shown"), "{}", texts[4]);
    }
}
