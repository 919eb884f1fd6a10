//! Errno names on Linux: rheapdump-core names an error by its kind, which leaves a few errnos
//! Node tells apart under one kind (`EPERM` beside `EACCES`) or under none (`ENXIO`, the FIFO
//! nobody reads); this module names those from the raw number first.

use std::io;

pub use rheapdump_core::errno::describe;

/// The symbolic name of the error's errno (`ENOSPC`), or `EIO` when it has none.
pub fn code_of(err: &io::Error) -> &'static str {
  match err.raw_os_error() {
    Some(libc::EPERM) => "EPERM",
    Some(libc::ELOOP) => "ELOOP",
    Some(libc::EMFILE) => "EMFILE",
    Some(libc::ENFILE) => "ENFILE",
    Some(libc::ENXIO) => "ENXIO",
    Some(libc::EOPNOTSUPP) => "EOPNOTSUPP",
    _ => rheapdump_core::errno::code_of(err),
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

  #[test]
  fn errnos_that_share_or_lack_a_kind_keep_their_own_names() {
    for (errno, name) in [
      (libc::EACCES, "EACCES"),
      (libc::EPERM, "EPERM"),
      (libc::ENXIO, "ENXIO"),
      (libc::ELOOP, "ELOOP"),
      (libc::EMFILE, "EMFILE"),
      (libc::ENAMETOOLONG, "ENAMETOOLONG"),
      (libc::EDQUOT, "EDQUOT"),
      (libc::EXDEV, "EXDEV"),
    ] {
      assert_eq!(code_of(&io::Error::from_raw_os_error(errno)), name);
    }
  }
}
