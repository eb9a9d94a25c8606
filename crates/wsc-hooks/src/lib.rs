//! Sandboxed hook runtime for wsc connectors.
//!
//! A connector may attach [Rhai](https://rhai.rs) scripts ("hooks") to an operation: `before`
//! runs before each HTTP request, `after` after each response, `before_operation` and
//! `after_operation` once around the whole operation. This crate compiles those scripts once,
//! when the connector is loaded, and runs them in a sandbox over plain [`serde_json::Value`]s, so
//! the engine never deals with Rhai types.
//!
//! # Use
//!
//! ```
//! use serde_json::json;
//! use wsc_hooks::{HookKind, HookOrigin, HookRuntime, HookScope, Limits, ResponseView};
//! use wsc_spec::model::Hook;
//!
//! // One runtime per connector.
//! let runtime = HookRuntime::new("acme", Limits::default());
//!
//! // At load: compile every hook once.
//! let hook = Hook { file: None, script: Some("records.retain(|r| r.attributes.active);".into()) };
//! let origin = HookOrigin::new("connectors/acme.yaml", "account_aggregation.hooks.after", HookKind::After);
//! let compiled = runtime.compile(&hook, &origin)?;
//!
//! // Per response: run it over the mapped records.
//! let response = ResponseView { status: 200, ..ResponseView::default() };
//! let mut records = vec![
//!     json!({"identity": "1", "attributes": {"active": true}}),
//!     json!({"identity": "2", "attributes": {"active": false}}),
//! ];
//! let outcome = runtime.after(&compiled, &response, &mut records, &HookScope::default())?;
//! assert_eq!(records.len(), 1);
//! assert!(outcome.state.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Sandbox
//!
//! Scripts have no file system, network or environment access: the engine is built without any
//! module resolver that could load files (`import` is refused at compile time, and a resolver
//! that refuses everything backs that up), `eval` is disabled, `print`/`debug` go to `tracing`
//! instead of stdout, and `sleep` is replaced by an error. Every run is bounded by [`Limits`]:
//! operations, call depth, expression depth, string / array / map sizes, nesting depth of the
//! values it gives back, memory (with [`HookAllocator`] installed), wall-clock time, and log
//! output. A script that breaks a limit fails with a [`HookError`] naming the hook and the
//! limit; it never aborts the process. Each run happens on a stack of its own (on the calling
//! thread), large enough for the deepest value a script can build. With
//! [`HookRuntime::with_redaction`], secret values are hidden in hook errors, hook logs and
//! the records a hook gives back.
//!
//! # Standard library
//!
//! On top of Rhai's standard package: `base64_encode`, `base64_decode`, `base64url_encode`,
//! `base64url_decode`, `base64_decode_blob`, `url_encode`, `url_decode`, `sha256_hex`,
//! `hmac_sha256_hex`, `hmac_sha256_base64`, `json_parse`, `json_stringify`,
//! `json_stringify_pretty`, `now_iso`, `now_unix`, `now_unix_ms`, `parse_date`, `format_date`,
//! `uuid_v4`, `log_info`, `log_warn`, `log_debug`. See `docs/hooks.md`.

// The counting global allocator: one `GlobalAlloc` impl forwarding to `System`.
#[allow(unsafe_code)]
mod alloc;
mod arrays;
mod context;
mod convert;
pub mod dates;
mod error;
mod limits;
mod origin;
mod records;
mod records_in;
mod runtime;
mod spare;
mod stdlib;

pub use alloc::{
    HookAllocator, reset_thread_peak, thread_allocations, thread_peak, use_one_malloc_arena,
};
pub use context::Redact;
pub use error::{CompileError, CompileErrorKind, HookError, HookErrorKind, HookLocation};
pub use limits::{Limits, MAX_DEPTH_CAP, MAX_DURATION_CAP};
pub use origin::{HookKind, HookOrigin, SourcePos, inline_position};
pub use records::{HookRecord, RecordShape, record_json};
pub use runtime::{
    AfterOutcome, CompiledHook, HookOutcome, HookRuntime, HookScope, RequestView, ResponseView,
    SkippedRecord, StateChanges,
};
/// The hook error handling mode of the connector model (`on_error: stop | skip_record`).
pub use wsc_spec::model::HookErrorMode;
