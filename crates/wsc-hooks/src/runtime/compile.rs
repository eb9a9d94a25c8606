//! Compiling hooks, and where compile errors are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::{Dynamic, ParseError, Scope};
use wsc_spec::model::Hook;

use super::HookRuntime;
use super::compiled::{CompiledHook, CompiledInner, Uses};
use super::errors::map_pos;
use crate::error::{CompileError, CompileErrorKind, HookLocation};
use crate::origin::HookOrigin;

impl HookRuntime {
    /// Compiles a hook of the connector model: reads its `file` (see
    /// [`HookOrigin::resolve_file`]) or takes its inline `script`. Call once per hook, at load.
    pub fn compile(&self, hook: &Hook, origin: &HookOrigin) -> Result<CompiledHook, CompileError> {
        match (&hook.file, &hook.script) {
            (Some(file), None) => {
                let path = origin.resolve_file(file);
                let source = std::fs::read_to_string(&path).map_err(|e| CompileError {
                    location: self.location(origin, &path, false, None),
                    kind: CompileErrorKind::Io,
                    message: format!("cannot read hook file {}: {e}", path.display()),
                })?;
                self.compile_at(&source, origin, path, false)
            }
            (None, Some(script)) => {
                self.compile_at(script, origin, origin.connector_file.clone(), true)
            }
            _ => Err(CompileError {
                location: self.location(origin, &origin.connector_file, true, None),
                kind: CompileErrorKind::Invalid,
                message: "a hook needs exactly one of `file` and `script`".into(),
            }),
        }
    }

    /// Compiles script text. With [`HookOrigin::hook_file`] set, positions are in that file;
    /// otherwise the script is taken as inline in the connector file, starting at
    /// [`HookOrigin::inline_start`].
    pub fn compile_source(
        &self,
        source: &str,
        origin: &HookOrigin,
    ) -> Result<CompiledHook, CompileError> {
        match &origin.hook_file {
            Some(f) => self.compile_at(source, origin, f.clone(), false),
            None => self.compile_at(source, origin, origin.connector_file.clone(), true),
        }
    }

    pub(super) fn compile_at(
        &self,
        source: &str,
        origin: &HookOrigin,
        file: PathBuf,
        inline: bool,
    ) -> Result<CompiledHook, CompileError> {
        let mut scope = Scope::new();
        for v in origin.kind.variables() {
            scope.push_dynamic(*v, Dynamic::UNIT);
        }
        let mut ast = self
            .engine
            .compile_with_scope(&scope, source)
            .map_err(|e| self.parse_error(e, origin, &file, inline))?;
        ast.set_source(origin.name.as_str());
        Ok(CompiledHook {
            inner: Arc::new(CompiledInner {
                ast,
                kind: origin.kind,
                name: Arc::from(origin.name.as_str()),
                connector_file: origin.connector_file.clone(),
                file,
                inline,
                start: origin.inline_start,
                uses: Uses::scan(source),
            }),
        })
    }

    pub(super) fn parse_error(
        &self,
        e: ParseError,
        origin: &HookOrigin,
        file: &Path,
        inline: bool,
    ) -> CompileError {
        let pos = map_pos(e.position(), inline, origin.inline_start);
        let location = self.location(origin, file, inline, pos);
        let text = e.0.to_string();
        for word in ["import", "eval"] {
            if text.contains(&format!("'{word}'")) {
                return CompileError {
                    location,
                    kind: CompileErrorKind::Refused,
                    message: format!(
                        "`{word}` is not allowed in hooks: hooks run sandboxed and cannot load \
                         modules, files or code"
                    ),
                };
            }
        }
        let message = match &*e.0 {
            rhai::ParseErrorType::VariableUndefined(name) => format!(
                "unknown variable `{name}`; {} `{}` hook sees {}",
                if origin.kind.key().starts_with('a') {
                    "an"
                } else {
                    "a"
                },
                origin.kind,
                origin
                    .kind
                    .variables()
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => text,
        };
        CompileError {
            location,
            kind: CompileErrorKind::Syntax,
            message,
        }
    }

    pub(super) fn location(
        &self,
        origin: &HookOrigin,
        file: &Path,
        inline: bool,
        pos: Option<(usize, Option<usize>)>,
    ) -> Box<HookLocation> {
        Box::new(HookLocation {
            connector: self.connector.to_string(),
            connector_file: origin.connector_file.clone(),
            hook: origin.name.clone(),
            file: file.to_path_buf(),
            inline,
            line: pos.map(|p| p.0),
            column: pos.and_then(|p| p.1),
        })
    }
}
