//! What rheapdump needs from the operating system, one module per platform behind this one
//! boundary: safe snapshot files (`snapshot_file`), the process's memory (`procfs`), the memory
//! and disk budget (`resources`), the memory ledger (`ledger`), returning freed memory (`trim`), the
//! fork snapshot's mechanics (`fork`) and the errno names only the OS's numbers tell apart
//! (`errno`). Every platform module offers the same modules; the addon calls them through the
//! re-export below and never names a platform. Adding a platform means one module here.
//! The portable logic (names, estimates, the request) is rheapdump-core's.
#![deny(clippy::all)]

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

// Elsewhere the package runs its pure-JS fallback, which lib/binding.js chooses when no addon
// loads; the analysis and the command line (rheapdump-analysis, rheapdump-cli) do not need this
// crate and build for any target.
#[cfg(not(target_os = "linux"))]
compile_error!("rheapdump-platform has a module for Linux only (O_TMPFILE, /proc, cgroups, flock); elsewhere the package runs its pure-JS fallback");
