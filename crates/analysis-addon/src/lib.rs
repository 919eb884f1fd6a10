//! rheapdump's analysis module, `rheapdump-analysis.<platform>-<arch>-<libc>.node`: the Node-API
//! face of `rheapdump_analysis` (see `analysis`). It is a module of its own because the parser,
//! serde_json, the decompressors and the profile encoder are half of the native code, and every
//! page of a module that loading touches stays resident: lib/analysis.js loads it on the first
//! analysis, so a process that never analyses in-process never pays for it.
#![deny(clippy::all)]

mod analysis;
