//! The JSONPath subset token responses need: `$`, `.name`, `['name']`, `["name"]` and `[index]`.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path of the supported subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimplePath {
    source: String,
    steps: Vec<Step>,
}

impl SimplePath {
    /// Parses `$.a.b[0]['c d']`. Filters, wildcards and recursive descent are not supported:
    /// a token field is one value.
    pub fn parse(src: &str) -> Result<SimplePath, String> {
        let s = src.trim();
        let mut rest = s
            .strip_prefix('$')
            .ok_or_else(|| format!("`{src}` must start with `$`"))?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let key = &r[..end];
                if key.is_empty() || key == "*" {
                    return Err(format!("`{src}`: expected a field name after `.`"));
                }
                steps.push(Step::Key(key.to_string()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r
                    .find(']')
                    .ok_or_else(|| format!("`{src}`: unclosed `[`"))?;
                let inner = r[..end].trim();
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|x| x.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|x| x.strip_suffix('"')));
                if let Some(k) = quoted {
                    steps.push(Step::Key(k.to_string()));
                } else if let Ok(i) = inner.parse::<usize>() {
                    steps.push(Step::Index(i));
                } else {
                    return Err(format!(
                        "`{src}`: `[{inner}]` is not supported in a token field path (use a name or an index)"
                    ));
                }
                rest = &r[end + 1..];
            } else {
                return Err(format!("`{src}`: unexpected `{rest}`"));
            }
        }
        Ok(SimplePath {
            source: s.to_string(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The value at this path, if any (`null` counts as absent).
    pub fn select<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        let found = self.steps.iter().try_fold(v, |v, step| match (step, v) {
            (Step::Key(k), Value::Object(m)) => m.get(k),
            (Step::Index(i), Value::Array(a)) => a.get(*i),
            _ => None,
        })?;
        (!found.is_null()).then_some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects() {
        let v = json!({"data": {"tokens": [{"access": "a"}], "x y": 1}});
        let p = SimplePath::parse("$.data.tokens[0].access").unwrap();
        assert_eq!(p.select(&v), Some(&json!("a")));
        let p = SimplePath::parse("$['data'][\"x y\"]").unwrap();
        assert_eq!(p.select(&v), Some(&json!(1)));
        assert!(SimplePath::parse("$.a[?(@.x)]").is_err());
        assert!(SimplePath::parse("a.b").is_err());
        assert_eq!(SimplePath::parse("$.nope").unwrap().select(&v), None);
    }
}
