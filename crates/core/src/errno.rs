//! Errno names as Node reports them in `error.code`.

use std::io;

/// The symbolic name of the error's errno (`ENOSPC`), or `EIO` when it has none.
pub fn code_of(err: &io::Error) -> &'static str {
  match err.raw_os_error() {
    Some(libc::ENOENT) => "ENOENT",
    Some(libc::EACCES) => "EACCES",
    Some(libc::EPERM) => "EPERM",
    Some(libc::EEXIST) => "EEXIST",
    Some(libc::ENOTDIR) => "ENOTDIR",
    Some(libc::EISDIR) => "EISDIR",
    Some(libc::ENOSPC) => "ENOSPC",
    Some(libc::EDQUOT) => "EDQUOT",
    Some(libc::EROFS) => "EROFS",
    Some(libc::ENAMETOOLONG) => "ENAMETOOLONG",
    Some(libc::ELOOP) => "ELOOP",
    Some(libc::EMFILE) => "EMFILE",
    Some(libc::ENFILE) => "ENFILE",
    Some(libc::EFBIG) => "EFBIG",
    Some(libc::EXDEV) => "EXDEV",
    Some(libc::EINVAL) => "EINVAL",
    Some(libc::EBUSY) => "EBUSY",
    Some(libc::ENXIO) => "ENXIO",
    Some(libc::EOPNOTSUPP) => "EOPNOTSUPP",
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
  fn names_and_describes_os_errors() {
    let err = io::Error::from_raw_os_error(libc::ENOSPC);
    assert_eq!(code_of(&err), "ENOSPC");
    assert_eq!(describe(&err), "no space left on device");
  }
}
