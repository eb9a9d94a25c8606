//! `format: xml` steps of a multi-step operation: each XML step gets its own [`XmlPlan`],
//! and its XPaths (`records`, paging values, `save`, `merge.value`, error rules) become
//! fields of the JSON page made of each of its XML pages. The operation's mapping paths
//! (`identity`, `name`, `members`, attributes, `delta.deleted`) are read from the primary
//! step's records when that step is XML; an attribute whose path is exactly the `merge.into`
//! key of a `for_each` step reads the merged value.

use indexmap::IndexMap;
use serde_json::Value;
use wsc_spec::model::{Attribute, BodyFormat, JsonPath, Namespaces, Operation, PageValue, Step};

use super::{DELETED, Derived, Field, RECORDS, XmlPlan, compile, container_of, quote};
use crate::error::EngineError;

/// The effective format of a step: its own, else the operation's.
fn is_xml(op: &Operation, s: &Step) -> bool {
    BodyFormat::is_xml(&s.format.or(op.format))
}

/// [`super::derive`] for a multi-step operation: the operation rewritten, and the plan of
/// each step (`None` for a JSON step). `None` when no step is XML.
pub(super) fn derive_steps(
    loc: &str,
    op: &Operation,
    namespaces: &Namespaces,
) -> Result<Option<Derived>, EngineError> {
    if !op.steps.iter().any(|s| is_xml(op, s)) {
        return Ok(None);
    }
    let primary = op.steps.iter().rposition(|s| s.for_each.is_none());
    let intos: Vec<String> = op
        .steps
        .iter()
        .filter_map(|s| s.merge.as_ref().map(|m| m.into.clone()))
        .collect();
    let mut out = op.clone();
    out.format = None;
    let mut plans = Vec::with_capacity(op.steps.len());
    for (i, s) in op.steps.iter().enumerate() {
        out.steps[i].format = None;
        if !is_xml(op, s) {
            plans.push(None);
            continue;
        }
        let sloc = format!("{loc}.steps[{i}]");
        let mut ns: IndexMap<String, String> = namespaces.map().clone();
        ns.extend(op.namespaces.map().clone());
        ns.extend(s.namespaces.map().clone());
        let mut fields: Vec<Field> = Vec::new();
        let mut field =
            |key: String, src: &JsonPath, multi: bool| -> Result<JsonPath, EngineError> {
                fields.push(Field {
                    expr: compile(&format!("{sloc}: {key}"), src.as_str())?,
                    key: key.clone(),
                    multi,
                });
                let p = quote(&key);
                Ok(if multi {
                    JsonPath(format!("{}[*]", p.0))
                } else {
                    p
                })
            };
        if Some(i) == primary {
            for (k, p, multi) in [
                ("identity", &mut out.identity, false),
                ("name", &mut out.name, false),
                ("members", &mut out.members, true),
            ] {
                if let Some(src) = p.clone() {
                    *p = Some(field(format!("{k}={}", src.as_str()), &src, multi)?);
                }
            }
            if let Some(d) = out.delta.as_mut()
                && let Some(src) = d.deleted.clone()
            {
                d.deleted = Some(field(format!("{DELETED}{}", src.as_str()), &src, false)?);
            }
            for (name, a) in out.attributes.iter_mut() {
                let (src, multi) = match a {
                    Attribute::Path(src) => (src.clone(), false),
                    Attribute::Full(def) => match &def.path {
                        Some(src) => (src.clone(), def.multi),
                        None => continue,
                    },
                };
                // A merged value is in the record under its `merge.into` key, not in the XML.
                let path = if intos.iter().any(|k| k == src.as_str()) {
                    let q = quote(src.as_str());
                    if multi {
                        JsonPath(format!("{}[*]", q.0))
                    } else {
                        q
                    }
                } else {
                    field(name.clone(), &src, multi)?
                };
                match a {
                    Attribute::Path(p) => *p = path,
                    Attribute::Full(def) => def.path = Some(path),
                }
            }
            if out.records.is_some() {
                out.records = Some(JsonPath(format!("$.{RECORDS}[*]")));
            }
        }
        let st = &mut out.steps[i];
        st.namespaces = Namespaces::default();
        if let Some(m) = st.merge.as_mut() {
            // Without `merge.value`, the record's text.
            let src = m.value.clone().unwrap_or_else(|| JsonPath(".".into()));
            m.value = Some(field(format!("value={}", src.as_str()), &src, false)?);
        }
        let records_src = s.records.as_ref().map_or("/*", |r| r.as_str()).to_string();
        st.records = Some(JsonPath(format!("$.{RECORDS}[*]")));
        let mut page = Vec::new();
        let mut total = None;
        let mut page_field = |key: String, l: String, src: &str| -> Result<JsonPath, EngineError> {
            page.push(Field {
                expr: compile(&l, src)?,
                key: key.clone(),
                multi: false,
            });
            Ok(quote(&key))
        };
        if let Some(p) = st.paging.as_mut() {
            for (k, v) in [
                ("total", &mut p.total),
                ("cursor", &mut p.cursor),
                ("next_url", &mut p.next_url),
            ] {
                if let Some(PageValue::Body(src)) = v.clone() {
                    let key = format!("{k}={}", src.as_str());
                    let q = page_field(key.clone(), format!("{sloc}.paging.{k}"), src.as_str())?;
                    if k == "total" {
                        total = Some(key);
                    }
                    *v = Some(PageValue::Body(q));
                }
            }
        }
        for (k, p) in st.save.iter_mut() {
            let key = format!("save={}", p.as_str());
            *p = page_field(key, format!("{sloc}.save.{k}"), &p.0.clone())?;
        }
        let mut rules: Vec<(String, Option<Value>)> = Vec::new();
        for (r_i, r) in st.errors.iter_mut().enumerate() {
            for (k, p) in [("error", &mut r.path), ("message", &mut r.message)] {
                if let Some(src) = p.clone() {
                    let key = format!("{k}={}", src.as_str());
                    *p = Some(page_field(
                        key.clone(),
                        format!("{sloc}.errors[{r_i}].{k}"),
                        src.as_str(),
                    )?);
                    if k == "error" {
                        rules.push((key, r.equals.clone()));
                    }
                }
            }
        }
        plans.push(Some(XmlPlan {
            namespaces: ns.into_iter().collect(),
            records: compile(&format!("{sloc}.records"), &records_src)?,
            container: container_of(&records_src)
                .map(|c| compile(&format!("{sloc}.records"), &c))
                .transpose()?,
            records_optional: s.records_optional,
            fields,
            page,
            total,
            rules,
        }));
    }
    Ok(Some((out, plans)))
}
