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
// Also packs the relative relocations (`-z pack-relative-relocs`, DT_RELR): the dynamic
// loader reads every relocation at start-up, and 26,300 of the 26,500 are relative: 636 KB
// of the file, all of it resident; packed, a few KB. A binary with packed relocations needs
// glibc 2.36 or later, so this is done only when the building system's glibc is that recent
// (a binary built on a system runs on that system's glibc or a later one).
//
// The `dist` profile is the release profile, stripped here at link time (`--strip-all`)
// rather than by cargo's `strip`: cargo hashes `strip` and `debug` into every crate's
// `-C metadata`, hence into every symbol name, so a profile that set them would match none of
// the list's names. Stripped at link, a `dist` build has the release build's code, laid out
// the same way, without symbols or line tables.
//
// Only on x86_64-unknown-linux-gnu, where rustc links with LLD since 1.90 (the workspace's
// `rust-version`), and not when the build names a linker of its own (it may not know these
// options); `WSC_SYMBOL_ORDER=0` turns both off, `=1` on whatever the linker.

use std::path::Path;

/// Prints the link arguments for the package's binaries.
pub fn link_symbol_order() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wsc-cli/link/symbol-order.txt");
    println!("cargo::rerun-if-changed={}", file.display());
    println!("cargo::rerun-if-env-changed=WSC_SYMBOL_ORDER");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    // A linker chosen by the user (`target.<triple>.linker`, `-C linker`, `-fuse-ld=...`)
    // may not know these options: then nothing is added rather than a link that fails.
    let rustflags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let own_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || rustflags.contains("linker")
        || rustflags.contains("fuse-ld");
    let on = std::env::var("WSC_SYMBOL_ORDER").map_or(!own_linker, |v| v != "0");
    if on && std::env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu") {
        println!(
            "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            file.display()
        );
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        if glibc_at_least(2, 36) {
            println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        }
    }
    if profile_dir().as_deref() == Some("dist") {
        // Any linker on Linux knows `-s`; elsewhere cargo's own `strip` is the way.
        if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
            println!("cargo::rustc-link-arg-bins=-Wl,--strip-all");
        }
    }
}

/// The name of the profile's directory in the target dir (`release`, `dist`, `debug`):
/// `OUT_DIR` is `<target dir>[/<triple>]/<profile>/build/<package>-<hash>/out`.
fn profile_dir() -> Option<String> {
    let out = std::env::var_os("OUT_DIR")?;
    let dir = Path::new(&out).ancestors().nth(3)?.file_name()?;
    Some(dir.to_string_lossy().into_owned())
}

/// Whether the building system's glibc is `major.minor` or later (`getconf GNU_LIBC_VERSION`
/// prints `glibc 2.36`).
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}
