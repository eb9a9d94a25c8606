//! Helpers shared by the CLI's integration tests: the `wsc` binary run from the workspace
//! root with a clean environment, scratch directories, and readable process output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    let r = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    r.canonicalize().unwrap_or(r)
}

/// The `wsc` binary, run from the workspace root, without WSC_* (or RUST_LOG, BROWSER)
/// variables from outside, and with a data directory of this test binary's own (the default
/// state store: tokens, connector state and run history), never the user's.
pub fn wsc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wsc"));
    c.current_dir(root());
    let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "data-{}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    c.env("XDG_DATA_HOME", data);
    for (k, _) in std::env::vars() {
        if k.starts_with("WSC_") || k == "RUST_LOG" || k == "BROWSER" {
            c.env_remove(k);
        }
    }
    c
}

/// A fresh, empty directory for one test, named after the test binary and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{name}", env!("CARGO_CRATE_NAME")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Bytes as text (lossy).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The exit code (the process must have exited normally).
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

/// Exit status, stdout and stderr, for assertion messages.
pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// Waits for `child` with its output, watching its peak resident size (`VmHWM` in
/// /proc/PID/status, in KiB) while it runs.
pub fn output_with_peak_kib(child: std::process::Child) -> (Output, u64) {
    let status = format!("/proc/{}/status", child.id());
    let watcher = std::thread::spawn(move || {
        let mut peak = 0;
        while let Ok(s) = std::fs::read_to_string(&status) {
            if let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        peak
    });
    let out = child.wait_with_output().unwrap();
    (out, watcher.join().unwrap())
}
