//! The memory budget of hook runs: a global allocator that counts, per thread, the bytes held.
//!
//! Rhai checks the size of a value when a script builds it with an operator or a function,
//! but not when an element is assigned by index: one 8 MiB string put into 600 slots of an
//! array holds 4.8 GiB after 600 operations. Counting allocations catches that and every other
//! way of holding memory (built-ins included), whatever Rhai checks or not. A hook run is
//! synchronous, so what the running thread's count grows by during the run is the hook's; the
//! runtime stops the script
//! at its next operation once the count passes [`crate::Limits::max_memory`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// The system allocator, counting the bytes each thread holds, for the hook memory limit
/// ([`crate::Limits::max_memory`]). A binary that runs hooks installs it:
///
/// ```
/// #[global_allocator]
/// static ALLOC: wsc_hooks::HookAllocator = wsc_hooks::HookAllocator;
/// # fn main() {}
/// ```
///
/// The cost is a thread-local update per allocation and per free.
#[derive(Debug, Clone, Copy, Default)]
pub struct HookAllocator;

/// What the allocator counts for one thread.
struct Counts {
    /// Bytes allocated minus bytes freed on this thread (memory allocated on another thread
    /// and freed here makes it go down: only differences are used).
    held: Cell<i64>,
    /// Allocations (and reallocations) made by this thread.
    allocations: Cell<u64>,
    /// The highest `held` since the last [`reset_thread_peak`].
    peak: Cell<i64>,
    /// `held` at the last [`reset_thread_peak`].
    base: Cell<i64>,
}

thread_local! {
    static COUNTS: Counts = const {
        Counts {
            held: Cell::new(0),
            allocations: Cell::new(0),
            peak: Cell::new(0),
            base: Cell::new(0),
        }
    };
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Counts an allocation of `n` bytes (or a reallocation growing by `n`).
#[inline]
fn add(n: i64) {
    let _ = COUNTS.try_with(|c| {
        let held = c.held.get().wrapping_add(n);
        c.held.set(held);
        c.peak.set(c.peak.get().max(held));
        c.allocations.set(c.allocations.get().wrapping_add(1));
    });
}

/// Counts a free of `n` bytes.
#[inline]
fn sub(n: i64) {
    let _ = COUNTS.try_with(|c| c.held.set(c.held.get().wrapping_sub(n)));
}

/// Heap allocations this thread has made so far (reallocations included), as counted by
/// [`HookAllocator`]; 0 when it is not the global allocator. For tests that bound the
/// allocations of a code path: run it on one thread and compare the count before and after.
pub fn thread_allocations() -> u64 {
    COUNTS.try_with(|c| c.allocations.get()).unwrap_or(0)
}

/// The most bytes this thread held at once since [`reset_thread_peak`] (or since it
/// started), as counted by [`HookAllocator`], relative to what it held then; 0 when it is not
/// the global allocator. For tests that bound the memory of a code path run on one thread
/// (that it stays flat as the input grows).
pub fn thread_peak() -> i64 {
    COUNTS
        .try_with(|c| c.peak.get() - c.base.get())
        .unwrap_or(0)
}

/// Starts a new [`thread_peak`] from what this thread holds now.
pub fn reset_thread_peak() {
    let _ = COUNTS.try_with(|c| {
        c.base.set(c.held.get());
        c.peak.set(c.held.get());
    });
}

// SAFETY: every call is forwarded to `System` unchanged; the counting has no effect on the
// memory returned.
unsafe impl GlobalAlloc for HookAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on to `System`.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        sub(layout.size() as i64);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// Bytes held by this thread, as counted by [`HookAllocator`] (0 when it is not installed).
pub(crate) fn held() -> i64 {
    COUNTS.try_with(|c| c.held.get()).unwrap_or(0)
}

/// Whether [`HookAllocator`] is the global allocator (checked once, by allocating).
pub(crate) fn installed() -> bool {
    if INSTALLED.load(Ordering::Relaxed) {
        return true;
    }
    let before = held();
    let probe = std::hint::black_box(Box::new([0u8; 64]));
    let counted = held() != before;
    drop(probe);
    if counted {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    counted
}

/// Makes glibc's `malloc` (what [`HookAllocator`] forwards to, through `System`) keep one
/// arena for all threads instead of one per thread (`M_ARENA_MAX` = 1), and says whether it
/// did. Call it at the start of `main`, before any thread is started.
///
/// Memory a thread frees stays in that thread's arena, so each Tokio worker's arena keeps
/// its own high-water mark of pages in flight: measured with `wsc-bench client engine`
/// (1,000,000 users, 2 cores), one arena made the peak RSS about 1 MiB lower with 4 pages in
/// flight and 0.5 MiB lower one page at a time, at the same throughput; the plain data path
/// allocates less than once per record, so the arena's lock is rarely contended
/// (docs/performance.md, "Memory"). Left alone where `GLIBC_TUNABLES` sets
/// `glibc.malloc.arena_max` (the user's choice), and off glibc.
pub fn use_one_malloc_arena() -> bool {
    if std::env::var_os("GLIBC_TUNABLES").is_some_and(|t| t.to_string_lossy().contains("arena_max"))
    {
        return false;
    }
    one_arena()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_arena() -> bool {
    /// `M_ARENA_MAX` in glibc's `malloc.h`.
    const M_ARENA_MAX: std::ffi::c_int = -8;
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    // SAFETY: `mallopt` takes two integers and only changes malloc's parameters (under its
    // own lock); it returns 1 on success.
    unsafe { mallopt(M_ARENA_MAX, 1) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_arena() -> bool {
    false
}
