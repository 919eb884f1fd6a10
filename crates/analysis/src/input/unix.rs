use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Opens `path` for reading. A plain open of a FIFO waits for a writer for ever; O_NONBLOCK
/// makes this open return at once whatever the file is (it changes nothing for reading a
/// regular file).
pub fn open_for_reading(path: &Path) -> io::Result<File> {
  OpenOptions::new()
    .read(true)
    .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
    .open(path)
}

/// What a file that is neither a regular file nor a directory is, in words.
pub fn kind_name(kind: FileType) -> &'static str {
  if kind.is_fifo() {
    "a pipe or FIFO"
  } else if kind.is_char_device() || kind.is_block_device() {
    "a device"
  } else {
    "a socket"
  }
}

/// Creates `path`, which must not exist, readable and writable by its owner only: a snapshot,
/// even a redacted one, is not for every user of the machine.
pub fn create_private(path: &Path) -> io::Result<File> {
  OpenOptions::new()
    .write(true)
    .create_new(true)
    .mode(0o600)
    .custom_flags(libc::O_CLOEXEC)
    .open(path)
}
