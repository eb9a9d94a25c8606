//! Hooks compiled once, and the variables each script mentions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::AST;

use crate::origin::{HookKind, SourcePos};

/// Variables a script mentions; others are not built for it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Uses(u16);

const VARS: [&str; 10] = [
    "operation",
    "settings",
    "plan",
    "page",
    "prev",
    "state",
    "request",
    "response",
    "records",
    "result",
];

impl Uses {
    pub(super) fn scan(source: &str) -> Uses {
        let mut bits = 0u16;
        for word in source.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if let Some(i) = VARS.iter().position(|v| *v == word) {
                bits |= 1 << i;
            }
        }
        Uses(bits)
    }

    pub(super) fn has(self, name: &str) -> bool {
        VARS.iter()
            .position(|v| *v == name)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }
}

#[derive(Debug)]
pub(super) struct CompiledInner {
    pub(super) ast: AST,
    pub(super) kind: HookKind,
    pub(super) name: Arc<str>,
    pub(super) connector_file: PathBuf,
    pub(super) file: PathBuf,
    pub(super) inline: bool,
    pub(super) start: SourcePos,
    pub(super) uses: Uses,
}

/// A hook compiled once, at connector load; cheap to clone and shareable across threads.
#[derive(Debug, Clone)]
pub struct CompiledHook {
    pub(super) inner: Arc<CompiledInner>,
}

impl CompiledHook {
    /// The hook point it was compiled for.
    pub fn kind(&self) -> HookKind {
        self.inner.kind
    }

    /// The hook's name (from its [`HookOrigin`]).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The file the script is in: the hook file, or the connector file for an inline hook.
    pub fn file(&self) -> &Path {
        &self.inner.file
    }

    /// Whether the script is inline in the connector file.
    pub fn is_inline(&self) -> bool {
        self.inner.inline
    }
}
