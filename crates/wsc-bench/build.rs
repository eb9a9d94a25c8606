//! Declares the `tokio_unstable` cfg, which a build with `RUSTFLAGS="--cfg tokio_unstable"` sets
//! (it enables `wsc-bench client --no-lifo`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tokio_unstable)");
}
