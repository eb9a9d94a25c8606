//! The wsc operation runner: templating, HTTP, paging, JSONPath mapping, multi-step operations.
//!
//! [`Engine`] compiles a loaded connector once (templates, JSONPaths, requests) and runs its
//! operations: [`Engine::aggregate`] streams mapped records in order, page by page;
//! [`Engine::get_object`] reads one object; [`Engine::test_connection`] checks the connection.

pub mod auth;
pub mod compile;
pub mod doc;
pub mod error;
pub mod hooks;
pub mod http;
pub mod mapping;
pub mod message;
pub mod output;
pub mod path;
pub mod redact;
pub mod run;
pub mod settings;
pub mod template;
pub mod wire;

pub use auth::{authenticator, authenticator_with};
pub use error::EngineError;
pub use mapping::Record;
pub use run::{Engine, Provisioned, RunContext, Stats, Summary, static_authenticator};
pub use wire::{Exchange, Tap, Wire};
