//! Declares the `tokio_unstable` cfg, which a build with `RUSTFLAGS="--cfg tokio_unstable"` sets
//! (it enables `wsc-bench client --no-lifo`), and links the binaries with the functions a run
//! executes laid out together (see `../wsc-cli/link/order.rs`).

#[path = "../wsc-cli/link/order.rs"]
mod order;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tokio_unstable)");
    order::link_symbol_order();
}
