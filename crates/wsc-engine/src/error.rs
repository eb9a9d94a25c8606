//! Engine errors.

use crate::http::{HttpError, Origin};
use crate::template::TemplateError;

/// Why an operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The connector cannot be executed as written (should have been caught by validation).
    #[error("connector: {0}")]
    Config(String),
    /// Settings are missing or unknown.
    #[error("{0}")]
    Settings(String),
    /// A template could not be rendered.
    #[error("{0}")]
    Template(#[from] TemplateError),
    /// An HTTP request failed.
    #[error(transparent)]
    Http(Box<HttpError>),
    /// A response could not be mapped to records.
    #[error("{origin}: {message}")]
    Map {
        /// Where.
        origin: Origin,
        /// What went wrong.
        message: String,
    },
    /// Paging went wrong (a repeated cursor, a bad next URL).
    #[error("{origin}: {message}")]
    Paging {
        /// Where.
        origin: Origin,
        /// What went wrong.
        message: String,
    },
    /// An error reported inside a successful response body.
    #[error("{origin}: the API reported an error in a {status} response: {message}")]
    InBody {
        /// Where.
        origin: Origin,
        /// Status.
        status: u16,
        /// The message (redacted).
        message: String,
    },
    /// A GraphQL response with `errors` (whatever its status, and even with partial `data`).
    #[error("{origin}: the GraphQL API answered HTTP {status} with errors: {message}")]
    GraphQl {
        /// Where.
        origin: Origin,
        /// Status.
        status: u16,
        /// The errors' messages, paths and codes (redacted), and what the codes and partial
        /// data mean.
        message: String,
    },
    /// The connector does not define the operation.
    #[error("connector `{connector}` does not define `operations.{key}`")]
    NoOperation {
        /// The connector's name.
        connector: String,
        /// The operation key asked for.
        key: String,
    },
    /// A partition name that does not exist.
    #[error("no partition named `{name}` (partitions: {known})")]
    NoPartition {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
    /// The object was not found.
    #[error("{0}")]
    NotFound(String),
    /// A hook failed (the message names the connector, hook, file, line and column).
    #[error(transparent)]
    Hook(#[from] wsc_hooks::HookError),
    /// A hook does not compile.
    #[error(transparent)]
    HookCompile(#[from] wsc_hooks::CompileError),
    /// A hook ran but left something the engine cannot use (a record or request it changed).
    #[error("hook `{hook}`: {message}")]
    HookOutput {
        /// The hook's name.
        hook: String,
        /// What is wrong.
        message: String,
    },
    /// A provisioning request that cannot be executed (missing identity, values, password).
    #[error("plan: {0}")]
    Plan(String),
    /// A write succeeded, but reading the object back afterwards failed.
    #[error("`{operation}` succeeded, but reading the object back afterwards failed: {message}")]
    ReadBack {
        /// The operation as the plan names it.
        operation: String,
        /// Why the read failed.
        message: String,
    },
    /// The run was stopped because the output could not be written.
    #[error("writing output: {0}")]
    Output(String),
    /// The state store failed (delta snapshots, run history).
    #[error(transparent)]
    Store(Box<wsc_store::StoreError>),
    /// An aggregation delivered far fewer records than its previous complete run (the shrink
    /// guard).
    #[error("{0}")]
    Shrink(String),
    /// The run was cancelled before it finished (its records are incomplete).
    #[error("the run was cancelled before it finished")]
    Cancelled,
    /// A bug in wsc, not a problem with the connector or the API (a task panicked).
    #[error(
        "internal error in wsc: {0}; this is a bug in wsc, not in the connector: please report it with the command that ran"
    )]
    Internal(String),
}

impl From<wsc_store::StoreError> for EngineError {
    fn from(e: wsc_store::StoreError) -> Self {
        EngineError::Store(Box::new(e))
    }
}

impl From<HttpError> for EngineError {
    fn from(e: HttpError) -> Self {
        EngineError::Http(Box::new(e))
    }
}

impl EngineError {
    /// Whether a dry run must report this error: what is wrong before anything is sent (a
    /// plan or setting value a template needs and does not get, a plan the operation cannot
    /// take), as opposed to what the empty answers of a dry run cause (a value read from a
    /// response).
    pub fn is_preflight(&self) -> bool {
        if let EngineError::Template(t) = self {
            return t.missing_input();
        }
        matches!(
            self,
            EngineError::Plan(_)
                | EngineError::Settings(_)
                | EngineError::Config(_)
                | EngineError::NoOperation { .. }
        )
    }

    /// The HTTP status of a failed request, if that is what failed.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            EngineError::Http(h) => match h.as_ref() {
                HttpError::Status { status, .. } => Some(*status),
                HttpError::RetryBudget { status, .. } => *status,
                _ => None,
            },
            _ => None,
        }
    }
}
