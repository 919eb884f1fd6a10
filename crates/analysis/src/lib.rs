//! Heap snapshot analysis with no Node-API dependency: the addon runs it on a worker thread,
//! the CLI (crates/cli) in a process of its own, and `cargo test` covers it offline. One
//! pipeline, each stage reading only the one before it:
//!
//! - [`parse`]: streams a `.heapsnapshot` (untrusted input, bounded by the file's size) to a
//!   visitor, header first, then the arrays in chunks. [`validate`] is one visitor: the
//!   structural checks in one pass.
//! - [`graph`]: the other visitor, keeping the fields the analyses read in compact columns.
//! - [`heap`]: what DevTools computes when it loads a snapshot (owned sizes, class names,
//!   dominators and retained sizes, distances), the same way, so the figures match its views.
//! - [`report`]: the Summary, Comparison, leaks and retaining paths, as the serializable
//!   structs that are the JSON contract.
//! - [`run`]: one [`run::Request`] from file names to a report, with progress: what the addon
//!   and the CLI both call.
//!
//! Beside the pipeline: [`compressed`] decompresses `.gz` and `.zst` files as they stream (told
//! by their first bytes), [`profile`] reads sampling heap profiles (`.heapprofile`), [`origin`]
//! tells whether snapshots come from one process, [`progress`] draws the bar, [`failure`] says
//! why an analysis failed, [`output`] writes a file whole or not at all, [`source_map`] shows a
//! finished report's positions where source maps say the code was written.
#![deny(clippy::all)]
// Nodes and edges live in parallel columns indexed by ordinal; loops over ordinals read best.
#![allow(clippy::needless_range_loop)]

pub mod compressed;
pub mod failure;
pub mod fork;
pub mod graph;
pub mod heap;
mod input;
pub mod origin;
pub mod output;
pub mod parse;
pub mod profile;
pub mod progress;
pub mod redact;
pub mod report;
pub mod run;
pub mod source_map;
#[cfg(test)]
mod testing;
pub mod validate;
