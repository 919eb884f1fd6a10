//! Why a snapshot could not be read: the file, or the bytes at an offset.

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum ParseError {
  /// The file could not be read, or (`crate::compressed::corrupt`) its compressed stream is
  /// truncated or corrupt.
  Io(io::Error),
  /// The bytes are not what a heap snapshot has at `offset`.
  Syntax { offset: u64, message: String },
}

impl fmt::Display for ParseError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      ParseError::Io(err) => write!(f, "{err}"),
      ParseError::Syntax { offset, message } => write!(f, "at byte {offset}: {message}"),
    }
  }
}

impl std::error::Error for ParseError {}

impl From<io::Error> for ParseError {
  fn from(err: io::Error) -> Self {
    ParseError::Io(err)
  }
}
