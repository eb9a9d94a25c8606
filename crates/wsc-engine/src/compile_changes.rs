//! The `changes` item templates of write operations, compiled once at load.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use wsc_spec::model::ChangeItems;

use crate::error::EngineError;
use crate::template::Templates;
use crate::template::tree::TemplateTree;

/// The compiled item templates of an operation's `changes`.
#[derive(Debug, Default)]
pub(crate) struct CompiledChanges {
    replace: Option<TemplateTree>,
    add: Option<TemplateTree>,
    remove: Option<TemplateTree>,
    set: Option<TemplateTree>,
}

impl CompiledChanges {
    /// Compiles `changes` of the operation at `key`.
    pub(crate) fn compile(
        t: &mut Templates,
        key: &str,
        items: &ChangeItems,
    ) -> Result<CompiledChanges, EngineError> {
        let one = |t: &mut Templates, name: &str, v: &Option<Value>| {
            v.as_ref()
                .map(|v| TemplateTree::compile(t, &format!("operations.{key}.changes.{name}"), v))
                .transpose()
        };
        Ok(CompiledChanges {
            replace: one(t, "replace", &items.replace)?,
            add: one(t, "add", &items.add)?,
            remove: one(t, "remove", &items.remove)?,
            set: one(t, "set", &items.set)?,
        })
    }

    /// The item template of a change kind (`replace`, `add`, `remove`, `set`).
    pub(crate) fn item(&self, kind: &str) -> &Option<TemplateTree> {
        match kind {
            "add" => &self.add,
            "remove" => &self.remove,
            "set" => &self.set,
            _ => &self.replace,
        }
    }

    /// Whether there is a `set` item template.
    pub(crate) fn has_set(&self) -> bool {
        self.set.is_some()
    }
}

/// Compiles the `changes` of every operation that has them, by operation key.
pub(crate) fn compile_all(
    t: &mut Templates,
    c: &wsc_spec::Connector,
) -> Result<HashMap<String, Arc<CompiledChanges>>, EngineError> {
    let mut out = HashMap::new();
    for (key, op) in c.operations.entries() {
        if let Some(items) = &op.changes {
            out.insert(
                key.to_string(),
                Arc::new(CompiledChanges::compile(t, key.as_str(), items)?),
            );
        }
    }
    Ok(out)
}
