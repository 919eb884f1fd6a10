//! Fork snapshots (written by a fork()ed child: rheapdump's `fork: true`) are compared by
//! structure, never by id; a comparison asked to match by ids refuses them.
//!
//! V8 numbers objects in the heap profiler's object map (`HeapObjectsMap` in V8's
//! src/profiler/heap-snapshot-generator.cc): `FindOrAddEntry` gives an object met for the first
//! time the next id of a counter, `next_id_`, kept in the process that takes the snapshot. A
//! child's map and counter die with it: the parent's counter never moves, so the next child
//! numbers the objects born since from the same value again, and an id in one fork snapshot
//! names another object in the next. Matching by id (diff, leaks, instances --before, DevTools'
//! Comparison view) would be silently wrong: `diff` and `leaks` match them by retaining path and
//! class instead (report/shape.rs), `instances --before` and `--match ids` refuse them.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use rheapdump_core::fork::is_fork_snapshot;

use crate::failure::Failure;

/// Fails with `ERR_SNAPSHOT_NOT_COMPARABLE` when one of `files` is a fork snapshot: for a
/// comparison asked to match by ids.
pub fn refuse_fork_snapshots(files: &[&Path]) -> Result<(), Failure> {
  match first_fork_snapshot(files) {
    Some(path) => Err(Failure::NotComparable {
      path: path.to_path_buf(),
    }),
    None => Ok(()),
  }
}

/// The first of `files` that is a fork snapshot, whose ids match no other snapshot's. A file
/// that cannot be read here is left for the reader, which reports why.
pub fn first_fork_snapshot<'a>(files: &[&'a Path]) -> Option<&'a Path> {
  files.iter().copied().find(|path| {
    let mut head = Vec::with_capacity(64);
    let read = File::open(path)
      .and_then(|file| {
        let size = file.metadata()?.len();
        crate::compressed::decompressing(BufReader::new(file), size)
      })
      .and_then(|plain| plain.take(64).read_to_end(&mut head));
    read.is_ok() && is_fork_snapshot(&head)
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_fork_snapshot_is_refused_and_others_pass() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.heapsnapshot");
    let forked = dir.path().join("fork.heapsnapshot");
    std::fs::write(&plain, "{\"snapshot\":{\"meta\":{}}}").unwrap();
    let marker = std::str::from_utf8(rheapdump_core::fork::FORK_MARKER).unwrap();
    std::fs::write(
      &forked,
      format!("{{\"snapshot\":{{{marker}\"meta\":{{}}}}}}"),
    )
    .unwrap();
    assert!(refuse_fork_snapshots(&[&plain, &dir.path().join("missing")]).is_ok());
    let err = refuse_fork_snapshots(&[&plain, &forked]).unwrap_err();
    assert_eq!(err.code(), "ERR_SNAPSHOT_NOT_COMPARABLE");
    assert_eq!(err.path(), forked.as_path());
    assert!(err.description().contains("fork"));
  }
}
