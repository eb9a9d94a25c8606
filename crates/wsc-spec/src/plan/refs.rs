//! References between the requests of a plan: `{{requests.<name>.identity}}` (and `.name`,
//! `.attributes.<attribute>`) in a later request's `identity`, `attributes` and `values`. They
//! are checked when the plan loads (unknown names, forward references and anything else in
//! `{{ }}` are errors with locations) and replaced just before their request runs.

use indexmap::IndexMap;
use serde_json::Value;

use super::request::{AttributeChange, MultiChange, PlanRequest};
use crate::diagnostic::{Diagnostic, did_you_mean};

/// One `{{requests.<name>.<field>}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The request's `name`.
    pub request: String,
    /// The field: `["identity"]`, `["name"]` or `["attributes", "<attribute>"]`.
    pub field: Vec<String>,
}

impl Reference {
    /// `requests.<name>.<field>`.
    pub fn text(&self) -> String {
        format!("requests.{}.{}", self.request, self.field.join("."))
    }
}

/// What earlier named requests returned, for [`PlanRequest::resolve`]: per name, a JSON
/// object with `identity`, `name` and `attributes`. In a dry run nothing has returned yet:
/// [`Results::placeholders`] stands `<requests.<name>.<field>>` in for every value.
#[derive(Debug, Clone, Default)]
pub struct Results {
    map: IndexMap<String, Value>,
    placeholders: bool,
}

impl Results {
    /// Results that show every reference as `<requests.<name>.<field>>`.
    pub fn placeholders() -> Results {
        Results {
            map: IndexMap::new(),
            placeholders: true,
        }
    }

    /// Records what the request named `name` returned.
    pub fn insert(&mut self, name: &str, result: Value) {
        self.map.insert(name.to_string(), result);
    }

    fn value(&self, r: &Reference) -> Result<Value, String> {
        if self.placeholders {
            return Ok(Value::String(format!("<{}>", r.text())));
        }
        let result = self
            .map
            .get(&r.request)
            .ok_or_else(|| format!("request `{}` has not run", r.request))?;
        let mut v = result;
        for k in &r.field {
            v = match v.get(k) {
                Some(x) if !x.is_null() => x,
                _ => {
                    return Err(format!(
                        "`{{{{{}}}}}`: request `{}` returned no `{}`{}",
                        r.text(),
                        r.request,
                        r.field.join("."),
                        if r.field[0] == "attributes" {
                            " (attributes are known when its operation reads the object back or maps its response)"
                        } else {
                            ""
                        }
                    ));
                }
            };
        }
        Ok(v.clone())
    }
}

/// A `{{ ... }}` found in a plan value, by byte range; `Err` is why it is not a reference.
fn scan(s: &str) -> Vec<(std::ops::Range<usize>, Result<Reference, String>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(open) = s[at..].find("{{").map(|i| at + i) {
        let Some(close) = s[open..].find("}}").map(|i| open + i + 2) else {
            break;
        };
        let inner = s[open + 2..close - 2].trim();
        out.push((open..close, parse(inner)));
        at = close;
    }
    out
}

fn parse(inner: &str) -> Result<Reference, String> {
    let parts: Vec<&str> = inner.split('.').collect();
    if parts.first() != Some(&"requests") {
        return Err(format!(
            "`{{{{{inner}}}}}`: plan values are not templates; the only placeholders are `{{{{requests.<name>.identity}}}}`, `.name` and `.attributes.<attribute>` of an earlier request"
        ));
    }
    let ok_field = match parts.get(2..) {
        Some(["identity"]) | Some(["name"]) => true,
        Some(["attributes", a]) => !a.is_empty(),
        _ => false,
    };
    if parts.len() < 3 || parts[1].is_empty() || !ok_field {
        return Err(format!(
            "`{{{{{inner}}}}}`: expected `requests.<name>.identity`, `requests.<name>.name` or `requests.<name>.attributes.<attribute>`"
        ));
    }
    Ok(Reference {
        request: parts[1].to_string(),
        field: parts[2..].iter().map(|p| p.to_string()).collect(),
    })
}

