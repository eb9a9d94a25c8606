//! Helpers named in serde attributes of the model types.

/// Whether a flag is off (`skip_serializing_if` of boolean keys that default to `false`).
pub(super) fn is_false(b: &bool) -> bool {
    !*b
}
