//! Files the analyses write (a redacted copy, a report page): created beside their final name
//! under a temporary one, readable by their owner only (they hold the snapshot's strings), and
//! renamed into place only once complete, so that no partial file ever bears the final name.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::failure::Failure;
use crate::input;
use crate::parse::ParseError;

/// The temporary file an output is written to, beside it. Named by the clock, not the pid,
/// which WASI does not have; it is created exclusively, so a clash fails instead of sharing it.
pub(crate) fn temporary(output: &Path, purpose: &str) -> PathBuf {
  let name = output
    .file_name()
    .map(|n| n.to_string_lossy().into_owned())
    .unwrap_or_default();
  let now = std::time::SystemTime::now()
    .duration_since(std::time::UNIX_EPOCH)
    .map_or(0, |d| d.as_nanos());
  output.with_file_name(format!(".{name}.{now:x}.{purpose}"))
}

/// Writes `contents` to `output` (mode 0600) through a temporary file renamed into place; on
/// failure nothing is left behind and the error names `output`. Returns the bytes written.
pub fn write_private(output: &Path, contents: &[u8]) -> Result<u64, Failure> {
  let temporary = temporary(output, "writing");
  let written = input::create_private(&temporary).and_then(|mut file| {
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&temporary, output)
  });
  written.map_err(|err: io::Error| {
    let _ = std::fs::remove_file(&temporary);
    Failure::file(output, ParseError::Io(err))
  })?;
  Ok(contents.len() as u64)
}
