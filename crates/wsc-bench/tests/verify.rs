//! The benchmark's correctness check, run by `cargo test`: `wsc-bench --quick --verify` runs
//! the tuned baseline, the engine with sequential paging and the engine with concurrent paging
//! against the synthetic API (each in a process of its own, as the benchmark does) and fails
//! unless all three wrote byte-identical JSON Lines. Nothing is timed.

use std::process::Command;

#[test]
fn baseline_and_engine_write_identical_output() {
    for args in [
        &["--quick", "--verify"][..],
        // Pages that do not divide the directory, three pages in flight.
        &["--verify", "--limit", "40", "--concurrency", "3"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_wsc-bench"))
            .args(args)
            .output()
            .expect("wsc-bench runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "wsc-bench {args:?} failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        assert!(
            stdout.contains(
                "verified: baseline, engine sequential and engine concurrent write identical output"
            ),
            "{stdout}"
        );
        assert!(
            !stdout.contains("records/s"),
            "--verify times nothing: {stdout}"
        );
    }
}
