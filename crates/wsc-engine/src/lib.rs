//! The wsc operation runner: templating, HTTP, paging, JSONPath mapping, multi-step operations.
//!
//! [`Engine`] compiles a loaded connector once (templates, JSONPaths, requests) and runs its
//! operations: [`Engine::aggregate`] streams mapped records in order, page by page, as a
//! [`RecordStream`]; [`Engine::get_object`] reads one object; [`Engine::test_connection`]
//! checks the connection; [`Engine::provision`] runs a write operation.
//!
//! Where things are: `engine.rs` (construction, counters), `read.rs` (read operations),
//! `provision/` (write operations, multi-valued changes), `authenticate.rs` (pass-through
//! authentication), `delta.rs` (changes since the previous run),
//! `stream.rs` (the record stream), `exec/` (running one operation: hooks and setup steps,
//! multi-step, paging, one page, error rules), `compile.rs` (the connector compiled for
//! execution), `http/` (the HTTP client, retries, errors with their origin), `doc/` and
//! `mapping/` (JSON to records), `template.rs`, `auth.rs`, `hooks.rs`, `output.rs`,
//! `redact.rs`, `wire.rs` and `message.rs` (recording, replay and dry runs).
//! docs/architecture.md has the whole map.

pub mod alternative;
pub mod auth;
pub mod authenticate;
mod cache;
pub(crate) mod compile;
mod compile_changes;
mod compile_paging;
mod compile_setup;
mod dedup;
pub mod delta;
pub mod doc;
mod engine;
pub mod error;
pub(crate) mod exec;
mod graphql;
pub mod history;
pub mod hooks;
pub mod http;
mod idset;
mod idspill;
pub mod lines;
pub mod mapping;
pub mod message;
pub mod output;
pub mod path;
pub mod projection;
mod provision;
mod read;
pub mod redact;
pub mod settings;
pub(crate) mod soap;
mod stream;
pub(crate) mod template;
pub mod time;
pub mod wire;
pub(crate) mod xml;

pub use auth::{authenticator, authenticator_with, static_authenticator};
pub use engine::{Engine, RunContext, Stats, Summary};
pub use error::EngineError;
pub use exec::rules::{ErrorRule, RuleTest};
pub use lines::Lines;
pub use mapping::Record;
pub use provision::{DRY_RUN_IDENTITY, Outcome, Provisioned};
pub use stream::{Chunk, RecordStream};
pub use wire::{Exchange, Tap, Wire};
/// See [`wsc_hooks::use_one_malloc_arena`]: what a binary running the engine calls at start.
pub use wsc_hooks::use_one_malloc_arena;
