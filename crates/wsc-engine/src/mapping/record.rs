//! [`Record`]: one mapped object.

use std::sync::Arc;

use serde_json::Value;

/// One mapped object.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Object type: `account`, or a group type such as `group` or `role`.
    pub object_type: Arc<str>,
    /// Unique, stable identity.
    pub identity: String,
    /// Display name.
    pub name: Option<String>,
    /// Attribute values in [`RecordMapper::attribute_names`](super::RecordMapper::attribute_names) order; `null` when absent.
    pub attributes: Vec<Value>,
    /// Member identities (group operations with `members`).
    pub members: Option<Vec<String>>,
    /// Marked deleted by the aggregation's `delta.deleted` path (incremental responses).
    pub deleted: bool,
}

impl From<Record> for wsc_hooks::HookRecord {
    /// Moves the record's fields (what an `after` hook runs over).
    fn from(r: Record) -> Self {
        wsc_hooks::HookRecord {
            object_type: r.object_type,
            identity: r.identity,
            name: r.name,
            attributes: r.attributes,
            members: r.members,
            deleted: r.deleted,
        }
    }
}

impl From<wsc_hooks::HookRecord> for Record {
    /// Moves the fields of a record an `after` hook gave back.
    fn from(r: wsc_hooks::HookRecord) -> Self {
        Record {
            object_type: r.object_type,
            identity: r.identity,
            name: r.name,
            attributes: r.attributes,
            members: r.members,
            deleted: r.deleted,
        }
    }
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

    /// [`Record::from_json`] taking the value, so its strings move into the record instead of
    /// being copied.
    pub fn from_json_owned(
        v: Value,
        object_type: &Arc<str>,
        names: &[Arc<str>],
    ) -> Result<Record, String> {
        let Value::Object(mut o) = v else {
            return Err(format!("a record must be an object, found {v}"));
        };
        let identity = match o.get_mut("identity") {
            Some(Value::String(s)) => std::mem::take(s),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("a record needs a string `identity`".into()),
        };
        let name = match o.get_mut("name") {
            Some(Value::String(s)) => Some(std::mem::take(s)),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let mut attrs = match o.get_mut("attributes").map(std::mem::take) {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => serde_json::Map::new(),
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
            .map(|n| {
                attrs
                    .get_mut(n.as_ref())
                    .map(std::mem::take)
                    .unwrap_or(Value::Null)
            })
            .collect();
        let members = match o.get_mut("members") {
            Some(Value::Array(a)) => Some(
                a.iter_mut()
                    .map(|m| match m {
                        Value::String(s) => std::mem::take(s),
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

    /// [`Record::to_json`] taking the record, so its strings move instead of being copied.
    pub fn into_json(self, names: &[Arc<str>]) -> Value {
        let mut attrs = serde_json::Map::with_capacity(self.attributes.len());
        for (n, v) in names.iter().zip(self.attributes) {
            attrs.insert(n.to_string(), v);
        }
        let mut o = serde_json::Map::with_capacity(5);
        o.insert("type".into(), Value::String(self.object_type.to_string()));
        o.insert("identity".into(), Value::String(self.identity));
        o.insert("name".into(), self.name.map_or(Value::Null, Value::String));
        o.insert("attributes".into(), Value::Object(attrs));
        if let Some(m) = self.members {
            o.insert(
                "members".into(),
                Value::Array(m.into_iter().map(Value::String).collect()),
            );
        }
        Value::Object(o)
    }

    /// The record as the JSON object the output writers produce:
    /// `{"type", "identity", "name", "attributes": {..}, "members"?}`.
    pub fn to_json(&self, names: &[Arc<str>]) -> Value {
        wsc_hooks::record_json(
            &self.object_type,
            &self.identity,
            self.name.as_deref(),
            &self.attributes,
            self.members.as_deref(),
            names,
        )
    }
}
