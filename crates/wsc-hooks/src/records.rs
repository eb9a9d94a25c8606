//! Mapped records in and out of an `after` hook without going through JSON objects (the maps
//! handed over are built in `records_in.rs`).
//!
//! A record is handed to the script as the same object map as before
//! (`#{type, identity, name, attributes: #{..}, members}`), built straight from the engine's
//! record (no `serde_json` object in between). When the script is done, each record it left is
//! matched with the record it came from (by its `identity` string, which the script sees as
//! the very string given to it) and compared with it, field by field: what is unchanged is
//! moved back from the original record, without converting or copying it; only the values the
//! script changed or added are converted. A record the script keeps unchanged thus costs one
//! walk over its map on the way back, and no allocation.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use rhai::{Array, Dynamic, ImmutableString, Map};
use serde_json::Value;

use crate::convert::{Depth, from_dynamic, push_key};
use crate::spare::Spare;

/// A mapped record as the engine holds it, for
/// [`HookRuntime::after_records`](crate::HookRuntime::after_records).
///
/// The script sees it as the object map wsc outputs: `type`, `identity`, `name`,
/// `attributes` (every name of the page's [`RecordShape::names`], `()` for a null value) and
/// `members` (only when `Some`). `deleted` is not shown; a record comes back marked deleted
/// only when the script sets `deleted: true` on it (as when records went through JSON).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HookRecord {
    /// Object type: `account`, `group`...
    pub object_type: Arc<str>,
    /// The record's identity.
    pub identity: String,
    /// Display name.
    pub name: Option<String>,
    /// Attribute values, in [`RecordShape::names`] order (`Null` when absent).
    pub attributes: Vec<Value>,
    /// Member identities.
    pub members: Option<Vec<String>>,
    /// Marked deleted (incremental aggregations).
    pub deleted: bool,
}

/// What the records of one page share: their object type and their attribute names.
#[derive(Debug, Clone, Copy)]
pub struct RecordShape<'a> {
    /// The object type of the operation (a record whose `type` the script did not change to
    /// another string gets this one).
    pub object_type: &'a Arc<str>,
    /// The declared attributes, in the order of [`HookRecord::attributes`]. A record given back
    /// with an attribute not in this list is an error naming it.
    pub names: &'a [Arc<str>],
}

impl HookRecord {
    /// The record as the JSON object a hook sees (what `records[i]` is, as JSON).
    pub fn to_json(&self, names: &[Arc<str>]) -> Value {
        record_json(
            &self.object_type,
            &self.identity,
            self.name.as_deref(),
            &self.attributes,
            self.members.as_deref(),
            names,
        )
    }
}

/// A record as the JSON object the output writers produce and a hook sees:
/// `{"type", "identity", "name", "attributes": {..}, "members"?}`, attribute values in the
/// order of `names`. The one place this shape is built (the engine's `Record::to_json` too).
pub fn record_json(
    object_type: &str,
    identity: &str,
    name: Option<&str>,
    attributes: &[Value],
    members: Option<&[String]>,
    names: &[Arc<str>],
) -> Value {
    let mut attrs = serde_json::Map::with_capacity(attributes.len());
    for (n, v) in names.iter().zip(attributes) {
        attrs.insert(n.to_string(), v.clone());
    }
    let mut o = serde_json::Map::with_capacity(5);
    o.insert("type".into(), Value::String(object_type.to_string()));
    o.insert("identity".into(), Value::String(identity.to_string()));
    o.insert(
        "name".into(),
        name.map_or(Value::Null, |n| Value::String(n.to_string())),
    );
    o.insert("attributes".into(), Value::Object(attrs));
    if let Some(m) = members {
        o.insert(
            "members".into(),
            Value::Array(m.iter().cloned().map(Value::String).collect()),
        );
    }
    Value::Object(o)
}

