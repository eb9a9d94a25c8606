//! Records: what an operation's responses map to.
//!
//! A [`RecordMapper`] is built once per operation when the connector loads: every JSONPath is
//! compiled, attribute templates are compiled through a [`TemplateCompiler`], constants and
//! defaults are converted to their attribute type (so a bad default is a load-time error).
//! [`RecordMapper::map`] then turns one borrowed record ([`Doc`]) into a [`Record`].
//!
//! Attribute rules (see `wsc_spec::model::AttributeDef`):
//! - a plain path (`email: "$.emails[0].value"`) is the first match, JSON as found, `null`
//!   when nothing matches;
//! - `multi: true` keeps every match as a list; a single match that is an array is flattened,
//!   so `$.groups` and `$.groups[*]` give the same list. `null` elements are dropped. A
//!   multi-valued attribute is always an array (`[]` when nothing matches, unless `default`);
//! - `type` converts each value (`string`, `int`, `float`, `bool`, `datetime`; `json` keeps
//!   it); a value that does not convert is an error naming attribute, value and type;
//! - `default` replaces a missing or `null` value (an empty list for `multi`); `required`
//!   makes a missing value an error.
//!
//! Identity and name render numbers as strings; an empty identity counts as missing. Errors
//! never carry more than about 200 characters of record data.

use std::sync::Arc;

use serde_json::Value;
use wsc_spec::model::{Attribute, AttributeDef, AttributeType, Operation};

use crate::doc::{Doc, NumberKind, truncate_chars};
use crate::path::{CompiledPath, PathError, Selection};

/// Most characters of record data an error message shows.
pub const MAX_ERROR_DATA: usize = 200;
/// Most characters of one offending value an error message shows.
const MAX_VALUE_DATA: usize = 100;

/// One mapped object.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Object type: `account`, or a group type such as `group` or `role`.
    pub object_type: Arc<str>,
    /// Unique, stable identity.
    pub identity: String,
    /// Display name.
    pub name: Option<String>,
    /// Attribute values in [`RecordMapper::attribute_names`] order; `null` when absent.
    pub attributes: Vec<Value>,
    /// Member identities (group operations with `members`).
    pub members: Option<Vec<String>>,
    /// Marked deleted by the aggregation's `delta.deleted` path (incremental responses).
    pub deleted: bool,
}

impl Record {
    /// The value of attribute `name`, given the mapper's attribute names.
    pub fn attribute<'r>(&'r self, names: &[Arc<str>], name: &str) -> Option<&'r Value> {
        names
            .iter()
            .position(|n| n.as_ref() == name)
            .and_then(|i| self.attributes.get(i))
    }

    /// A record from the JSON object [`Record::to_json`] produces (as a hook left it):
    /// `identity` is required; attributes not in `names` are refused.
    pub fn from_json(
        v: &Value,
        object_type: &Arc<str>,
        names: &[Arc<str>],
    ) -> Result<Record, String> {
        let o = v
            .as_object()
            .ok_or_else(|| format!("a record must be an object, found {v}"))?;
        let identity = match o.get("identity") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("a record needs a string `identity`".into()),
        };
        let name = match o.get("name") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let empty = serde_json::Map::new();
        let attrs = match o.get("attributes") {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => &empty,
            Some(other) => return Err(format!("`attributes` must be an object, found {other}")),
        };
        if let Some(extra) = attrs
            .keys()
            .find(|k| !names.iter().any(|n| n.as_ref() == k.as_str()))
        {
            return Err(format!(
                "attribute `{extra}` is not declared under the operation's `attributes` (declare it there, e.g. with `value: null`)"
            ));
        }
        let attributes = names
            .iter()
            .map(|n| attrs.get(n.as_ref()).cloned().unwrap_or(Value::Null))
            .collect();
        let members = match o.get("members") {
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|m| match m {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
            ),
            _ => None,
        };
        let object_type = match o.get("type") {
            Some(Value::String(t)) if t.as_str() != object_type.as_ref() => Arc::from(t.as_str()),
            _ => object_type.clone(),
        };
        Ok(Record {
            object_type,
            identity,
            name,
            attributes,
            members,
            deleted: o.get("deleted") == Some(&Value::Bool(true)),
        })
    }

    /// The record as the JSON object the output writers produce:
    /// `{"type", "identity", "name", "attributes": {..}, "members"?}`.
    pub fn to_json(&self, names: &[Arc<str>]) -> Value {
        let mut attrs = serde_json::Map::with_capacity(self.attributes.len());
        for (n, v) in names.iter().zip(&self.attributes) {
            attrs.insert(n.to_string(), v.clone());
        }
        let mut o = serde_json::Map::with_capacity(5);
        o.insert("type".into(), Value::String(self.object_type.to_string()));
        o.insert("identity".into(), Value::String(self.identity.clone()));
        o.insert(
            "name".into(),
            self.name.clone().map_or(Value::Null, Value::String),
        );
        o.insert("attributes".into(), Value::Object(attrs));
        if let Some(m) = &self.members {
            o.insert(
                "members".into(),
                Value::Array(m.iter().cloned().map(Value::String).collect()),
            );
        }
        Value::Object(o)
    }
}

