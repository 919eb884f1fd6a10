//! The Node-API face of rheapdump: it converts values and calls `rheapdump_core`, except for
//! `signal`, which owns the one part that must live in the addon (see its docs).
#![deny(clippy::all)]

mod analysis;
mod config;
mod guard;
#[cfg(unix)]
mod heap_limit;
mod memory;
mod snapshot_file;
mod turn;

#[cfg(unix)]
mod signal;
#[cfg(not(unix))]
#[path = "signal_unsupported.rs"]
mod signal;