/// Every string (and object key) of a JSON value.
pub(crate) fn value_strings(v: &Value, f: &mut impl FnMut(&str)) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => f(s),
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(o) => {
                for (k, v) in o {
                    f(k);
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
}

/// Where a string is: how a record given back is matched with the one it came from (the
/// script holds the very `identity` string it was given).
pub(crate) fn address(s: &str) -> usize {
    s.as_ptr() as usize
}

/// Why a record the script left cannot be used.
#[derive(Debug)]
pub(crate) enum OutError {
    /// Not a map, or a value with no JSON form, or nested too deep
    /// ([`crate::HookErrorKind::InvalidOutput`]).
    Output(String),
    /// Not a valid record of the operation: identity, attributes
    /// ([`crate::HookErrorKind::InvalidRecord`]).
    Record(String),
}

/// A record the script left, before it is assembled: `None` fields are the original's.
pub(crate) struct Pending {
    /// The record it came from, when its fields may be moved from there.
    from: Option<usize>,
    object_type: Arc<str>,
    identity: Option<String>,
    name: Option<Option<String>>,
    attributes: Attrs,
    members: Option<Option<Vec<String>>>,
    deleted: bool,
}

enum Attrs {
    /// The original's attributes with these changed.
    Patch(Vec<(usize, Value)>),
    /// All new.
    Full(Vec<Value>),
}

/// Reads the records a script left back into [`HookRecord`]s.
pub(crate) struct PageOut<'a> {
    pub(crate) shape: RecordShape<'a>,
    pub(crate) depth: Depth,
    identities: HashMap<usize, usize>,
    /// [`sorted_names`].
    order: Vec<usize>,
    /// Originals already matched with a record given back (a copy of a record is read in full).
    claimed: Vec<bool>,
    /// The path of the value being read, for errors.
    path: String,
    /// The text of every value converted (what the script changed or added), each string
    /// followed by a NUL, for the secrets check.
    pub(crate) check: String,
    /// Where the maps and strings read go, for the next page.
    pub(crate) spare: Spare,
}

/// The fields of a record map (other keys are ignored, as when records went through JSON).
#[derive(Default)]
struct Fields {
    identity: Option<Dynamic>,
    name: Option<Dynamic>,
    attributes: Option<Dynamic>,
    members: Option<Dynamic>,
    object_type: Option<Dynamic>,
    deleted: Option<Dynamic>,
}