/// Compiles attribute templates (`AttributeDef.template`); implemented by the engine's
/// template module.
pub trait TemplateCompiler {
    /// Compiles `source`; the error is a human-readable message.
    fn compile(&self, source: &str) -> Result<Box<dyn RecordTemplate>, String>;
}

/// A compiled attribute template.
pub trait RecordTemplate: Send + Sync {
    /// Renders the template for one record. `record` is the record itself (a JSON object);
    /// the implementation exposes it to the template as `record`.
    fn render(&self, record: &Value) -> Result<Value, String>;
}

/// Why a mapper could not be built or a record could not be mapped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// A JSONPath of the operation does not parse.
    #[error("`{field}`: {source}")]
    Path {
        /// Which key: `records`, `identity`, `attributes.email`, ...
        field: String,
        /// The parse error.
        source: PathError,
    },
    /// An attribute definition is inconsistent (load time).
    #[error("attribute `{attribute}`: {message}")]
    Definition {
        /// The attribute.
        attribute: String,
        /// What is wrong.
        message: String,
    },
    /// The identity path selects nothing, `null` or an empty string.
    #[error("record has no identity at `{path}`; record starts {record}")]
    MissingIdentity {
        /// The identity JSONPath.
        path: String,
        /// The start of the record.
        record: String,
    },
    /// The identity or name is not a string or number.
    #[error("{field} at `{path}` is {found}, expected a string or a number: {value}")]
    BadScalar {
        /// `identity` or `name`.
        field: &'static str,
        /// Its JSONPath.
        path: String,
        /// The JSON type found.
        found: &'static str,
        /// The start of the value.
        value: String,
    },
    /// A required attribute is missing.
    #[error("required attribute `{attribute}` is missing (`{from}`); record starts {record}")]
    MissingRequired {
        /// The attribute.
        attribute: String,
        /// Its path or template.
        from: String,
        /// The start of the record.
        record: String,
    },
    /// A value does not convert to its attribute type.
    #[error("attribute `{attribute}`: cannot convert {value} to {ty}: {reason}")]
    Conversion {
        /// The attribute.
        attribute: String,
        /// The start of the value, as JSON.
        value: String,
        /// The attribute type.
        ty: &'static str,
        /// Why.
        reason: String,
    },
    /// An attribute template failed to render.
    #[error("attribute `{attribute}`: template failed: {message}")]
    Template {
        /// The attribute.
        attribute: String,
        /// The template engine's message.
        message: String,
    },
    /// A member at the `members` path is not a string or number.
    #[error("member at `{path}` is {found}, expected a string or a number: {value}")]
    BadMember {
        /// The members JSONPath.
        path: String,
        /// The JSON type found.
        found: &'static str,
        /// The start of the value.
        value: String,
    },
}

