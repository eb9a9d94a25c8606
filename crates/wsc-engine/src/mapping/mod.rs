//! Records: what an operation's responses map to.
//!
//! A [`RecordMapper`] is built once per operation when the connector loads: every JSONPath is
//! compiled, attribute templates are compiled through a [`TemplateCompiler`], constants and
//! defaults are converted to their attribute type (so a bad default is a load-time error).
//! [`RecordMapper::map`] then turns one borrowed record ([`Doc`](crate::doc::Doc)) into a [`Record`].
//!
//! Attribute rules (see `wsc_spec::model::AttributeDef`):
//! - a plain path (`email: "$.emails[0].value"`) is the first match, JSON as found, `null`
//!   when nothing matches;
//! - `multi: true` keeps every match as a list; a single match that is an array is flattened,
//!   so `$.groups` and `$.groups[*]` give the same list. `null` elements are dropped. A
//!   multi-valued attribute is always an array (`[]` when nothing matches, unless `default`);
//! - `type` converts each value (`string`, `int`, `float`, `bool`, `datetime`; `json` keeps
//!   it); a value that does not convert is an error naming attribute, value and type;
//! - `default` replaces a missing or `null` value (an empty list for `multi`); `required`
//!   makes a missing value an error.
//!
//! Identity and name render numbers as strings; an empty identity counts as missing. Errors
//! never carry more than about 200 characters of record data.

mod datetime;
mod error;
mod mapper;
mod record;
mod types;
mod unmatched;

pub use error::MapError;
pub use mapper::RecordMapper;
pub(crate) use mapper::Source;
pub use record::Record;
pub(crate) use types::{Scalar, convert_scalar};
pub use unmatched::{Unmatched, unmatched};

use serde_json::{Map, Value};

/// Most characters of record data an error message shows.
pub const MAX_ERROR_DATA: usize = 200;
/// Most characters of one offending value an error message shows.
const MAX_VALUE_DATA: usize = 100;

/// Compiles attribute templates (`AttributeDef.template`); implemented by the engine's
/// template module.
pub trait TemplateCompiler {
    /// Compiles `source`; the error is a human-readable message.
    fn compile(&self, source: &str) -> Result<Box<dyn RecordTemplate>, String>;
}

/// A compiled attribute template.
pub trait RecordTemplate: Send + Sync {
    /// Renders the template for one record. `record` is the record itself (a JSON object);
    /// the implementation exposes it to the template as `record`, and from `run` (the
    /// template context of the run that read it) the `partition` and `window` it was read in.
    fn render(&self, record: &Value, run: Option<&Map<String, Value>>) -> Result<Value, String>;
}

#[cfg(test)]
mod tests;