impl<'a> PageOut<'a> {
    pub(crate) fn new(
        shape: RecordShape<'a>,
        depth: Depth,
        page: (HashMap<usize, usize>, Vec<usize>),
        originals: usize,
        spare: Spare,
    ) -> PageOut<'a> {
        PageOut {
            shape,
            depth,
            identities: page.0,
            order: page.1,
            claimed: vec![false; originals],
            path: String::new(),
            check: String::new(),
            spare,
        }
    }

    fn convert(
        &mut self,
        d: Dynamic,
        template: Option<&Value>,
        path: &mut String,
    ) -> Result<Value, OutError> {
        let v = from_dynamic(d, template, path, self.depth).map_err(OutError::Output)?;
        value_strings(&v, &mut |s| self.note(s));
        Ok(v)
    }

    /// Notes a string the script changed or added, for the secrets check.
    fn note(&mut self, s: &str) {
        self.check.push_str(s);
        self.check.push('\0');
    }

    /// Reads record `i` of what the script left, comparing it with the original it came from.
    pub(crate) fn read(
        &mut self,
        item: Dynamic,
        i: usize,
        originals: &[HookRecord],
    ) -> Result<Pending, OutError> {
        let mut item = item.flatten();
        if !item.is_map() {
            return Err(OutError::Output(format!(
                "records[{i}] must be an object map, found {}",
                item.type_name()
            )));
        }
        let mut f = Fields::default();
        // The values are taken out; the map is kept for the next page when its keys are
        // those of a record handed over (`spare.rs`).
        let keys = match item.write_lock::<Map>() {
            Some(mut map) => {
                for (k, v) in map.iter_mut() {
                    let slot = match k.as_str() {
                        "identity" => &mut f.identity,
                        "name" => &mut f.name,
                        "attributes" => &mut f.attributes,
                        "members" => &mut f.members,
                        "type" => &mut f.object_type,
                        "deleted" => &mut f.deleted,
                        _ => continue,
                    };
                    *slot = Some(std::mem::take(v).flatten());
                }
                map.len()
            }
            None => unreachable!("checked to be a map"),
        };
        let plain = keys == 4
            && f.identity.is_some()
            && f.name.is_some()
            && f.attributes.is_some()
            && f.object_type.is_some();
        let mut path = std::mem::take(&mut self.path);
        path.clear();
        let _ = write!(path, "records[{i}]");
        let base = path.len();

        // identity: a string (a number is written as text).
        let id_value = f.identity.take().unwrap_or(Dynamic::UNIT);
        let from = id_value
            .read_lock::<ImmutableString>()
            .and_then(|s| self.identities.get(&address(&s)).copied())
            .filter(|&j| j < originals.len() && !self.claimed[j]);
        if let Some(j) = from {
            self.claimed[j] = true;
        }
        let orig = from.map(|j| &originals[j]);
        let identity = if let Some(s) = id_value.read_lock::<ImmutableString>() {
            if orig.is_some_and(|o| o.identity == s.as_str()) {
                None
            } else {
                self.note(&s);
                Some(s.to_string())
            }
        } else {
            path.push_str(".identity");
            match self.convert(id_value.clone(), None, &mut path)? {
                Value::Number(n) => Some(n.to_string()),
                _ => {
                    return Err(OutError::Record(
                        "a record needs a string `identity`".into(),
                    ));
                }
            }
        };
        path.truncate(base);
        self.spare.keep_strings(id_value);

        // name: a string, `()` for none (anything else is written as its JSON text).
        let name_value = f.name.take().unwrap_or(Dynamic::UNIT);
        let name = if name_value.is_unit() {
            (orig.is_none_or(|o| o.name.is_some())).then_some(None)
        } else if let Some(s) = name_value.read_lock::<ImmutableString>() {
            if orig.is_some_and(|o| o.name.as_deref() == Some(s.as_str())) {
                None
            } else {
                self.note(&s);
                Some(Some(s.to_string()))
            }
        } else {
            path.push_str(".name");
            let v = self.convert(name_value.clone(), None, &mut path)?;
            path.truncate(base);
            let s = v.to_string();
            self.note(&s);
            Some(Some(s))
        };
        self.spare.keep_strings(name_value);

        let nulls = || Attrs::Full(vec![Value::Null; self.shape.names.len()]);
        let attributes = match f.attributes.take() {
            Some(mut a) if a.is_map() => {
                path.push_str(".attributes");
                let read = match a.write_lock::<Map>() {
                    Some(mut map) => self.attributes(&mut map, orig, &mut path)?,
                    None => unreachable!("checked to be a map"),
                };
                path.truncate(base);
                if plain {
                    self.spare.keep_record(item, a);
                }
                read
            }
            None => nulls(),
            Some(a) if a.is_unit() => nulls(),
            Some(other) => {
                path.push_str(".attributes");
                let v = self.convert(other, None, &mut path)?;
                return Err(OutError::Record(format!(
                    "`attributes` must be an object, found {v}"
                )));
            }
        };

        let members = match f.members {
            Some(m) if m.is_array() => {
                if orig.is_some_and(|o| same_members(&m, o.members.as_deref())) {
                    None
                } else {
                    path.push_str(".members");
                    let Value::Array(items) = self.convert(m, None, &mut path)? else {
                        unreachable!("an array converts to an array")
                    };
                    path.truncate(base);
                    Some(Some(
                        items
                            .into_iter()
                            .map(|m| match m {
                                Value::String(s) => s,
                                other => other.to_string(),
                            })
                            .collect(),
                    ))
                }
            }
            _ => (orig.is_none_or(|o| o.members.is_some())).then_some(None),
        };

        let object_type = match f.object_type {
            Some(t) => match t.read_lock::<ImmutableString>() {
                Some(t) if t.as_str() != self.shape.object_type.as_ref() => {
                    self.note(&t);
                    Arc::from(t.as_str())
                }
                _ => self.shape.object_type.clone(),
            },
            None => self.shape.object_type.clone(),
        };
        let deleted = f.deleted.is_some_and(|d| d.as_bool() == Ok(true));
        self.path = path;
        Ok(Pending {
            from,
            object_type,
            identity,
            name,
            attributes,
            members,
            deleted,
        })
    }

    /// The attributes map of a record: declared names only; unchanged values are the
    /// original's.
    fn attributes(
        &mut self,
        map: &mut Map,
        orig: Option<&HookRecord>,
        path: &mut String,
    ) -> Result<Attrs, OutError> {
        let names = self.shape.names;
        let order = std::mem::take(&mut self.order);
        let r = self.attributes_in_order(map, orig, path, names, &order);
        self.order = order;
        r
    }

    fn attributes_in_order(
        &mut self,
        map: &mut Map,
        orig: Option<&HookRecord>,
        path: &mut String,
        names: &[Arc<str>],
        order: &[usize],
    ) -> Result<Attrs, OutError> {
        // The first undeclared name, in the order the map gives its keys (sorted): the keys
        // and the names (`order`) are walked together, one comparison a step.
        let mut s = 0;
        for k in map.keys() {
            let declared = loop {
                match order.get(s).map(|&n| names[n].as_ref().cmp(k.as_str())) {
                    Some(std::cmp::Ordering::Less) => s += 1,
                    Some(std::cmp::Ordering::Equal) => break true,
                    Some(std::cmp::Ordering::Greater) | None => break false,
                }
            };
            if !declared {
                return Err(OutError::Record(format!(
                    "attribute `{k}` is not declared under the operation's `attributes` (declare it there, e.g. with `value: null`)"
                )));
            }
            s += 1;
        }
        let base = path.len();
        let orig = orig.filter(|o| o.attributes.len() == names.len());
        let mut patch = Vec::new();
        let mut all = if orig.is_some() {
            Vec::new()
        } else {
            vec![Value::Null; names.len()]
        };
        // Map keys and `order` are both sorted, and every key is a name: walk them together.
        let mut s = 0;
        for (key, d) in map.iter_mut() {
            while names[order[s]].as_ref() != key.as_str() {
                if let Some(o) = orig
                    && !o.attributes[order[s]].is_null()
                {
                    patch.push((order[s], Value::Null));
                }
                s += 1;
            }
            let k = order[s];
            s += 1;
            let d = std::mem::take(d).flatten();
            match orig.map(|o| &o.attributes[k]) {
                Some(ov) if same(&d, ov) => self.spare.keep_strings(d),
                ov => {
                    push_key(path, &names[k]);
                    let v = self.convert(d, ov, path)?;
                    path.truncate(base);
                    match ov {
                        Some(_) => patch.push((k, v)),
                        None => all[k] = v,
                    }
                }
            }
        }
        if let Some(o) = orig {
            for &k in &order[s..] {
                if !o.attributes[k].is_null() {
                    patch.push((k, Value::Null));
                }
            }
            Ok(Attrs::Patch(patch))
        } else {
            Ok(Attrs::Full(all))
        }
    }
}

