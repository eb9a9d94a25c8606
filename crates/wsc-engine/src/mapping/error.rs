//! [`MapError`]: why a mapper could not be built or a record could not be mapped.

use crate::path::PathError;

/// Why a mapper could not be built or a record could not be mapped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// A JSONPath of the operation does not parse.
    #[error("`{field}`: {source}")]
    Path {
        /// Which key: `records`, `identity`, `attributes.email`, ...
        field: String,
        /// The parse error.
        source: PathError,
    },
    /// An attribute definition is inconsistent (load time).
    #[error("attribute `{attribute}`: {message}")]
    Definition {
        /// The attribute.
        attribute: String,
        /// What is wrong.
        message: String,
    },
    /// The identity path selects nothing, `null` or an empty string.
    #[error("record has no identity at `{path}`; record starts {record}")]
    MissingIdentity {
        /// The identity JSONPath.
        path: String,
        /// The start of the record.
        record: String,
    },
    /// The identity or name is not a string or number.
    #[error("{field} at `{path}` is {found}, expected a string or a number: {value}")]
    BadScalar {
        /// `identity` or `name`.
        field: &'static str,
        /// Its JSONPath.
        path: String,
        /// The JSON type found.
        found: &'static str,
        /// The start of the value.
        value: String,
    },
    /// A required attribute is missing.
    #[error("required attribute `{attribute}` is missing (`{from}`); record starts {record}")]
    MissingRequired {
        /// The attribute.
        attribute: String,
        /// Its path or template.
        from: String,
        /// The start of the record.
        record: String,
    },
    /// A value does not convert to its attribute type.
    #[error("attribute `{attribute}`: cannot convert {value} to {ty}: {reason}")]
    Conversion {
        /// The attribute.
        attribute: String,
        /// The start of the value, as JSON.
        value: String,
        /// The attribute type.
        ty: &'static str,
        /// Why.
        reason: String,
    },
    /// An attribute template failed to render.
    #[error("attribute `{attribute}`: template failed: {message}")]
    Template {
        /// The attribute.
        attribute: String,
        /// The template engine's message.
        message: String,
    },
    /// A member at the `members` path is not a string or number.
    #[error("member at `{path}` is {found}, expected a string or a number: {value}")]
    BadMember {
        /// The members JSONPath.
        path: String,
        /// The JSON type found.
        found: &'static str,
        /// The start of the value.
        value: String,
    },
}
