//! The Node-API face of rheapdump: it converts values and calls `rheapdump_core`, except for
//! the parts that must live in the addon: `signal` (SIGUSR2 on a thread of its own), `handoff`
//! (reaching the main JS thread, even while it is stuck), `reservation` (waiting for memory off
//! the main thread) and `heap_limit` (see their docs).
//! Uploads to object storage and the analyses live in modules of their own (crates/upload-addon,
//! crates/analysis-addon), loaded only by a process that uses them: this one is what every
//! `require` maps, so it holds what a signal needs and little else.
//! ARCHITECTURE.md (repository root) describes the path from signal to file and the invariants.
#![deny(clippy::all)]

mod error;
mod fork;
mod guard;
mod handoff;
mod heap_limit;
mod host;
mod memory;
mod reservation;
mod signal;
mod snapshot_file;
