//! Settings: names, environment variables, types, defaults and constraints; numeric keys that
//! read a setting (`limit: "{{settings.page_size}}"`).

use crate::diagnostic::Diagnostic;
use crate::locate::{join_index, join_key};
use crate::model::{Floor, Settable, Setting, SettingOr, SettingType};
use crate::typed::{self, Mismatch};

use super::validator::{Validator, is_identifier};

impl Validator<'_> {
    pub(super) fn settings(&mut self) {
        for (sname, s) in &self.c.settings {
            let p = join_key("settings", sname);
            if !is_identifier(sname) {
                self.error(
                    &p,
                    format!("invalid setting name `{sname}`"),
                    Some("use letters, digits and `_`, starting with a letter; templates read it as `settings.NAME`".into()),
                );
            }
            if s.secret && s.default.is_some() {
                self.error(
                    &join_key(&p, "default"),
                    format!("secret setting `{sname}` has a default value in the file"),
                    Some(format!(
                        "secrets never go in connector files: remove `default` and supply it with `--set {sname}=...` or the WSC_{} environment variable",
                        sname.to_ascii_uppercase()
                    )),
                );
            }
            if let Some(env) = &s.env
                && (env.is_empty()
                    || !env
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
            {
                self.error(
                    &join_key(&p, "env"),
                    format!("invalid environment variable name `{env}`"),
                    Some("use letters, digits and `_`".into()),
                );
            }
            self.setting_constraints(&p, sname, s);
        }
    }

    /// `enum`, `pattern`, `min` and `max` suit the setting's type, and `default` fits it.
    fn setting_constraints(&mut self, p: &str, sname: &str, s: &Setting) {
        let ty = s.value_type();
        let mut sound = true;
        let not_for = |v: &mut Self, key: &str, takes: &str| {
            v.push(
                &join_key(p, key),
                Diagnostic::error(format!(
                    "`{key}` does not apply to `{ty}` settings such as `{sname}`"
                ))
                .hint(format!(
                    "`{key}` constrains {takes} settings; declare the setting's `type` if it is one"
                )),
            );
        };
        if let Some(allowed) = &s.allowed {
            if !matches!(
                ty,
                SettingType::String | SettingType::Int | SettingType::Number
            ) {
                not_for(self, "enum", "`string`, `int` and `number`");
                sound = false;
            } else if allowed.is_empty() {
                self.error(
                    &join_key(p, "enum"),
                    "`enum` lists no values, so no value would be allowed",
                    Some("list the allowed values, or remove `enum`".into()),
                );
                sound = false;
            }
            for (i, a) in allowed.iter().enumerate() {
                if let Err(m) = typed::coerce(ty, a) {
                    let path = join_index(&join_key(p, "enum"), i);
                    self.mismatch(
                        &path,
                        format!("`enum` value of setting `{sname}` is not of its type"),
                        m,
                    );
                    sound = false;
                }
            }
        }
        if let Some(pattern) = &s.pattern {
            if ty != SettingType::String {
                not_for(self, "pattern", "`string`");
                sound = false;
            } else if let Err(e) = typed::compile_pattern(pattern) {
                let why = e
                    .to_string()
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("error: ").map(str::to_string))
                    .unwrap_or_else(|| e.to_string());
                self.push(
                    &join_key(p, "pattern"),
                    Diagnostic::error(format!("`pattern` of setting `{sname}` is not a valid regular expression: {why}"))
                        .found(format!("`{pattern}`"))
                        .hint("write a regular expression (Rust `regex` syntax) that the whole value must match, e.g. `[a-z0-9-]+`"),
                );
                sound = false;
            }
        }
        for (key, bound) in [("min", s.min), ("max", s.max)] {
            let Some(b) = bound else { continue };
            if !matches!(ty, SettingType::Int | SettingType::Number) {
                not_for(self, key, "`int` and `number`");
                sound = false;
            } else if !b.is_finite() {
                self.error(
                    &join_key(p, key),
                    format!("`{key}` must be a finite number"),
                    None,
                );
                sound = false;
            }
        }
        if let (Some(min), Some(max)) = (s.min, s.max)
            && min > max
        {
            self.error(
                &join_key(p, "max"),
                format!("`max` ({max}) of setting `{sname}` is smaller than its `min` ({min}), so no value would be allowed"),
                Some("swap the bounds".into()),
            );
            sound = false;
        }
        if sound
            && !s.secret
            && let Some(d) = &s.default
            && let Err(m) = typed::typed_value(s, d)
        {
            self.mismatch(
                &join_key(p, "default"),
                format!("the default of setting `{sname}` does not fit it"),
                m,
            );
        }
    }

    fn mismatch(&mut self, path: &str, message: String, m: Mismatch) {
        let mut d = Diagnostic::error(message)
            .expected(m.expected)
            .found(m.found);
        d.hint = m.hint;
        self.push(path, d);
    }

    /// A numeric key: a number within `floor`, or `{{settings.NAME}}` naming a declared
    /// setting of a suitable type that always has a value.
    pub(super) fn settable<T: Settable>(&mut self, path: &str, v: &SettingOr<T>, floor: Floor) {
        let key = path.rsplit('.').next().unwrap_or(path);
        let name = match v {
            SettingOr::Value(n) => {
                if !floor.allows(n.as_f64()) {
                    self.error(path, format!("`{key}` {}", floor.rule()), None);
                }
                return;
            }
            SettingOr::Setting(name) => name,
        };
        let Some(s) = self.c.settings.get(name) else {
            self.setting_ref(path, name);
            return;
        };
        let ty = s.value_type();
        if !T::SETTING_TYPES.contains(&ty) {
            let wanted: Vec<String> = T::SETTING_TYPES.iter().map(|t| format!("`{t}`")).collect();
            self.push(
                path,
                Diagnostic::error(format!(
                    "`{key}` reads setting `{name}`, which is a `{ty}` setting"
                ))
                .expected(format!("a setting of type {}", wanted.join(" or ")))
                .found(format!("`{ty}`"))
                .hint(format!(
                    "declare `type: {}` on `settings.{name}`, so its values are checked where they are given",
                    T::SETTING_TYPES[0]
                )),
            );
            return;
        }
        if s.may_be_absent() {
            self.error(
                path,
                format!("`{key}` reads setting `{name}`, which may have no value (`required: false` and no `default`)"),
                Some(format!("give `settings.{name}` a `default`, or let it be required")),
            );
        }
        if let Some(d) = s.default.as_ref().and_then(T::from_json)
            && !floor.allows(d.as_f64())
        {
            self.error(
                &join_key(&join_key("settings", name), "default"),
                format!(
                    "the default of setting `{name}` is {d}, but `{key}` (at `{path}`) {}",
                    floor.rule()
                ),
                None,
            );
        }
    }
}
