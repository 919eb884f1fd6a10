//! Opening a file to analyse without ever blocking: what differs between operating systems sits
//! here, one module per family, and `run` and `redact` call only `open_for_reading`,
//! `kind_name` and `create_private`.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(not(unix))]
mod other;
#[cfg(not(unix))]
pub use other::*;