enum Source {
    Path(CompiledPath),
    Template(Box<dyn RecordTemplate>, String),
    /// A constant, already converted.
    Value(Value),
}

struct AttrPlan {
    name: Arc<str>,
    source: Source,
    ty: AttributeType,
    multi: bool,
    /// Already converted (a list for `multi`).
    default: Option<Value>,
    required: bool,
}

/// Maps response records of one operation to [`Record`]s.
pub struct RecordMapper {
    object_type: Arc<str>,
    records: CompiledPath,
    identity: Option<CompiledPath>,
    name: Option<CompiledPath>,
    names: Arc<[Arc<str>]>,
    attrs: Vec<AttrPlan>,
    members: Option<CompiledPath>,
    needs_record_value: bool,
    deleted: Option<CompiledPath>,
}

impl std::fmt::Debug for RecordMapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordMapper")
            .field("object_type", &self.object_type)
            .field("records", &self.records.as_str())
            .field(
                "identity",
                &self.identity.as_ref().map(CompiledPath::as_str),
            )
            .field("attributes", &self.names)
            .finish_non_exhaustive()
    }
}

fn compile_path(field: impl Into<String>, p: &str) -> Result<CompiledPath, MapError> {
    CompiledPath::compile(p).map_err(|source| MapError::Path {
        field: field.into(),
        source,
    })
}

impl RecordMapper {
    /// Compiles the mapping of `op` for objects of type `object_type`.
    pub fn new(
        object_type: &str,
        op: &Operation,
        templates: &dyn TemplateCompiler,
    ) -> Result<Self, MapError> {
        let records = match &op.records {
            Some(p) => compile_path("records", p.as_str())?,
            None => CompiledPath::root(),
        };
        let identity = op
            .identity
            .as_ref()
            .map(|p| compile_path("identity", p.as_str()))
            .transpose()?;
        let name = op
            .name
            .as_ref()
            .map(|p| compile_path("name", p.as_str()))
            .transpose()?;
        let members = op
            .members
            .as_ref()
            .map(|p| compile_path("members", p.as_str()))
            .transpose()?;
        let mut attrs = Vec::with_capacity(op.attributes.len());
        for (attr_name, attr) in &op.attributes {
            attrs.push(compile_attribute(attr_name, attr, templates)?);
        }
        let names: Arc<[Arc<str>]> = attrs.iter().map(|a| a.name.clone()).collect();
        let needs_record_value = attrs
            .iter()
            .any(|a| matches!(a.source, Source::Template(..)));
        let deleted = op
            .delta
            .as_ref()
            .and_then(|d| d.deleted.as_ref())
            .map(|p| compile_path("delta.deleted", p.as_str()))
            .transpose()?;
        Ok(RecordMapper {
            deleted,
            object_type: object_type.into(),
            records,
            identity,
            name,
            names,
            attrs,
            members,
            needs_record_value,
        })
    }

    /// The object type records get.
    pub fn object_type(&self) -> &Arc<str> {
        &self.object_type
    }

    /// Attribute names, in the order of [`Record::attributes`].
    pub fn attribute_names(&self) -> &Arc<[Arc<str>]> {
        &self.names
    }

    /// Whether records carry `members`.
    pub fn has_members(&self) -> bool {
        self.members.is_some()
    }

    /// The path of the records in a response (`records`, default `$`).
    pub fn records_path(&self) -> &CompiledPath {
        &self.records
    }

    /// The records of one response page: the nodes the records path selects (a single match
    /// that is an array is flattened, so `$.items` works like `$.items[*]`).
    pub fn select_records<'d, 'a>(&self, page: &'d Doc<'a>) -> Vec<&'d Doc<'a>> {
        match self.records.select(page) {
            Selection::None => Vec::new(),
            Selection::One(Doc::Array(items)) => items.iter().collect(),
            Selection::One(d) => vec![d],
            Selection::Many(v) => v,
        }
    }

