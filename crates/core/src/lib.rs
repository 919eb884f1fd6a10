//! rheapdump's portable logic, free of Node-API and of any OS API so that it builds for every
//! target (Linux, macOS, Windows, `wasm32-wasip1`) and `cargo test` covers it: how snapshot
//! files are named and compressed, the errno names, what a snapshot will cost, the request state machine, the
//! sampling default and the fork marker. What needs an OS (safe snapshot files, `/proc`, cgroup
//! limits, the turn lock, `malloc_trim`, forking) is rheapdump-platform's. The settings
//! (environment and `configure()`) are read on the JS side, by one table (lib/config.js).
//! ARCHITECTURE.md (repository root) says what each crate may depend on.
#![deny(clippy::all)]

pub mod compression;
pub mod errno;
pub mod estimate;
pub mod fork;
pub mod naming;
pub mod request;
pub mod sampling;
pub mod size;