impl Pending {
    /// Replaces secret values in what the script changed or added.
    pub(crate) fn redact(&mut self, redact: &dyn Fn(&str) -> String, value: &dyn Fn(&mut Value)) {
        let one = |s: &mut String| {
            let r = redact(s);
            if r != *s {
                *s = r;
            }
        };
        if let Some(i) = &mut self.identity {
            one(i);
        }
        if let Some(Some(n)) = &mut self.name {
            one(n);
        }
        for m in self.members.iter_mut().flatten().flatten() {
            one(m);
        }
        let t = redact(&self.object_type);
        if t != *self.object_type {
            self.object_type = Arc::from(t);
        }
        match &mut self.attributes {
            Attrs::Patch(p) => p.iter_mut().for_each(|(_, v)| value(v)),
            Attrs::Full(a) => a.iter_mut().for_each(value),
        }
    }
}

/// Assembles the records read: moves what is unchanged out of the originals.
pub(crate) fn assemble(pending: Vec<Pending>, originals: &mut [HookRecord]) -> Vec<HookRecord> {
    pending
        .into_iter()
        .map(|p| {
            let mut o = p.from.map(|j| std::mem::take(&mut originals[j]));
            let attributes = match p.attributes {
                Attrs::Full(all) => all,
                Attrs::Patch(patch) => {
                    let mut a = o
                        .as_mut()
                        .map(|o| std::mem::take(&mut o.attributes))
                        .unwrap_or_default();
                    for (k, v) in patch {
                        a[k] = v;
                    }
                    a
                }
            };
            let identity = p.identity.unwrap_or_else(|| {
                o.as_mut()
                    .map(|o| std::mem::take(&mut o.identity))
                    .unwrap_or_default()
            });
            let name = p
                .name
                .unwrap_or_else(|| o.as_mut().and_then(|o| o.name.take()));
            let members = p
                .members
                .unwrap_or_else(|| o.as_mut().and_then(|o| o.members.take()));
            HookRecord {
                object_type: p.object_type,
                identity,
                name,
                attributes,
                members,
                deleted: p.deleted,
            }
        })
        .collect()
}

/// Whether the script's value is the JSON value it was given (without converting it).
fn same(d: &Dynamic, v: &Value) -> bool {
    match v {
        Value::Null => d.is_unit(),
        Value::Bool(b) => d.as_bool() == Ok(*b),
        // Other numbers (floats, beyond `i64`) are converted: that allocates nothing.
        Value::Number(n) => n.as_i64().is_some_and(|i| d.as_int() == Ok(i)),
        Value::String(s) => d
            .read_lock::<ImmutableString>()
            .is_some_and(|x| x.as_str() == s),
        Value::Array(a) => d
            .read_lock::<Array>()
            .is_some_and(|x| x.len() == a.len() && x.iter().zip(a).all(|(d, v)| same(d, v))),
        // Key order: the map is sorted, the object keeps its order; converting keeps the
        // object's order for the keys it has, so an equal map converts to the same object.
        Value::Object(o) => d.read_lock::<Map>().is_some_and(|m| {
            m.len() == o.len()
                && o.iter()
                    .all(|(k, v)| m.get(k.as_str()).is_some_and(|d| same(d, v)))
        }),
    }
}

fn same_members(d: &Dynamic, members: Option<&[String]>) -> bool {
    let Some(members) = members else {
        return false;
    };
    d.read_lock::<Array>().is_some_and(|a| {
        a.len() == members.len()
            && a.iter().zip(members).all(|(d, m)| {
                d.read_lock::<ImmutableString>()
                    .is_some_and(|s| s.as_str() == m)
            })
    })
}
