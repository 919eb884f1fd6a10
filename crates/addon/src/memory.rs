use napi::Result;
use napi_derive::napi;

use crate::error::{coded, Code};

/// Process memory as `ps -o rss,vsz` shows it, in bytes.
#[napi(object)]
pub struct ProcessMemory {
  pub rss: f64,
  pub vsz: f64,
  /// Peak RSS since the process started (`VmHWM`), when the kernel reports it.
  pub peak_rss: Option<f64>,
}

/// Reads `/proc/self/stat` and `/proc/self/status`.
#[napi]
pub fn process_memory() -> Result<ProcessMemory, Code> {
  let memory = rheapdump_platform::procfs::process_memory().map_err(|err| {
    coded(
      "ERR_RHEAPDUMP_PROC",
      format!("cannot read /proc/self: {err}"),
    )
  })?;
  Ok(ProcessMemory {
    rss: memory.rss as f64,
    vsz: memory.vsz as f64,
    peak_rss: memory.peak_rss.map(|peak| peak as f64),
  })
}

/// Returns freed malloc memory to the OS (glibc `malloc_trim(0)`); false where unsupported.
#[napi]
pub fn release_free_memory() -> bool {
  rheapdump_platform::trim::release_free_memory()
}
