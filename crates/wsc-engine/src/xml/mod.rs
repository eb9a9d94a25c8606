//! XML responses (`format: xml`): each page is checked against the limits (no DTD, so no
//! entity expansion and no external entities; nesting depth; node count), a SOAP fault in it
//! is reported, and its records and paging values are selected with XPath 1.0 and handed on
//! as a small JSON page, which the ordinary JSON pipeline reads (paging, completeness checks,
//! the mapper's typed conversions, duplicate checks).
//!
//! [`derive`] rewrites an XML operation at compile time: every XPath becomes a field of that
//! JSON page (`records` is the list of records; each record holds its attributes by name and
//! `identity=<xpath>`, `name=<xpath>`, ... for the other values), and the operation's JSONPaths
//! point at those fields. Such operations never take the compiled projection.

mod fault;
mod steps;
mod xpath;

use indexmap::IndexMap;
use serde_json::{Map, Value};
use sxd_xpath::Context;
use sxd_xpath::nodeset::Node;
use wsc_spec::model::{Attribute, BodyFormat, JsonPath, Namespaces, Operation, PageValue};

pub(crate) use fault::{is_sender_fault, soap_fault};
use xpath::XPathExpr;

use crate::error::EngineError;

/// Most nodes (elements, texts, comments) one XML page may hold: bounds the memory of a page
/// whatever its size.
pub const MAX_XML_NODES: u32 = 4_000_000;

/// The key of the records in the JSON page.
const RECORDS: &str = "records";
/// The start of the key of `delta.deleted` in a record.
const DELETED: &str = "deleted=";

/// The parsing options of every XML body: no DTD (a `<!DOCTYPE` is refused, so no entity is
/// ever expanded or fetched), at most [`MAX_XML_NODES`] nodes.
pub(crate) fn parse_options<'i>() -> roxmltree::ParsingOptions<'i> {
    roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..roxmltree::ParsingOptions::default()
    }
}

/// An operation rewritten to read JSON pages, and the plan of each of its steps (`None` for
/// a JSON step).
pub(crate) type Derived = (Operation, Vec<Option<XmlPlan>>);

/// One value selected by XPath into the JSON page.
#[derive(Debug, Clone)]
struct Field {
    key: String,
    expr: XPathExpr,
    multi: bool,
}

/// `delta.deleted`: a selected text counts as deleted when it is `true` or `1` (so
/// `@deleted` reading `false` is not deleted); a boolean expression counts as itself.
fn truth(v: Value) -> Value {
    match v {
        Value::String(s) => Value::Bool(matches!(s.trim(), "true" | "1")),
        Value::Number(n) => Value::Bool(n.as_f64().is_some_and(|f| f != 0.0)),
        v => v,
    }
}

/// An XML operation's XPaths, compiled.
#[derive(Debug, Clone)]
pub(crate) struct XmlPlan {
    namespaces: Vec<(String, String)>,
    records: XPathExpr,
    /// `records` without its last step: a page where neither selects anything lacks its
    /// records element (never read as "no records").
    container: Option<XPathExpr>,
    records_optional: bool,
    /// Values of each record, relative to the record node.
    fields: Vec<Field>,
    /// Paging values, from the document root.
    page: Vec<Field>,
    /// The key of `paging.total` in `page`.
    total: Option<String>,
    /// The operation's error rules with an XPath `path`: their key in `page` and `equals`.
    rules: Vec<(String, Option<Value>)>,
}

/// Why an XML page could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum XmlError {
    /// Refused: not UTF-8, a DOCTYPE, too deep, too many nodes, an XPath that fails.
    #[error("{0}")]
    Body(String),
    /// Not well-formed XML (a truncated body is retried like a broken JSON one).
    #[error("{0}")]
    Malformed(String),
    /// A SOAP fault.
    #[error("{0}")]
    Fault(String),
    /// The records element is missing.
    #[error("{0}")]
    Missing(String),
}

fn quote(key: &str) -> JsonPath {
    JsonPath(format!(
        "$['{}']",
        key.replace('\\', "\\\\").replace('\'', "\\'")
    ))
}

fn compile(loc: &str, src: &str) -> Result<XPathExpr, EngineError> {
    XPathExpr::new(src).map_err(|e| EngineError::Config(format!("{loc}: {e}")))
}

