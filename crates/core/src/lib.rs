//! rheapdump's logic, free of Node-API so that `cargo test` covers it: how snapshot files are
//! named and written safely, what `/proc` says about the process, what a snapshot will cost.
//! The settings (environment and `configure()`) are read on the JS side, by one table
//! (lib/config.js). The addon crate at the repository root only converts values.
//! ARCHITECTURE.md (repository root) says what each crate may depend on.
#![deny(clippy::all)]

// The one place that decides where the native code builds: every crate of the workspace (the
// addon, the analysis, the CLI) depends on this one, which uses Unix file and process APIs
// (`/proc`, flock, fd paths). Elsewhere the package runs its pure-JS fallback, which
// lib/binding.js chooses when no addon loads.
#[cfg(not(unix))]
compile_error!("rheapdump's native code needs a Unix host (libuv signals, /proc, flock); elsewhere the package runs its pure-JS fallback");

pub mod errno;
pub mod estimate;
pub mod fork;
pub mod naming;
pub mod procfs;
pub mod request;
pub mod resources;
pub mod sampling;
pub mod snapshot_file;
pub mod trim;
pub mod turn;
