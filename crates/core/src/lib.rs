//! rheapdump's logic, free of Node-API so that `cargo test` covers it: how snapshot files are
//! named and written safely, what `/proc` says about the process, and how the environment
//! configures the addon. The addon crate at the repository root only converts values.
#![deny(clippy::all)]

pub mod config;
pub mod errno;
pub mod estimate;
pub mod fork;
pub mod naming;
pub mod procfs;
pub mod request;
pub mod resources;
pub mod snapshot_file;
pub mod trim;
pub mod turn;
