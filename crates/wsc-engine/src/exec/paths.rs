//! The first-page check of the paths records are read through (see
//! [`crate::mapping::unmatched`]).

use super::origin;
use crate::compile::CompiledOperation;
use crate::doc::Doc;
use crate::engine::Inner;
use crate::mapping::unmatched;

/// Warns, once per operation and engine, about the paths records are read through that no
/// record of the first page with records matched (see [`crate::mapping::unmatched`]).
pub(crate) fn check_paths(inner: &Inner, op: &CompiledOperation, records: &[&Doc<'_>]) {
    if records.is_empty() || inner.run.wire.dry_run {
        return;
    }
    {
        let mut done = inner
            .checked_paths
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !done.insert(op.key.clone()) {
            return;
        }
    }
    for u in unmatched(op.mapper.read_paths(), records) {
        let guess = u
            .suggestion
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        inner.stats.warn(
            &origin(inner, op, None, None),
            &format!(
                "`{}: {}` matched nothing on the first page: none of its {} records has `{}`{guess}. Every record gets no value for it; check the path against the API's responses",
                u.attribute,
                u.path,
                records.len(),
                u.missing
            ),
        );
    }
}