    /// Maps every record of one response page.
    pub fn map_page<'s, 'd, 'a>(
        &'s self,
        page: &'d Doc<'a>,
    ) -> impl Iterator<Item = Result<Record, MapError>> + use<'s, 'd, 'a> {
        self.select_records(page)
            .into_iter()
            .map(move |r| self.map(r))
    }

    /// Maps one record.
    pub fn map(&self, record: &Doc<'_>) -> Result<Record, MapError> {
        let identity = match &self.identity {
            None => String::new(),
            Some(p) => match p.first(record) {
                None | Some(Doc::Null) => return Err(self.missing_identity(p, record)),
                Some(Doc::String(s)) if s.is_empty() => {
                    return Err(self.missing_identity(p, record));
                }
                Some(v) => scalar_string("identity", p, v)?,
            },
        };
        let name = match &self.name {
            None => None,
            Some(p) => match p.first(record) {
                None | Some(Doc::Null) => None,
                Some(v) => Some(scalar_string("name", p, v)?),
            },
        };
        let mut record_value: Option<Value> = None;
        if self.needs_record_value {
            record_value = Some(record.to_value());
        }
        let mut attributes = Vec::with_capacity(self.attrs.len());
        for a in &self.attrs {
            attributes.push(self.attribute(a, record, record_value.as_ref())?);
        }
        let members = match &self.members {
            None => None,
            Some(p) => Some(members(p, record)?),
        };
        let deleted = self.deleted.as_ref().is_some_and(|p| {
            !matches!(
                p.first(record),
                None | Some(Doc::Null) | Some(Doc::Bool(false))
            )
        });
        Ok(Record {
            object_type: self.object_type.clone(),
            identity,
            name,
            attributes,
            members,
            deleted,
        })
    }

    fn missing_identity(&self, p: &CompiledPath, record: &Doc<'_>) -> MapError {
        MapError::MissingIdentity {
            path: p.as_str().to_string(),
            record: record.snippet(MAX_ERROR_DATA),
        }
    }

    fn attribute(
        &self,
        a: &AttrPlan,
        record: &Doc<'_>,
        record_value: Option<&Value>,
    ) -> Result<Value, MapError> {
        // Fast path: a plain path attribute (`email: "$.emails[0].value"`).
        if let (Source::Path(p), false, AttributeType::Json) = (&a.source, a.multi, a.ty) {
            if let Some(v) = p.first(record).filter(|v| !v.is_null()) {
                return Ok(v.to_value());
            }
            return self.absent(a, record);
        }
        if a.multi {
            let mut out = Vec::new();
            match &a.source {
                Source::Path(p) => {
                    flat_matches(p, record, |v| {
                        if !v.is_null() {
                            out.push(convert_doc(&a.name, a.ty, v)?);
                        }
                        Ok(())
                    })?;
                }
                Source::Template(t, _) => {
                    let v = render(a, t.as_ref(), record, record_value)?;
                    push_flat_value(&a.name, a.ty, v, &mut out)?;
                }
                Source::Value(v) => return Ok(v.clone()),
            }
            if out.is_empty() {
                return self.absent(a, record).map(|v| match v {
                    Value::Null => Value::Array(Vec::new()),
                    v => v,
                });
            }
            return Ok(Value::Array(out));
        }
        let found = match &a.source {
            Source::Path(p) => match p.first(record) {
                Some(v) if !v.is_null() => Some(convert_doc(&a.name, a.ty, v)?),
                _ => None,
            },
            Source::Template(t, _) => {
                let v = render(a, t.as_ref(), record, record_value)?;
                if v.is_null() {
                    None
                } else {
                    Some(convert_value(&a.name, a.ty, v)?)
                }
            }
            Source::Value(v) => Some(v.clone()),
        };
        match found {
            Some(v) => Ok(v),
            None => self.absent(a, record),
        }
    }

    /// The value of an attribute that selected nothing: its default, an error when
    /// required, else `null`.
    fn absent(&self, a: &AttrPlan, record: &Doc<'_>) -> Result<Value, MapError> {
        if let Some(d) = &a.default {
            return Ok(d.clone());
        }
        if a.required {
            let from = match &a.source {
                Source::Path(p) => p.as_str().to_string(),
                Source::Template(_, s) => s.clone(),
                Source::Value(v) => v.to_string(),
            };
            return Err(MapError::MissingRequired {
                attribute: a.name.to_string(),
                from,
                record: record.snippet(MAX_ERROR_DATA),
            });
        }
        Ok(Value::Null)
    }
}

