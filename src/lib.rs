//! The Node-API face of rheapdump: it converts values and calls `rheapdump_core`, except for
//! the parts that must live in the addon: `signal` (SIGUSR2 on a thread of its own), `handoff`
//! (reaching the main JS thread, even while it is stuck) and `heap_limit` (see their docs).
#![deny(clippy::all)]

#[cfg(not(unix))]
compile_error!("the addon needs a Unix host (libuv signals, /proc); elsewhere rheapdump runs its pure-JS fallback");

mod analysis;
mod config;
mod fork;
mod guard;
mod handoff;
mod heap_limit;
mod host;
mod memory;
mod signal;
mod snapshot_file;
mod turn;
