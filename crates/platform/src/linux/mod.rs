//! Linux: `O_TMPFILE` and `/proc/self/fd` for snapshot files (a pipe and a thread for compressed ones), `/proc` and cgroup v1/v2 files for
//! the budget, `flock` for the memory ledger, glibc's `malloc_trim`, `fork` with `MADV_DOFORK`.

pub mod background;
pub mod compressor;
pub mod errno;
pub mod fork;
pub mod ledger;
pub mod procfs;
pub mod resources;
pub mod snapshot_file;
pub mod trim;
