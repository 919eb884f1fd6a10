//! What the fork snapshots of every platform share: the exit codes of the child, and the marker
//! that tells analysers a snapshot's ids cannot be compared with another's. The forking itself
//! is the platform's (rheapdump-platform's `fork`, and the addon's `crates/addon/src/fork/`).

/// Exit codes of the child (besides 0).
pub mod exit {
  /// V8's writer threw (disk full, …): retrying would fail the same way.
  pub const WRITER_FAILED: i32 = 70;
  /// The child could not be made safe (the lock entry points could not be patched, …).
  pub const SETUP_FAILED: i32 = 71;
  /// The marker could not be put into the written file.
  pub const MARKER_FAILED: i32 = 72;
  /// The parent was gone before the child began.
  pub const ORPHANED: i32 = 73;

  /// Every code above with the name the JS side knows it by (lib/facts.js, generated).
  pub const NAMED: [(&str, i32); 4] = [
    ("writerFailed", WRITER_FAILED),
    ("setupFailed", SETUP_FAILED),
    ("markerFailed", MARKER_FAILED),
    ("orphaned", ORPHANED),
  ];
}

/// How long an in-process snapshot pauses the service per MB of used heap, ms: V8's writer on
/// Node 20–26 took 87–151 ms/MB on the 2-core test host (docs/fork.md, "Measured"), ~100 when
/// the host was quiet. `fork: 'auto'` forks when this times the heap exceeds `forkAbove`.
pub const IN_PROCESS_MS_PER_HEAP_MB: f64 = 100.0;

/// What every snapshot written by V8's serializer begins with.
pub const SNAPSHOT_PREFIX: &[u8] = b"{\"snapshot\":{";

/// Put first in the `snapshot` header object of a fork snapshot. A JSON reader sees one more
/// key it does not know (DevTools' loader and rheapdump's parser ignore it); rheapdump's `diff`
/// and `leaks` read it and refuse to match ids (see docs/fork.md for why they cannot be).
pub const FORK_MARKER: &[u8] =
  b"\"rheapdump\":{\"via\":\"fork\",\"ids\":\"not comparable with any other snapshot\"},";

/// Whether a snapshot file beginning with `head` was written by a fork child.
pub fn is_fork_snapshot(head: &[u8]) -> bool {
  head
    .strip_prefix(SNAPSHOT_PREFIX)
    .is_some_and(|rest| rest.starts_with(b"\"rheapdump\":{\"via\":\"fork\""))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_snapshot_with_the_marker_first_is_a_fork_snapshot_and_others_are_not() {
    let marked = [SNAPSHOT_PREFIX, FORK_MARKER, b"\"meta\":{}}}"].concat();
    assert!(is_fork_snapshot(&marked));
    assert!(!is_fork_snapshot(b"{\"snapshot\":{\"meta\":{}}}"));
    assert!(!is_fork_snapshot(FORK_MARKER));
  }
}