/// Every string a reference may be in, with its key path inside the request.
fn strings(r: &PlanRequest) -> Vec<(String, &str)> {
    fn walk<'a>(path: String, v: &'a Value, out: &mut Vec<(String, &'a str)>) {
        match v {
            Value::String(s) => out.push((path, s)),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(format!("{path}[{i}]"), x, out);
                }
            }
            Value::Object(o) => {
                for (k, x) in o {
                    walk(format!("{path}.{k}"), x, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(id) = &r.identity {
        out.push(("identity".to_string(), id.as_str()));
    }
    for (k, c) in &r.attributes {
        let p = format!("attributes.{k}");
        match c {
            AttributeChange::Value(v) => walk(p, v, &mut out),
            AttributeChange::Multi(m) => {
                for (key, list) in [("add", &m.add), ("remove", &m.remove)] {
                    for (i, x) in list.iter().enumerate() {
                        walk(format!("{p}.{key}[{i}]"), x, &mut out);
                    }
                }
                if let Some(set) = &m.set {
                    for (i, x) in set.iter().enumerate() {
                        walk(format!("{p}.set[{i}]"), x, &mut out);
                    }
                }
            }
        }
    }
    for (i, x) in r.values.iter().enumerate() {
        walk(format!("values[{i}]"), x, &mut out);
    }
    out
}

/// Names (unique identifiers) and references (to earlier named requests) of a plan's
/// requests: each problem with its request's index and key path inside the request.
pub(super) fn check_references(requests: &[PlanRequest]) -> Vec<(usize, String, Diagnostic)> {
    let mut out = Vec::new();
    let mut names: IndexMap<&str, usize> = IndexMap::new();
    for (i, r) in requests.iter().enumerate() {
        if let Some(n) = &r.name {
            let valid = !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                out.push((
                    i,
                    "name".to_string(),
                    Diagnostic::error(format!("`{n}` is not a request name"))
                        .hint("use letters, digits, `_` and `-`, e.g. `name: new_user`"),
                ));
            } else if let Some(first) = names.get(n.as_str()) {
                out.push((
                    i,
                    "name".to_string(),
                    Diagnostic::error(format!(
                        "request name `{n}` is used twice (requests {} and {})",
                        first + 1,
                        i + 1
                    )),
                ));
            } else {
                names.insert(n, i);
            }
        }
    }
    for (i, r) in requests.iter().enumerate() {
        for (path, s) in strings(r) {
            for (_, found) in scan(s) {
                let problem = match found {
                    Err(m) => Some((m, None)),
                    Ok(re) => match names.get(re.request.as_str()) {
                        Some(&j) if j < i => None,
                        Some(&j) if j == i => Some((
                            format!("`{{{{{}}}}}` refers to this request itself", re.text()),
                            None,
                        )),
                        Some(&j) => Some((
                            format!(
                                "`{{{{{}}}}}` refers to request {} (`{}`), which runs after this one",
                                re.text(),
                                j + 1,
                                re.request
                            ),
                            Some(
                                "a request can use the results of earlier requests only"
                                    .to_string(),
                            ),
                        )),
                        None => Some((
                            format!(
                                "`{{{{{}}}}}`: no request is named `{}`",
                                re.text(),
                                re.request
                            ),
                            Some(match did_you_mean(&re.request, names.keys().copied()) {
                                Some(b) => format!("did you mean `{b}`?"),
                                None => format!("give the earlier request `name: {}`", re.request),
                            }),
                        )),
                    },
                };
                if let Some((message, hint)) = problem {
                    let mut d = Diagnostic::error(message);
                    if let Some(h) = hint {
                        d = d.hint(h);
                    }
                    out.push((i, path.clone(), d));
                }
            }
        }
    }
    out
}

/// `s` with its references replaced; a string that is exactly one reference takes the
/// referenced value with its JSON type.
fn resolve_str(s: &str, results: &Results) -> Result<Value, String> {
    let found = scan(s);
    if found.is_empty() {
        return Ok(Value::String(s.to_string()));
    }
    if found.len() == 1 && found[0].0 == (0..s.len()) {
        let re = found[0].1.clone()?;
        return results.value(&re);
    }
    let mut out = String::new();
    let mut at = 0;
    for (range, re) in found {
        out.push_str(&s[at..range.start]);
        let v = results.value(&re?)?;
        out.push_str(&match v {
            Value::String(x) => x,
            other => other.to_string(),
        });
        at = range.end;
    }
    out.push_str(&s[at..]);
    Ok(Value::String(out))
}

fn resolve_value(v: &Value, results: &Results) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => resolve_str(s, results)?,
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| resolve_value(x, results))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), resolve_value(x, results)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn resolve_list(list: &[Value], results: &Results) -> Result<Vec<Value>, String> {
    list.iter().map(|x| resolve_value(x, results)).collect()
}

impl PlanRequest {
    /// Whether any value of this request refers to an earlier request's result.
    pub fn has_references(&self) -> bool {
        strings(self).iter().any(|(_, s)| !scan(s).is_empty())
    }

    /// This request with every `{{requests.<name>...}}` replaced by what that request
    /// returned (or by a placeholder, see [`Results::placeholders`]).
    pub fn resolve(&self, results: &Results) -> Result<PlanRequest, String> {
        let mut r = self.clone();
        if let Some(id) = &self.identity {
            r.identity = Some(match resolve_str(id, results)? {
                Value::String(s) => s,
                other => other.to_string(),
            });
        }
        for (k, c) in r.attributes.iter_mut() {
            *c = match &self.attributes[k] {
                AttributeChange::Value(v) => AttributeChange::Value(resolve_value(v, results)?),
                AttributeChange::Multi(m) => AttributeChange::Multi(MultiChange {
                    add: resolve_list(&m.add, results)?,
                    remove: resolve_list(&m.remove, results)?,
                    set: m
                        .set
                        .as_ref()
                        .map(|s| resolve_list(s, results))
                        .transpose()?,
                }),
            };
        }
        r.values = resolve_list(&self.values, results)?;
        Ok(r)
    }
}
