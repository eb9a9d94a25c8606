//! [`RecordMapper`]: an operation's mapping, compiled once, applied to every record.

use std::sync::Arc;

use serde_json::{Map, Value};
use wsc_spec::model::{Attribute, AttributeDef, AttributeType, Operation};

use super::types::{convert_doc, convert_value};
use super::{MAX_ERROR_DATA, MAX_VALUE_DATA, MapError, Record, RecordTemplate, TemplateCompiler};
use crate::doc::{Doc, truncate_chars};
use crate::path::{CompiledPath, Selection};

/// Where an attribute's value comes from.
pub(crate) enum Source {
    /// A JSONPath into the record.
    Path(CompiledPath),
    /// A template rendered with the record (and its source text).
    Template(Box<dyn RecordTemplate>, String),
    /// A constant, already converted.
    Value(Value),
}

/// One attribute of the mapping, compiled.
pub(crate) struct AttrPlan {
    /// Its name.
    pub(crate) name: Arc<str>,
    /// Where its value comes from.
    pub(crate) source: Source,
    /// The type values are converted to.
    pub(crate) ty: AttributeType,
    /// Multi-valued: every match, as a list.
    pub(crate) multi: bool,
    /// Already converted (a list for `multi`).
    pub(crate) default: Option<Value>,
    /// A missing value is an error.
    pub(crate) required: bool,
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

    /// The paths records are read through, by what they fill: `name`, `members` and the
    /// attributes read by a path (for [`super::unmatched`]).
    pub fn read_paths(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        if let Some(p) = &self.name {
            out.push(("name", p.as_str()));
        }
        if let Some(p) = &self.members {
            out.push(("members", p.as_str()));
        }
        for a in &self.attrs {
            if let Source::Path(p) = &a.source {
                out.push((a.name.as_ref(), p.as_str()));
            }
        }
        out
    }

    /// The compiled attributes (for the compiled projection).
    pub(crate) fn attr_plans(&self) -> &[AttrPlan] {
        &self.attrs
    }

    /// The identity, name and members paths (for the compiled projection).
    pub(crate) fn scalar_paths(
        &self,
    ) -> (
        Option<&CompiledPath>,
        Option<&CompiledPath>,
        Option<&CompiledPath>,
    ) {
        (
            self.identity.as_ref(),
            self.name.as_ref(),
            self.members.as_ref(),
        )
    }

    /// Whether records are read for `delta.deleted`.
    pub(crate) fn reads_deleted(&self) -> bool {
        self.deleted.is_some()
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
        self.map_in(record, None)
    }

    /// Maps one record read in `run`, the run's template context: attribute templates also
    /// read its `partition` and `window` (`{{partition.name}}`).
    pub fn map_in(
        &self,
        record: &Doc<'_>,
        run: Option<&Map<String, Value>>,
    ) -> Result<Record, MapError> {
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
            attributes.push(self.attribute(a, record, record_value.as_ref(), run)?);
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
        run: Option<&Map<String, Value>>,
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
                    let v = render(a, t.as_ref(), record, record_value, run)?;
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
                let v = render(a, t.as_ref(), record, record_value, run)?;
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
    run: Option<&Map<String, Value>>,
) -> Result<Value, MapError> {
    let owned;
    let rv = match record_value {
        Some(v) => v,
        None => {
            owned = record.to_value();
            &owned
        }
    };
    t.render(rv, run).map_err(|message| MapError::Template {
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
