//! Errno names as Node reports them in `error.code`, from the error's kind, so that every target
//! (Linux, macOS, Windows, WASI, whose raw error numbers all differ) names an error alike. The
//! few names no `io::ErrorKind` tells apart (`EPERM`, `ENXIO`, …) are added by rheapdump-platform
//! from the raw numbers of its OS.

use std::io::{self, ErrorKind};

/// The symbolic name of the error (`ENOSPC`), or `EIO` when its kind has none.
pub fn code_of(err: &io::Error) -> &'static str {
  match err.kind() {
    ErrorKind::NotFound => "ENOENT",
    ErrorKind::PermissionDenied => "EACCES",
    ErrorKind::AlreadyExists => "EEXIST",
    ErrorKind::NotADirectory => "ENOTDIR",
    ErrorKind::IsADirectory => "EISDIR",
    ErrorKind::StorageFull => "ENOSPC",
    ErrorKind::QuotaExceeded => "EDQUOT",
    ErrorKind::ReadOnlyFilesystem => "EROFS",
    ErrorKind::InvalidFilename => "ENAMETOOLONG",
    ErrorKind::FileTooLarge => "EFBIG",
    ErrorKind::CrossesDevices => "EXDEV",
    ErrorKind::InvalidInput => "EINVAL",
    ErrorKind::ResourceBusy => "EBUSY",
    _ => "EIO",
  }
}

/// The OS's description without Rust's " (os error N)" suffix.
pub fn describe(err: &io::Error) -> String {
  let text = err.to_string();
  match text.find(" (os error") {
    Some(end) => text[..end].to_lowercase(),
    None => text,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn an_error_is_named_by_its_kind() {
    assert_eq!(code_of(&ErrorKind::NotFound.into()), "ENOENT");
    assert_eq!(code_of(&ErrorKind::StorageFull.into()), "ENOSPC");
    assert_eq!(code_of(&ErrorKind::InvalidData.into()), "EIO");
  }

  #[test]
  fn the_description_loses_rusts_os_error_suffix() {
    let err = io::Error::other("No space left on device (os error 28)");
    assert_eq!(describe(&err), "no space left on device");
  }
}
