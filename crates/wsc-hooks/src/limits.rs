//! Sandbox limits.

use std::time::Duration;

/// What one hook run may use. Every limit applies to each run separately, except the log
/// budget ([`Limits::max_log_total`]), which is shared by every run of one runtime.
///
/// The size limits are Rhai's: they count the *total* inside one value, nested values included
/// (an array of 1,000 records of 10 attributes each counts about 10,000 map entries), and they
/// are checked whenever a script builds a value with an operator or a function. Rhai does not
/// re-check a container when one of its elements is assigned by index (`m[k] = v`); there
/// [`Limits::max_memory`] is what bounds growth. The defaults leave room for a page of a few
/// thousand records while stopping a runaway script long before it hurts the process.
///
/// No limit can be switched off: a limit of 0 is taken as 1 (1 ms for the time limit).
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
    /// Deepest nesting of arrays and maps in a value a hook gives back (records, `result`,
    /// `plan`, `state`, `request`, or a value given to `json_stringify`). Default 256 (as deep
    /// as the response bodies the engine reads), at most 1,024.
    pub max_depth: usize,
    /// Most memory, in bytes, a run may hold beyond the values it was given: every allocation
    /// made on the hook's thread counts, freed memory is given back. Checked after every
    /// operation, so one operation may overshoot by what it allocates (at most about
    /// `max_string_size` or one copy of a value). Needs [`crate::HookAllocator`] to be the
    /// process's global allocator (the `wsc` binary installs it); without it this limit is
    /// not enforced. Default 64 MiB.
    pub max_memory: usize,
    /// Longest wall-clock time one run may take. A watchdog raises a flag when the time is up
    /// and the script stops at its next operation (one built-in call, such as `json_stringify`
    /// of a large value, finishes first). Default 1 second, at most 60 seconds.
    pub max_duration: Duration,
    /// Longest log message (`log_info`, `log_warn`, `log_debug`, `print`, `debug`), in bytes;
    /// a longer one is cut, saying how many bytes were dropped. Default 4 KiB.
    pub max_log_message: usize,
    /// Most bytes of log messages all runs of one runtime (one connector in one process) may
    /// write. Further messages are counted and dropped, with one warning when the first is
    /// dropped and one with the count when the runtime is dropped. Default 1 MiB.
    pub max_log_total: usize,
}

/// The largest [`Limits::max_depth`]: the hook thread's stack is sized for values this deep.
pub const MAX_DEPTH_CAP: usize = 1024;

/// The largest [`Limits::max_duration`]; the hook thread's stack is sized for the deepest value
/// a script can build in that time (see `docs/hooks.md`, "Limits").
pub const MAX_DURATION_CAP: Duration = Duration::from_secs(60);

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
            max_depth: 256,
            max_memory: 64 * 1024 * 1024,
            max_duration: Duration::from_secs(1),
            max_log_message: 4 * 1024,
            max_log_total: 1024 * 1024,
        }
    }
}

impl Limits {
    /// The limits with every value in range: 0 taken as 1 (1 ms for time), depth and time
    /// capped at [`MAX_DEPTH_CAP`] and [`MAX_DURATION_CAP`].
    pub(crate) fn normalized(self) -> Limits {
        Limits {
            max_operations: self.max_operations.max(1),
            max_call_depth: self.max_call_depth.max(1),
            max_expr_depth: self.max_expr_depth.max(1),
            max_function_expr_depth: self.max_function_expr_depth.max(1),
            max_string_size: self.max_string_size.max(1),
            max_array_size: self.max_array_size.max(1),
            max_map_size: self.max_map_size.max(1),
            max_variables: self.max_variables.max(1),
            max_depth: self.max_depth.clamp(1, MAX_DEPTH_CAP),
            max_memory: self.max_memory.max(1),
            max_duration: self
                .max_duration
                .clamp(Duration::from_millis(1), MAX_DURATION_CAP),
            max_log_message: self.max_log_message.max(1),
            max_log_total: self.max_log_total.max(1),
        }
    }
}
