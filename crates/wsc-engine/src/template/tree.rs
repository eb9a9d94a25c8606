//! Template trees: JSON bodies (and `changes` items) whose string leaves are templates.

use serde_json::Value;

use super::{Escape, Template, TemplateError, Templates};

/// A template tree: a JSON body whose string leaves are templates.
#[derive(Debug, Clone)]
pub enum TemplateTree {
    /// A constant.
    Const(Value),
    /// A template leaf.
    Leaf(Template),
    /// A list.
    Array(Vec<TemplateTree>),
    /// A mapping.
    Object(Vec<(String, TemplateTree)>),
}

impl TemplateTree {
    pub(crate) fn compile(
        t: &mut Templates,
        location: &str,
        v: &Value,
    ) -> Result<TemplateTree, TemplateError> {
        Ok(match v {
            Value::String(s) if s.contains("{{") => {
                TemplateTree::Leaf(t.compile(location, s, Escape::None)?)
            }
            Value::Array(a) => TemplateTree::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| TemplateTree::compile(t, &format!("{location}[{i}]"), x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => TemplateTree::Object(
                o.iter()
                    .map(|(k, x)| {
                        Ok((
                            k.clone(),
                            TemplateTree::compile(t, &format!("{location}.{k}"), x)?,
                        ))
                    })
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => TemplateTree::Const(other.clone()),
        })
    }

    /// Renders the tree: each leaf on its own, single-expression leaves keep their type. An
    /// `{{optional x}}` leaf whose value is absent or null is left out of its object or list.
    pub fn render(&self, t: &Templates, ctx: &Value) -> Result<Value, TemplateError> {
        Ok(self.render_opt(t, ctx)?.unwrap_or(Value::Null))
    }

    fn render_opt(&self, t: &Templates, ctx: &Value) -> Result<Option<Value>, TemplateError> {
        Ok(Some(match self {
            TemplateTree::Const(v) => v.clone(),
            TemplateTree::Leaf(tpl) => {
                let v = t.render_value(tpl, ctx)?;
                if tpl.is_optional() && v.is_null() {
                    return Ok(None);
                }
                v
            }
            TemplateTree::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for x in a {
                    out.extend(x.render_opt(t, ctx)?);
                }
                Value::Array(out)
            }
            TemplateTree::Object(o) => {
                let mut out = serde_json::Map::with_capacity(o.len());
                for (k, x) in o {
                    if let Some(v) = x.render_opt(t, ctx)? {
                        out.insert(k.clone(), v);
                    }
                }
                Value::Object(out)
            }
        }))
    }
}
