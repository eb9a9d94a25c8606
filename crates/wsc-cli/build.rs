//! Links `wsc` with the functions a run executes laid out together (see `link/order.rs`).

#[path = "link/order.rs"]
mod order;

fn main() {
    order::link_symbol_order();
}