fn render(
    a: &AttrPlan,
    t: &dyn RecordTemplate,
    record: &Doc<'_>,
    record_value: Option<&Value>,
) -> Result<Value, MapError> {
    let owned;
    let rv = match record_value {
        Some(v) => v,
        None => {
            owned = record.to_value();
            &owned
        }
    };
    t.render(rv).map_err(|message| MapError::Template {
        attribute: a.name.to_string(),
        message: truncate_chars(&message, 2 * MAX_ERROR_DATA),
    })
}

/// Appends `v` (flattening one level of array, dropping nulls) converted to `ty`.
fn push_flat_value(
    attr: &str,
    ty: AttributeType,
    v: Value,
    out: &mut Vec<Value>,
) -> Result<(), MapError> {
    match v {
        Value::Null => {}
        Value::Array(items) => {
            for item in items.into_iter().filter(|i| !i.is_null()) {
                out.push(convert_value(attr, ty, item)?);
            }
        }
        v => out.push(convert_value(attr, ty, v)?),
    }
    Ok(())
}

fn compile_attribute(
    attr_name: &str,
    attr: &Attribute,
    templates: &dyn TemplateCompiler,
) -> Result<AttrPlan, MapError> {
    let field = format!("attributes.{attr_name}");
    let def_err = |message: String| MapError::Definition {
        attribute: attr_name.to_string(),
        message,
    };
    let default_def;
    let def: &AttributeDef = match attr {
        Attribute::Path(p) => {
            default_def = AttributeDef {
                path: Some(p.clone()),
                ..AttributeDef::default()
            };
            &default_def
        }
        Attribute::Full(d) => d,
    };
    let given = [
        def.path.is_some(),
        def.template.is_some(),
        def.value.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        return Err(def_err(
            "needs exactly one of `path`, `template` and `value`".to_string(),
        ));
    }
    let ty = def.value_type;
    let convert_const = |v: &Value, what: &str| -> Result<Value, MapError> {
        if def.multi {
            let mut out = Vec::new();
            push_flat_value(attr_name, ty, v.clone(), &mut out)
                .map_err(|e| def_err(format!("{what}: {e}")))?;
            Ok(Value::Array(out))
        } else if v.is_null() {
            Ok(Value::Null)
        } else {
            convert_value(attr_name, ty, v.clone()).map_err(|e| def_err(format!("{what}: {e}")))
        }
    };
    let source = if let Some(p) = &def.path {
        Source::Path(compile_path(field, p.as_str())?)
    } else if let Some(t) = &def.template {
        let compiled = templates
            .compile(t.as_str())
            .map_err(|m| def_err(format!("template does not compile: {m}")))?;
        Source::Template(compiled, t.as_str().to_string())
    } else if let Some(v) = &def.value {
        Source::Value(convert_const(v, "value")?)
    } else {
        return Err(def_err(
            "needs exactly one of `path`, `template` and `value`".to_string(),
        ));
    };
    let default = match &def.default {
        None | Some(Value::Null) => None,
        Some(d) => Some(convert_const(d, "default")?),
    };
    Ok(AttrPlan {
        name: attr_name.into(),
        source,
        ty,
        multi: def.multi,
        default,
        required: def.required,
    })
}

/// Identity and name: strings as they are, numbers as their JSON text, booleans as words.
fn scalar_string(field: &'static str, p: &CompiledPath, v: &Doc<'_>) -> Result<String, MapError> {
    match v {
        Doc::String(s) => Ok(s.to_string()),
        Doc::Number(n) => Ok(n.as_str().to_string()),
        Doc::Bool(b) if field == "name" => Ok(b.to_string()),
        other => Err(MapError::BadScalar {
            field,
            path: p.as_str().to_string(),
            found: other.type_name(),
            value: other.snippet(MAX_VALUE_DATA),
        }),
    }
}

