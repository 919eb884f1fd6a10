//! Heap snapshot analysis with no Node-API dependency: reading `.heapsnapshot` files into compact
//! arrays and checking them; and sampling heap profiles (`profile`). The addon runs it off the JS thread; `cargo test` covers it.
#![deny(clippy::all)]
// Nodes and edges live in parallel columns indexed by ordinal; loops over ordinals read best.
#![allow(clippy::needless_range_loop)]

pub mod fork;
pub mod graph;
pub mod heap;
pub mod origin;
pub mod parse;
pub mod profile;
pub mod progress;
pub mod render;
pub mod report;
pub mod run;
pub mod validate;
