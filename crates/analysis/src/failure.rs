//! Why an analysis failed: one error type for every analysis, with the `code` the JS API rejects
//! with and the CLI prints.

use std::path::{Path, PathBuf};

use rheapdump_core::errno;

use crate::compressed::corrupt;
use crate::parse::ParseError;
use crate::profile::ProfileError;
use crate::validate::Unsound;

#[derive(Debug)]
pub enum Failure {
  /// `path` could not be read or is not a snapshot.
  File { path: PathBuf, error: ParseError },
  /// `path` is a snapshot whose structure does not hold together (`validate`).
  Unsound { path: PathBuf, reason: Unsound },
  /// No node has this id.
  NoSuchNode { path: PathBuf, id: u32 },
  /// `path` is a pipe, FIFO, device or socket (`kind`), not a regular file.
  NotAFile { path: PathBuf, kind: &'static str },
  /// `path` is a fork snapshot, whose ids match no other snapshot's (`crate::fork`).
  NotComparable { path: PathBuf },
  /// A sampling heap profile could not be read, or two cannot be compared (`crate::profile`).
  Profile(ProfileError),
}

impl Failure {
  pub(crate) fn file(path: &Path, error: ParseError) -> Failure {
    Failure::File {
      path: path.to_path_buf(),
      error,
    }
  }

  pub fn path(&self) -> &Path {
    match self {
      Failure::File { path, .. }
      | Failure::Unsound { path, .. }
      | Failure::NoSuchNode { path, .. }
      | Failure::NotAFile { path, .. }
      | Failure::NotComparable { path } => path,
      Failure::Profile(error) => &error.path,
    }
  }

  /// The `code` of the Error the JS API rejects with, which the CLI prints too: the errno name
  /// (`ENOENT`) when the file could not be read, `ERR_SNAPSHOT_COMPRESSED_CORRUPT` when its gzip or
  /// zstd stream is truncated or corrupt, else `ERR_SNAPSHOT_SYNTAX` (not a snapshot),
  /// `ERR_SNAPSHOT_UNSOUND`, `ERR_NODE_NOT_FOUND` or `ERR_SNAPSHOT_NOT_A_FILE`; a profile's own
  /// (`ERR_PROFILE_SYNTAX`, `ERR_PROFILE_MISMATCH`, an errno name).
  pub fn code(&self) -> &'static str {
    match self {
      Failure::File {
        error: ParseError::Io(err),
        ..
      } if corrupt(err).is_some() => "ERR_SNAPSHOT_COMPRESSED_CORRUPT",
      Failure::File {
        error: ParseError::Io(err),
        ..
      } => errno::code_of(err),
      Failure::File { .. } => "ERR_SNAPSHOT_SYNTAX",
      Failure::Unsound { .. } => "ERR_SNAPSHOT_UNSOUND",
      Failure::NoSuchNode { .. } => "ERR_NODE_NOT_FOUND",
      Failure::NotAFile { .. } => "ERR_SNAPSHOT_NOT_A_FILE",
      Failure::NotComparable { .. } => "ERR_SNAPSHOT_NOT_COMPARABLE",
      Failure::Profile(error) => error.code,
    }
  }

  /// What is wrong, without the path.
  pub fn description(&self) -> String {
    match self {
      Failure::File {
        error: ParseError::Io(err),
        ..
      } => errno::describe(err),
      Failure::File { error, .. } => error.to_string(),
      Failure::Unsound { reason, .. } => reason.to_string(),
      Failure::NoSuchNode { id, .. } => format!("no node has id {id}"),
      Failure::NotAFile { kind, .. } => format!(
        "{kind}, not a regular file: the reader needs the file's size to bound what it \
         allocates; save the snapshot to a file first"
      ),
      Failure::NotComparable { .. } => "a fork snapshot (written by a fork()ed child): its object \
         ids match no other snapshot's, so it cannot be compared; single-file reports (summary, \
         path, validate) work, and in-process snapshots compare"
        .to_string(),
      Failure::Profile(error) => error.description.clone(),
    }
  }
}

/// `FILE: CODE: description`, as the CLI prints it.
impl std::fmt::Display for Failure {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    let (path, code) = (self.path().display(), self.code());
    write!(f, "{path}: {code}: {}", self.description())
  }
}

impl std::error::Error for Failure {}
