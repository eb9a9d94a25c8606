//! The wsc operation runner: templating, HTTP, paging, JSONPath mapping, multi-step operations.
//!
//! [`Engine`] compiles a loaded connector once (templates, JSONPaths, requests) and runs its
//! operations: [`Engine::aggregate`] streams mapped records in order, page by page, as a
//! [`RecordStream`]; [`Engine::get_object`] reads one object; [`Engine::test_connection`]
//! checks the connection; [`Engine::provision`] runs a write operation.
//!
//! Where things are: `engine.rs` (construction, counters), `read.rs` (read operations),
//! `provision.rs` (write operations), `stream.rs` (the record stream), `exec/` (running one
//! operation: hooks and setup steps, multi-step, paging, one page, error rules), `compile.rs`
//! (the connector compiled for execution), `http.rs` (the HTTP client, retries, errors),
//! `mapping.rs` and `doc.rs` (JSON to records), `template.rs`, `auth.rs`, `hooks.rs`,
//! `output.rs`, `redact.rs`, `wire.rs` (recording, replay and dry runs).

pub mod auth;
pub(crate) mod compile;
pub mod doc;
mod engine;
pub mod error;
pub(crate) mod exec;
pub mod hooks;
pub mod http;
pub mod mapping;
pub mod message;
pub mod output;
pub mod path;
mod provision;
mod read;
pub mod redact;
pub mod settings;
mod stream;
pub(crate) mod template;
pub mod time;
pub mod wire;

pub use auth::{authenticator, authenticator_with, static_authenticator};
pub use engine::{Engine, RunContext, Stats, Summary};
pub use error::EngineError;
pub use exec::rules::{ErrorRule, RuleTest};
pub use mapping::Record;
pub use provision::Provisioned;
pub use stream::RecordStream;
pub use wire::{Exchange, Tap, Wire};