fn members(p: &CompiledPath, record: &Doc<'_>) -> Result<Vec<String>, MapError> {
    let mut out = Vec::new();
    flat_matches(p, record, |v| {
        match v {
            Doc::Null => {}
            Doc::String(s) => out.push(s.to_string()),
            Doc::Number(n) => out.push(n.as_str().to_string()),
            other => {
                return Err(MapError::BadMember {
                    path: p.as_str().to_string(),
                    found: other.type_name(),
                    value: other.snippet(MAX_VALUE_DATA),
                });
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Calls `f` with every node `p` selects in `record`, in order; a single match that is an
/// array gives its elements instead (so `$.groups` and `$.groups[*]` agree). Stops at the
/// first error. Collects nothing in between.
fn flat_matches<'d, 'a>(
    p: &CompiledPath,
    record: &'d Doc<'a>,
    mut f: impl FnMut(&'d Doc<'a>) -> Result<(), MapError>,
) -> Result<(), MapError> {
    let mut first: Option<&'d Doc<'a>> = None;
    let mut many = false;
    let mut result = Ok(());
    p.for_each(record, |v| {
        if result.is_err() {
            return;
        }
        if !many {
            match first.take() {
                None => {
                    first = Some(v);
                    return;
                }
                Some(f0) => {
                    many = true;
                    result = f(f0);
                    if result.is_err() {
                        return;
                    }
                }
            }
        }
        result = f(v);
    });
    result?;
    match first {
        Some(Doc::Array(items)) => items.iter().try_for_each(f),
        Some(only) => f(only),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Type conversion
// ---------------------------------------------------------------------------------------------

fn type_name(ty: AttributeType) -> &'static str {
    match ty {
        AttributeType::Json => "json",
        AttributeType::String => "string",
        AttributeType::Int => "int",
        AttributeType::Float => "float",
        AttributeType::Bool => "bool",
        AttributeType::Datetime => "datetime",
    }
}

fn conversion_error(attr: &str, ty: AttributeType, value: String, reason: &str) -> MapError {
    MapError::Conversion {
        attribute: attr.to_string(),
        value: truncate_chars(&value, MAX_VALUE_DATA),
        ty: type_name(ty),
        reason: reason.to_string(),
    }
}

/// A borrowed view of a scalar, shared by the `Doc` and `Value` conversions.
enum Scalar<'v> {
    Bool(bool),
    Num(NumberKind, &'v str),
    Str(&'v str),
    Composite,
}

/// Converts a non-null node to `ty`.
fn convert_doc(attr: &str, ty: AttributeType, v: &Doc<'_>) -> Result<Value, MapError> {
    if ty == AttributeType::Json {
        return Ok(v.to_value());
    }
    let scalar = match v {
        Doc::Bool(b) => Scalar::Bool(*b),
        Doc::Number(n) => Scalar::Num(n.kind(), n.as_str()),
        Doc::String(s) => Scalar::Str(s),
        Doc::Null | Doc::Array(_) | Doc::Object(_) => Scalar::Composite,
    };
    convert_scalar(attr, ty, scalar, || v.snippet(MAX_VALUE_DATA))
}

/// Converts a non-null JSON value to `ty`.
fn convert_value(attr: &str, ty: AttributeType, v: Value) -> Result<Value, MapError> {
    if ty == AttributeType::Json {
        return Ok(v);
    }
    let text;
    let scalar = match &v {
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => {
            text = n.to_string();
            let kind = if let Some(u) = n.as_u64() {
                NumberKind::PosInt(u)
            } else if let Some(i) = n.as_i64() {
                NumberKind::NegInt(i)
            } else {
                NumberKind::Float(n.as_f64().unwrap_or(f64::NAN))
            };
            Scalar::Num(kind, &text)
        }
        Value::String(s) => Scalar::Str(s),
        Value::Null | Value::Array(_) | Value::Object(_) => Scalar::Composite,
    };
    convert_scalar(attr, ty, scalar, || v.to_string())
}

fn convert_scalar(
    attr: &str,
    ty: AttributeType,
    v: Scalar<'_>,
    shown: impl Fn() -> String,
) -> Result<Value, MapError> {
    let err = |reason: &str| conversion_error(attr, ty, shown(), reason);
    match ty {
        AttributeType::Json => Err(err("internal: json is not converted")),
        AttributeType::String => match v {
            Scalar::Str(s) => Ok(Value::String(s.to_string())),
            Scalar::Num(_, text) => Ok(Value::String(text.to_string())),
            Scalar::Bool(b) => Ok(Value::String(b.to_string())),
            Scalar::Composite => Err(err("arrays and objects are not strings")),
        },
        AttributeType::Int => match v {
            Scalar::Num(k, _) => int_of(k).ok_or_else(|| err(int_reason(k))),
            Scalar::Str(s) => match crate::doc::Number::parse(s.trim()) {
                Some(n) => {
                    let k = n.kind();
                    int_of(k).ok_or_else(|| err(int_reason(k)))
                }
                None => Err(err("not a number")),
            },
            Scalar::Bool(_) => Err(err("booleans are not integers")),
            Scalar::Composite => Err(err("arrays and objects are not integers")),
        },
        AttributeType::Float => {
            let f = match v {
                Scalar::Num(k, _) => kind_f64(k),
                Scalar::Str(s) => match crate::doc::Number::parse(s.trim()) {
                    Some(n) => n.as_f64(),
                    None => return Err(err("not a number")),
                },
                Scalar::Bool(_) => return Err(err("booleans are not numbers")),
                Scalar::Composite => return Err(err("arrays and objects are not numbers")),
            };
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| err("out of range"))
        }
        AttributeType::Bool => match v {
            Scalar::Bool(b) => Ok(Value::Bool(b)),
            Scalar::Num(NumberKind::PosInt(1), _) => Ok(Value::Bool(true)),
            Scalar::Num(NumberKind::PosInt(0), _) => Ok(Value::Bool(false)),
            Scalar::Num(..) => Err(err("only 1 and 0 are booleans")),
            Scalar::Str(s) => {
                let t = s.trim();
                if t.eq_ignore_ascii_case("true") || t == "1" {
                    Ok(Value::Bool(true))
                } else if t.eq_ignore_ascii_case("false") || t == "0" {
                    Ok(Value::Bool(false))
                } else {
                    Err(err("expected \"true\", \"false\", 1 or 0"))
                }
            }
            Scalar::Composite => Err(err("arrays and objects are not booleans")),
        },
        AttributeType::Datetime => {
            let r = match v {
                Scalar::Str(s) => {
                    let t = s.trim();
                    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                        match crate::doc::Number::parse(t) {
                            Some(n) => epoch_to_rfc3339(kind_f64(n.kind())),
                            None => parse_rfc3339(t),
                        }
                    } else {
                        parse_rfc3339(t)
                    }
                }
                Scalar::Num(k, _) => epoch_to_rfc3339(kind_f64(k)),
                Scalar::Bool(_) => Err("booleans are not date-times"),
                Scalar::Composite => Err("arrays and objects are not date-times"),
            };
            r.map(Value::String).map_err(err)
        }
    }
}

fn kind_f64(k: NumberKind) -> f64 {
    match k {
        NumberKind::PosInt(u) => u as f64,
        NumberKind::NegInt(i) => i as f64,
        NumberKind::Float(f) => f,
    }
}

fn int_of(k: NumberKind) -> Option<Value> {
    match k {
        NumberKind::PosInt(u) => Some(Value::from(u)),
        NumberKind::NegInt(i) => Some(Value::from(i)),
        NumberKind::Float(f) => {
            // Powers of two as bounds: every integral f64 inside converts exactly.
            const I64_RANGE: std::ops::Range<f64> =
                -9.223_372_036_854_776e18..9.223_372_036_854_776e18;
            const U64_RANGE: std::ops::Range<f64> = 0.0..1.844_674_407_370_955_2e19;
            if !f.is_finite() || f.fract() != 0.0 {
                None
            } else if I64_RANGE.contains(&f) {
                Some(Value::from(f as i64))
            } else if U64_RANGE.contains(&f) {
                Some(Value::from(f as u64))
            } else {
                None
            }
        }
    }
}

fn int_reason(k: NumberKind) -> &'static str {
    match k {
        NumberKind::Float(f) if f.is_finite() && f.fract() != 0.0 => "not a whole number",
        _ => "out of the 64-bit integer range",
    }
}

// ---------------------------------------------------------------------------------------------
// Date-times (RFC 3339, by hand: no date library needed for parse + normalise)
// ---------------------------------------------------------------------------------------------

/// Epoch values at or above this magnitude are milliseconds (1e11 s is the year 5138).
const EPOCH_MILLIS_THRESHOLD: f64 = 1e11;
/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds.
const MIN_EPOCH: i64 = -62_167_219_200;
const MAX_EPOCH: i64 = 253_402_300_799;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Formats Unix seconds plus a fraction (its digits, without trailing zeros) as
/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn format_utc(secs: i64, frac: &str) -> Result<String, &'static str> {
    if !(MIN_EPOCH..=MAX_EPOCH).contains(&secs) {
        return Err("outside the years 0000-9999");
    }
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    );
    if !frac.is_empty() {
        s.push('.');
        s.push_str(frac);
    }
    s.push('Z');
    Ok(s)
}

/// Epoch seconds, or milliseconds when at least [`EPOCH_MILLIS_THRESHOLD`].
fn epoch_to_rfc3339(v: f64) -> Result<String, &'static str> {
    if !v.is_finite() {
        return Err("not a finite number");
    }
    let millis = if v.abs() >= EPOCH_MILLIS_THRESHOLD {
        v.round()
    } else {
        (v * 1000.0).round()
    };
    if millis.abs() > 1e16 {
        return Err("outside the years 0000-9999");
    }
    let millis = millis as i64;
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let frac = if ms == 0 {
        String::new()
    } else {
        format!("{ms:03}").trim_end_matches('0').to_string()
    };
    format_utc(secs, &frac)
}

/// Parses an RFC 3339 date-time (`T`, `t` or space between date and time; `Z`, `z` or
/// `±hh:mm` offset, `±hhmm` tolerated; no offset means UTC; a date alone means midnight
/// UTC) and normalises it to UTC.
fn parse_rfc3339(s: &str) -> Result<String, &'static str> {
    const BAD: &str = "not an RFC 3339 date-time such as 2024-05-06T07:08:09Z";
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Result<u32, &'static str> {
        let part = b.get(range).ok_or(BAD)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(BAD);
        }
        Ok(part
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(BAD);
    }
    let year = i64::from(num(0..4)?);
    let month = num(5..7)?;
    let day = num(8..10)?;
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    let date_days = days_from_civil(year, month, day);
    if b.len() == 10 {
        return format_utc(date_days * 86_400, "");
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return Err(BAD);
    }
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let second = num(17..19)?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err("time out of range");
    }
    let mut i = 19;
    let mut frac = "";
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return Err(BAD);
        }
        frac = s.get(start..end).ok_or(BAD)?.trim_end_matches('0');
        i = end;
    }
    let offset_secs: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let (oh, om) = match b.len() - i {
                6 if b[i + 3] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                5 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                3 => (num(i + 1..i + 3)?, 0),
                _ => return Err(BAD),
            };
            if oh > 23 || om > 59 {
                return Err("offset out of range");
            }
            let o = i64::from(oh * 3600 + om * 60);
            if sign == b'+' { o } else { -o }
        }
        _ => return Err(BAD),
    };
    let secs = date_days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
    format_utc(secs, frac)
}

#[cfg(test)]
mod tests;
