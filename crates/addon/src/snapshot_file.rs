use std::path::PathBuf;

use napi::bindgen_prelude::Either;
use napi::Result;
use napi_derive::napi;

use crate::error::{coded, Code};
use rheapdump_core::compression::Compression;
use rheapdump_core::naming::FileKind;
use rheapdump_platform::snapshot_file::{Compress, FileError, PendingSnapshot, Target, Written};

/// A failed file operation; `index.js` turns it into an Error.
#[napi(object)]
pub struct FileFailure {
  pub code: String,
  pub syscall: String,
  pub path: String,
  pub description: String,
}

impl From<FileError> for FileFailure {
  fn from(err: FileError) -> Self {
    FileFailure {
      code: err.code.to_string(),
      syscall: err.syscall.to_string(),
      path: err.path.to_string_lossy().into_owned(),
      description: err.description,
    }
  }
}

/// A complete snapshot file.
#[napi(object)]
pub struct WrittenFile {
  pub path: String,
  /// The file's size: compressed, for a compressed snapshot.
  pub bytes: f64,
  /// What V8 wrote, before compression (`bytes` for a plain file).
  pub plain_bytes: f64,
}

impl From<Written> for WrittenFile {
  fn from(written: Written) -> Self {
    WrittenFile {
      path: written.path.to_string_lossy().into_owned(),
      bytes: written.bytes as f64,
      plain_bytes: written.plain_bytes as f64,
    }
  }
}

/// `compress` as the JS side gives it (`'gzip'`, `'zstd'`, or null/`'off'` for a plain file).
pub fn compress_option(compress: Option<&str>, mark_fork: bool) -> Option<Compress> {
  let format = Compression::from_name(compress?)?;
  Some(Compress { format, mark_fork })
}

/// A snapshot file that has no final name yet.
#[napi]
pub struct SnapshotFile {
  pending: Option<PendingSnapshot>,
  writer_path: String,
  display_path: String,
}

#[napi]
impl SnapshotFile {
  /// The path to hand to `v8.writeHeapSnapshot`.
  #[napi(getter)]
  pub fn writer_path(&self) -> String {
    self.writer_path.clone()
  }

  /// The final path, or its directory while a default name is not chosen yet.
  #[napi(getter)]
  pub fn display_path(&self) -> String {
    self.display_path.clone()
  }

  /// Makes the file durable and gives it its final name.
  #[napi]
  pub fn commit(&mut self) -> Either<WrittenFile, FileFailure> {
    let Some(pending) = self.pending.take() else {
      return Either::B(FileFailure {
        code: "ERR_INVALID_STATE".to_string(),
        syscall: "commit".to_string(),
        path: self.display_path.clone(),
        description: "snapshot file already committed or abandoned".to_string(),
      });
    };
    match pending.commit() {
      Ok(written) => Either::A(written.into()),
      Err(err) => Either::B(err.into()),
    }
  }

  /// Drops the unfinished file; nothing is left in the directory.
  #[napi]
  pub fn abandon(&mut self) {
    self.pending = None;
  }
}

/// Opens a file for a snapshot with a default name in `dir`, or at exactly `filename`. With
/// `byName`, the writer gets a real path in the directory (for Node's permission model); with
/// `profile`, the file is a sampling heap profile (`heapprofile-….heapprofile` default names);
/// with `compress` ('gzip' or 'zstd'), what the writer writes is compressed on a thread of its
/// own as it comes, and a default name ends in `.gz` or `.zst`.
#[napi]
pub fn create_snapshot_file(
  dir: Option<String>,
  filename: Option<String>,
  by_name: Option<bool>,
  profile: Option<bool>,
  compress: Option<String>,
) -> Either<SnapshotFile, FileFailure> {
  let target = match filename {
    Some(path) => Target::Explicit {
      path: PathBuf::from(path),
    },
    None => Target::DefaultName {
      dir: PathBuf::from(dir.unwrap_or_else(|| ".".to_string())),
    },
  };
  let kind = if profile == Some(true) {
    FileKind::Profile
  } else {
    FileKind::Snapshot
  };
  let compress = compress_option(compress.as_deref(), false);
  match PendingSnapshot::create_compressed(target, kind, by_name == Some(true), compress) {
    Ok(pending) => Either::A(SnapshotFile {
      writer_path: pending.writer_path().to_string_lossy().into_owned(),
      display_path: pending.display_path().to_string_lossy().into_owned(),
      pending: Some(pending),
    }),
    Err(err) => Either::B(err.into()),
  }
}

/// This process's run, as its default file names carry it (`heapdump-<UTC>-<pid>-<run>-<n>…`).
#[napi]
pub fn run_id() -> String {
  rheapdump_platform::procfs::run().to_string()
}

/// Deletes the oldest of this run's default-named snapshots in `dir` beyond `keep`; never
/// another process's or an earlier run's, never any other file, never `current`. Returns the
/// names deleted.
#[napi]
pub fn prune_snapshots(dir: String, keep: u32, current: String) -> Result<Vec<String>, Code> {
  rheapdump_core::naming::prune(
    std::path::Path::new(&dir),
    keep as usize,
    &current,
    std::process::id(),
    rheapdump_platform::procfs::run(),
  )
  .map_err(|err| {
    coded(
      "ERR_RHEAPDUMP_PRUNE",
      format!("cannot prune snapshots in {dir}: {err}"),
    )
  })
}
