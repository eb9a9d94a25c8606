//! Typed setting values: reading a value into a setting's type and checking it against the
//! setting's constraints (`enum`, `pattern`, `min`, `max`).
//!
//! One rule for every source: text (`--set`, environment variables, a quoted string in a
//! settings file or a `default`) is read into the setting's type; a value that already has a
//! type (a YAML or JSON number, boolean, list or mapping) must have the setting's type. A
//! `string` setting takes only text, so a YAML `tenant: 01234` (read as the number 1234) is an
//! error rather than a silently different value. Used when a connector loads (defaults, `enum`
//! values) and when settings are resolved for a run (every supplied value).

use serde_json::Value;

use crate::model::{Setting, SettingType};

/// A value that does not fit a setting: what was expected, what was found, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What the setting takes, e.g. "a whole number (`int` setting)".
    pub expected: String,
    /// What was given, quoting the value, e.g. "`abc`" (callers leave it out for secrets).
    pub found: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Mismatch {
    fn new(expected: impl Into<String>, found: String) -> Mismatch {
        Mismatch {
            expected: expected.into(),
            found,
            hint: None,
        }
    }

    fn hint(mut self, h: impl Into<String>) -> Mismatch {
        self.hint = Some(h.into());
        self
    }
}

/// What a type takes, for messages: "a whole number (`int` setting)".
pub fn expected_for(ty: SettingType) -> String {
    let what = match ty {
        SettingType::String => "text",
        SettingType::Bool => "`true` or `false`",
        SettingType::Int => "a whole number",
        SettingType::Number => "a number",
        SettingType::List => "a list",
        SettingType::Object => "a mapping",
    };
    format!("{what} (`{ty}` setting)")
}

/// A value as messages quote it: text in backquotes, numbers and booleans by kind and value,
/// lists and mappings by kind only.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => format!("`{}`", shorten(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Reads text (`--set`, an environment variable) into a value of type `ty`.
pub fn parse_text(ty: SettingType, text: &str) -> Result<Value, Mismatch> {
    let found = || format!("`{}`", shorten(text));
    let t = text.trim();
    match ty {
        SettingType::String => Ok(Value::String(text.to_string())),
        SettingType::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "off" | "0" => Ok(Value::Bool(false)),
            _ => Err(Mismatch::new(expected_for(ty), found())
                .hint("write `true` or `false` (also accepted: yes/no, on/off, 1/0)")),
        },
        SettingType::Int => {
            if let Ok(i) = t.parse::<i64>() {
                return Ok(i.into());
            }
            if let Ok(u) = t.parse::<u64>() {
                return Ok(u.into());
            }
            let m = Mismatch::new(expected_for(ty), found());
            Err(if t.parse::<f64>().is_ok() {
                m.hint("an `int` setting takes whole numbers only; declare `type: number` for decimals")
            } else {
                m.hint("write the number in decimal digits, e.g. `200`")
            })
        }
        SettingType::Number => {
            if let Ok(i) = t.parse::<i64>() {
                return Ok(i.into());
            }
            match t.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Some(n) if !t.is_empty() => Ok(Value::Number(n)),
                _ => Err(Mismatch::new(expected_for(ty), found())
                    .hint("write a number such as `2.5` or `10`")),
            }
        }
        SettingType::List => {
            if t.starts_with('[') {
                return match serde_json::from_str::<Value>(t) {
                    Ok(v @ Value::Array(_)) => Ok(v),
                    Ok(_) | Err(_) => Err(Mismatch::new(expected_for(ty), found()).hint(
                        "a value starting with `[` is read as a JSON array, e.g. `[\"a\",\"b\"]`; check its syntax",
                    )),
                };
            }
            Ok(Value::Array(
                t.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ))
        }
        SettingType::Object => match serde_json::from_str::<Value>(t) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(Mismatch::new(expected_for(ty), found())
                .hint("write a JSON object, e.g. `{\"region\":\"eu\"}`")),
        },
    }
}

/// Reads any value into type `ty`: text is parsed ([`parse_text`]), other values must already
/// have the type.
pub fn coerce(ty: SettingType, v: &Value) -> Result<Value, Mismatch> {
    if let Value::String(s) = v {
        return parse_text(ty, s);
    }
    let fits = match ty {
        SettingType::String => false,
        SettingType::Bool => v.is_boolean(),
        SettingType::Int => v.is_i64() || v.is_u64(),
        SettingType::Number => v.is_number(),
        SettingType::List => v.is_array(),
        SettingType::Object => v.is_object(),
    };
    if fits {
        return Ok(v.clone());
    }
    let m = Mismatch::new(expected_for(ty), describe(v));
    Err(match (ty, v) {
        (SettingType::String, Value::Number(_) | Value::Bool(_)) => {
            m.hint("quote the value (`\"01234\"`) so YAML reads it as text, or declare the setting's `type`")
        }
        (SettingType::Int, Value::Number(_)) => {
            m.hint("an `int` setting takes whole numbers only; declare `type: number` for decimals")
        }
        (_, Value::Null) => m.hint("give a value, or remove the key to leave the setting unset"),
        _ => m,
    })
}

/// Compiles a `pattern`: the whole value must match, so it is anchored at both ends.
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
}

