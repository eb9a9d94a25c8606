//! JSON ↔ Rhai values.
//!
//! Rhai object maps are sorted by key; JSON objects here keep their order. When a value comes
//! back from a script, keys that were in the value given to the script keep their original
//! order (new keys follow, sorted), so a hook that changes one attribute does not reorder a
//! record.

use rhai::{Array, Dynamic, ImmutableString, Map};
use serde_json::{Number, Value};

/// Converts JSON into a Rhai value. Integers that fit `i64` become `INT`, other numbers `FLOAT`.
pub(crate) fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Dynamic::from_int(i)
            } else {
                Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        Value::Array(a) => Dynamic::from_array(a.iter().map(to_dynamic).collect::<Array>()),
        Value::Object(o) => Dynamic::from_map(object_to_map(o)),
    }
}

/// Converts a JSON object into a Rhai object map.
pub(crate) fn object_to_map(o: &serde_json::Map<String, Value>) -> Map {
    o.iter()
        .map(|(k, v)| (k.as_str().into(), to_dynamic(v)))
        .collect()
}

/// How deep a value may still nest: the limit, and the level of the value being converted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Depth {
    max: usize,
    level: usize,
}

impl Depth {
    /// At the top of a value that may nest `max` levels of arrays and maps.
    pub(crate) fn new(max: usize) -> Depth {
        Depth { max, level: 0 }
    }

    /// One level down, or the error when that is too deep. The recursion of the conversion
    /// is bounded by this (at most [`crate::limits::MAX_DEPTH_CAP`] levels), whatever the
    /// depth of the value.
    fn enter(self, path: &str) -> Result<Depth, String> {
        if self.level >= self.max {
            return Err(format!(
                "{path} is nested deeper than {} levels of arrays and maps; limits.max_depth",
                self.max
            ));
        }
        Ok(Depth {
            max: self.max,
            level: self.level + 1,
        })
    }
}

/// Converts a Rhai value back into JSON. `template` is the value the script was given at the
/// same place, used to keep object key order. Errors name the path of the offending value.
pub(crate) fn from_dynamic(
    value: Dynamic,
    template: Option<&Value>,
    path: &mut String,
    depth: Depth,
) -> Result<Value, String> {
    let value = value.flatten();
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::Number(i.into()));
    }
    if let Ok(f) = value.as_float() {
        return Ok(Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if value.is_string() {
        let s = value
            .into_immutable_string()
            .map_err(|t| format!("{path}: unexpected {t}"))?;
        return Ok(Value::String(s.to_string()));
    }
    if value.is_array() {
        let depth = depth.enter(path)?;
        let array = value
            .into_array()
            .map_err(|t| format!("{path}: unexpected {t}"))?;
        let tmpl = match template {
            Some(Value::Array(a)) => Some(a.as_slice()),
            _ => None,
        };
        let mut out = Vec::with_capacity(array.len());
        let len = path.len();
        for (i, item) in array.into_iter().enumerate() {
            // Elements that moved (retain, insert) usually share their neighbours' shape.
            let t = tmpl.and_then(|t| t.get(i).or_else(|| t.last()));
            path.push_str(&format!("[{i}]"));
            out.push(from_dynamic(item, t, path, depth)?);
            path.truncate(len);
        }
        return Ok(Value::Array(out));
    }
    if value.is_blob() {
        let blob = value
            .into_blob()
            .map_err(|t| format!("{path}: unexpected {t}"))?;
        return Ok(Value::Array(
            blob.into_iter().map(|b| Value::Number(b.into())).collect(),
        ));
    }
    if value.is_map() {
        let depth = depth.enter(path)?;
        let map = value
            .try_cast::<Map>()
            .ok_or_else(|| format!("{path}: unexpected object map"))?;
        let tmpl = match template {
            Some(Value::Object(o)) => Some(o),
            _ => None,
        };
        return map_to_object(map, tmpl, path, depth).map(Value::Object);
    }
    Err(format!(
        "{path} is a {} which has no JSON form",
        value.type_name()
    ))
}

/// Converts a Rhai object map back into a JSON object, keeping the key order of `template`.
pub(crate) fn map_to_object(
    mut map: Map,
    template: Option<&serde_json::Map<String, Value>>,
    path: &mut String,
    depth: Depth,
) -> Result<serde_json::Map<String, Value>, String> {
    let mut out = serde_json::Map::with_capacity(map.len());
    let len = path.len();
    if let Some(t) = template {
        for (k, tv) in t {
            if let Some(v) = map.remove(k.as_str()) {
                push_key(path, k);
                out.insert(k.clone(), from_dynamic(v, Some(tv), path, depth)?);
                path.truncate(len);
            }
        }
    }
    for (k, v) in map {
        push_key(path, &k);
        out.insert(k.to_string(), from_dynamic(v, None, path, depth)?);
        path.truncate(len);
    }
    Ok(out)
}

pub(crate) fn push_key(path: &mut String, key: &str) {
    if key.chars().all(|c| c.is_alphanumeric() || c == '_') && !key.is_empty() {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{key:?}]"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_order_and_types() {
        let v = json!({"z": 1, "a": [1.5, "x", null, true, {"q": 1, "b": 2}], "m": u64::MAX});
        let d = to_dynamic(&v);
        let back = from_dynamic(d, Some(&v), &mut "v".to_string(), Depth::new(8)).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            r#"{"z":1,"a":[1.5,"x",null,true,{"q":1,"b":2}],"m":1.8446744073709552e+19}"#
        );
    }

    #[test]
    fn depth_is_limited_and_named() {
        let mut d = Dynamic::from_array(vec![]);
        for _ in 0..10 {
            d = Dynamic::from_array(vec![d]);
        }
        let err =
            from_dynamic(d.clone(), None, &mut "state.x".to_string(), Depth::new(5)).unwrap_err();
        assert!(err.contains("nested deeper than 5 levels"), "{err}");
        assert!(err.contains("limits.max_depth"), "{err}");
        assert!(err.starts_with("state.x[0][0][0][0][0]"), "{err}");
        assert!(from_dynamic(d, None, &mut String::new(), Depth::new(11)).is_ok());
    }

    #[test]
    fn function_pointers_have_no_json_form() {
        let d = Dynamic::from(rhai::FnPtr::new("f").unwrap());
        let err =
            from_dynamic(d, None, &mut "records[0].x".to_string(), Depth::new(8)).unwrap_err();
        assert!(err.contains("records[0].x is a Fn"), "{err}");
    }
}
