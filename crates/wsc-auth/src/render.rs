//! Rendering the templates of token requests.
//!
//! wsc-auth does not depend on the engine's Handlebars setup; the engine passes an
//! implementation of [`Render`] that uses it. [`SimpleRender`] substitutes `{{a.b}}`
//! placeholders and serves tests and callers without Handlebars.

use serde_json::Value;

use crate::error::AuthError;

/// Renders a template string against a JSON context (`settings`, `auth`, `now`).
pub trait Render: Send + Sync {
    /// Renders `template` to a string; `location` (a key path such as `auth.token_url`) names
    /// it in errors.
    fn render(&self, location: &str, template: &str, ctx: &Value) -> Result<String, AuthError>;

    /// Renders `template` to a JSON value: a template that is exactly one `{{path}}` keeps the
    /// JSON type of the value, anything else is a string.
    fn render_value(
        &self,
        location: &str,
        template: &str,
        ctx: &Value,
    ) -> Result<Value, AuthError> {
        self.render(location, template, ctx).map(Value::String)
    }
}

/// `{{a.b.c}}` substitution without helpers. A missing value is an error naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimpleRender;

fn lookup<'v>(ctx: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(ctx, |v, k| match v {
        Value::Object(m) => m.get(k),
        Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Render for SimpleRender {
    fn render(&self, location: &str, template: &str, ctx: &Value) -> Result<String, AuthError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(AuthError::Config(format!(
                    "template `{location}`: unclosed `{{{{`"
                )));
            };
            let path = after[..end].trim();
            let v = lookup(ctx, path).ok_or_else(|| {
                AuthError::Config(format!(
                    "template `{location}`: no value for `{path}` (is the setting set?)"
                ))
            })?;
            out.push_str(&to_text(v));
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn render_value(
        &self,
        location: &str,
        template: &str,
        ctx: &Value,
    ) -> Result<Value, AuthError> {
        let t = template.trim();
        if let Some(inner) = t.strip_prefix("{{").and_then(|s| s.strip_suffix("}}"))
            && !inner.contains("{{")
            && !inner.contains("}}")
        {
            let path = inner.trim();
            return lookup(ctx, path).cloned().ok_or_else(|| {
                AuthError::Config(format!("template `{location}`: no value for `{path}`"))
            });
        }
        self.render(location, template, ctx).map(Value::String)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitutes_and_reports_missing() {
        let ctx = json!({"settings": {"a": "x", "n": 3}});
        let r = SimpleRender;
        assert_eq!(
            r.render("l", "p{{settings.a}}-{{ settings.n }}", &ctx)
                .unwrap(),
            "px-3"
        );
        assert_eq!(
            r.render_value("l", "{{settings.n}}", &ctx).unwrap(),
            json!(3)
        );
        let e = r
            .render("auth.client_id", "{{settings.b}}", &ctx)
            .unwrap_err();
        assert!(e.to_string().contains("settings.b"), "{e}");
    }
}
