//! The JSON Schema of the connector format, generated from the same types the loader uses.

use crate::model::Connector;

/// The `$id` under which the schema is published in this repository.
pub const SCHEMA_ID: &str = "https://wsc.invalid/schema/connector.schema.json";

/// The JSON Schema (draft 2020-12) of a connector file.
pub fn connector_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Connector))
        .expect("a generated schema serialises");
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), SCHEMA_ID.into());
        obj.insert("title".into(), "wsc connector".into());
    }
    schema
}

/// One generated reference table: the keys of one mapping (or the values of one enum) of the
/// format, rendered as Markdown. `docs/connector-reference.md` embeds every table between
/// `<!-- table:ID -->` and `<!-- /table -->`; a test keeps the two in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceTable {
    /// Identifier: the type name (`Paging`), or `Auth.oauth2` for a variant of a tagged enum.
    pub id: String,
    /// The Markdown table.
    pub markdown: String,
}

/// Every reference table of the format.
pub fn reference_tables() -> Vec<ReferenceTable> {
    let schema = connector_schema();
    let mut out = vec![ReferenceTable {
        id: "Connector".into(),
        markdown: keys_table(&schema),
    }];
    let defs = schema
        .get("$defs")
        .and_then(|d| d.as_object())
        .cloned()
        .unwrap_or_default();
    for (name, def) in &defs {
        if def.get("properties").is_some() {
            out.push(ReferenceTable {
                id: name.clone(),
                markdown: keys_table(def),
            });
        } else if let Some(variants) = def.get("oneOf").and_then(|v| v.as_array()) {
            if variants.iter().all(|v| v.get("const").is_some()) {
                out.push(ReferenceTable {
                    id: name.clone(),
                    markdown: values_table(variants),
                });
            } else {
                // Mappings only: a variant that is a plain value (`PageValue`'s JSONPath
                // string) has no keys to document. Tagged variants are `Name.tag`.
                for v in variants.iter().filter(|v| v.get("properties").is_some()) {
                    let id = match v.pointer("/properties/type/const").and_then(|c| c.as_str()) {
                        Some(tag) => format!("{name}.{tag}"),
                        None => name.clone(),
                    };
                    out.push(ReferenceTable {
                        id,
                        markdown: keys_table(v),
                    });
                }
            }
        }
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn keys_table(obj: &serde_json::Value) -> String {
    let required: Vec<&str> = obj
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    let mut s = String::from("| Key | Type | Required | Description |\n|---|---|---|---|\n");
    if let Some(props) = obj.get("properties").and_then(|p| p.as_object()) {
        for (key, p) in props {
            let desc = p
                .get("description")
                .and_then(|d| d.as_str())
                .map(one_line)
                .unwrap_or_default();
            let desc = if desc.is_empty() && key == "type" {
                "Selects this kind.".to_string()
            } else {
                desc
            };
            s.push_str(&format!(
                "| `{key}` | {} | {} | {desc} |\n",
                type_of(p),
                if required.contains(&key.as_str()) {
                    "yes"
                } else {
                    "no"
                }
            ));
        }
    }
    s
}

fn values_table(variants: &[serde_json::Value]) -> String {
    let mut s = String::from("| Value | Meaning |\n|---|---|\n");
    for v in variants {
        let c = v.get("const").map(|c| match c {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let desc = v
            .get("description")
            .and_then(|d| d.as_str())
            .map(one_line)
            .unwrap_or_default();
        s.push_str(&format!("| `{}` | {desc} |\n", c.unwrap_or_default()));
    }
    s
}

fn type_of(p: &serde_json::Value) -> String {
    if let Some(c) = p.get("const") {
        return format!(
            "`{}`",
            c.as_str().map(str::to_string).unwrap_or(c.to_string())
        );
    }
    if let Some(r) = p.get("$ref").and_then(|r| r.as_str()) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("[{name}](#{})", name.to_ascii_lowercase());
    }
    if let Some(any) = p.get("anyOf").and_then(|a| a.as_array()) {
        let parts: Vec<String> = any
            .iter()
            .filter(|x| x.get("type").and_then(|t| t.as_str()) != Some("null"))
            .map(type_of)
            .collect();
        return parts.join(" or ");
    }
    let ty = match p.get("type") {
        Some(serde_json::Value::String(t)) => t.clone(),
        Some(serde_json::Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str())
            .find(|t| *t != "null")
            .unwrap_or("any")
            .to_string(),
        _ => return "any".into(),
    };
    match ty.as_str() {
        "array" => match p.get("items") {
            Some(items) => format!("list of {}", type_of(items)),
            None => "list".into(),
        },
        "object" => match p.get("additionalProperties") {
            Some(serde_json::Value::Bool(true)) | None => "mapping".into(),
            Some(v) if v.is_object() => format!("map of {}", type_of(v)),
            _ => "mapping".into(),
        },
        "integer" => "integer".into(),
        other => other.into(),
    }
}
