//! The Node-API face of rheapdump: it converts values and calls `rheapdump_core`, except for
//! the parts that must live in the addon: `signal` (SIGUSR2 on a thread of its own), `handoff`
//! (reaching the main JS thread, even while it is stuck), `reservation` (waiting for memory off the main thread), `heap_limit` and `upload` (object
//! storage, on a thread of its own; see their docs).
//! ARCHITECTURE.md (repository root) describes the path from signal to file and the invariants.
#![deny(clippy::all)]

mod analysis;
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
mod upload;
