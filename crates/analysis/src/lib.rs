//! Heap snapshot analysis with no Node-API dependency: reading `.heapsnapshot` files into compact
//! arrays and checking them. The addon runs it off the JS thread; `cargo test` covers it.
#![deny(clippy::all)]

pub mod parse;
pub mod validate;
