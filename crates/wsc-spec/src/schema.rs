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
