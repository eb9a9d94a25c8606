// Included by the build scripts of `wsc-cli` and `wsc-bench` (`#[path]`): links their binaries
// with the functions a run executes laid out together, in `symbol-order.txt`'s order.
//
// A run touches about 1,600 of the binary's 16,000 functions, some 2.3 MB of its 13 MB of
// code, scattered over the whole of it; the kernel maps 64 KiB around every page fault in the
// code, so the scattered functions made about 8 MiB of it resident. Laid out together they
// take a fraction of that (docs/performance.md, "Memory"). The list is made by
// `crates/wsc-cli/link/regen.py` (callgrind over the benchmark clients and `wsc aggregate`);
// a stale list only loses some of the gain: names that no longer exist are skipped.
//
// Only on x86_64-unknown-linux-gnu, where rustc links with LLD since 1.90 (the workspace's
// `rust-version`); `WSC_SYMBOL_ORDER=0` turns it off (for another linker).

use std::path::Path;

/// Prints the link arguments for the package's binaries.
pub fn link_symbol_order() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wsc-cli/link/symbol-order.txt");
    println!("cargo::rerun-if-changed={}", file.display());
    println!("cargo::rerun-if-env-changed=WSC_SYMBOL_ORDER");
    let on = std::env::var("WSC_SYMBOL_ORDER").map_or(true, |v| v != "0");
    if on && std::env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu") {
        println!(
            "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            file.display()
        );
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
