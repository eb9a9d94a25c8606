//! Sandbox limits.

use std::time::Duration;

/// What one hook run may use. Every limit applies to each run separately.
///
/// The size limits are Rhai's: they count the *total* inside one value, nested values included
/// (an array of 1,000 records of 10 attributes each counts about 10,000 map entries), and they
/// are checked whenever a script builds a value with an operator or a function. (Rhai does not
/// re-check a container when one of its elements is assigned by index, `m[k] = v`; there
/// `max_operations` is what bounds growth.) The defaults leave room for a page of a few
/// thousand records while stopping a runaway script long before it hurts the process.
///
/// No limit can be switched off: a limit of 0 is taken as 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most operations (statements, expressions, function calls, loop iterations) one run may
    /// perform. Default 1,000,000 — tens of milliseconds of work.
    pub max_operations: u64,
    /// Deepest function call nesting (script functions calling each other), which stops
    /// unbounded recursion. Default 64.
    pub max_call_depth: usize,
    /// Deepest expression nesting at the top level of a script, checked at compile time.
    /// Default 64.
    pub max_expr_depth: usize,
    /// Deepest expression nesting inside script functions, checked at compile time. Default 32.
    pub max_function_expr_depth: usize,
    /// Longest string, in bytes (total of all strings inside one value). Default 16 MiB.
    pub max_string_size: usize,
    /// Largest array (total number of elements inside one value). Default 1,000,000.
    pub max_array_size: usize,
    /// Largest object map (total number of entries inside one value). Default 1,000,000.
    pub max_map_size: usize,
    /// Most variables alive at once. Default 10,000.
    pub max_variables: usize,
    /// Longest wall-clock time one run may take, checked every 1,024 operations. `None` (the
    /// default) relies on `max_operations` alone.
    pub max_duration: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 1_000_000,
            max_call_depth: 64,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
            max_string_size: 16 * 1024 * 1024,
            max_array_size: 1_000_000,
            max_map_size: 1_000_000,
            max_variables: 10_000,
            max_duration: None,
        }
    }
}
