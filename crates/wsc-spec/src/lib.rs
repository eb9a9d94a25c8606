//! The wsc connector model.
//!
//! A connector is one YAML file describing how to authenticate to an HTTP API and how to run
//! identity operations on it. This crate holds the typed format ([`model`]), the loader that
//! turns YAML into it with located errors ([`load`]), semantic validation ([`validate`]), static
//! template analysis ([`template`]) and the JSON Schema of the format ([`schema`]). It does no
//! network I/O and has no async code.

pub mod auth_settings;
pub mod diagnostic;
pub mod limits;
pub mod load;
mod load_hints;
pub mod locate;
pub mod model;
pub mod plan;
pub mod schema;
pub mod sensitive;
mod structural;
pub mod template;
pub mod typed;
pub mod validate;
mod values;

pub use diagnostic::{Diagnostic, Report, Severity};
pub use load::{LoadError, Loaded, load_bytes, load_file};
pub use model::Connector;
pub use values::{ByteSize, Duration, JsonPath, StatusPattern, Template};
