//! Hook errors: where in the script they are, and what a failed run means.

use rhai::{Dynamic, EvalAltResult, Position};

use super::HookRuntime;
use super::compiled::CompiledHook;
use crate::error::{HookError, HookErrorKind, HookLocation};
use crate::origin::SourcePos;

impl HookRuntime {
    pub(super) fn hook_location(&self, hook: &CompiledHook, pos: Position) -> Box<HookLocation> {
        let h = &hook.inner;
        let pos = map_pos(pos, h.inline, h.start);
        Box::new(HookLocation {
            connector: self.connector.to_string(),
            connector_file: h.connector_file.clone(),
            hook: h.name.to_string(),
            file: h.file.clone(),
            inline: h.inline,
            line: pos.map(|p| p.0),
            column: pos.and_then(|p| p.1),
        })
    }

    /// A value the hook left that the engine cannot use; `message` comes from the conversion
    /// (a depth error gives [`HookErrorKind::TooDeep`]).
    pub(super) fn invalid_output(&self, hook: &CompiledHook, message: String) -> HookError {
        let kind = if message.contains("limits.max_depth") {
            HookErrorKind::TooDeep
        } else {
            HookErrorKind::InvalidOutput
        };
        HookError {
            location: self.hook_location(hook, Position::NONE),
            kind,
            message: self.redact_text(message),
        }
    }

    pub(super) fn runtime_error(&self, hook: &CompiledHook, err: EvalAltResult) -> HookError {
        // Unwrap calls of script functions down to the error itself, keeping the innermost
        // known position and the chain of functions.
        let mut err = err;
        let mut pos = err.position();
        let mut functions = Vec::new();
        loop {
            match err {
                EvalAltResult::ErrorInFunctionCall(name, _, inner, call_pos) => {
                    if !call_pos.is_none() {
                        pos = call_pos;
                    }
                    functions.push(name);
                    err = *inner;
                }
                EvalAltResult::ErrorInModule(_, inner, _) => err = *inner,
                other => {
                    err = other;
                    break;
                }
            }
        }
        if !err.position().is_none() {
            pos = err.position();
        }
        let l = &self.limits;
        let (kind, mut message) = match err {
            EvalAltResult::ErrorRuntime(v, _) => (HookErrorKind::Thrown, dynamic_text(&v)),
            EvalAltResult::ErrorTooManyOperations(_) => (
                HookErrorKind::TooManyOperations,
                format!(
                    "hook exceeded {} operations (an endless loop?); limits.max_operations",
                    l.max_operations
                ),
            ),
            EvalAltResult::ErrorTerminated(why, _) if why.to_string() == "memory" => (
                HookErrorKind::OutOfMemory,
                format!(
                    "hook held more than {} bytes of memory; limits.max_memory",
                    l.max_memory
                ),
            ),
            EvalAltResult::ErrorTerminated(..) => (
                HookErrorKind::Timeout,
                format!(
                    "hook ran longer than {:?}; limits.max_duration",
                    l.max_duration
                ),
            ),
            EvalAltResult::ErrorStackOverflow(_) => (
                HookErrorKind::StackOverflow,
                format!(
                    "hook exceeded the call depth of {} (unbounded recursion?); limits.max_call_depth",
                    l.max_call_depth
                ),
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                let limit = if what.contains("string") {
                    format!("{} bytes; limits.max_string_size", l.max_string_size)
                } else if what.contains("array") {
                    format!("{} items; limits.max_array_size", l.max_array_size)
                } else {
                    format!("{} entries; limits.max_map_size", l.max_map_size)
                };
                (
                    HookErrorKind::DataTooLarge,
                    format!("{what} exceeds the hook limit of {limit}"),
                )
            }
            EvalAltResult::ErrorTooManyVariables(_) => (
                HookErrorKind::DataTooLarge,
                format!(
                    "hook defined more than {} variables; limits.max_variables",
                    l.max_variables
                ),
            ),
            EvalAltResult::ErrorModuleNotFound(path, _) => (
                HookErrorKind::Refused,
                format!("cannot import `{path}`: hooks cannot load modules or read files"),
            ),
            EvalAltResult::ErrorTooManyModules(_) => (
                HookErrorKind::Refused,
                "hooks cannot load modules or read files".to_string(),
            ),
            EvalAltResult::ErrorSystem(function, e) => {
                let kind = if e.to_string() == "not available in hooks" {
                    HookErrorKind::Refused
                } else {
                    HookErrorKind::Runtime
                };
                (kind, format!("{function}: {e}"))
            }
            EvalAltResult::ErrorFunctionNotFound(signature, _) => (
                HookErrorKind::Runtime,
                format!(
                    "Function not found: {signature}; hooks have no file system, network or \
                     environment access, see docs/hooks.md for the functions they have"
                ),
            ),
            mut other => {
                let _ = other.take_position();
                (HookErrorKind::Runtime, other.to_string())
            }
        };
        if !functions.is_empty() {
            // Innermost first: "in a closure, called from function `retain`".
            let chain: Vec<String> = functions
                .iter()
                .rev()
                .map(|f| {
                    if f.starts_with("anon$") {
                        "a closure".to_string()
                    } else {
                        format!("function `{f}`")
                    }
                })
                .collect();
            message.push_str(&format!(" (in {})", chain.join(", called from ")));
        }
        HookError {
            location: self.hook_location(hook, pos),
            kind,
            message: self.redact_text(message),
        }
    }
}

// Maps a Rhai position to a position in the file the script is in.
pub(super) fn map_pos(
    pos: Position,
    inline: bool,
    start: SourcePos,
) -> Option<(usize, Option<usize>)> {
    let line = pos.line()?;
    let col = pos.position();
    if inline {
        Some((start.line + line - 1, col.map(|c| start.column + c - 1)))
    } else {
        Some((line, col))
    }
}

fn dynamic_text(d: &Dynamic) -> String {
    if d.is_string() {
        d.clone()
            .into_immutable_string()
            .map(|s| s.to_string())
            .unwrap_or_default()
    } else {
        d.to_string()
    }
}