/// Checks a value (already of the setting's type) against `enum`, `pattern`, `min` and `max`.
pub fn check(s: &Setting, v: &Value) -> Result<(), Mismatch> {
    if let Some(allowed) = &s.allowed
        && !allowed.iter().any(|a| same(a, v))
    {
        let list: Vec<String> = allowed
            .iter()
            .map(|a| match a {
                Value::String(t) => format!("`{t}`"),
                other => format!("`{other}`"),
            })
            .collect();
        let mut m = Mismatch::new(format!("one of {}", list.join(", ")), describe(v));
        if let Some(text) = v.as_str()
            && let Some(best) =
                crate::diagnostic::did_you_mean(text, allowed.iter().filter_map(Value::as_str))
        {
            m = m.hint(format!("did you mean `{best}`?"));
        }
        return Err(m);
    }
    if let (Some(p), Some(text)) = (&s.pattern, v.as_str())
        && let Ok(re) = compile_pattern(p)
        && !re.is_match(text)
    {
        let mut m = Mismatch::new(format!("a value matching `{p}`"), describe(v));
        if let Some(e) = &s.example {
            m = m.hint(format!("for example `{e}`"));
        }
        return Err(m);
    }
    if let Some(n) = v.as_f64() {
        let below = s.min.is_some_and(|min| n < min);
        let above = s.max.is_some_and(|max| n > max);
        if below || above {
            let expected = match (s.min, s.max) {
                (Some(min), Some(max)) => format!("a number from {min} to {max}"),
                (Some(min), None) => format!("a number of at least {min}"),
                (None, max) => format!("a number of at most {}", max.unwrap_or_default()),
            };
            return Err(Mismatch::new(expected, describe(v)));
        }
    }
    Ok(())
}

/// Equal values, numbers compared by value (`5` equals `5.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

/// Reads `v` into the setting's type and checks its constraints.
pub fn typed_value(s: &Setting, v: &Value) -> Result<Value, Mismatch> {
    let typed = coerce(s.value_type(), v)?;
    check(s, &typed)?;
    Ok(typed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn setting(yaml: &str) -> Setting {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn text_is_read_into_each_type() {
        use SettingType as T;
        assert_eq!(parse_text(T::Bool, "TRUE").unwrap(), json!(true));
        assert_eq!(parse_text(T::Bool, "no").unwrap(), json!(false));
        assert_eq!(parse_text(T::Bool, "0").unwrap(), json!(false));
        assert!(parse_text(T::Bool, "maybe").is_err());
        assert_eq!(parse_text(T::Int, " 25 ").unwrap(), json!(25));
        assert_eq!(parse_text(T::Int, "-3").unwrap(), json!(-3));
        let e = parse_text(T::Int, "2.5").unwrap_err();
        assert!(e.hint.unwrap().contains("type: number"));
        assert!(parse_text(T::Int, "abc").is_err());
        assert!(parse_text(T::Int, "").is_err());
        assert_eq!(parse_text(T::Number, "2.5").unwrap(), json!(2.5));
        assert_eq!(parse_text(T::Number, "10").unwrap(), json!(10));
        assert!(parse_text(T::Number, "NaN").is_err());
        assert!(parse_text(T::Number, "").is_err());
        assert_eq!(
            parse_text(T::List, "a, b,,c").unwrap(),
            json!(["a", "b", "c"])
        );
        assert_eq!(parse_text(T::List, "").unwrap(), json!([]));
        assert_eq!(parse_text(T::List, "[1, \"x\"]").unwrap(), json!([1, "x"]));
        assert!(parse_text(T::List, "[1,").is_err());
        assert_eq!(parse_text(T::Object, "{\"a\":1}").unwrap(), json!({"a": 1}));
        assert!(parse_text(T::Object, "a=1").is_err());
        assert_eq!(parse_text(T::String, " x ").unwrap(), json!(" x "));
    }

    #[test]
    fn typed_values_must_have_the_type() {
        use SettingType as T;
        assert_eq!(coerce(T::Int, &json!(5)).unwrap(), json!(5));
        assert_eq!(coerce(T::Int, &json!("5")).unwrap(), json!(5));
        assert!(coerce(T::Int, &json!(5.5)).is_err());
        assert_eq!(coerce(T::Number, &json!(5)).unwrap(), json!(5));
        let e = coerce(T::String, &json!(1234)).unwrap_err();
        assert_eq!(e.found, "the number `1234`");
        assert!(e.hint.unwrap().contains("quote"));
        assert!(coerce(T::Bool, &Value::Null).is_err());
        assert!(coerce(T::List, &json!({"a": 1})).is_err());
    }

    #[test]
    fn constraints() {
        let s = setting("{ type: string, enum: [eu, us] }");
        assert!(typed_value(&s, &json!("eu")).is_ok());
        let e = typed_value(&s, &json!("apac")).unwrap_err();
        assert_eq!(e.expected, "one of `eu`, `us`");
        assert_eq!(e.found, "`apac`");
        assert_eq!(
            typed_value(&s, &json!("EU")).unwrap_err().hint.as_deref(),
            Some("did you mean `eu`?")
        );
        let s = setting("{ pattern: \"[a-z]+\", example: acme }");
        assert!(typed_value(&s, &json!("acme")).is_ok());
        let e = typed_value(&s, &json!("acme-1")).unwrap_err();
        assert_eq!(e.expected, "a value matching `[a-z]+`");
        assert_eq!(e.hint.as_deref(), Some("for example `acme`"));
        let s = setting("{ default: 100, min: 1, max: 1000 }");
        assert_eq!(typed_value(&s, &json!("5")).unwrap(), json!(5));
        let e = typed_value(&s, &json!(0)).unwrap_err();
        assert_eq!(e.expected, "a number from 1 to 1000");
        let s = setting("{ type: number, enum: [1, 2.5] }");
        assert!(typed_value(&s, &json!("1.0")).is_ok());
    }
}