/// For a `format: xml` operation: the operation rewritten to read the JSON page [`XmlPlan`]
/// makes of each XML page, and the plan of each step (`None` for a JSON step; see
/// [`steps`] for multi-step operations). `None` for a JSON operation.
pub(crate) fn derive(
    loc: &str,
    op: &Operation,
    namespaces: &Namespaces,
) -> Result<Option<Derived>, EngineError> {
    if op.request.is_none() {
        return steps::derive_steps(loc, op, namespaces);
    }
    if !BodyFormat::is_xml(&op.format) {
        return Ok(None);
    }
    let mut out = op.clone();
    out.format = None;
    let mut ns: IndexMap<String, String> = namespaces.map().clone();
    ns.extend(op.namespaces.map().clone());
    let mut fields = Vec::new();
    let mut field = |key: String, src: &JsonPath, multi: bool| -> Result<JsonPath, EngineError> {
        fields.push(Field {
            expr: compile(&format!("{loc}: {key}"), src.as_str())?,
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
    let records_src = op.records.as_ref().map_or("/*", |r| r.as_str()).to_string();
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
        match a {
            Attribute::Path(src) => *a = Attribute::Path(field(name.clone(), src, false)?),
            Attribute::Full(def) => {
                if let Some(src) = def.path.clone() {
                    def.path = Some(field(name.clone(), &src, def.multi)?);
                }
            }
        }
    }
    out.records = Some(JsonPath(format!("$.{RECORDS}[*]")));
    let mut page = Vec::new();
    let mut total = None;
    if let Some(p) = out.paging.as_mut() {
        for (k, v) in [
            ("total", &mut p.total),
            ("cursor", &mut p.cursor),
            ("next_url", &mut p.next_url),
        ] {
            if let Some(PageValue::Body(src)) = v.clone() {
                let key = format!("{k}={}", src.as_str());
                page.push(Field {
                    expr: compile(&format!("{loc}.paging.{k}"), src.as_str())?,
                    key: key.clone(),
                    multi: false,
                });
                if k == "total" {
                    total = Some(key.clone());
                }
                *v = Some(PageValue::Body(quote(&key)));
            }
        }
    }
    // Error rules: `path` and `message` are XPaths from the document, read into the page.
    let mut rules = Vec::new();
    for (i, r) in out.errors.iter_mut().enumerate() {
        for (k, p) in [("error", &mut r.path), ("message", &mut r.message)] {
            if let Some(src) = p.clone() {
                let key = format!("{k}={}", src.as_str());
                page.push(Field {
                    expr: compile(&format!("{loc}.errors[{i}].{k}"), src.as_str())?,
                    key: key.clone(),
                    multi: false,
                });
                if k == "error" {
                    rules.push((key.clone(), r.equals.clone()));
                }
                *p = Some(quote(&key));
            }
        }
    }
    let plan = XmlPlan {
        namespaces: ns.into_iter().collect(),
        records: compile(&format!("{loc}.records"), &records_src)?,
        container: container_of(&records_src)
            .map(|c| compile(&format!("{loc}.records"), &c))
            .transpose()?,
        records_optional: op.records_optional,
        fields,
        page,
        total,
        rules,
    };
    Ok(Some((out, vec![Some(plan)])))
}

/// A location path without its last step (`/a/b[@x='/']` → `/a`); `None` when there is no
/// earlier step or the path is not a plain location path.
fn container_of(src: &str) -> Option<String> {
    let b = src.as_bytes();
    let (mut depth, mut quote, mut last) = (0i32, 0u8, None);
    for (i, &c) in b.iter().enumerate() {
        match c {
            _ if quote != 0 && c == quote => quote = 0,
            _ if quote != 0 => {}
            b'\'' | b'"' => quote = c,
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth -= 1,
            b'|' if depth == 0 => return None,
            b'/' if depth == 0 => last = Some(i),
            _ => {}
        }
    }
    let i = last?;
    let head = src[..i].trim_end_matches('/');
    (!head.is_empty() && !src.trim_start().starts_with('(')).then(|| head.to_string())
}

impl XmlPlan {
    /// Reads one XML page into the JSON page the rewritten operation reads.
    pub(crate) fn convert(&self, body: &[u8]) -> Result<Vec<u8>, XmlError> {
        let text = std::str::from_utf8(body).map_err(|e| {
            XmlError::Body(format!(
                "the XML body is not UTF-8 ({e}); wsc reads UTF-8 XML only"
            ))
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim().is_empty() {
            return Err(XmlError::Body(
                "the body is empty, not an XML document".into(),
            ));
        }
        check(text)?;
        let package = sxd_document::parser::parse(text)
            .map_err(|e| XmlError::Malformed(format!("the body is not well-formed XML ({e})")))?;
        let doc = package.as_document();
        let mut ctx = Context::new();
        for (p, uri) in &self.namespaces {
            ctx.set_namespace(p, uri);
        }
        let root: Node<'_> = doc.root().into();
        let eval = |e: String| XmlError::Body(e);
        let mut page = Map::new();
        for f in &self.page {
            if let Some(v) = f.expr.json(&ctx, root, false).map_err(eval)? {
                page.insert(f.key.clone(), v);
            }
        }
        let nodes = self.records.nodes(&ctx, root).map_err(eval)?;
        if nodes.is_empty() && !self.records_optional {
            let total_zero = self
                .total
                .as_ref()
                .and_then(|k| page.get(k))
                .is_some_and(|v| {
                    v == &Value::from(0) || v.as_str().is_some_and(|s| s.trim() == "0")
                });
            let present = match &self.container {
                Some(c) => !c.nodes(&ctx, root).map_err(eval)?.is_empty(),
                None => false,
            };
            // A page an error rule matches is reported by the rule, not as missing records.
            let rule_hit = self
                .rules
                .iter()
                .any(|(k, equals)| match (page.get(k), equals) {
                    (Some(v), Some(e)) => v == e,
                    (Some(v), None) => !matches!(v, Value::Null | Value::Bool(false)),
                    (None, _) => false,
                });
            if !present && !total_zero && !rule_hit {
                return Err(XmlError::Missing(self.missing(&doc)));
            }
        }
        let mut records = Vec::with_capacity(nodes.len());
        for n in nodes {
            let mut rec = Map::new();
            for f in &self.fields {
                if let Some(v) = f.expr.json(&ctx, n, f.multi).map_err(eval)? {
                    let v = if f.key.starts_with(DELETED) {
                        truth(v)
                    } else {
                        v
                    };
                    rec.insert(f.key.clone(), v);
                }
            }
            records.push(Value::Object(rec));
        }
        page.insert(RECORDS.into(), Value::Array(records));
        serde_json::to_vec(&Value::Object(page)).map_err(|e| XmlError::Body(e.to_string()))
    }

    /// Why `records` found nothing, with what the document holds instead.
    fn missing(&self, doc: &sxd_document::dom::Document<'_>) -> String {
        let root = doc.root().children().into_iter().find_map(|c| c.element());
        let shown = match root {
            None => " (the document has no root element)".to_string(),
            Some(e) => {
                let name = e.name();
                match name.namespace_uri() {
                    Some(ns) => {
                        let declared = self.namespaces.iter().find(|(_, u)| u == ns);
                        let hint = match declared {
                            Some((p, _)) => format!(
                                "; XPath 1.0 has no default namespace, so its elements are selected with the prefix declared for it: `/{p}:{}`",
                                name.local_part()
                            ),
                            None => format!(
                                "; XPath 1.0 has no default namespace: declare one (`namespaces: {{ x: \"{ns}\" }}`) and write `/x:{}`",
                                name.local_part()
                            ),
                        };
                        format!(
                            " (the root element is `{}` in namespace `{ns}`{hint})",
                            name.local_part()
                        )
                    }
                    None => format!(" (the root element is `{}`)", name.local_part()),
                }
            }
        };
        format!(
            "`records: {}` found nothing, and the element the records are in is not in the response either{shown}. A missing element is not an empty list, so the run stops instead of reporting no records; if this API leaves it out when there are none, set `records_optional: true`",
            self.records.as_str()
        )
    }
}

/// The limits of an XML page, checked before the XPath document is built: well-formed, no
/// DTD, at most [`MAX_XML_NODES`] nodes, nested at most [`crate::doc::MAX_DEPTH`] elements
/// deep; and no SOAP fault.
fn check(text: &str) -> Result<(), XmlError> {
    let doc = roxmltree::Document::parse_with_options(text, parse_options()).map_err(|e| {
        XmlError::Body(match e {
            roxmltree::Error::DtdDetected => "the XML body has a DOCTYPE, which wsc refuses: no DTD is read, so no entity is expanded (billion laughs) or fetched (external entities)".to_string(),
            roxmltree::Error::NodesLimitReached => format!(
                "the XML body has more than {MAX_XML_NODES} nodes, the most one page may hold"
            ),
            e => return XmlError::Malformed(format!("the body is not well-formed XML ({e})")),
        })
    })?;
    // Nodes come in document order, each after its parent: one pass, without recursion.
    let mut depths: Vec<u16> = Vec::new();
    for n in doc.descendants() {
        let d = n.parent().map_or(0, |p| depths[p.id().get_usize()]) + u16::from(n.is_element());
        if usize::from(d) > crate::doc::MAX_DEPTH {
            let pos = doc.text_pos_at(n.range().start);
            return Err(XmlError::Body(format!(
                "the XML body nests elements deeper than {} levels (at line {}, column {})",
                crate::doc::MAX_DEPTH,
                pos.row,
                pos.col
            )));
        }
        let i = n.id().get_usize();
        if depths.len() <= i {
            depths.resize(i + 1, 0);
        }
        depths[i] = d;
    }
    if let Some(f) = fault::fault_of(&doc) {
        return Err(XmlError::Fault(f));
    }
    Ok(())
}

/// Whether a `Content-Type` says XML (`application/xml`, `text/xml`, `application/soap+xml`,
/// any `+xml`).
pub(crate) fn is_xml_type(content_type: &str) -> bool {
    let t = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    t == "application/xml" || t == "text/xml" || t.ends_with("+xml")
}

#[cfg(test)]
mod tests {
    use super::container_of;

    #[test]
    fn containers() {
        assert_eq!(container_of("/u:users/u:user").as_deref(), Some("/u:users"));
        assert_eq!(
            container_of("/a/b[@x='/y']/c[d/e]").as_deref(),
            Some("/a/b[@x='/y']")
        );
        assert_eq!(container_of("//user").as_deref(), None);
        assert_eq!(container_of("/users").as_deref(), None);
        assert_eq!(container_of("a | b"), None);
    }
}
