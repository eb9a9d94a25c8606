//! Typed compile and runtime errors, each naming the connector, the hook, its file, line and
//! column.

use std::fmt;
use std::path::PathBuf;

/// Where a hook error happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookLocation {
    /// The connector's name (as given to [`crate::HookRuntime::new`]).
    pub connector: String,
    /// The connector file.
    pub connector_file: PathBuf,
    /// The hook's name (its key path in the connector).
    pub hook: String,
    /// The file the script is in: the hook file, or the connector file for an inline hook.
    pub file: PathBuf,
    /// Whether the script is inline in the connector file.
    pub inline: bool,
    /// Line in `file`, from 1, when known.
    pub line: Option<usize>,
    /// Column in `file`, from 1, when known.
    pub column: Option<usize>,
}

impl fmt::Display for HookLocation {
    /// `file:line:column: hook `name` of connector `c` (connector.yaml)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(
            f,
            ": hook `{}` of connector `{}`",
            self.hook, self.connector
        )?;
        if !self.inline {
            write!(f, " ({})", self.connector_file.display())?;
        }
        Ok(())
    }
}

/// What kind of compile error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// The hook has neither or both of `file` and `script`.
    Invalid,
    /// The hook file cannot be read.
    Io,
    /// The script does not parse, or uses a variable its hook kind does not have.
    Syntax,
    /// The script uses something the sandbox refuses (`import`, `eval`).
    Refused,
}

/// A hook that cannot be compiled. Reported when the connector is loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{location} does not compile: {message}")]
pub struct CompileError {
    /// Where (boxed to keep `Result`s small).
    pub location: Box<HookLocation>,
    /// What kind of error.
    pub kind: CompileErrorKind,
    /// What is wrong.
    pub message: String,
}

/// What kind of runtime error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookErrorKind {
    /// The script failed on purpose with `throw`.
    Thrown,
    /// An ordinary script error: unknown function, type mismatch, index out of bounds...
    Runtime,
    /// The script ran more than [`crate::Limits::max_operations`] operations.
    TooManyOperations,
    /// The script ran longer than [`crate::Limits::max_duration`].
    Timeout,
    /// Function calls nested deeper than [`crate::Limits::max_call_depth`].
    StackOverflow,
    /// A string, array or map grew past its limit.
    DataTooLarge,
    /// The run held more memory than [`crate::Limits::max_memory`].
    OutOfMemory,
    /// A value the hook gave back is nested deeper than [`crate::Limits::max_depth`].
    TooDeep,
    /// The script tried something the sandbox refuses (import, file access...).
    Refused,
    /// The script left a variable in a shape the engine cannot use (e.g. `records` not an
    /// array of objects, a header that is an object, a value with no JSON form).
    InvalidOutput,
    /// A record an `after` hook gave back ([`crate::HookRuntime::after_records`]) is not a
    /// record of the operation: its `identity` is not a string, its `attributes` not a map, or
    /// it has an attribute the operation does not declare. Stops the run whatever
    /// `on_error` says (the hook is wrong for every record, not one record).
    InvalidRecord,
    /// The hook was run at the wrong hook point (compiled for another [`crate::HookKind`]).
    WrongKind,
}

impl HookErrorKind {
    /// Whether this error comes from a sandbox limit (operations, time, depth, size).
    pub fn is_limit(self) -> bool {
        matches!(
            self,
            HookErrorKind::TooManyOperations
                | HookErrorKind::Timeout
                | HookErrorKind::StackOverflow
                | HookErrorKind::DataTooLarge
                | HookErrorKind::OutOfMemory
                | HookErrorKind::TooDeep
        )
    }
}

/// A hook that failed while running.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{location} failed: {message}")]
pub struct HookError {
    /// Where (boxed to keep `Result`s small).
    pub location: Box<HookLocation>,
    /// What kind of error.
    pub kind: HookErrorKind,
    /// What went wrong: the thrown message for [`HookErrorKind::Thrown`].
    pub message: String,
}
