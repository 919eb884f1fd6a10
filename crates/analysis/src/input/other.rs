use std::fs::{File, FileType};
use std::io;
use std::path::Path;

/// Opens `path` for reading, with a plain open: `run` has refused a FIFO (which would make it
/// wait for a writer) from its metadata first.
pub fn open_for_reading(path: &Path) -> io::Result<File> {
  File::open(path)
}

/// What a file that is neither a regular file nor a directory is, in words.
pub fn kind_name(_kind: FileType) -> &'static str {
  "a device or special file"
}

/// Creates `path`, which must not exist (permissions are the platform's default).
pub fn create_private(path: &Path) -> io::Result<File> {
  std::fs::OpenOptions::new()
    .write(true)
    .create_new(true)
    .open(path)
}
